//! The `sio` command line against the official peers: `socket.io` 4.8.4
//! (`cli_sio_server.js`) for listen, emit and the interactive session, `ws`
//! 8.23.0 (`cli_ws_server.js`) for `sio ws`. The binary is built by the cargo
//! running the test, and each run is bounded in time.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::node::NodePeer;

/// Builds `sio` once with the cargo running this test (same target
/// directory) and returns the executable's path as cargo reports it.
fn sio() -> &'static PathBuf {
    static SIO: OnceLock<PathBuf> = OnceLock::new();
    SIO.get_or_init(|| realtime_interop::cargo_build("socketio-cli", "--bin", "sio", &[]))
}

/// A Node server from `tests/js` and its `http://127.0.0.1:PORT`.
async fn node_server(script: &str, scheme: &str) -> (NodePeer, String) {
    let mut peer = NodePeer::spawn(script, &[]);
    let line = peer.line().await;
    let port = line.strip_prefix("port ").expect("the port line");
    (peer, format!("{scheme}://127.0.0.1:{port}"))
}

/// `sio ARGS` to its end, within 30 s, with `stdin` as its input.
async fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(sio())
        .args(["--color", "never"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting sio");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("sio {args:?} did not exit"))
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines `sio listen` prints for the server's three greetings.
fn greetings(auth: &str) -> [String; 3] {
    [
        r#"{"ns":"/","event":"hello","args":["world",1]}"#.to_owned(),
        r#"{"ns":"/","event":"blob","args":[{"$binary":"AAEC/w=="}]}"#.to_owned(),
        format!(r#"{{"ns":"/","event":"auth","args":[{auth}]}}"#),
    ]
}

#[tokio::test]
async fn listen_prints_each_event_as_a_json_line() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    for transport in [None, Some("polling"), Some("websocket")] {
        let mut args = vec!["listen", &url, "--auth", r#"{"token":"t"}"#];
        if let Some(t) = transport {
            args.extend(["--transport", t]);
        }
        let mut child: Child = Command::new(sio())
            .args(["--color", "never"])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting sio listen");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for want in greetings(r#"{"token":"t"}"#) {
            let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .expect("sio listen printed nothing")
                .unwrap()
                .expect("sio listen exited");
            assert_eq!(line, want, "over {transport:?}");
        }
        child.kill().await.unwrap();
    }
}

#[tokio::test]
async fn listen_count_exits_after_that_many_events() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    let out = run(&["listen", &url, "-n", "2"], "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let [hello, blob, _] = greetings("{}");
    assert_eq!(text(&out.stdout), format!("{hello}\n{blob}\n"));
}

#[tokio::test]
async fn emit_with_ack_prints_the_answer() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    let out = run(&["emit", &url, "echo", r#""hi""#, "42", "--ack"], "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[\"hi\",42]\n");
    // Bytes both ways, bare words as strings, over WebSocket alone.
    let out = run(
        &[
            "emit",
            &url,
            "echo",
            r#"{"$binary":"AAEC"}"#,
            "word",
            r#"{"b":1,"a":[true,null]}"#,
            "--ack",
            "--transport",
            "websocket",
        ],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "[{\"$binary\":\"AAEC\"},\"word\",{\"b\":1,\"a\":[true,null]}]\n"
    );
}

#[tokio::test]
async fn emit_without_ack_reaches_the_server_before_sio_exits() {
    let (mut server, url) = node_server("cli_sio_server.js", "http").await;
    for transport in ["polling", "websocket"] {
        let out = run(
            &["emit", &url, "record", "hi", "42", "--transport", transport],
            "",
        )
        .await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "");
        assert_eq!(
            server.line().await,
            r#"record ["hi",42]"#,
            "over {transport}"
        );
    }
}

#[tokio::test]
async fn an_ack_that_never_comes_is_a_timeout() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    // Built before the clock starts.
    sio();
    let start = Instant::now();
    let out = run(&["emit", &url, "silent", "--ack", "--timeout", "500ms"], "").await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("timeout"), "stderr: {err}");
    assert_eq!(text(&out.stdout), "");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_refused_namespace_is_reported_with_its_message_and_data() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    let admin = format!("{url}/admin");
    let out = run(&["emit", &admin, "echo", "x", "--ack"], "").await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("admins only"), "stderr: {err}");
    assert!(err.contains(r#"{"code":403}"#), "stderr: {err}");
    // --ns names the namespace as the URL's path does.
    let out = run(&["listen", &url, "--ns", "/admin"], "").await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("admins only"));
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_connect_timeout() {
    // Accepts TCP connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    // Built before the clock starts.
    sio();
    let start = Instant::now();
    let out = run(&["emit", &url, "x", "--timeout", "500ms"], "").await;
    hold.abort();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("timeout"), "stderr: {err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn ws_sends_stdin_lines_and_prints_the_echoes() {
    let (_server, url) = node_server("cli_ws_server.js", "ws").await;
    let out = run(
        &[
            "ws",
            &format!("{url}/"),
            "--subprotocol",
            "chat.v1",
            "-H",
            "X-Token: abc",
        ],
        "one\ntwo words\n",
    )
    .await;
    // End of input: sio closes with 1000 and the server echoes it.
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello chat.v1 abc\none\ntwo words\n");
    let err = text(&out.stderr);
    assert!(err.contains("subprotocol chat.v1"), "stderr: {err}");
    assert!(err.contains("closed 1000"), "stderr: {err}");
}

#[tokio::test]
async fn ws_shows_the_close_code_the_server_chose() {
    let (_server, url) = node_server("cli_ws_server.js", "ws").await;
    let mut child = Command::new(sio())
        .args(["--color", "never", "ws", &format!("{url}/")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Stdin stays open: the close is the server's.
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"close-me\n").await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("sio ws did not exit on the server's close")
        .unwrap();
    drop(input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello - -\n");
    let err = text(&out.stderr);
    assert!(err.contains("closed 4001 server bye"), "stderr: {err}");
}

/// `sio connect` in a pseudo-terminal (util-linux `script`), typed into.
struct Pty {
    child: Child,
    input: tokio::process::ChildStdin,
    output: tokio::process::ChildStdout,
    seen: String,
}

impl Pty {
    fn spawn(url: &str, history: &std::path::Path) -> Pty {
        let command = format!("'{}' --color never connect '{url}'", sio().display());
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("SIO_HISTORY", history)
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("util-linux `script` must be installed");
        Pty {
            input: child.stdin.take().unwrap(),
            output: child.stdout.take().unwrap(),
            child,
            seen: String::new(),
        }
    }

    /// Reads until `what` has appeared after what was already matched.
    async fn expect(&mut self, what: &str) {
        let read = async {
            let mut buf = [0u8; 4096];
            while !self.seen.contains(what) {
                let n = self.output.read(&mut buf).await.unwrap();
                assert!(n > 0, "the session ended; it showed:\n{}", self.seen);
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        };
        if tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .is_err()
        {
            panic!("no {what:?} in:\n{}", self.seen);
        }
        let at = self.seen.find(what).unwrap() + what.len();
        self.seen.drain(..at);
    }

    async fn type_line(&mut self, line: &str) {
        self.input.write_all(line.as_bytes()).await.unwrap();
        self.input.write_all(b"\r").await.unwrap();
        self.input.flush().await.unwrap();
    }
}

#[tokio::test]
async fn connect_is_an_interactive_session_in_a_terminal() {
    let (_server, url) = node_server("cli_sio_server.js", "http").await;
    let history = std::env::temp_dir().join(format!("sio-history-{}", std::process::id()));
    let mut pty = Pty::spawn(&url, &history);
    // The greetings print above the prompt as they come.
    pty.expect(r#"hello ["world",1]"#).await;
    pty.expect("/> ").await;
    pty.type_line(r#"emit echo "x""#).await;
    pty.expect(r#"echo-back ["x"]"#).await;
    pty.type_line(r#"ack echo "y" 2"#).await;
    pty.expect(r#"ack ["y",2]"#).await;
    pty.type_line("join /admin").await;
    pty.expect("admins only").await;
    pty.type_line("quit").await;
    let status = tokio::time::timeout(Duration::from_secs(20), pty.child.wait())
        .await
        .expect("sio connect did not quit")
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(history);
}

#[tokio::test]
async fn serve_echoes_relays_chat_and_serves_its_page() {
    let mut server = Command::new(sio())
        .args(["--color", "never", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("sio serve did not start")
        .unwrap()
        .expect("sio serve exited");
    let url = line
        .strip_prefix("listening on ")
        .expect("the address line")
        .trim_end_matches('/')
        .to_owned();

    let out = run(
        &["emit", &url, "echo", "hi", r#"{"$binary":"AQ=="}"#, "--ack"],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[\"hi\",{\"$binary\":\"AQ==\"}]\n");

    // `chat` reaches everyone else, on any namespace.
    let mut listener = Command::new(sio())
        .args([
            "--color",
            "never",
            "listen",
            &format!("{url}/lobby"),
            "-n",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut err = BufReader::new(listener.stderr.take().unwrap()).lines();
    let joined = tokio::time::timeout(Duration::from_secs(20), err.next_line()).await;
    assert!(
        matches!(&joined, Ok(Ok(Some(l))) if l.starts_with("listening on /lobby")),
        "{joined:?}"
    );
    let out = run(
        &["emit", &format!("{url}/lobby"), "chat", "ann", "hello"],
        "",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tokio::time::timeout(Duration::from_secs(20), listener.wait_with_output())
        .await
        .expect("sio listen heard no chat")
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "{\"ns\":\"/lobby\",\"event\":\"chat\",\"args\":[\"ann\",\"hello\"]}\n"
    );

    // The chat page, over plain HTTP.
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut page = String::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_string(&mut page))
        .await
        .expect("no page")
        .unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("/socket.io/socket.io.min.js"), "{page}");
    server.kill().await.unwrap();
}
