//! tokio-tungstenite echo server, as its own echo example: the read half
//! forwarded into the write half, which flushes whenever the read half has
//! nothing more ready (so answers to messages that arrived together are
//! written together). usage: tungstenite_echo ADDR
use futures_util::{StreamExt, TryStreamExt, future};

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9201".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).ok();
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            let (write, read) = ws.split();
            let _ = read
                .try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
                .forward(write)
                .await;
        });
    }
}
