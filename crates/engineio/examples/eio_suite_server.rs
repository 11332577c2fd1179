//! The server the official engine.io-protocol test suite expects: port 3000,
//! path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload
//! 1 000 000, CORS origin `*`, and every message echoed back.
//!
//! ```sh
//! cargo run -p engineio --example eio_suite_server [ADDR]
//! ```

use std::time::Duration;

use engineio::Event;
use engineio::server::{Server, ServerOptions};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut options = ServerOptions::default();
    options.session.ping_interval = Duration::from_millis(300);
    options.session.ping_timeout = Duration::from_millis(200);
    options.session.max_payload = 1_000_000;
    options.cors_origin = Some("*".into());
    let mut server = Server::bind(&addr, options).await?;
    eprintln!(
        "eio_suite_server: http://{}/engine.io/",
        server.local_addr()
    );
    while let Some(mut socket) = server.accept().await {
        tokio::spawn(async move {
            while let Some(event) = socket.recv().await {
                if let Event::Message(m) = event {
                    if socket.send(m).await.is_err() {
                        break;
                    }
                }
            }
        });
    }
    Ok(())
}
