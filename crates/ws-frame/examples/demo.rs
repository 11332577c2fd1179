//! A WebSocket echo server and a client talking to it, in one process:
//! text, binary, a ping answered by the core, and the close handshake.
//!
//! ```sh
//! cargo run -p realtime-ws-frame --example demo
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use ws_frame::{CloseCode, CloseFrame, Message};

mod listen;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("echo server on ws://{addr}/");
    tokio::spawn(async move {
        loop {
            let tcp = listen::accept(&listener).await;
            tokio::spawn(async move {
                let Ok(mut ws) = ws_frame::accept(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_data() && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    let tcp = TcpStream::connect(addr).await?;
    let (mut ws, resp) = ws_frame::connect(tcp, &format!("ws://{addr}/demo")).await?;
    println!("client: handshake answered {}", resp.status());

    let outgoing = [
        Message::text("hello, WebSocket"),
        Message::binary(vec![0xde, 0xad, 0xbe, 0xef]),
        Message::text("ünïcödé ✓"),
        Message::Ping("are you there?".into()),
    ];
    for msg in outgoing {
        println!("client -> {msg:?}");
        ws.send(msg).await?;
        let reply = ws.next().await.ok_or("server went away")??;
        println!("client <- {reply:?}");
    }

    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::NORMAL,
        reason: "demo over".into(),
    })))
    .await?;
    while let Some(msg) = ws.next().await {
        println!("client <- {:?}", msg?);
    }
    println!("client: closing handshake complete");
    Ok(())
}
