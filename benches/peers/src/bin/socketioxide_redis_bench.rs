//! One node of a socketioxide cluster on Redis, with socketioxide-redis and
//! its default driver (the `redis` crate, RESP3), configured as our
//! cluster_node example: `broadcast` re-sent as `bcast` to every socket of
//! `/` on every node; heartbeats every 300 ms, the timeout left at its
//! default (20 s), as for the Node peer (`sio_cluster_bench.js` says why).
//! socketioxide-redis speaks its own protocol, not the Node adapter's: its
//! nodes only talk to each other.
//! usage: socketioxide_redis_bench ADDR REDIS_URL
use std::time::Duration;

use axum::serve::ListenerExt;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Data, SocketRef};
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};

async fn on_connect<A: Adapter>(socket: SocketRef<A>, io: SocketIo<A>) {
    socket.on("broadcast", async move |Data::<Value>(data)| {
        io.emit("bcast", &data).await.ok();
    });
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, redis_url] = args.as_slice() else {
        eprintln!("usage: socketioxide_redis_bench ADDR REDIS_URL");
        std::process::exit(2)
    };
    // Its drivers speak RESP3, which the `redis` crate takes from the URL.
    let client = redis::Client::open(format!("{redis_url}?protocol=resp3"))?;
    let adapter = RedisAdapterCtr::new_with_redis(&client).await?;
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(300))
        .with_adapter::<RedisAdapter<_>>(adapter)
        .build_layer();
    // The namespace's adapter subscribes before the port opens.
    io.ns("/", on_connect).await?;
    let app = axum::Router::new().layer(layer);
    // TCP_NODELAY, as every other server here sets it.
    let listener = tokio::net::TcpListener::bind(addr.as_str())
        .await?
        .tap_io(|tcp| tcp.set_nodelay(true).unwrap_or_default());
    axum::serve(listener, app).await?;
    Ok(())
}
