//! `sio connect`: an interactive session on one manager.
//!
//! The line editor (rustyline) blocks, so it runs on a thread of its own
//! and runs each command on the runtime to its end before the next prompt.
//! Events arrive meanwhile and print through the editor's external
//! printer, above the prompt, leaving the line being typed intact.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use socketio_client::{Manager, Socket};
use tokio::runtime::Handle;

use crate::Failure;
use crate::cli::ConnectArgs;
use crate::connection::{self, Emitter, Target};
use crate::payload::{self, Arg, shown_list};
use crate::terminal::{Term, Tone};

const HELP: &str = "\
  emit EVENT [JSON...]   emit an event (each argument JSON; a bare word is a string)
  ack EVENT [JSON...]    emit and wait for the acknowledgement, then print it
  join /NS [AUTH_JSON]   join another namespace on this connection, and switch to it
  ns [/NS]               switch to a joined namespace (without one: list them)
  leave [/NS]            leave a namespace (default: the current one)
  help                   this text
  quit                   close the connection and exit (or Ctrl-D)
binary values: {\"$binary\":\"<base64>\"}";

/// The namespaces joined, and the one commands go to.
struct Session {
    manager: Manager,
    server: String,
    term: Term,
    timeout: Duration,
    sockets: BTreeMap<String, Emitter>,
    current: String,
}

/// What to do after a command.
enum Flow {
    Go,
    Quit,
}

pub(crate) async fn run(args: ConnectArgs, term: Term) -> Result<(), Failure> {
    let target = Target::parse(&args.client.url, args.client.ns.as_deref())?;
    let options = connection::options(&args.client, &target, args.timeout).reconnection(true);
    let manager = Manager::new(&target.server, options);
    let t = term.clone();
    manager
        .on_reconnect_attempt(move |n| t.note(Tone::Dim, &format!("reconnecting (attempt {n})")));
    let mut session = Session {
        manager,
        server: target.server.clone(),
        term,
        timeout: args.timeout,
        sockets: BTreeMap::new(),
        current: target.ns.clone(),
    };
    // The first namespace must be there; later joins may fail and the
    // session goes on.
    session
        .join(&target.ns, args.client.auth.as_ref())
        .await
        .inspect_err(|_| session.manager.close())?;
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || repl(&handle, session))
        .await
        .map_err(|e| Failure(format!("the session ended badly: {e}")))?
}

/// Where the history is kept: `$SIO_HISTORY`, else `~/.sio_history`.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("SIO_HISTORY")
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".sio_history").into()))
        .map(PathBuf::from)
}

fn repl(handle: &Handle, mut session: Session) -> Result<(), Failure> {
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(1000)
        .map_err(|e| Failure(format!("line editor: {e}")))?
        .build();
    let mut editor =
        DefaultEditor::with_config(config).map_err(|e| Failure(format!("line editor: {e}")))?;
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    // On a terminal, lines from other threads go above the prompt.
    if let Ok(mut printer) = editor.create_external_printer() {
        session.term.set_printer(Some(Box::new(move |line: String| {
            let _ = printer.print(format!("{line}\n"));
        })));
    }
    session.term.note(
        Tone::Dim,
        "type `help` for the commands, `quit` or Ctrl-D to leave",
    );
    loop {
        match editor.readline(&format!("{}> ", session.current)) {
            Ok(line) => match handle.block_on(session.command(&line)) {
                Flow::Go => {}
                Flow::Quit => break,
            },
            // Ctrl-C drops the line being typed, as a shell does.
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                session.term.set_printer(None);
                return Err(Failure(format!("reading the terminal: {e}")));
            }
        }
    }
    session.term.set_printer(None);
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    session.manager.close();
    Ok(())
}

impl Session {
    /// Joins `ns` (a socket of the manager) and makes it the current one.
    async fn join(&mut self, ns: &str, auth: Option<&serde_json::Value>) -> Result<(), Failure> {
        if self.sockets.contains_key(ns) {
            self.current = ns.to_owned();
            return Ok(());
        }
        let socket = self.manager.socket(ns, auth.cloned());
        self.watch(&socket);
        if let Err(e) =
            connection::join(&socket, &self.server, auth, &self.term, self.timeout).await
        {
            // Not re-joined behind the user's back.
            socket.disconnect();
            return Err(e);
        }
        self.term.note(
            Tone::Good,
            &format!("joined {ns} as {}", socket.id().unwrap_or_default()),
        );
        self.sockets.insert(ns.to_owned(), Emitter::new(socket));
        self.current = ns.to_owned();
        Ok(())
    }

