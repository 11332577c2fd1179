//! Reconnection timing with a fake clock: attempts come at the backoff's
//! delays, jittered, and give up after the configured number.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The gaps between a manager's reconnection attempts, given up after
/// `attempts`, on a fake clock, with the default backoff (jitter 0.5).
async fn jittered_gaps(url: &str, attempts: u32) -> Vec<Duration> {
    let mut options = ClientOptions::default();
    options.reconnection_attempts = Some(attempts);
    let (tx, mut at) = tokio::sync::mpsc::unbounded_channel();
    let failed = Arc::new(tokio::sync::Notify::new());
    let manager = Manager::new(url, options);
    manager.on_reconnect_attempt(move |_| {
        let _ = tx.send(Instant::now());
    });
    let f = failed.clone();
    manager.on_reconnect_failed(move || f.notify_one());
    let _socket = manager.socket("/", None);
    failed.notified().await;
    let mut times = Vec::new();
    while let Ok(t) = at.try_recv() {
        times.push(t);
    }
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn attempts_are_jittered_around_the_backoff() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let first = jittered_gaps(&url, 4).await;
    let second = jittered_gaps(&url, 4).await;
    for gaps in [&first, &second] {
        assert_eq!(gaps.len(), 3, "{gaps:?}");
        for (gap, base) in gaps.iter().zip([1000u64, 2000, 4000]) {
            let ms = gap.as_millis() as u64;
            assert!(
                (base / 2..=(base * 3 / 2).min(5000)).contains(&ms),
                "{gaps:?}: {ms} ms strays more than half of {base}"
            );
        }
    }
    // Each delay is drawn anew: all three falling on their bases, or two
    // managers drawing the same three delays, is a one-in-a-billion chance.
    let bases = [1000, 2000, 4000].map(Duration::from_millis);
    assert_ne!(first, bases, "no jitter");
    assert_ne!(second, bases, "no jitter");
    assert_ne!(first, second, "the same draws twice");
}
