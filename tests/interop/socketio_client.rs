//! socketio-client against the official Node `socket.io` server, on every
//! transport mode, including the server killed and restarted on its port.

use std::time::Duration;

use engineio::Transport;
use socketio_client::{Binary, ClientOptions, ConnectError, Manager};
use tokio::sync::mpsc;

use crate::node::NodePeer;

async fn node_server(port: &str) -> (NodePeer, String) {
    let mut node = NodePeer::spawn("sio_server.js", &[port]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    (node, port)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

fn notify(tx: &mpsc::UnboundedSender<String>) -> impl Fn(String) + Send + Sync + 'static + Clone {
    let tx = tx.clone();
    move |s| {
        let _ = tx.send(s);
    }
}

/// A refusal's message, and its data if any.
pub(crate) fn refusal(e: ConnectError) -> String {
    match e {
        ConnectError::Refused {
            message,
            data: None,
        } => message,
        ConnectError::Refused {
            message,
            data: Some(d),
        } => format!("{message} {d}"),
        other => format!("not a refusal: {other}"),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Nested {
    bin: Binary,
}

async fn scenario(transport: Transport, upgrade: bool) {
    let (mut node, port) = node_server("0").await;
    let url = format!("http://127.0.0.1:{port}");
    let mut options = ClientOptions::default();
    options.engine.session.initial = transport;
    options.engine.session.upgrade = upgrade;
    options.backoff.min = Duration::from_millis(100);
    options.backoff.max = Duration::from_millis(300);
    let manager = Manager::new(&url, options.clone());
    let (tx, mut events) = mpsc::unbounded_channel();
    let say = notify(&tx);

    // Refused by middleware, with the error's message and data.
    let bad = Manager::new(&url, options.clone());
    let s2 = say.clone();
    bad.socket("/", Some(serde_json::json!({ "token": "bad" })))
        .on_connect_error(move |_, e| s2(format!("refused {}", refusal(e))));
    assert_eq!(
        next(&mut events).await,
        r#"refused not authorized {"code":401}"#
    );
    bad.close();

    let s = manager.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let s2 = say.clone();
    s.on_connect(move |_| s2("connect".into()));
    let s2 = say.clone();
    s.on_disconnect(move |_, r| s2(format!("disconnect {r}")));
    assert_eq!(next(&mut events).await, "connect");
    let s2 = say.clone();
    manager
        .socket("/admin", None)
        .on_connect_error(move |_, e| s2(format!("admin refused {}", refusal(e))));
    assert_eq!(next(&mut events).await, "admin refused admins only");

    // Events both ways with nested binary; acks both ways.
    let s2 = say.clone();
    s.on("echo-back", move |_, (t, nested): (String, Nested), _| {
        let s2 = s2.clone();
        async move { s2(format!("echo {t} {:?}", &nested.bin.0[..])) }
    });
    let bin = Binary(bytes::Bytes::from_static(&[9, 8, 7]));
    s.emit("echo", &("text", Nested { bin: bin.clone() }))
        .unwrap();
    assert_eq!(next(&mut events).await, "echo text [9, 8, 7]");
    let (t, b): (String, Binary) = s
        .emit_with_ack("ack-me", &("x", &bin), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((t.as_str(), b), ("x", bin));
    s.on("question", |_, q: String, ack| async move {
        ack.unwrap().send(&(q.len(),)).unwrap()
    });
    let s2 = say.clone();
    s.on("answer", move |_, n: i64, _| {
        let s2 = s2.clone();
        async move { s2(format!("answer {n}")) }
    });
    s.emit("ask", &()).unwrap();
    assert_eq!(next(&mut events).await, "answer 9");

    // A room: another connection hears what this one shouts to it.
    let other = Manager::new(&url, options.clone());
    let o = other.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let s2 = say.clone();
    o.on("shouted", move |_, text: String, _| {
        let s2 = s2.clone();
        async move { s2(format!("heard {text}")) }
    });
    o.emit_with_ack::<_, ()>("join", &"r", Duration::from_secs(5))
        .await
        .unwrap();
    s.emit_with_ack::<_, ()>("join", &"r", Duration::from_secs(5))
        .await
        .unwrap();
    s.emit("shout", &("r", "hello room")).unwrap();
    assert_eq!(next(&mut events).await, "heard hello room");
    other.close();

    // Kill the Node server; emit meanwhile; restart it on the same port
    // once a reconnection attempt has failed, so the emits wait through one.
    let (failed_tx, mut failed) = mpsc::unbounded_channel();
    manager.on_reconnect_error(move |e| {
        let _ = failed_tx.send(e.to_owned());
    });
    node.child.kill().await.unwrap();
    // As socket.io-client reports it: a failed poll is a transport error, a
    // WebSocket that ends is a transport close.
    let want = if transport == Transport::Polling && !upgrade {
        "transport error"
    } else {
        "transport close"
    };
    assert_eq!(next(&mut events).await, format!("disconnect {want}"));
    for i in 0..3 {
        s.emit("record", &(format!("buffered-{i}"),)).unwrap();
    }
    // The port refuses the connection. (engine.io-client reports a
    // WebSocket that never opened as "transport error"; ours says
    // "transport close" for any WebSocket failure.)
    let refused = if transport == Transport::WebSocket {
        "transport close"
    } else {
        "transport error"
    };
    assert_eq!(
        next(&mut failed).await,
        format!("closed before the handshake: {refused}")
    );
    let (mut node, _) = node_server(&port).await;
    assert_eq!(next(&mut events).await, "connect");
    for i in 0..3 {
        assert_eq!(node.line().await, format!("record buffered-{i}"));
    }
    manager.close();
}

#[tokio::test]
async fn our_client_with_node_server_over_polling() {
    scenario(Transport::Polling, false).await;
}

#[tokio::test]
async fn our_client_with_node_server_over_websocket() {
    scenario(Transport::WebSocket, false).await;
}

#[tokio::test]
async fn our_client_with_node_server_with_upgrade() {
    scenario(Transport::Polling, true).await;
}
