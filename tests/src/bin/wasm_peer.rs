//! Starts the Socket.IO peer of `socketio-client`'s browser tests and prints
//! its URL, for manual runs:
//!
//! ```sh
//! cargo run -p realtime-interop --bin wasm_peer [ADDR]   # default 127.0.0.1:0
//! SIO_PEER_URL=http://... cargo test --target wasm32-unknown-unknown \
//!     -p realtime-socketio-client --test browser
//! ```

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let peer = realtime_interop::wasm_peer::start_sio_peer(&addr).await;
    println!("{}", peer.url());
    let _ = tokio::signal::ctrl_c().await;
    peer.stop();
}
