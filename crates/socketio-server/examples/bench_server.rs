//! The Socket.IO server the benchmarks drive (benches/run.sh), configured as
//! every peer is: `echo` is acknowledged with its own arguments, `broadcast`
//! sends `bcast` with its arguments to every socket of the namespace.
//!
//! ```sh
//! cargo run --release -p socketio-server --example bench_server -- 127.0.0.1:3100
//! ```

use socketio_server::{Server, ServerOptions};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3100".into());
    let server = Server::bind(&addr, ServerOptions::default()).await?;
    let ns = server.of("/");
    ns.on_connect(|socket| {
        socket.on_raw("echo", |s, p| async move {
            if let Some(id) = p.id() {
                let _ = s.ack_raw_args(id, &p);
            }
        });
        socket.on_raw("broadcast", |s, p| async move {
            let _ = s.ns().broadcast().emit(
                "bcast",
                &p.event_args::<Vec<serde_json::Value>>().unwrap_or_default(),
            );
        });
    });
    eprintln!("bench_server on {}", server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}
