//! An echo server for the Autobahn|Testsuite fuzzingclient.
//!
//! ```sh
//! cargo run --release -p realtime-ws-frame --example autobahn_server -- 127.0.0.1:9001
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

mod listen;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "autobahn_server: echoing on ws://{}",
        listener.local_addr()?
    );
    loop {
        let tcp = listen::accept(&listener).await;
        tokio::spawn(async move {
            let Ok(mut ws) = ws_frame::accept(tcp).await else {
                return;
            };
            // Errors are yielded once, after the core has sent its close frame;
            // the stream then ends. Answers to messages that arrived together
            // are written together.
            while let Some(msg) = ws.next().await {
                if let Ok(msg) = msg {
                    if msg.is_data() && ws.feed(msg).await.is_err() {
                        break;
                    }
                }
                if !ws.has_buffered_message() && ws.flush().await.is_err() {
                    break;
                }
            }
        });
    }
}
