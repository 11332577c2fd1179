//! Our client's manager events (open, ping, close, error) and reserved
//! `message` event against the official socket.io server, and a typed
//! listener whose arguments do not fit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socketio_client::{ClientOptions, ConnectError, DisconnectReason, Manager};
use tokio::sync::mpsc;

use crate::node::NodePeer;

async fn events_server(ping_interval: &str) -> (NodePeer, String) {
    let mut node = NodePeer::spawn("client_events_server.js", &[ping_interval]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    (node, format!("http://127.0.0.1:{port}"))
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

#[tokio::test]
async fn the_managers_open_ping_and_close_events() {
    let (_node, url) = events_server("100").await;
    let options = ClientOptions::default()
        .transports(["websocket"])
        .auto_connect(false)
        .reconnection_delay(Duration::from_millis(50))
        .randomization_factor(0.0);
    let manager = Manager::new(&url, options);
    let (tx, mut events) = mpsc::unbounded_channel();
    let pings = Arc::new(AtomicUsize::new(0));
    let t = tx.clone();
    manager.on_open(move || {
        let _ = t.send("open".to_owned());
    });
    let t = tx.clone();
    manager.on_close(move |reason| {
        let _ = t.send(format!("close {reason}"));
    });
    let p = pings.clone();
    let t = tx.clone();
    manager.on_ping(move || {
        if p.fetch_add(1, Ordering::Relaxed) == 2 {
            let _ = t.send("three pings".to_owned());
        }
    });
    let socket = manager.socket("/", None);
    assert_eq!(pings.load(Ordering::Relaxed), 0);
    socket.connect().await.unwrap();
    assert_eq!(next(&mut events).await, "open");
    // pingInterval 100 ms: three pings in about 300 ms.
    assert_eq!(next(&mut events).await, "three pings");
    socket.emit("cut", &()).unwrap();
    assert_eq!(next(&mut events).await, "close transport close");
    assert_eq!(next(&mut events).await, "open", "reconnected");
    manager.close();
    assert_eq!(
        next(&mut events).await,
        format!("close {}", DisconnectReason::IoClientDisconnect)
    );
}

#[tokio::test]
async fn a_failed_attempt_goes_to_on_error_and_the_sockets() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let manager = Manager::new(&url, ClientOptions::default().reconnection(false));
    let (tx, mut errors) = mpsc::unbounded_channel();
    let t = tx.clone();
    manager.on_error(move |e| {
        let _ = t.send(format!(
            "manager {}",
            matches!(e, ConnectError::Transport(_))
        ));
    });
    let socket = manager.socket("/", None);
    socket.on_connect_error(move |_, e| {
        let _ = tx.send(format!(
            "socket {}",
            matches!(e, ConnectError::Transport(_))
        ));
    });
    let mut got = vec![next(&mut errors).await, next(&mut errors).await];
    got.sort();
    assert_eq!(got, ["manager true", "socket true"]);
}

#[tokio::test]
async fn send_and_message_both_ways_and_a_mismatch_heard() {
    let (mut node, url) = events_server("25000").await;
    let socket = socketio_client::connect(&url, ClientOptions::default().auto_connect(false));
    let (tx, mut seen) = mpsc::unbounded_channel();
    let t = tx.clone();
    socket.on("message", move |_, args: Vec<serde_json::Value>, _| {
        let _ = t.send(format!("message {}", serde_json::Value::from(args)));
        async {}
    });
    let t = tx.clone();
    socket.on("typed", move |_, (n,): (u32,), _| {
        let _ = t.send(format!("typed {n}"));
        async {}
    });
    socket.on_mismatch(move |s, event, e| {
        let _ = tx.send(format!(
            "mismatch {} {event} {}",
            s.nsp(),
            e.to_string().contains("invalid type")
        ));
    });
    socket.connect().await.unwrap();
    socket.send(&("hi", 1)).unwrap();
    assert_eq!(node.line().await, r#"message ["hi",1]"#);
    assert_eq!(next(&mut seen).await, r#"message ["hi",1]"#);
    socket.emit("typed", &()).unwrap();
    assert_eq!(next(&mut seen).await, "mismatch / typed true");
    assert_eq!(next(&mut seen).await, "typed 7");
    socket.manager().close();
}
