//! Connection state recovery on: a client whose connection drops comes
//! back with its socket id, rooms and data, and gets every `tick` it
//! missed, in order, once.
//!
//! ```sh
//! cargo run -p socketio-server --example recovery_server -- 127.0.0.1:3000
//! ```
//!
//! - recovery on, sessions kept 2 minutes (`--max-disconnection-ms N` to
//!   change it, for trying expiry);
//! - on connect it emits `hello` with `{"recovered": bool}`;
//! - every 10 ms it broadcasts `tick` with an increasing integer to `/`.
//!
//! It prints `listening on ADDR` once bound. With the official client:
//!
//! ```js
//! const socket = io("http://127.0.0.1:3000");
//! socket.on("tick", (n) => console.log(n));          // no gap across reconnects
//! socket.on("connect", () => console.log(socket.recovered));
//! ```

use std::time::Duration;

use socketio_server::{RecoveryOptions, Server, ServerOptions};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `RUST_LOG=socketio_server=debug,engineio=debug` shows sessions,
    // sockets and why they end, on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:3000".to_owned();
    let mut max_disconnection = Duration::from_secs(120);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max-disconnection-ms" => {
                let ms = args.next().and_then(|v| v.parse().ok());
                max_disconnection = Duration::from_millis(ms.expect("--max-disconnection-ms N"));
            }
            other => addr = other.to_owned(),
        }
    }
    let mut options = ServerOptions::default();
    options.connection_state_recovery =
        Some(RecoveryOptions::default().max_disconnection_duration(max_disconnection));
    let server = Server::bind(&addr, options).await?;
    server.of("/").on_connect(|socket| {
        let recovered = socket.recovered();
        let _ = socket.emit("hello", &serde_json::json!({ "recovered": recovered }));
    });
    println!("listening on {}", server.local_addr());

    let mut every = tokio::time::interval(Duration::from_millis(10));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = every.tick() => {
                let _ = server.emit("tick", &(n,));
                n += 1;
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
