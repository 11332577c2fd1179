//! The server the official socket.io-protocol test suite expects: port 3000,
//! pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000,
//! connectTimeout 1000 ms, CORS origin `*`, namespaces `/` and `/custom`;
//! emits `auth` with the CONNECT payload on connection, answers `message`
//! with `message-back` (same arguments) and acks `message-with-ack` with its
//! arguments.
//!
//! ```sh
//! cargo run -p socketio-server --example protocol_suite_server [ADDR]
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

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(300);
    options.engine.session.ping_timeout = Duration::from_millis(200);
    options.engine.session.max_payload = 1_000_000;
    options.engine.cors = Some(engineio::server::Cors::any());
    options.connect_timeout = Duration::from_millis(1000);
    let server = Server::bind(&addr, options).await?;
    setup(&server.of("/"), true);
    setup(&server.of("/custom"), false);
    eprintln!(
        "protocol_suite_server: http://{}/socket.io/",
        server.local_addr()
    );
    std::future::pending::<()>().await;
    Ok(())
}
