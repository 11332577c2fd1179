//! `client-emit`: our Socket.IO client (`socketio-client`) as the load
//! source. `--conns` sockets, each a manager of its own (socket.io-client's
//! `forceNew`), connected with the defaults (polling, then the upgrade to
//! WebSocket), each emitting `echo` with an ack and awaiting it, one after
//! the other, until the deadline. The same scenario is written for
//! rust_socketio (`benches/peers/src/bin/rust_socketio_load.rs`) and Node
//! socket.io-client (`benches/peers/sio_client_load.js`); all three print the
//! same JSON row.
//!
//! Reported besides the usual: `client_bytes_per_conn`, this process's
//! RSS growth over connecting the sockets, per socket (the first one
//! carries the runtime's and allocator's one-time growth), and with more
//! than one socket `client_marginal_bytes_per_conn`, the growth from the
//! first socket to the last, per socket added; the load generator's CPU
//! fields are the client's own cost per emit.

use std::time::{Duration, Instant};

use socketio_client::{ClientOptions, Socket};

use super::{Args, closed_loops, memory_kib_of, report};

/// Time for every socket to finish its upgrade before the clock starts.
const UPGRADE_SETTLE: Duration = Duration::from_millis(500);

pub(crate) async fn emit(a: &Args) {
    let me = std::process::id();
    let before = memory_kib_of(me).1;
    let mut sockets = Vec::with_capacity(a.conns);
    let mut first = before;
    for _ in 0..a.conns {
        let socket = socketio_client::connect(&a.url, ClientOptions::default().auto_connect(false));
        socket.connect().await.expect("connect");
        sockets.push(socket);
        if sockets.len() == 1 {
            first = memory_kib_of(me).1;
        }
    }
    tokio::time::sleep(UPGRADE_SETTLE).await;
    let after = memory_kib_of(me).1;
    let per_conn = after.saturating_sub(before) as f64 * 1024.0 / a.conns as f64;
    let body = "x".repeat(a.size);
    let sockets = std::sync::Arc::new(std::sync::Mutex::new(sockets));
    let (count, elapsed, lat, cpu0) = closed_loops(a, |_, deadline| {
        let socket: Socket = sockets.lock().unwrap().pop().expect("a socket");
        let body = body.clone();
        async move {
            let (mut n, mut lat) = (0u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                let (echoed,): (String,) = socket
                    .emit_with_ack("echo", &(&body,), Duration::from_secs(10))
                    .await
                    .expect("an ack");
                assert_eq!(echoed.len(), body.len(), "the ack carries the argument");
                lat.push(t.elapsed().as_micros() as u32);
                n += 1;
            }
            (n, lat)
        }
    })
    .await;
    let mut extra = format!(",\"client_bytes_per_conn\":{per_conn:.0},\"client_rss_kib\":{after}");
    if a.conns > 1 {
        let marginal = after.saturating_sub(first) as f64 * 1024.0 / (a.conns - 1) as f64;
        extra += &format!(",\"client_marginal_bytes_per_conn\":{marginal:.0}");
    }
    report("client-emit", a, count, elapsed, lat, cpu0, &extra);
}
