//! A Socket.IO server node of a Redis cluster: Rust and Node nodes (see
//! `tests/js/redis_cluster_node.js`) on one Redis serve one set of clients.
//!
//! ```sh
//! cargo run -p socketio-redis --example cluster_node -- 127.0.0.1:3000 redis://127.0.0.1:6379
//! cargo run -p socketio-redis --example cluster_node -- 127.0.0.1:3001 redis://127.0.0.1:6379 --sharded
//! ```
//!
//! The classic adapter by default (Node's `createAdapter`); `--sharded` (or
//! `sharded`) for the sharded one (`createShardedAdapter`, Redis 7). Every
//! node of a cluster runs the same.
//!
//! Prints `cluster_node: http://ADDR/socket.io/` on stdout once listening
//! (port 0 picks a free port). It serves what the official socket.io-protocol
//! suite expects (namespaces `/` and `/custom`, `auth` emitted back on
//! connection, `message` -> `message-back`, acked `message-with-ack`;
//! pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000,
//! connectTimeout 1 s, CORS for any origin), and on `/`, across the cluster:
//!
//! - `broadcast ...args`: every socket of `/` on every node gets
//!   `bcast ...args`;
//! - `join room` (acked): the socket joins `room`;
//! - `to-room room ...args`: the sockets in `room` on every node get
//!   `bcast ...args`;
//! - `count` (acked): the number of sockets of `/` on every node;
//! - the server-side emit `whoami` is answered with `{"node": "rust"}`.

use std::io::Write;
use std::time::Duration;

use socketio_redis::classic::{RedisAdapterOptions, create_adapter};
use socketio_redis::sharded::{ShardedAdapterOptions, create_sharded_adapter};
use socketio_server::{Server, ServerOptions};

#[path = "cluster_node/handlers.rs"]
mod handlers;

fn usage() -> ! {
    eprintln!("usage: cluster_node ADDR REDIS_URL [--sharded]");
    std::process::exit(2)
}

/// `ADDR REDIS_URL [--sharded | sharded | --classic | classic]`
fn args() -> (String, String, bool) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [addr, url] => (addr.clone(), url.clone(), false),
        [addr, url, mode] => match mode.trim_start_matches("--") {
            "sharded" => (addr.clone(), url.clone(), true),
            "classic" => (addr.clone(), url.clone(), false),
            _ => usage(),
        },
        _ => usage(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, redis_url, sharded) = args();
    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(300);
    options.engine.session.ping_timeout = Duration::from_millis(200);
    options.engine.session.max_payload = 1_000_000;
    options.engine.cors = Some(engineio::server::Cors::any());
    options.connect_timeout = Duration::from_millis(1000);
    options.adapter = if sharded {
        create_sharded_adapter(&redis_url, ShardedAdapterOptions::default()).await?
    } else {
        create_adapter(&redis_url, RedisAdapterOptions::default()).await?
    };
    let server = Server::bind(addr.as_str(), options).await?;
    handlers::setup(&server);
    println!("cluster_node: http://{}/socket.io/", server.local_addr());
    // Whoever started it waits for this line, whatever stdout is.
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