    /// Prints the socket's events as they come.
    fn watch(&self, socket: &Socket) {
        let t = self.term.clone();
        socket.on_any(move |s, event, packet| {
            connection::show_received(&t, packet);
            let shown = match connection::event_args(packet) {
                Ok(args) => shown_list(&args).to_string(),
                Err(e) => t.paint(Tone::Error, &e),
            };
            let asks = match packet.id() {
                Some(_) => t.paint(Tone::Dim, "  (asks for an ack; sio sends none)"),
                None => String::new(),
            };
            t.out(&format!(
                "{} {} {shown}{asks}",
                t.paint(Tone::Dim, &format!("[{}]", s.nsp())),
                t.paint(Tone::Event, event),
            ));
        });
        connection::report_lifecycle(socket, &self.term);
    }

    /// Runs one command line.
    async fn command(&mut self, line: &str) -> Flow {
        let line = line.trim();
        let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let result = match cmd {
            "" => Ok(()),
            "emit" | "ack" => self.emit(rest, cmd == "ack").await,
            "join" => self.join_command(rest).await,
            "ns" => self.switch(rest),
            "leave" => self.leave(rest),
            "help" | "?" => {
                self.term.out(HELP);
                Ok(())
            }
            "quit" | "exit" | "q" => return Flow::Quit,
            other => Err(Failure(format!(
                "unknown command `{other}` (`help` lists them)"
            ))),
        };
        if let Err(Failure(e)) = result {
            self.term.error(&e);
        }
        Flow::Go
    }

    async fn emit(&mut self, rest: &str, ack: bool) -> Result<(), Failure> {
        let mut args = payload::parse_line(rest).map_err(Failure)?.into_iter();
        let Some(Arg::String(event)) = args.next() else {
            return Err(Failure(
                "usage: emit EVENT [JSON...] (the event a name)".into(),
            ));
        };
        let args: Vec<Arg> = args.collect();
        let emitter = self
            .sockets
            .get(&self.current)
            .ok_or_else(|| Failure(format!("{} is not joined (`join {0}`)", self.current)))?;
        if !ack {
            return emitter.emit(&self.term, &event, &args);
        }
        let answer = emitter
            .emit_with_ack(&self.term, &event, &args, self.timeout)
            .await?;
        self.term.out(&format!(
            "{} {}",
            self.term.paint(Tone::Good, "ack"),
            shown_list(&answer)
        ));
        Ok(())
    }

    async fn join_command(&mut self, rest: &str) -> Result<(), Failure> {
        let (ns, auth) = rest
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((rest.trim(), ""));
        let ns = namespace(ns).ok_or_else(|| Failure("usage: join /NS [AUTH_JSON]".into()))?;
        let auth = match auth.trim() {
            "" => None,
            a => Some(crate::cli::parse_auth(a).map_err(Failure)?),
        };
        self.join(&ns, auth.as_ref()).await
    }

    fn switch(&mut self, rest: &str) -> Result<(), Failure> {
        let Some(ns) = namespace(rest.trim()) else {
            for (ns, e) in &self.sockets {
                let mark = if *ns == self.current { "*" } else { " " };
                let state = match e.socket().connected() {
                    true => e.socket().id().unwrap_or_default(),
                    false => "(not connected)".to_owned(),
                };
                self.term.out(&format!("{mark} {ns} {state}"));
            }
            return Ok(());
        };
        if !self.sockets.contains_key(&ns) {
            return Err(Failure(format!("{ns} is not joined (`join {ns}`)")));
        }
        self.current = ns;
        Ok(())
    }

    fn leave(&mut self, rest: &str) -> Result<(), Failure> {
        let ns = namespace(rest.trim()).unwrap_or_else(|| self.current.clone());
        let emitter = self
            .sockets
            .remove(&ns)
            .ok_or_else(|| Failure(format!("{ns} is not joined")))?;
        emitter.socket().disconnect();
        let prefix = if ns == "/" {
            String::new()
        } else {
            format!("{ns},")
        };
        self.term.wire(true, &format!("1{prefix}"));
        if self.current == ns {
            if let Some(next) = self.sockets.keys().next() {
                self.current = next.clone();
            }
        }
        Ok(())
    }
}

/// `/x` from `/x` or `x`; `None` for nothing.
fn namespace(s: &str) -> Option<String> {
    match s {
        "" => None,
        s if s.starts_with('/') => Some(s.to_owned()),
        s => Some(format!("/{s}")),
    }
}
