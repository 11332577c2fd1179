//! Fair turns on a saturated runtime: with 1000 sessions ready at once on
//! tokio's multi-thread scheduler with one worker (as on one core), every
//! session is served about as often as every other; none waits while
//! others are served many times over.
//!
//! The measure is a count of turns, not a time: 1000 clients on another
//! thread run closed loops over loopback TCP (an `echo` with ack, then the
//! next), every one its own task on a current-thread runtime, which serves
//! them in turn as the benchmarks' load generator does. Once the server has
//! answered 30 messages per client, no client may have had fewer than a
//! quarter of that share (before sessions took turns, hundreds had none or
//! one). A busy machine slows both sides alike; the global queue interval
//! is fixed at 61 ticks (tokio's fixed default before it tuned it to poll
//! times) so a slow debug build is not fairer by accident.
//!
//! A binary of its own: its 2000 sockets and two busy threads would
//! disturb the api tests that measure the process (RSS, live tasks) or wait
//! with deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use socketio_server::{Server, ServerOptions};
use tokio::sync::Notify;
use ws_frame::Message;

const CLIENTS: usize = 1000;

/// Answers counted before the measurement starts (every client connected
/// and going), and then during it, per client.
const WARM_UP: u64 = 5;
const ROUNDS: u64 = 30;

struct Tally {
    per_client: Vec<AtomicU32>,
    total: AtomicU64,
    /// Told when `total` reaches `at`.
    reached: Notify,
    at: AtomicU64,
    stop: AtomicBool,
}

impl Tally {
    fn count(&self, i: usize) {
        self.per_client[i].fetch_add(1, Ordering::Relaxed);
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        if total == self.at.load(Ordering::Relaxed) {
            self.reached.notify_one();
        }
    }

    fn snapshot(&self) -> Vec<u32> {
        self.per_client
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Waits until the server has answered `n` messages in all.
    async fn until(&self, n: u64) {
        let reached = self.reached.notified();
        tokio::pin!(reached);
        reached.as_mut().enable();
        self.at.store(n, Ordering::Relaxed);
        if self.total.load(Ordering::Relaxed) < n {
            reached.await;
        }
    }
}

async fn client(url: Arc<str>, i: usize, go: Arc<Notify>, tally: Arc<Tally>) {
    let tcp =
        tokio::net::TcpStream::connect(url.trim_start_matches("ws://").split('/').next().unwrap())
            .await
            .unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
    ws.next().await.unwrap().unwrap(); // Engine.IO open
    ws.send(Message::text("40")).await.unwrap();
    ws.next().await.unwrap().unwrap(); // CONNECT
    let started = go.notified();
    tally.count(i); // connected
    started.await;
    let mut id = 0u64;
    while !tally.stop.load(Ordering::Relaxed) {
        ws.send(Message::text(format!(r#"42{id}["echo","x"]"#)))
            .await
            .unwrap();
        let Message::Text(ack) = ws.next().await.unwrap().unwrap() else {
            panic!("a text ack");
        };
        assert!(ack.as_str().starts_with(&format!("43{id}[")), "{ack:?}");
        tally.count(i);
        id += 1;
    }
}

#[test]
fn saturated_sessions_take_turns() {
    // The server: tokio's multi-thread runtime with one worker, as on one
    // core, on its own thread.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(61)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(async {
        let server = Server::bind("127.0.0.1:0", ServerOptions::default())
            .await
            .unwrap();
        server.of("/").on_connect(|socket| {
            socket.on_raw("echo", |s, p| async move {
                if let Some(id) = p.id() {
                    let _ = s.ack_raw_args(id, &p);
                }
            });
        });
        server
    });
    let url: Arc<str> = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.local_addr()
    )
    .into();
    // The clients: one thread, every connection its own task, served in
    // turn by the current-thread scheduler (as the benchmarks' load
    // generator).
    let clients_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    clients_rt.block_on(async {
        let tally = Arc::new(Tally {
            per_client: (0..CLIENTS).map(|_| AtomicU32::new(0)).collect(),
            total: AtomicU64::new(0),
            reached: Notify::new(),
            at: AtomicU64::new(u64::MAX),
            stop: AtomicBool::new(false),
        });
        let go = Arc::new(Notify::new());
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|i| tokio::spawn(client(url.clone(), i, go.clone(), tally.clone())))
            .collect();
        // Every client connected, then all of them at once.
        tally.until(CLIENTS as u64).await;
        go.notify_waiters();

        let mut at = CLIENTS as u64 * (1 + WARM_UP);
        tally.until(at).await;
        let before = tally.snapshot();
        at += CLIENTS as u64 * ROUNDS;
        tally.until(at).await;
        let after = tally.snapshot();
        tally.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }

        let mut turns: Vec<u32> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        turns.sort_unstable();
        let (min, median, max) = (turns[0], turns[CLIENTS / 2], turns[CLIENTS - 1]);
        eprintln!(
            "turns: min {min}, p1 {}, median {median}, max {max}",
            turns[CLIENTS / 100]
        );
        // A fair share is ROUNDS turns each.
        let starved = turns.iter().filter(|&&t| u64::from(t) * 4 < ROUNDS).count();
        assert!(
            starved == 0,
            "{starved} of {CLIENTS} clients had fewer than a quarter of their fair share \
             of {ROUNDS} turns (min {min}, median {median}, max {max})"
        );
    });
    drop(server);
    drop(server_rt);
}
