//! Thousands of connect/disconnect cycles leave nothing behind: no session,
//! no socket, no task, and no growing memory.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{Server, ServerOptions};
use tokio::net::TcpStream;
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

async fn cycle(addr: &str, i: usize) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
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
    let _ = ws.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_nothing_behind() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    server.of("/").on_connect(|socket| {
        socket.join("room");
        socket.on("n", |s, n: u64, _| async move {
            let _ = s.to("room").emit("n", &(n,));
        });
    });
    let addr = server.local_addr().to_string();
    let metrics = tokio::runtime::Handle::current().metrics();

    // Warm up allocator and runtime, then measure.
    for i in 0..200 {
        cycle(&addr, i).await;
    }
    settle(&server).await;
    let (tasks_before, rss_before) = (metrics.num_alive_tasks(), rss_kib());

    const CYCLES: usize = 3000;
    for i in 0..CYCLES {
        cycle(&addr, i).await;
    }
    settle(&server).await;
    let (tasks_after, rss_after) = (metrics.num_alive_tasks(), rss_kib());

    assert_eq!(server.connection_count(), 0);
    assert!(server.of("/").sockets().is_empty());
    assert!(server.of("/").to("room").fetch_sockets().is_empty());
    assert!(
        tasks_after <= tasks_before,
        "tasks: {tasks_before} -> {tasks_after}"
    );
    // A leak of even 1 KiB per cycle would show as 3 MB.
    let grew = rss_after.saturating_sub(rss_before);
    assert!(
        grew < 2048,
        "RSS grew by {grew} KiB over {CYCLES} cycles ({rss_before} -> {rss_after} KiB)"
    );
}

/// Waits until every session is gone (bounded).
async fn settle(server: &Server) {
    for _ in 0..200 {
        if server.connection_count() == 0 && server.of("/").sockets().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
