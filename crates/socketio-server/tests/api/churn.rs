//! Thousands of connect/disconnect cycles leave nothing behind: no session,
//! no socket, no task, and no growing memory. Over in-memory pipes with
//! paused time, so "nothing left" is checked when every task has settled,
//! not after a guess of how long that takes.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{DisconnectReason, Server, ServerOptions};
use tokio::sync::mpsc;
use ws_frame::Message;

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// One client's life; returns once the server has ended its socket, with
/// the reason the server gave.
async fn cycle(
    server: &Server,
    ended: &mut mpsc::UnboundedReceiver<DisconnectReason>,
    i: usize,
) -> DisconnectReason {
    let (theirs, ours) = tokio::io::duplex(64 << 10);
    server.serve_io(theirs, SocketAddr::from(([127, 0, 0, 1], 40_000)));
    let url = "ws://in-memory/socket.io/?EIO=4&transport=websocket";
    let (mut ws, _) = ws_frame::connect(ours, url).await.unwrap();
    ws.next().await.unwrap().unwrap(); // Engine.IO open
    ws.send(Message::text("40")).await.unwrap();
    ws.next().await.unwrap().unwrap(); // CONNECT
    ws.send(Message::text(format!(r#"42["n",{i}]"#)))
        .await
        .unwrap();
    match i % 3 {
        // Leave politely, close abruptly, or close the Engine.IO session.
        0 => ws.send(Message::text("41")).await.unwrap(),
        1 => {}
        _ => ws.send(Message::text("1")).await.unwrap(),
    }
    if i % 3 != 1 {
        let _ = ws.close().await;
    }
    drop(ws);
    // Bounded, and well before any heartbeat could end the socket instead.
    tokio::time::timeout(Duration::from_secs(5), ended.recv())
        .await
        .expect("the socket ends at once")
        .expect("the server is up")
}

/// Lets every task run until none can go on: with the clock paused, time
/// moves only once the runtime is idle, and far less than any heartbeat
/// (so a session left alive would still be counted).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn churn_leaves_nothing_behind() {
    let server = Server::new(ServerOptions::default());
    let (tx, mut ended) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        socket.join("room");
        socket.on("n", |s, n: u64, _| async move {
            let _ = s.to("room").emit("n", &(n,));
        });
        let tx = tx.clone();
        socket.on_disconnect(move |_, reason| {
            let _ = tx.send(reason);
        });
    });
    let metrics = tokio::runtime::Handle::current().metrics();
    let expected = |i: usize| match i % 3 {
        0 => DisconnectReason::ClientNamespaceDisconnect,
        _ => DisconnectReason::TransportClose,
    };

    // Warm up allocator and runtime, then measure.
    for i in 0..200 {
        assert_eq!(
            cycle(&server, &mut ended, i).await,
            expected(i),
            "cycle {i}"
        );
    }
    settle().await;
    assert_eq!(server.connection_count(), 0);
    let (tasks_before, rss_before) = (metrics.num_alive_tasks(), rss_kib());

    const CYCLES: usize = 3000;
    for i in 0..CYCLES {
        assert_eq!(
            cycle(&server, &mut ended, i).await,
            expected(i),
            "cycle {i}"
        );
    }
    settle().await;
    let (tasks_after, rss_after) = (metrics.num_alive_tasks(), rss_kib());

    assert_eq!(server.connection_count(), 0);
    assert!(server.of("/").sockets().is_empty());
    assert!(server.of("/").to("room").sockets().is_empty());
    // Every task has ended: sessions, handlers, timers.
    assert_eq!(tasks_after, 0, "tasks: {tasks_before} -> {tasks_after}");
    // A leak of even 1 KiB per cycle would show as 3 MB.
    let grew = rss_after.saturating_sub(rss_before);
    assert!(
        grew < 2048,
        "RSS grew by {grew} KiB over {CYCLES} cycles ({rss_before} -> {rss_after} KiB)"
    );
}
