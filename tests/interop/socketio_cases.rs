//! socketio-server against the official Node `socket.io-client`
//! (`tests/js/sio_client_cases.js`): rooms left, broadcasts made by the
//! server, disconnect reasons, binary acks, volatile emits, dynamic
//! namespaces, broadcast acks and catch-all listeners.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use socketio_server::{AckError, Binary, DisconnectReason, Server, ServerOptions};
use tokio::sync::mpsc;

use crate::node::NodePeer;
use crate::proxy::Proxy;

/// Our server, with the handlers every case shares on `/`: join and leave
/// (acked), "shout-all" to everyone else. Each socket's disconnect reason
/// goes to the receiver, with when it came.
async fn server(
    options: ServerOptions,
) -> (
    Server,
    String,
    mpsc::UnboundedReceiver<(DisconnectReason, Instant)>,
) {
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let (tx, rx) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |_, reason| {
            let _ = tx.send((reason, Instant::now()));
        });
        socket.on("join", |s, (room,): (String,), ack| async move {
            s.join(&room);
            ack.unwrap().send(&()).unwrap();
        });
        socket.on("leave", |s, (room,): (String,), ack| async move {
            s.leave(&room);
            ack.unwrap().send(&()).unwrap();
        });
        socket.on("shout-all", |s, (text,): (String,), _| async move {
            s.broadcast().emit("io", &(text,)).unwrap();
        });
    });
    (server, url, rx)
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// Emits from the server itself, not from a socket: `io.to(room)`,
/// `io.except(room)`, both; a socket's `broadcast`; and a socket that left
/// its room is passed by.
#[tokio::test]
async fn node_client_sees_our_server_broadcasts_and_leaving() {
    let (server, url, _) = server(ServerOptions::default()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "rooms"]);
    assert_eq!(node.line().await, "ready");
    // Node's "check" waits for the named clients, then makes a round trip
    // on each of the others to show that they got nothing.
    assert_eq!(server.to("r").emit("io", &("one",)).unwrap(), 3);
    assert_eq!(node.ask("check one a,b,c").await, "got one a,b,c");
    let ns = server.of("/");
    assert_eq!(ns.broadcast().except("s").emit("io", &("two",)).unwrap(), 2);
    assert_eq!(node.ask("check two a,c").await, "got two a,c");
    assert_eq!(
        server.to("r").except("s").emit("io", &("three",)).unwrap(),
        2
    );
    assert_eq!(node.ask("check three a,c").await, "got three a,c");
    assert_eq!(node.ask("shout a four").await, "shouted");
    assert_eq!(node.ask("check four b,c").await, "got four b,c");
    assert_eq!(node.ask("leave b r").await, "left");
    assert_eq!(server.to("r").emit("io", &("five",)).unwrap(), 2);
    assert_eq!(node.ask("check five a,c").await, "got five a,c");
    assert_eq!(node.ask("end").await, "ended");
}

/// The network goes silent: our server's heartbeat and Node's each end
/// the session, no sooner than the ping timeout after the silence began.
#[tokio::test]
async fn ping_timeout_on_both_sides_with_the_node_client() {
    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(300);
    options.engine.session.ping_timeout = Duration::from_millis(200);
    let (server, _, mut reasons) = server(options).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&proxy.url(), "ping-timeout"]);
    assert_eq!(node.line().await, "ready");
    let frozen = Instant::now();
    proxy.freeze();
    let (reason, at) = next(&mut reasons).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert!(
        at - frozen >= Duration::from_millis(150),
        "{:?}",
        at - frozen
    );
    assert_eq!(node.line().await, "disconnect ping timeout");
    assert!(frozen.elapsed() >= Duration::from_millis(150));
    // The Node client's WebSocket waits for a close frame the frozen
    // proxy holds: let it go.
    drop(proxy);
    assert!(node.success().await);
}

/// A packet Socket.IO cannot decode closes the connection with "forced
/// close", as the official server does (it closes the Engine.IO socket);
/// a message Engine.IO cannot decode, with "parse error".
#[tokio::test]
async fn node_client_sending_garbage() {
    let (_server, url, mut reasons) = server(ServerOptions::default()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "parse-error"]);
    assert_eq!(next(&mut reasons).await.0, DisconnectReason::ForcedClose);
    assert_eq!(node.line().await, "disconnect transport close");
    assert_eq!(next(&mut reasons).await.0, DisconnectReason::ParseError);
    assert_eq!(node.line().await, "disconnect transport close");
    assert!(node.success().await);
}

/// `io.close()`: every client sees its transport close; the sockets end
/// with "server shutting down", as on the official server.
#[tokio::test]
async fn our_server_shutdown_reaches_the_node_clients() {
    let (server, url, mut reasons) = server(ServerOptions::default()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "shutdown"]);
    assert_eq!(node.line().await, "ready");
    server.close();
    let mut lines = vec![node.line().await, node.line().await];
    lines.sort();
    assert_eq!(
        lines,
        [
            "disconnect a transport close",
            "disconnect b transport close"
        ]
    );
    for _ in 0..2 {
        assert_eq!(
            next(&mut reasons).await.0,
            DisconnectReason::ServerShuttingDown
        );
    }
    assert!(node.success().await);
}

#[derive(Debug, Deserialize, PartialEq)]
struct Nested {
    q: String,
    nested: Binary,
}

