//! Reconnection timing with a fake clock: attempts come at the backoff's
//! delays, and give up after the configured number.

use std::sync::{Arc, Mutex};

use socketio_client::{ClientOptions, Manager};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn attempts_follow_the_backoff_then_give_up() {
    // A port nothing listens on: every attempt fails at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut options = ClientOptions::default();
    options.backoff.jitter = 0.0;
    options.reconnection_attempts = Some(4);
    let start = Instant::now();
    let times = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(tokio::sync::Notify::new());
    let manager = Manager::new(&url, options);
    let t = times.clone();
    manager.on_reconnect_attempt(move |n| t.lock().unwrap().push((n, start.elapsed())));
    let f = failed.clone();
    manager.on_reconnect_failed(move || f.notify_one());
    let _socket = manager.socket("/", None);
    failed.notified().await;
    let times = times.lock().unwrap().clone();
    let at: Vec<(u32, u64)> = times.iter().map(|(n, d)| (*n, d.as_secs())).collect();
    // Attempt n waits min * 2^(n-1), capped at 5 s, after the previous failure.
    assert_eq!(at, [(1, 0), (2, 1), (3, 3), (4, 7)]);
}
