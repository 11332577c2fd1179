//! The MessagePack parser end to end: the official `socket.io-client` with
//! `parser: require("socket.io-msgpack-parser")` against our server, our
//! client against the official `socket.io` server with that parser, and a
//! client speaking the other parser failing cleanly.

use std::time::Duration;

use engineio::Transport;
use socketio_client::{Binary, ClientOptions, Manager};
use socketio_server::{Parser, Server, ServerOptions};
use tokio::sync::mpsc;

use crate::node::NodePeer;
use crate::socketio::{scenario_at, scenario_handlers};
use crate::socketio_client::refusal;

async fn msgpack_server() -> (String, Server, mpsc::UnboundedReceiver<String>) {
    let mut options = ServerOptions::default();
    options.parser = Parser::MsgPack;
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let rx = scenario_handlers(&server);
    (url, server, rx)
}

/// The official client's scenario (events and acks both ways, nested
/// binary, two namespaces, middleware refusals, rooms, disconnects), with
/// the MessagePack parser on both sides.
async fn node_client(transports: &str) {
    let (url, _server, reasons) = msgpack_server().await;
    scenario_at(&url, reasons, transports, &[("SIO_PARSER", "msgpack")]).await;
}

#[tokio::test]
async fn socket_io_client_with_msgpack_over_polling() {
    node_client("polling").await;
}

#[tokio::test]
async fn socket_io_client_with_msgpack_over_websocket() {
    node_client("websocket").await;
}

