//! The server the official socket.io-protocol test suite expects: port 3000,
//! pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000,
//! connectTimeout 1000 ms, CORS origin `*`, namespaces `/` and `/custom`;
//! emits `auth` with the CONNECT payload on connection, answers `message`
//! with `message-back` (same arguments) and acks `message-with-ack` with its
//! arguments. With `--allow-eio3`, Engine.IO v3 clients (socket.io-client
//! 2.x) are served too (`allowEIO3`); the rest is unchanged.
//!
//! ```sh
//! cargo run -p socketio-server --example protocol_suite_server [ADDR]
//! cargo run -p socketio-server --all-features --example protocol_suite_server -- \
//!     [ADDR] --tls CERT_PEM KEY_PEM    # the same over https and wss
//! cargo run -p socketio-server --features msgpack --example protocol_suite_server -- \
//!     [ADDR] --msgpack                 # the same with the MessagePack parser
//! cargo run -p socketio-server --example protocol_suite_server -- [ADDR] --allow-eio3
//! ```

use std::time::Duration;

use socketio_server::{Namespace, Server, ServerOptions, Socket};

fn greet(socket: &Socket) {
    // socket.io gives `{}` when the client sent no auth.
    let auth = socket
        .handshake()
        .auth::<serde_json::Value>()
        .unwrap_or(serde_json::json!({}));
    let _ = socket.emit("auth", &(auth,));
}

fn setup(ns: &Namespace, echo: bool) {
    ns.on_connect(move |socket| {
        greet(&socket);
        if echo {
            socket.on_raw("message", |socket, packet| async move {
                let _ = socket.emit_raw_args("message-back", &packet);
            });
            socket.on_raw("message-with-ack", |socket, packet| async move {
                if let Some(id) = packet.id() {
                    let _ = socket.ack_raw_args(id, &packet);
                }
            });
        }
    });
}

/// `[ADDR] [--tls CERT_PEM KEY_PEM] [--allow-eio3]`
fn args() -> (String, Option<(String, String)>, bool) {
    let mut args = std::env::args().skip(1);
    let (mut addr, mut tls, mut eio3) = ("127.0.0.1:3000".to_owned(), None, false);
    while let Some(a) = args.next() {
        if a == "--allow-eio3" {
            eio3 = true;
        } else if a == "--tls" {
            match (args.next(), args.next()) {
                (Some(cert), Some(key)) => tls = Some((cert, key)),
                _ => usage(),
            }
        } else if a == "--msgpack" {
            // Read by `msgpack()`.
        } else if a.starts_with('-') {
            usage()
        } else {
            addr = a;
        }
    }
    (addr, tls, eio3)
}

fn usage() -> ! {
    eprintln!(
        "usage: protocol_suite_server [ADDR] [--tls CERT_PEM KEY_PEM] [--msgpack] [--allow-eio3]"
    );
    std::process::exit(2)
}

#[cfg(feature = "tls")]
async fn bind(
    addr: &str,
    options: ServerOptions,
    tls: Option<(String, String)>,
) -> std::io::Result<Server> {
    let Some((cert, key)) = tls else {
        return Server::bind(addr, options).await;
    };
    let config =
        socketio_server::tls::server_config_from_pem(&std::fs::read(&cert)?, &std::fs::read(&key)?)
            .map_err(std::io::Error::other)?;
    Server::bind_tls(addr, options, std::sync::Arc::new(config)).await
}

#[cfg(not(feature = "tls"))]
async fn bind(
    addr: &str,
    options: ServerOptions,
    tls: Option<(String, String)>,
) -> std::io::Result<Server> {
    if tls.is_some() {
        eprintln!("--tls needs the `tls` feature: cargo run --all-features ...");
        std::process::exit(2);
    }
    Server::bind(addr, options).await
}

/// `--msgpack`: socket.io-msgpack-parser's wire form instead of JSON.
#[cfg(feature = "msgpack")]
fn msgpack(options: &mut ServerOptions) {
    options.parser = socketio_server::Parser::MsgPack;
}

#[cfg(not(feature = "msgpack"))]
fn msgpack(_: &mut ServerOptions) {
    eprintln!("--msgpack needs the `msgpack` feature: cargo run --features msgpack ...");
    std::process::exit(2);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `RUST_LOG=socketio_server=debug,engineio=debug` shows sessions,
    // sockets and why they end, on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let (addr, tls, eio3) = args();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(300);
    options.engine.session.ping_timeout = Duration::from_millis(200);
    options.engine.session.max_payload = 1_000_000;
    options.engine.cors = Some(engineio::server::Cors::any());
    options.engine.session.allow_eio3 = eio3;
    options.connect_timeout = Duration::from_millis(1000);
    if std::env::args().any(|a| a == "--msgpack") {
        msgpack(&mut options);
    }
    let server = bind(&addr, options, tls).await?;
    setup(&server.of("/"), true);
    setup(&server.of("/custom"), false);
    eprintln!(
        "protocol_suite_server: {scheme}://{}/socket.io/",
        server.local_addr()
    );
    std::future::pending::<()>().await;
    Ok(())
}
