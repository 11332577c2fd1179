//! The command line: every command, flag and its help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Arguments given as JSON: each one is parsed as JSON (42, true, null, \"text\", [1,2], {\"a\":1});
a bare word that is not valid JSON (hi, hello-world) is taken as a string; what starts with
{, [ or \" must be valid JSON. Binary values are
written {\"$binary\":\"<base64>\"}, both in what sio sends and in what it prints.

Exit status: 0 on success, 1 when the server refused the namespace, a timeout passed or the
connection failed (the reason on stderr), 2 on a usage error.";

/// A Socket.IO and WebSocket command line.
#[derive(Debug, Parser)]
#[command(name = "sio", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Show the packets on the wire on stderr: the Socket.IO packets sent and
    /// received, as encoded (`42["chat","hi"]`), with `->` / `<-`; for `ws`,
    /// every frame's kind and length.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Colours and the spinner on stderr: `auto` (when stderr is a terminal
    /// and NO_COLOR is not set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub(crate) color: Color,
}

/// When to colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// When stderr is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Connect and print every event as one JSON line, for jq.
    ///
    /// Each line is {"ns":"/","event":"chat","args":["hi",42]}; binary
    /// arguments are `{"$binary":"<base64>"}`. Runs until Ctrl-C, the server
    /// disconnects the socket, or --count events were printed; a lost
    /// connection is re-opened (reported on stderr).
    #[command(after_help = "Examples:
  sio listen http://localhost:3000
  sio listen http://localhost:3000/admin --auth '{\"token\":\"s3cret\"}'
  sio listen http://localhost:3000 | jq -c 'select(.event == \"chat\") | .args'")]
    Listen(ListenArgs),
    /// Emit one event, and with --ack print the server's answer.
    ///
    /// Each JSON_ARG is one argument. With --ack the acknowledgement's
    /// arguments are printed on stdout as one JSON array (["hi",42]).
    #[command(after_help = "Examples:
  sio emit http://localhost:3000 chat hello
  sio emit http://localhost:3000 echo '\"hi\"' 42 --ack          # prints [\"hi\",42]
  sio emit http://localhost:3000 upload '{\"$binary\":\"AAEC\"}'
  sio emit http://localhost:3000/admin ping --ack --timeout 500ms")]
    Emit(EmitArgs),
    /// An interactive session: emit, ack, join namespaces, see events arrive.
    ///
    /// Commands: emit EVENT [JSON...], ack EVENT [JSON...], join /NS, ns [/NS],
    /// leave [/NS], help, quit. Line editing and history (Ctrl-R) as in a shell.
    #[command(after_help = "Example:
  sio connect http://localhost:3000
  /> emit chat \"hello everyone\"
  /> ack echo {\"x\":1}
  ack [{\"x\":1}]
  /> join /admin")]
    Connect(ConnectArgs),
    /// An echo/chat server, with a browser chat page at /.
    ///
    /// Events on every namespace: `echo` is acknowledged with its own
    /// arguments (or answered with `echo` when sent without an ack);
    /// `chat` goes to everyone else in the socket's rooms (in the namespace
    /// when it joined none); `join ROOM` and `leave ROOM` are acknowledged
    /// with the socket's rooms. Prints `listening on http://HOST:PORT/`.
    #[command(after_help = "Examples:
  sio serve                                  # http://127.0.0.1:3000/
  sio serve --host 0.0.0.0 --port 8080
  sio serve --static ./public                # your own page instead of the chat")]
    Serve(ServeArgs),
    /// A raw WebSocket client, like wscat.
    ///
    /// Each stdin line is sent as a text message; each message received is
    /// printed on a line: text as it is, binary as `binary:` and its
    /// base64 (or hex, --binary-format). Exits when the connection closes,
    /// showing the close code; end of stdin sends a close (1000).
    #[command(after_help = "Examples:
  sio ws ws://localhost:8080/
  sio ws wss://echo.example/ --header 'Authorization: Bearer t' --subprotocol chat.v1
  printf 'a\\nb\\n' | sio ws ws://localhost:8080/")]
    Ws(WsArgs),
}

/// Where and how a Socket.IO command connects.
#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// The server, with the namespace as its path, as the JS client takes
    /// it: http://localhost:3000/admin joins `/admin` (`https://` with the
    /// tls feature; a query string is sent with every request).
    pub(crate) url: String,
    /// The namespace, instead of the URL's path.
    #[arg(long, value_name = "/NS")]
    pub(crate) ns: Option<String>,
    /// The auth object sent with the namespace's CONNECT (JSON).
    #[arg(long, value_name = "JSON", value_parser = parse_auth)]
    pub(crate) auth: Option<serde_json::Value>,
    /// Use only this transport (default: polling, then upgrade to websocket).
    #[arg(long, value_enum)]
    pub(crate) transport: Option<TransportArg>,
    /// Engine.IO's path on the server.
    #[arg(long, default_value = "/socket.io/")]
    pub(crate) path: String,
    /// An HTTP header for every request, `NAME: VALUE` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,
}

/// A transport name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only.
    Websocket,
}

/// `sio listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// How long to wait for the namespace to be joined (500ms, 5s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Exit after printing this many events.
    #[arg(short = 'n', long)]
    pub(crate) count: Option<u64>,
}

/// `sio emit`.
#[derive(Debug, Args)]
pub(crate) struct EmitArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The event's name.
    pub(crate) event: String,
    /// The arguments, one JSON value each (a bare word is a string; after
    /// `--`, words starting with `-` too).
    #[arg(value_name = "JSON_ARGS", allow_negative_numbers = true)]
    pub(crate) args: Vec<String>,
    /// Ask for an acknowledgement and print its arguments as a JSON array.
    #[arg(long)]
    pub(crate) ack: bool,
    /// How long the connection, and then the ack, may take (500ms, 5s, 1m).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// `sio connect`.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// How long a join, and each `ack`, may take (500ms, 5s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// `sio serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The port (0: any free one; the line printed says which).
    #[arg(long, short, default_value_t = 3000)]
    pub(crate) port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Serve the files of DIR (index.html at /) instead of the chat page.
    #[arg(long = "static", value_name = "DIR")]
    pub(crate) static_dir: Option<PathBuf>,
}

