//! Connection state recovery against the official `socket.io-client`: the
//! `recovery_server` example, run as its docs say, broadcasts a tick every
//! 10 ms while the client's transport is cut again and again.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::node::NodePeer;

fn build_recovery_server() -> PathBuf {
    realtime_interop::cargo_build("socketio-server", "--example", "recovery_server", &[])
}

/// `recovery_server 127.0.0.1:0 [extra]`, and the URL it listens on.
async fn start(extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(build_recovery_server())
        .arg("127.0.0.1:0")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting recovery_server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("recovery_server did not start")
        .unwrap()
        .expect("recovery_server exited");
    let addr = line
        .strip_prefix("listening on ")
        .expect("the address line");
    (child, format!("http://{addr}"))
}

/// The client's report: one line per connection, then the summary.
async fn run_client(
    url: &str,
    transports: &str,
    cuts: usize,
    away_ms: u64,
) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut client = NodePeer::spawn(
        "sio_recovery_client.js",
        &[url, transports, &cuts.to_string(), &away_ms.to_string()],
    );
    let mut connects = Vec::new();
    loop {
        let line = client.line().await;
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("client said {line}"));
        if v.get("ticks").is_some() {
            assert!(client.success().await, "the client failed");
            return (connects, v);
        }
        connects.push(v);
    }
}

async fn recovers_every_time(transports: &str) {
    let (_server, url) = start(&[]).await;
    let cuts = 10;
    let (connects, summary) = run_client(&url, transports, cuts, 100).await;
    assert_eq!(connects.len(), cuts + 1, "{connects:?}");
    assert_eq!(
        connects[0]["recovered"], false,
        "the first connection is new"
    );
    assert_eq!(connects[0]["hello"], false);
    for c in &connects[1..] {
        assert_eq!(c["recovered"], true, "socket.recovered after a cut: {c}");
        assert_eq!(c["hello"], true, "the server's Socket::recovered: {c}");
        assert_eq!(c["id"], connects[0]["id"], "the same socket id");
    }
    assert_eq!(summary["gaps"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["dups"], serde_json::json!([]), "{summary}");
    // 20 ticks per connection at least, and the ones missed while away.
    assert!(summary["ticks"].as_u64().unwrap() >= 20 * (cuts as u64 + 1));
}

#[tokio::test]
async fn official_client_recovers_every_tick_across_cuts_polling() {
    tokio::time::timeout(Duration::from_secs(90), recovers_every_time("polling"))
        .await
        .expect("within 90 s");
}

#[tokio::test]
async fn official_client_recovers_every_tick_across_cuts_websocket() {
    tokio::time::timeout(Duration::from_secs(90), recovers_every_time("websocket"))
        .await
        .expect("within 90 s");
}

#[tokio::test]
async fn official_client_recovers_every_tick_across_cuts_with_upgrade() {
    tokio::time::timeout(
        Duration::from_secs(90),
        recovers_every_time("polling,websocket"),
    )
    .await
    .expect("within 90 s");
}

#[tokio::test]
async fn away_longer_than_the_maximum_gives_a_fresh_session() {
    let run = async {
        let (_server, url) = start(&["--max-disconnection-ms", "300"]).await;
        // Away about 1.5 s, five times the maximum.
        let (connects, summary) = run_client(&url, "websocket", 1, 1500).await;
        assert_eq!(connects.len(), 2, "{connects:?}");
        assert_eq!(connects[1]["recovered"], false, "{connects:?}");
        assert_eq!(connects[1]["hello"], false, "{connects:?}");
        assert_ne!(connects[1]["id"], connects[0]["id"], "a new socket id");
        // What was broadcast while away is lost: a gap, as expected.
        assert_eq!(summary["gaps"].as_array().unwrap().len(), 1, "{summary}");
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("within 60 s");
}
