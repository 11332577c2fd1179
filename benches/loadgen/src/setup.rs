//! Connection setup: `sio-connect` (Socket.IO connects per second, as
//! socket.io-client connects), `ws-connect` (WebSocket handshakes per
//! second) and `sio-cycles` (connect/disconnect cycles, the server's RSS
//! before and after).
//!
//! `--conns` workers run at once, each connecting, using and closing one
//! connection after another.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use ws_frame::Message;

use super::polling::{PollingClient, Target, drain};
use super::{Args, Ws, connect, cpu_snapshot, memory_kib, next_text, report};

/// One Socket.IO connection made as socket.io-client makes it: the
/// Engine.IO handshake over polling, the namespace CONNECT over polling,
/// the upgrade to WebSocket (`2probe`, `3probe`, `5`), then one event with
/// an ack over the WebSocket. Done one step after the other, so the
/// latency is the sum of the round trips.
async fn sio_connect_full(target: &Target, i: usize) -> Ws {
    let polling = PollingClient::connect(target, i).await;
    let url = format!(
        "ws://{}{}&sid={}",
        target.addr,
        target.with_transport("websocket"),
        polling.sid
    );
    let mut ws = connect(&url, i).await;
    ws.send(Message::text("2probe")).await.expect("probe");
    let probe = next_text(&mut ws).await;
    assert_eq!(probe, "3probe", "probe answered");
    ws.send(Message::text("5")).await.expect("upgrade");
    // The polling connection is done with once upgraded.
    drop(polling);
    ws.send(Message::text("420[\"echo\",\"hello\"]"))
        .await
        .expect("first event");
    loop {
        let t = next_text(&mut ws).await;
        if t.starts_with("430[") {
            return ws;
        }
    }
}

/// A Socket.IO disconnect as socket.io-client's `socket.disconnect()`:
/// the namespace DISCONNECT, then the WebSocket closing handshake.
async fn sio_disconnect(mut ws: Ws) {
    ws.send(Message::text("41")).await.ok();
    ws.close().await.ok();
    drain(&mut ws).await;
}

/// Runs `--conns` workers over `job` until the deadline, or until `cycles`
/// jobs are done; returns the jobs done, the time, each job's latency.
async fn workers<F, Fut>(a: &Args, cycles: Option<usize>, job: F) -> (u64, Duration, Vec<u32>)
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Duration> + 'static,
{
    let left = Arc::new(AtomicUsize::new(cycles.unwrap_or(usize::MAX)));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.secs);
    let timed = cycles.is_none();
    let local = tokio::task::LocalSet::new();
    let tasks: Vec<_> = (0..a.conns)
        .map(|i| {
            let (left, job) = (left.clone(), job.clone());
            local.spawn_local(async move {
                let mut lat = Vec::new();
                while (!timed || Instant::now() < deadline)
                    && left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_ok()
                {
                    lat.push(job(i).await.as_micros() as u32);
                }
                lat
            })
        })
        .collect();
    let lat = local
        .run_until(async move {
            let mut lat = Vec::new();
            for t in tasks {
                lat.extend(t.await.expect("a worker"));
            }
            lat
        })
        .await;
    (lat.len() as u64, start.elapsed(), lat)
}

/// `sio-connect`: full Socket.IO connects per second; the latency is one
/// connect's (handshake to the first ack), the disconnect not included.
pub(crate) async fn sio_connects(a: &Args) {
    let target = Arc::new(Target::parse(&a.url));
    let cpu0 = cpu_snapshot(&a.pids);
    let (count, elapsed, lat) = workers(a, None, move |i| {
        let target = target.clone();
        async move {
            let t = Instant::now();
            let ws = sio_connect_full(&target, i).await;
            let took = t.elapsed();
            sio_disconnect(ws).await;
            took
        }
    })
    .await;
    report("sio-connect", a, count, elapsed, lat, cpu0, "");
}

/// `ws-connect`: WebSocket opening handshakes per second (TCP connect,
/// upgrade request, 101), each connection then closed with the closing
/// handshake; the latency is the opening's.
pub(crate) async fn ws_connects(a: &Args) {
    let url: Arc<str> = a.url.as_str().into();
    let cpu0 = cpu_snapshot(&a.pids);
    let (count, elapsed, lat) = workers(a, None, move |i| {
        let url = url.clone();
        async move {
            let t = Instant::now();
            let mut ws = connect(&url, i).await;
            let took = t.elapsed();
            ws.close().await.ok();
            drain(&mut ws).await;
            took
        }
    })
    .await;
    report("ws-connect", a, count, elapsed, lat, cpu0, "");
}

/// `sio-cycles`: `--cycles` full connects and disconnects. The server's
/// RSS is taken on a fresh process, after `--warmup` cycles (the
/// allocator's and runtime's one-time growth), and after every cycle plus
/// `--settle` seconds; `growth_pct` is the end against the warm figure.
pub(crate) async fn sio_cycles(a: &Args) {
    let target = Arc::new(Target::parse(&a.url));
    let job = move |i| {
        let target = target.clone();
        async move {
            let t = Instant::now();
            let ws = sio_connect_full(&target, i).await;
            sio_disconnect(ws).await;
            t.elapsed()
        }
    };
    let fresh = memory_kib(&a.pids).1;
    workers(a, Some(a.warmup), job.clone()).await;
    tokio::time::sleep(Duration::from_secs(a.settle)).await;
    let warm = memory_kib(&a.pids).1;
    let cpu0 = cpu_snapshot(&a.pids);
    let (count, elapsed, lat) = workers(a, Some(a.cycles), job).await;
    tokio::time::sleep(Duration::from_secs(a.settle)).await;
    let end = memory_kib(&a.pids).1;
    let growth = (end as f64 - warm as f64) * 100.0 / warm.max(1) as f64;
    let extra = format!(
        ",\"cycles\":{},\"rss_fresh_kib\":{fresh},\"rss_warm_kib\":{warm},\"rss_end_kib\":{end},\
\"growth_pct\":{growth:.2},\"within_5pct\":{}",
        a.cycles,
        growth.abs() <= 5.0
    );
    report("sio-cycles", a, count, elapsed, lat, cpu0, &extra);
}
