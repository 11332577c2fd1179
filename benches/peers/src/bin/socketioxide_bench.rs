//! socketioxide server configured as our bench_server: `echo` acknowledged
//! with its arguments, `broadcast` re-sent as `bcast` to every socket.
//! usage: socketioxide_bench ADDR
use axum::serve::ListenerExt;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3201".into());
    let (layer, io) = SocketIo::new_layer();
    let all = io.clone();
    io.ns("/", async move |socket: SocketRef| {
        socket.on("echo", async |Data::<Value>(data), ack: AckSender| {
            ack.send(&data).ok();
        });
        let all = all.clone();
        socket.on("broadcast", async move |Data::<Value>(data)| {
            all.emit("bcast", &data).await.ok();
        });
    });
    let app = axum::Router::new().layer(layer);
    // TCP_NODELAY, as every other server here sets it (axum's default is
    // off: Nagle would hold back answers written while others are in flight).
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap()
        .tap_io(|tcp| tcp.set_nodelay(true).unwrap_or_default());
    axum::serve(listener, app).await.unwrap();
}