#[tokio::test]
async fn socket_io_client_with_msgpack_with_upgrade() {
    node_client("polling,websocket").await;
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Nested {
    bin: Binary,
}

async fn our_client(transport: Transport, upgrade: bool) {
    let mut node = NodePeer::spawn_with_env("sio_server.js", &["0"], &[("SIO_PARSER", "msgpack")]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    let url = format!("http://127.0.0.1:{port}");
    let mut options = ClientOptions::default().parser(Parser::MsgPack);
    options.engine.session.initial = transport;
    options.engine.session.upgrade = upgrade;
    let (tx, mut events) = mpsc::unbounded_channel();

    let bad = Manager::new(&url, options.clone());
    let t = tx.clone();
    bad.socket("/", Some(serde_json::json!({ "token": "bad" })))
        .on_connect_error(move |_, e| {
            let _ = t.send(format!("refused {}", refusal(e)));
        });
    assert_eq!(
        next(&mut events).await,
        r#"refused not authorized {"code":401}"#
    );
    bad.close();

    let manager = Manager::new(&url, options);
    let s = manager.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let t = tx.clone();
    s.on_connect(move |_| {
        let _ = t.send("connect".into());
    });
    assert_eq!(next(&mut events).await, "connect");

    // Events both ways with nested binary, numbers, unicode.
    let t = tx.clone();
    s.on(
        "echo-back",
        move |_, (text, n, nested): (String, f64, Nested), _| {
            let t = t.clone();
            async move {
                let _ = t.send(format!("echo {text} {n} {:?}", &nested.bin.0[..]));
            }
        },
    );
    let bin = Binary(bytes::Bytes::from_static(&[9, 8, 7]));
    s.emit("echo", &("héllo ✓", 1.5, Nested { bin: bin.clone() }))
        .unwrap();
    assert_eq!(next(&mut events).await, "echo héllo ✓ 1.5 [9, 8, 7]");

    // Acks both ways.
    let (text, b): (String, Binary) = s
        .emit_with_ack("ack-me", &("x", &bin), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((text.as_str(), b), ("x", bin));
    s.on("question", |_, q: String, ack| async move {
        ack.unwrap().send(&(q.len(),)).unwrap()
    });
    let t = tx.clone();
    s.on("answer", move |_, n: i64, _| {
        let t = t.clone();
        async move {
            let _ = t.send(format!("answer {n}"));
        }
    });
    s.emit("ask", &()).unwrap();
    assert_eq!(next(&mut events).await, "answer 9");

    // The node side heard the packets our encoder wrote.
    s.emit("record", &("done",)).unwrap();
    assert_eq!(node.line().await, "record done");
    manager.close();
}

#[tokio::test]
async fn our_client_with_msgpack_against_node_server_over_polling() {
    our_client(Transport::Polling, false).await;
}

#[tokio::test]
async fn our_client_with_msgpack_against_node_server_over_websocket() {
    our_client(Transport::WebSocket, false).await;
}

#[tokio::test]
async fn our_client_with_msgpack_against_node_server_with_upgrade() {
    our_client(Transport::Polling, true).await;
}

/// A JSON client at a MessagePack server: its CONNECT (a text message) is a
/// parse error, the session is closed, nothing panics, and the server goes
/// on serving clients that speak its parser.
#[tokio::test]
async fn json_client_against_msgpack_server_fails_cleanly() {
    let (url, server, _reasons) = msgpack_server().await;
    let mut options = ClientOptions::default();
    options.reconnection = false;
    options.timeout = Duration::from_secs(3);
    let manager = Manager::new(&url, options);
    let (tx, mut events) = mpsc::unbounded_channel();
    let s = manager.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let t = tx.clone();
    s.on_connect(move |_| {
        let _ = t.send("connect".to_owned());
    });
    let t = tx.clone();
    manager.on_close(move |reason| {
        let _ = t.send(format!("closed {reason}"));
    });
    let got = next(&mut events).await;
    assert!(got.starts_with("closed"), "{got}");
    manager.close();
    // The session is gone on the server too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let open = || {
        let m = server.metrics().engine;
        m.sessions_polling + m.sessions_websocket
    };
    assert_eq!(server.metrics().engine.sessions_total, 1);
    while open() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "session still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And a client speaking MessagePack still gets in.
    let mut node = NodePeer::spawn_with_env(
        "sio_client.js",
        &[&url, "websocket"],
        &[("SIO_PARSER", "msgpack")],
    );
    assert_eq!(node.line().await, r#"refused not authorized {"code":401}"#);
    assert_eq!(node.line().await, "welcome");
}

/// Our client and our server, both on MessagePack, with connection state
/// recovery: broadcasts (encoded once), a server-side ack, and the events
/// a cut client missed, replayed on its return, all in the server's parser.
#[tokio::test]
async fn recovery_replay_and_broadcasts_with_msgpack() {
    let mut options = ServerOptions::default();
    options.parser = Parser::MsgPack;
    options.connection_state_recovery = Some(socketio_server::RecoveryOptions::default());
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let (cut_tx, mut cuts) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        let _ = socket.emit("hello", &(socket.recovered(),));
        let cut_tx = cut_tx.clone();
        socket.on_disconnect(move |_, _| {
            let _ = cut_tx.send(());
        });
        socket.on("cut", |s, (): (), _| async move { s.close_transport() });
        socket.on("sum", |_, (a, b): (i64, i64), ack| async move {
            ack.unwrap().send(&(a + b,)).unwrap();
        });
    });

    let options = ClientOptions::default()
        .parser(Parser::MsgPack)
        .transports(["websocket"])
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0)
        .auto_connect(false);
    let socket = socketio_client::connect(&url, options);
    let (tx, mut events) = mpsc::unbounded_channel();
    let t = tx.clone();
    socket.on("hello", move |_, recovered: bool, _| {
        let _ = t.send(format!("hello {recovered}"));
        async {}
    });
    let t = tx.clone();
    socket.on("news", move |_, (n, b): (u64, Binary), _| {
        let _ = t.send(format!("news {n} {:?}", &b.0[..]));
        async {}
    });
    let joined = socket.connect();
    assert_eq!(next(&mut events).await, "hello false");
    joined.await.unwrap();
    let sum: i64 = socket
        .emit_with_ack("sum", &(2, 40), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(sum, 42);
    let bin = |n: u8| Binary(bytes::Bytes::from(vec![n; 3]));
    server.of("/").emit("news", &(1, bin(1))).unwrap();
    assert_eq!(next(&mut events).await, "news 1 [1, 1, 1]");

    // Cut; what is broadcast meanwhile comes back with the session.
    socket.emit("cut", &()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), cuts.recv())
        .await
        .unwrap()
        .unwrap();
    server.of("/").emit("news", &(2, bin(2))).unwrap();
    server.of("/").emit("news", &(3, bin(3))).unwrap();
    assert_eq!(next(&mut events).await, "news 2 [2, 2, 2]");
    assert_eq!(next(&mut events).await, "news 3 [3, 3, 3]");
    assert_eq!(next(&mut events).await, "hello true");
    assert!(socket.recovered());
}
