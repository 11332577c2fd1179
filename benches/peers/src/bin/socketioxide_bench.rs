//! socketioxide server configured as our bench_server: `echo` acknowledged
//! with its arguments, `broadcast` re-sent as `bcast` to every socket.
//! usage: socketioxide_bench ADDR
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3201".into());
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
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
