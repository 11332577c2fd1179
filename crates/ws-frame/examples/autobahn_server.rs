//! An echo server for the Autobahn|Testsuite fuzzingclient.
//!
//! ```sh
//! cargo run --release -p realtime-ws-frame --example autobahn_server -- 127.0.0.1:9001
//! # permessage-deflate accepted (cases 12.* and 13.*), and a smaller message limit:
//! cargo run --release -p realtime-ws-frame --features deflate --example autobahn_server -- \
//!     127.0.0.1:9001 --deflate --max-message-size 1048576
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

mod listen;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:9001".to_owned();
    let mut config = ws_frame::Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            #[cfg(feature = "deflate")]
            "--deflate" => config.deflate = Some(ws_frame::DeflateConfig::default()),
            "--max-message-size" => {
                let n = args.next().and_then(|n| n.parse().ok());
                config.max_message_size = n.expect("--max-message-size BYTES");
            }
            _ => addr = a,
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "autobahn_server: echoing on ws://{}",
        listener.local_addr()?
    );
    loop {
        let tcp = listen::accept(&listener).await;
        let config = config.clone();
        tokio::spawn(async move {
            let hs = ws_frame::handshake::HandshakeConfig::default();
            let accepted = ws_frame::accept_with(tcp, config, &hs, |_, r| Ok(r)).await;
            let Ok(mut ws) = accepted else {
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
