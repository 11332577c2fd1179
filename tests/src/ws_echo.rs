//! A ws-frame echo server for ws-frame's browser suite
//! (`crates/ws-frame/tests/browser.rs`), started in-process by `tests/wasm`.
//!
//! Every message is echoed, except text commands, which let the browser ask
//! for what an echo cannot show:
//!
//! - `!close CODE REASON`: the server closes with that code and reason;
//! - `!drop`: the server drops the TCP connection without a close frame;
//! - `!flood N SIZE`: the server sends N binary messages of SIZE bytes,
//!   the first four bytes of each its index (big-endian);
//! - `!last-close`: the server answers `CODE REASON` of the last close
//!   frame a client sent it (`none` before any), so a client can see what
//!   went on the wire after its connection closed.
//!
//! The path `/reject` is refused with 403; the subprotocol `echo` is
//! selected when offered.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use ws_frame::handshake::HandshakeConfig;
use ws_frame::{CloseCode, CloseFrame, Config, Message};

/// The echo server, running until dropped.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl EchoServer {
    /// Starts the server on a free loopback port, on the current runtime.
    pub async fn start() -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
        let addr = listener.local_addr().expect("echo address");
        let last_close = Arc::new(Mutex::new(String::from("none")));
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, last_close.clone()));
            }
        });
        EchoServer { addr, task }
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(tcp: TcpStream, last_close: Arc<Mutex<String>>) {
    let _ = tcp.set_nodelay(true);
    let accepted = ws_frame::accept_with(
        tcp,
        Config::default(),
        &HandshakeConfig::default(),
        |req, resp| {
            if req.request().uri().path() == "/reject" {
                return Err(403);
            }
            if req.protocols().iter().any(|p| p == "echo") {
                return Ok(req.accept(Some("echo")));
            }
            Ok(resp)
        },
    )
    .await;
    let Ok(mut ws) = accepted else { return };
    while let Some(Ok(msg)) = ws.next().await {
        let reply = match msg {
            Message::Text(t) if t.as_str().starts_with('!') => {
                let mut words = t.as_str().splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("!close"), Some(code), reason) => {
                        let frame = CloseFrame {
                            code: CloseCode(code.parse().unwrap_or(1000)),
                            reason: reason.unwrap_or("").into(),
                        };
                        let _ = ws.send(Message::Close(Some(frame))).await;
                        continue;
                    }
                    (Some("!drop"), ..) => return,
                    (Some("!flood"), Some(n), Some(size)) => {
                        let (n, size): (u32, usize) =
                            (n.parse().unwrap_or(0), size.parse().unwrap_or(4));
                        for i in 0..n {
                            let mut body = vec![0u8; size.max(4)];
                            body[..4].copy_from_slice(&i.to_be_bytes());
                            if ws.feed(Message::binary(body)).await.is_err() {
                                return;
                            }
                        }
                        let _ = ws.flush().await;
                        continue;
                    }
                    (Some("!last-close"), ..) => {
                        let last = last_close.lock().expect("last close").clone();
                        Message::text(last)
                    }
                    _ => Message::Text(t),
                }
            }
            Message::Close(frame) => {
                *last_close.lock().expect("last close") = match frame {
                    Some(f) => format!("{} {}", f.code.0, f.reason),
                    None => "1005".to_owned(),
                };
                continue;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            data => data,
        };
        if ws.send(reply).await.is_err() {
            return;
        }
    }
}