/// We ask; the Node client answers with bytes, at the top and nested.
#[tokio::test]
async fn binary_in_the_node_clients_ack() {
    let (server, url, _) = server(ServerOptions::default()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "ack"]);
    assert_eq!(node.line().await, "ready");
    let socket = server.of("/").sockets().pop().unwrap();
    let (top, nested): (Binary, Nested) = socket
        .emit_with_ack("want-bin", &("q?",), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(top, Binary::from(vec![1u8, 2, 255]));
    assert_eq!(
        nested,
        Nested {
            q: "q?".into(),
            nested: Binary::from(b"ok".to_vec())
        }
    );
    assert_eq!(node.ask("end").await, "ended");
}

/// Our server drops a volatile emit when the client's queue is full: here
/// a queue of 4 filled by the handler, which runs on the session's own
/// task, before the session writes any of it out.
#[tokio::test]
async fn our_server_drops_volatile_when_the_queue_is_full() {
    const QUEUE: usize = 4;
    let mut options = ServerOptions::default();
    options.engine.command_queue = QUEUE;
    let (server, url, _) = server(options).await;
    server.of("/").on_connect(|socket| {
        socket.on("vol-test", |s, (): (), _| async move {
            for i in 0..QUEUE {
                s.emit("fill", &(i, QUEUE)).unwrap();
            }
            let handed = s.ns().to(s.id()).volatile().emit("vol", &()).unwrap();
            s.insert(handed);
        });
        socket.on("next", |s, (): (), _| async move {
            s.emit("after", &(s.get::<usize>().unwrap(),)).unwrap();
        });
    });
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "volatile"]);
    assert_eq!(node.line().await, "got fill,fill,fill,fill,after handed 0");
    assert!(node.success().await);
}

#[tokio::test]
async fn node_client_on_our_dynamic_namespaces() {
    let (server, url, _) = server(ServerOptions::default()).await;
    let template = server.of_dynamic(|name| {
        name.strip_prefix("/dyn-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    template.on_connect(|socket| {
        socket.emit("welcome", &(socket.ns().name(),)).unwrap();
    });
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "dynamic"]);
    assert_eq!(node.line().await, "welcome /dyn-42");
    assert_eq!(node.line().await, "refused Invalid namespace");
    assert!(node.success().await);
    assert!(server.namespace("/dyn-42").is_some());
    assert!(server.namespace("/nope").is_none());
}

/// One emit with an ack to every client, each answer collected; the one
/// that stays silent times out, no sooner than asked.
#[tokio::test]
async fn our_server_broadcast_with_acks_to_node_clients() {
    let (server, url, _) = server(ServerOptions::default()).await;
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "broadcast-ack"]);
    let ready = node.line().await;
    let ids: Vec<String> = ready
        .strip_prefix("ready ")
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect();
    let asked = Instant::now();
    let answers = server
        .of("/")
        .broadcast()
        .emit_with_ack::<_, (Value, String)>("poll", &("q",), Duration::from_millis(500))
        .await
        .unwrap();
    let waited = asked.elapsed();
    // One node: no other node's answers; c stayed silent.
    assert!(answers.remote.is_empty() && !answers.complete);
    let answers = answers.local;
    let by_name = |name: usize| {
        let (_, r) = answers.iter().find(|(s, _)| s.id() == ids[name]).unwrap();
        match r {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("{e:?}"),
        }
    };
    assert_eq!(answers.len(), 3);
    assert_eq!(by_name(0), format!("{:?}", (json!("A"), "q")));
    assert_eq!(by_name(1), format!("{:?}", (json!({"n": 2}), "q")));
    assert_eq!(by_name(2), format!("{:?}", AckError::Timeout));
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert_eq!(node.ask("end").await, "ended");
}

/// Node's `onAny` and `onAnyOutgoing`, ours `on_any` and
/// `on_any_outgoing` (a broadcast included), see the same three events.
#[tokio::test]
async fn catch_all_listeners_with_the_node_client() {
    let (server, url, _) = server(ServerOptions::default()).await;
    let (tx, mut seen) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        let t = tx.clone();
        socket.on_any(move |_, event, p| {
            let _ = t.send(format!("in {event} {}", p.raw_data().unwrap()));
        });
        let t = tx.clone();
        socket.on_any_outgoing(move |_, event, p| {
            let _ = t.send(format!("out {event} {}", p.raw_data().unwrap()));
        });
        socket.on("hello", |s, (n,): (i64,), _| async move {
            s.emit("hi", &(n + 1,)).unwrap();
        });
    });
    let mut node = NodePeer::spawn("sio_client_cases.js", &[&url, "any"]);
    assert_eq!(node.line().await, "ready");
    assert_eq!(server.emit("everyone", &(0,)).unwrap(), 1);
    assert_eq!(
        node.ask("go").await,
        "in everyone [0]; out hello [1]; in hi [2]"
    );
    let mut ours = Vec::new();
    for _ in 0..3 {
        ours.push(next(&mut seen).await);
    }
    assert_eq!(
        ours,
        [
            r#"out everyone ["everyone",0]"#,
            r#"in hello ["hello",1]"#,
            r#"out hi ["hi",2]"#,
        ]
    );
    assert!(node.success().await);
}