/// `sio ws`.
#[derive(Debug, Args)]
pub(crate) struct WsArgs {
    /// The server, ws:// or wss:// (wss with the tls feature).
    pub(crate) url: String,
    /// A header of the opening handshake, `NAME: VALUE` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,
    /// A subprotocol to offer (repeatable); the one chosen is shown.
    #[arg(long = "subprotocol", short = 's', value_name = "NAME")]
    pub(crate) subprotocols: Vec<String>,
    /// How binary messages are printed.
    #[arg(long, value_enum, default_value_t = BinaryFormat::Base64)]
    pub(crate) binary_format: BinaryFormat,
    /// How long the opening handshake may take (500ms, 5s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

/// How `sio ws` prints binary messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum BinaryFormat {
    /// `binary:AAEC/w==`
    Base64,
    /// `binary:000102ff`
    Hex,
}

/// `5s`, `500ms`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 500ms, 5s, 1m)"))?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit `{other}` (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{s}`: {e}"))
}

/// One JSON value.
/// An auth payload: a JSON object, as socket.io's CONNECT carries (the
/// official server closes the connection on anything else).
pub(crate) fn parse_auth(s: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(s) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("the auth must be a JSON object, like {\"token\":\"abc\"}".to_owned()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// `Name: value` (or `Name:value`).
fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not `NAME: VALUE`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{s}` has no header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-Token: a:b"),
            Ok(("X-Token".into(), "a:b".into()))
        );
        assert!(parse_header("nope").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn emit_takes_negative_numbers_as_arguments() {
        let cli =
            Cli::try_parse_from(["sio", "emit", "http://h", "add", "-1", "2", "--ack"]).unwrap();
        let Command::Emit(e) = cli.command else {
            panic!()
        };
        assert_eq!(e.args, ["-1", "2"]);
        assert!(e.ack);
    }
}

#[cfg(test)]
mod auth_tests {
    use super::parse_auth;

    #[test]
    fn the_auth_is_a_json_object() {
        assert!(parse_auth(r#"{"token":"t"}"#).is_ok());
        for not in ["[1]", "\"x\"", "42", "null", "{oops"] {
            assert!(parse_auth(not).is_err(), "{not} accepted");
        }
    }
}
