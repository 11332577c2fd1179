//! The Socket.IO server the browser tests of `socketio-client`
//! (`crates/socketio-client/tests/browser.rs`, compiled for
//! `wasm32-unknown-unknown`) talk to: our own `socketio-server`, with CORS
//! open to any origin with credentials (the test page is served from
//! another port), and a `/control` namespace through which a test restarts
//! it.
//!
//! Namespace `/`:
//! - `echo` (any arguments, binary included): answered with `echo-back`,
//!   the same arguments;
//! - `ack-me` (any arguments): acknowledged with the same arguments;
//! - `ask-me` (`[value]`): the server emits `question` with `value` and an
//!   ack, waits (5 s) for the client's acknowledgement and emits
//!   `answer-was` with its arguments (or `"no answer"`);
//! - `never-ack`: never acknowledged, for ack timeouts;
//! - `generation` (with an ack): how many times the server has restarted,
//!   so a test sees that it talks to the new listener.
//!
//! Namespace `/second`: emits `welcome` with `"/second"` on connect;
//! `ack-me` as on `/`.
//!
//! Namespace `/control`: `restart` (`[down_ms]`, with an ack): acknowledged
//! first, then every connection is closed, the port stays closed for
//! `down_ms` milliseconds (refused connections, as a crashed server's), and
//! the same port is listened on again with the same namespaces.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socketio_server::{Server, ServerOptions};
use tokio::sync::Mutex;

/// A running peer.
pub struct WasmPeer {
    /// Where it listens; the same across restarts.
    pub addr: SocketAddr,
    state: Arc<State>,
}

struct State {
    addr: SocketAddr,
    server: Mutex<Option<Server>>,
    restarts: AtomicU64,
}

impl WasmPeer {
    /// `http://ADDR`, what `SIO_PEER_URL` is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many times `/control`'s `restart` has restarted it.
    pub fn restarts(&self) -> u64 {
        self.state.restarts.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection.
    pub async fn stop(&self) {
        if let Some(server) = self.state.server.lock().await.take() {
            server.shutdown(Duration::from_millis(500)).await;
        }
    }
}

/// Starts the peer on `addr` (`127.0.0.1:0` for any free port).
///
/// # Panics
///
/// When `addr` cannot be bound.
pub async fn start_sio_peer(addr: &str) -> WasmPeer {
    let server = Server::bind(addr, options())
        .await
        .unwrap_or_else(|e| panic!("binding the wasm peer to {addr}: {e}"));
    let addr = server.local_addr();
    let state = Arc::new(State {
        addr,
        server: Mutex::new(None),
        restarts: AtomicU64::new(0),
    });
    setup(&server, &state);
    *state.server.lock().await = Some(server);
    WasmPeer { addr, state }
}

fn options() -> ServerOptions {
    let mut options = ServerOptions::default();
    // The page is served by the test runner from another origin, and
    // sends credentials when the client's `with_credentials` is on.
    options.engine.cors = Some(engineio::server::Cors::any().with_credentials());
    options
}

fn setup(server: &Server, state: &Arc<State>) {
    for name in ["/", "/second"] {
        let ns = server.of(name);
        let state = state.clone();
        ns.on_connect(move |socket| {
            if name == "/second" {
                let _ = socket.emit("welcome", &("/second",));
            }
            socket.on_raw("echo", |socket, packet| async move {
                let _ = socket.emit_raw_args("echo-back", &packet);
            });
            socket.on_raw("ack-me", |socket, packet| async move {
                if let Some(id) = packet.id() {
                    let _ = socket.ack_raw_args(id, &packet);
                }
            });
            socket.on_raw("never-ack", |_, _| async move {});
            socket.on(
                "ask-me",
                |socket, (value,): (serde_json::Value,), _ack| async move {
                    let answer: Result<Vec<serde_json::Value>, _> = socket
                        .emit_with_ack("question", &(value,), Duration::from_secs(5))
                        .await;
                    let answer = match answer {
                        Ok(args) => serde_json::Value::Array(args),
                        Err(_) => serde_json::json!("no answer"),
                    };
                    let _ = socket.emit("answer-was", &(answer,));
                },
            );
            let state = state.clone();
            socket.on("generation", move |_, (): (), ack| {
                let generation = state.restarts.load(Ordering::SeqCst);
                async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(&(generation,));
                    }
                }
            });
        });
    }
    let state = state.clone();
    server.of("/control").on_connect(move |socket| {
        let state = state.clone();
        socket.on("restart", move |_, (down_ms,): (u64,), ack| {
            let state = state.clone();
            async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&("restarting",));
                }
                // Off this socket's task: the shutdown closes it.
                tokio::spawn(restart(state, Duration::from_millis(down_ms)));
            }
        });
    });
}

async fn restart(state: Arc<State>, down: Duration) {
    // Let the ack leave first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut slot = state.server.lock().await;
    if let Some(server) = slot.take() {
        server.shutdown(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(down).await;
    state.restarts.fetch_add(1, Ordering::SeqCst);
    // The port may linger a moment after the old listener closed.
    for _ in 0..50 {
        match Server::bind(state.addr, options()).await {
            Ok(server) => {
                setup(&server, &state);
                *slot = Some(server);
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the wasm peer could not listen on {} again", state.addr);
}
