//! `sio`: Socket.IO and WebSocket from the command line.
//!
//! # Layer
//!
//! An application on top of the whole stack: `socketio-client` for
//! `listen`, `emit` and `connect`, `socketio-server` (mounted in axum) for
//! `serve`, and `ws-frame` alone for `ws`. It adds no protocol of its own;
//! what it adds is the shape of the text: event arguments typed and
//! printed as JSON, with bytes written `{"$binary":"<base64>"}`.
//!
//! # Examples
//!
//! ```sh
//! sio serve --port 3000 &                              # echo/chat server, chat page at /
//! sio listen http://localhost:3000 | jq -c .args       # one JSON line per event
//! sio emit http://localhost:3000 chat hello            # a bare word is a string
//! sio emit http://localhost:3000 echo '"hi"' 42 --ack  # prints ["hi",42]
//! sio emit http://localhost:3000/admin ping --ack --timeout 500ms
//! sio connect http://localhost:3000 --auth '{"token":"t"}'   # interactive
//! sio ws ws://localhost:8080/ --subprotocol chat       # raw WebSocket, like wscat
//! ```
//!
//! # Conventions
//!
//! - The namespace is the URL's path, as in the JS client
//!   (`http://host:3000/admin`); `--ns` overrides it.
//! - Each argument is parsed as JSON; a bare word that is not valid JSON is
//!   a string (`hi` and `'"hi"'` are the same, `'"42"'` is the string 42);
//!   what starts with `{`, `[` or `"` must be valid JSON.
//! - Binary arguments, sent and received: `{"$binary":"<base64>"}` (the
//!   key MongoDB's extended JSON uses too, unlikely in an application's own
//!   data). `sio ws` prints binary messages as `binary:<base64>` (or hex).
//! - Results go to stdout, plain; notices, errors, the spinner and
//!   `--verbose`'s packets to stderr, coloured on a terminal.
//! - Exit status 0 on success, 1 on a refusal, a timeout or a failed
//!   connection (the reason on stderr), 2 on a usage error.
//!
//! # Features
//!
//! - `tls` (default): `https://` and `wss://` URLs, through rustls with the
//!   webpki roots.
//!
//! # What it does not do
//!
//! It answers no acknowledgement the server asks of it (the event is
//! printed, marked). `--verbose` shows Socket.IO packets, not Engine.IO's:
//! the client has no hook on its transport, so the packets are re-encoded
//! from what it reports (see the `connection` module).

mod cli;
mod connection;
mod emit;
mod listen;
mod payload;
mod serve;
mod session;
mod terminal;
mod ws;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::terminal::Term;

/// Why a command failed: the line printed after `sio: `.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) String);

/// Waits, up to `limit`, for the runtime's tasks to end: a closed
/// manager's connection task ends once what it had queued (an emit, the
/// close) is written, and `Manager::close`'s `on_close` comes before that.
async fn settle(limit: Duration) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = tokio::time::Instant::now() + limit;
    while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let term = Term::new(cli.color, cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            term.error(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let t = term.clone();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Listen(args) => listen::run(args, t).await,
            Command::Emit(args) => emit::run(args, t).await,
            Command::Connect(args) => session::run(args, t).await,
            Command::Serve(args) => serve::run(args, t).await,
            Command::Ws(args) => ws::run(args, t).await,
        }
    });
    runtime.block_on(settle(Duration::from_secs(2)));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(why)) => {
            term.error(&why);
            ExitCode::FAILURE
        }
    }
}
