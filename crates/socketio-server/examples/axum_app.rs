//! Socket.IO mounted in an axum app, beside the app's own routes, on one
//! port: a chat page at `/` (open it in two browser tabs), `GET /health`,
//! and Socket.IO at `/socket.io/` with the official browser client served at
//! `/socket.io/socket.io.min.js` from the npm package the repository pins.
//!
//! Socket.IO behaves as `protocol_suite_server` (the official
//! socket.io-protocol suite passes against it): namespaces `/` and
//! `/custom`, `auth` emitted back on connect, `message` answered with
//! `message-back`, `message-with-ack` acked, pingInterval 300 ms,
//! pingTimeout 200 ms, maxPayload 1 MB, connectTimeout 1 s, CORS `*`.
//! The chat adds `join` (room, name; acked with the room's size) and `chat`
//! (room, name, text; sent to everyone in the room) on `/`.
//!
//! ```sh
//! cargo run -p socketio-server --example axum_app [ADDR]   # default 127.0.0.1:3000
//! cargo run -p socketio-server --example axum_app -- [ADDR] --heartbeat 25000,20000
//! ```
//!
//! `/rust/` serves the same chat page written in Rust (`examples/wasm-chat`:
//! `socketio-client` compiled to wasm32), from `target/wasm-chat/` or the
//! directory `WASM_CHAT_DIR` names; build it first with
//! `scripts/wasm-chat.sh`. Both pages chat in the same rooms.
//!
//! `--heartbeat INTERVAL_MS,TIMEOUT_MS` replaces the suite's 300/200 ms
//! (tight for a browser on a busy machine) with another heartbeat, such as
//! the official default 25 s / 20 s.
//!
//! Ctrl-C shuts down gracefully: clients are told and reconnect.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use socketio_server::{AckSender, Namespace, Server, ServerOptions, Socket};

/// The suite's behaviour, on `/` and `/custom`.
fn suite(ns: &Namespace, echo: bool) {
    ns.on_connect(move |socket| {
        // socket.io gives `{}` when the client sent no auth.
        let auth = socket
            .handshake()
            .auth::<serde_json::Value>()
            .unwrap_or(serde_json::json!({}));
        let _ = socket.emit("auth", &(auth,));
        if echo {
            socket.on_raw("message", |socket, packet| async move {
                let _ = socket.emit_raw_args("message-back", &packet);
            });
            socket.on_raw("message-with-ack", |socket, packet| async move {
                if let Some(id) = packet.id() {
                    let _ = socket.ack_raw_args(id, &packet);
                }
            });
            chat(&socket);
        }
    });
}

/// The chat page's two events.
fn chat(socket: &Socket) {
    socket.on(
        "join",
        |socket, (room, name): (String, String), ack: Option<AckSender>| async move {
            for old in socket.rooms() {
                if old != socket.id() {
                    socket.leave(&old);
                }
            }
            socket.join(&room);
            let members = socket.ns().to(&room).sockets().len();
            let _ = socket
                .ns()
                .to(&room)
                .emit("system", &(format!("{name} joined #{room}"),));
            if let Some(ack) = ack {
                let _ = ack.send(&(members,));
            }
        },
    );
    socket.on(
        "chat",
        |socket, (room, name, text): (String, String, String), _| async move {
            if socket.rooms().contains(&room) {
                let msg = serde_json::json!({ "name": name, "text": text });
                let _ = socket.ns().to(&room).emit("chat", &(msg,));
            }
        },
    );
}

/// The official browser client, from `node_modules` (installed with
/// `npm ci` on first use, as the interop tests do).
fn browser_client() -> std::io::Result<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("node_modules/socket.io-client/dist/socket.io.min.js");
    if !file.exists() {
        eprintln!("axum_app: installing the pinned npm packages (npm ci)");
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other("npm ci failed"));
        }
    }
    std::fs::read(file)
}

/// The Rust chat page's files (`scripts/wasm-chat.sh` writes them), read on
/// each request so a rebuild needs no restart. Only these three names.
async fn wasm_chat(file: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let kind = match file {
        "index.html" => "text/html; charset=utf-8",
        "wasm_chat.js" => "text/javascript",
        // `application/wasm` lets the browser compile while it downloads.
        "wasm_chat_bg.wasm" => "application/wasm",
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    let dir = std::env::var_os("WASM_CHAT_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm-chat"),
        PathBuf::from,
    );
    match std::fs::read(dir.join(file)) {
        Ok(body) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        Err(_) => (
            axum::http::StatusCode::NOT_FOUND,
            format!(
                "{} not found: build the Rust chat page with scripts/wasm-chat.sh \
                 (or set WASM_CHAT_DIR)\n",
                dir.join(file).display()
            ),
        )
            .into_response(),
    }
}

/// `[ADDR] [--heartbeat INTERVAL_MS,TIMEOUT_MS]`
fn args() -> (String, (u64, u64)) {
    let usage = || -> ! {
        eprintln!("usage: axum_app [ADDR] [--heartbeat INTERVAL_MS,TIMEOUT_MS]");
        std::process::exit(2)
    };
    let (mut addr, mut heartbeat) = ("127.0.0.1:3000".to_owned(), (300, 200));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--heartbeat" {
            let value = args.next().unwrap_or_else(|| usage());
            let parsed = value
                .split_once(',')
                .and_then(|(i, t)| Some((i.parse().ok()?, t.parse().ok()?)));
            heartbeat = parsed.unwrap_or_else(|| usage());
        } else if a.starts_with('-') {
            usage()
        } else {
            addr = a;
        }
    }
    (addr, heartbeat)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `RUST_LOG=socketio_server=debug,engineio=debug` shows sessions,
    // sockets and why they end, on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let (addr, (interval, timeout)) = args();

    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(interval);
    options.engine.session.ping_timeout = Duration::from_millis(timeout);
    options.engine.session.max_payload = 1_000_000;
    options.engine.cors = Some(engineio::server::Cors::any());
    options.connect_timeout = Duration::from_millis(1000);
    let io = Server::new(options);
    suite(&io.of("/"), true);
    suite(&io.of("/custom"), false);

    let client = browser_client()?;
    let app = Router::new()
        .route(
            "/",
            get(|| async { Html(include_str!("../static/chat.html")) }),
        )
        .route("/health", get(|| async { "ok" }))
        // The page imports `./wasm_chat.js`: it must be at a directory URL.
        .route(
            "/rust",
            get(|| async { axum::response::Redirect::permanent("/rust/") }),
        )
        .route("/rust/", get(|| wasm_chat("index.html")))
        .route(
            "/rust/{file}",
            get(
                |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    wasm_chat(&file).await
                },
            ),
        )
        .route(
            "/socket.io/socket.io.min.js",
            get(
                move || async move { ([(header::CONTENT_TYPE, "application/javascript")], client) },
            ),
        )
        .layer(io.layer());

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // Scripts read this line for the port when ADDR ends in `:0`.
    println!("axum_app: http://{}/", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let server = tokio::spawn(async move { serve.await });
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("axum_app: shutting down");
    // hyper waits for requests in flight, not for upgraded WebSockets: the
    // Socket.IO server says goodbye to every client itself.
    let dropped = io.shutdown(Duration::from_secs(5)).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    eprintln!("axum_app: done ({dropped} connections dropped at the deadline)");
    Ok(())
}
