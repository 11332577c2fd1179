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
//!   so a test sees that it talks to the new listener;
//! - `cookie` (with an ack): the `Cookie` header of the session's
//!   handshake (`""` without one); every session's first response sets
//!   `sio_peer=1`, which a browser sends back cross-origin only with
//!   credentials;
//! - `upgrades` (with an ack): how many sessions have upgraded from
//!   polling to WebSocket so far (the server's metrics), so a test sees
//!   whether its session did.
//!
//! Namespace `/second`: emits `welcome` with `"/second"` on connect;
//! `ack-me` as on `/`.
//!
//! Namespace `/control`: `restart` (`[down_ms]`, with an ack): acknowledged
//! first, then every connection is closed, the port stays closed for
//! `down_ms` milliseconds (refused connections, as a crashed server's), and
//! the same port is listened on again with the same namespaces.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_server::{Server, ServerOptions};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running peer.
pub struct WasmPeer {
    /// Where it listens; the same across restarts.
    pub addr: SocketAddr,
    state: Arc<State>,
}

/// One `socketio-server` for the peer's whole life; its listener and the
/// TCP connections are the peer's own, so that a restart can cut every
/// one of them (the server's own shutdown lets idle keep-alive
/// connections live on, answering 503, and a browser reuses those).
struct State {
    addr: SocketAddr,
    server: Server,
    restarts: AtomicU64,
    /// The accept loop, while listening.
    accept: Mutex<Option<JoinHandle<()>>>,
    /// Each connection's relay between its socket and the server.
    conns: Mutex<Vec<JoinHandle<()>>>,
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

    /// Stops listening and cuts every connection.
    pub fn stop(&self) {
        self.state.go_down();
    }
}

impl Drop for WasmPeer {
    fn drop(&mut self) {
        self.state.go_down();
    }
}

impl State {
    fn listen(self: &Arc<Self>, listener: TcpListener) {
        let state = self.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, remote)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                let (ours, theirs) = tokio::io::duplex(256 * 1024);
                state.server.serve_io(theirs, remote);
                let relay = tokio::spawn(async move {
                    let (mut tcp, mut ours) = (tcp, ours);
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut ours).await;
                });
                let mut conns = lock(&state.conns);
                conns.retain(|c| !c.is_finished());
                conns.push(relay);
            }
        });
        *lock(&self.accept) = Some(accept);
    }

    /// Closes the listener and every connection at once, as a crash would.
    fn go_down(&self) {
        if let Some(accept) = lock(&self.accept).take() {
            accept.abort();
        }
        for c in lock(&self.conns).drain(..) {
            c.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the peer on `addr` (`127.0.0.1:0` for any free port).
///
/// # Panics
///
/// When `addr` cannot be bound.
pub async fn start_sio_peer(addr: &str) -> WasmPeer {
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("binding the wasm peer to {addr}: {e}"));
    let addr = listener.local_addr().expect("a bound address");
    let state = Arc::new(State {
        addr,
        server: Server::new(options()),
        restarts: AtomicU64::new(0),
        accept: Mutex::new(None),
        conns: Mutex::new(Vec::new()),
    });
    setup(&state);
    state.listen(listener);
    WasmPeer { addr, state }
}

fn options() -> ServerOptions {
    let mut options = ServerOptions::default();
    // The page is served by the test runner from another origin, and
    // sends credentials when the client's `with_credentials` is on.
    options.engine.cors = Some(engineio::server::Cors::any().with_credentials());
    // A cookie the browser sends back only with credentials (cross-origin).
    options.engine.on_initial_headers(|_, headers| {
        headers.append(
            http::header::SET_COOKIE,
            http::HeaderValue::from_static("sio_peer=1; Path=/"),
        );
    });
    options
}

fn setup(state: &Arc<State>) {
    for name in ["/", "/second"] {
        let ns = state.server.of(name);
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
            // `n` events at once, for a client that does not read.
            socket.on("flood", |socket, (n,): (u32,), _ack| async move {
                for i in 0..n {
                    let _ = socket.emit("flooded", &(i,));
                }
            });
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
            socket.on("cookie", |socket, (): (), ack| {
                let cookie = socket
                    .handshake()
                    .headers()
                    .get(http::header::COOKIE)
                    .and_then(|c| c.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(&(cookie,));
                    }
                }
            });
            let upgrades_state = state.clone();
            socket.on("upgrades", move |_, (): (), ack| {
                let upgrades = upgrades_state.server.metrics().engine.upgrades;
                async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(&(upgrades,));
                    }
                }
            });
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
    let control = state.server.of("/control");
    let state = state.clone();
    control.on_connect(move |socket| {
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
    state.go_down();
    tokio::time::sleep(down).await;
    state.restarts.fetch_add(1, Ordering::SeqCst);
    // The port may linger a moment after the old listener closed.
    for _ in 0..50 {
        match TcpListener::bind(state.addr).await {
            Ok(listener) => return state.listen(listener),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the wasm peer could not listen on {} again", state.addr);
}
