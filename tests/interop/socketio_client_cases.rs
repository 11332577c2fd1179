//! socketio-client against the official Node `socket.io` server
//! (`tests/js/sio_server_cases.js`): rooms and broadcasts made on the
//! server, disconnect reasons, binary acks, volatile emits, dynamic
//! namespaces, broadcast acks and catch-all listeners.

use std::time::{Duration, Instant};

use engineio::Transport;
use serde::Serialize;
use socketio_client::{Binary, ClientOptions, DisconnectReason, Manager, Socket};
use tokio::sync::mpsc;

use crate::node::NodePeer;
use crate::proxy::Proxy;
use crate::socketio_client::refusal;

/// The Node server, started with `args`; its URL and its port.
async fn node_server(args: &[&str]) -> (NodePeer, String, u16) {
    let mut node = NodePeer::spawn("sio_server_cases.js", args);
    let port: u16 = node
        .line()
        .await
        .strip_prefix("port ")
        .unwrap()
        .parse()
        .unwrap();
    (node, format!("http://127.0.0.1:{port}"), port)
}

/// One connection on `transport`, which is not re-opened once lost.
fn options(transport: Transport) -> ClientOptions {
    let mut options = ClientOptions::default();
    options.engine.session.initial = transport;
    options.engine.session.upgrade = false;
    options.reconnection = false;
    options
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// The next `n` items, sorted.
async fn next_sorted(rx: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(next(rx).await);
    }
    got.sort();
    got
}

/// Answered by the server, so whatever it sent this socket before has been
/// dispatched once this returns.
async fn round_trip(s: &Socket) {
    s.emit_with_ack::<_, ()>("join", &("sync",), Duration::from_secs(5))
        .await
        .unwrap();
}

/// A socket on `/` that reports each "io" event as "`name` `text`".
fn member(url: &str, name: &'static str, heard: &mpsc::UnboundedSender<String>) -> Socket {
    let s = Manager::new(url, options(Transport::WebSocket)).socket("/", None);
    let heard = heard.clone();
    s.on_any(move |_, event, p| {
        if event == "io" {
            let (text,): (String,) = p.event_args().unwrap();
            let _ = heard.send(format!("{name} {text}"));
        }
    });
    s
}

async fn join(s: &Socket, room: &str) {
    s.emit_with_ack::<_, ()>("join", &(room,), Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn node_server_rooms_broadcasts_and_leaving() {
    let (mut node, url, _) = node_server(&[]).await;
    let (tx, mut heard) = mpsc::unbounded_channel();
    let [a, b, c] = ["a", "b", "c"].map(|n| member(&url, n, &tx));
    for s in [&a, &b, &c] {
        join(s, "r").await;
    }
    join(&b, "s").await;

    // io.to(room), from the server itself.
    assert_eq!(node.ask("to r one").await, "sent");
    assert_eq!(
        next_sorted(&mut heard, 3).await,
        ["a one", "b one", "c one"]
    );

    // io.except(room): b is in "s".
    assert_eq!(node.ask("except s two").await, "sent");
    assert_eq!(next_sorted(&mut heard, 2).await, ["a two", "c two"]);
    round_trip(&b).await;
    assert!(heard.try_recv().is_err(), "b heard the except");

    // socket.broadcast: everyone but the sender.
    a.emit("shout-all", &("three",)).unwrap();
    assert_eq!(next_sorted(&mut heard, 2).await, ["b three", "c three"]);
    round_trip(&a).await;
    assert!(heard.try_recv().is_err(), "the sender heard itself");

    // b leaves "r": the room's next message passes it by.
    b.emit_with_ack::<_, ()>("leave", &("r",), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(node.ask("to r four").await, "sent");
    assert_eq!(next_sorted(&mut heard, 2).await, ["a four", "c four"]);
    round_trip(&b).await;
    assert!(heard.try_recv().is_err(), "b heard a room it left");
    for s in [a, b, c] {
        s.manager().close();
    }
}

/// A socket on `/` of its own connection that reports its connect and
/// each disconnect (with when it came).
fn watched(
    url: &str,
    transport: Transport,
) -> (
    Socket,
    mpsc::UnboundedReceiver<()>,
    mpsc::UnboundedReceiver<(DisconnectReason, Instant)>,
) {
    let s = Manager::new(url, options(transport)).socket("/", None);
    let (ctx, crx) = mpsc::unbounded_channel();
    s.on_connect(move |_| {
        let _ = ctx.send(());
    });
    let (dtx, drx) = mpsc::unbounded_channel();
    s.on_disconnect(move |_, r| {
        let _ = dtx.send((r, Instant::now()));
    });
    (s, crx, drx)
}

/// The network goes silent: each side's heartbeat ends the session, ours
/// and Node's, no sooner than the ping timeout after the silence began.
#[tokio::test]
async fn ping_timeout_on_both_sides_with_the_node_server() {
    let (mut node, _, port) = node_server(&["300", "200"]).await;
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await;
    let (s, mut connected, mut disconnected) = watched(&proxy.url(), Transport::WebSocket);
    next(&mut connected).await;
    let frozen = Instant::now();
    proxy.freeze();
    let (reason, at) = next(&mut disconnected).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert!(
        at - frozen >= Duration::from_millis(150),
        "{:?}",
        at - frozen
    );
    assert_eq!(node.line().await, "disconnect / ping timeout");
    assert!(frozen.elapsed() >= Duration::from_millis(150));
    s.manager().close();
}

#[tokio::test]
async fn node_server_disconnect_reaches_our_client() {
    let (mut node, url, _) = node_server(&[]).await;
    let (s, mut connected, mut disconnected) = watched(&url, Transport::WebSocket);
    next(&mut connected).await;
    s.emit("disconnect-me", &()).unwrap();
    assert_eq!(
        next(&mut disconnected).await.0,
        DisconnectReason::IoServerDisconnect
    );
    assert_eq!(
        node.line().await,
        "disconnect / server namespace disconnect"
    );
    assert!(!s.connected());
    s.manager().close();
}

#[tokio::test]
async fn node_server_sending_garbage_is_a_parse_error() {
    let (mut node, url, _) = node_server(&[]).await;
    let (s, mut connected, mut disconnected) = watched(&url, Transport::WebSocket);
    next(&mut connected).await;
    s.emit("garbage", &()).unwrap();
    assert_eq!(
        next(&mut disconnected).await.0,
        DisconnectReason::ParseError
    );
    // We close the connection over it.
    assert_eq!(node.line().await, "disconnect / transport close");
    s.manager().close();
}

#[tokio::test]
async fn node_server_shutdown_reaches_our_client() {
    let (mut node, url, _) = node_server(&[]).await;
    let (s, mut connected, mut disconnected) = watched(&url, Transport::WebSocket);
    next(&mut connected).await;
    assert_eq!(node.ask("close").await, "disconnect / server shutting down");
    assert_eq!(
        next(&mut disconnected).await.0,
        DisconnectReason::TransportClose
    );
    assert_eq!(node.line().await, "closed");
    s.manager().close();
}

#[derive(Serialize)]
struct Answer {
    q: String,
    bin: Binary,
}

/// The server asks with `emitWithAck`; we answer with bytes inside.
#[tokio::test]
async fn binary_in_our_ack_to_the_node_server() {
    for transport in [Transport::Polling, Transport::WebSocket] {
        let (mut node, url, _) = node_server(&[]).await;
        let s = Manager::new(&url, options(transport)).socket("/", None);
        s.on("want-bin", |_, (q,): (String,), ack| async move {
            let bin = Binary::from(vec![1u8, 2, 255]);
            ack.unwrap().send(&(Answer { q, bin },)).unwrap();
        });
        s.emit("ask-bin", &()).unwrap();
        assert_eq!(
            node.line().await,
            r#"ask-bin [{"q":"question","bin":{"type":"Buffer","data":[1,2,255]}}]"#,
            "{transport:?}"
        );
        s.manager().close();
    }
}

/// socket.io drops a volatile packet while the transport is busy: here,
/// still writing the packet emitted just before it.
#[tokio::test]
async fn node_server_drops_volatile_while_the_transport_writes() {
    for transport in [Transport::Polling, Transport::WebSocket] {
        let (_node, url, _) = node_server(&[]).await;
        let s = Manager::new(&url, options(transport)).socket("/", None);
        let (tx, mut events) = mpsc::unbounded_channel();
        s.on_any(move |_, event, _| {
            let _ = tx.send(event.to_owned());
        });
        s.emit("vol-test", &()).unwrap();
        // "vol" would come between the two.
        assert_eq!(next(&mut events).await, "before", "{transport:?}");
        assert_eq!(next(&mut events).await, "mid", "{transport:?}");
        s.manager().close();
    }
}

#[tokio::test]
async fn dynamic_namespaces_on_the_node_server() {
    let (_node, url, _) = node_server(&[]).await;
    let manager = Manager::new(&url, options(Transport::WebSocket));
    let (tx, mut seen) = mpsc::unbounded_channel();
    // Every namespace on the one connection.
    for nsp in ["/dyn-12", "/fn-abc", "/nope", "/dyn-x"] {
        let s = manager.socket(nsp, None);
        let t = tx.clone();
        s.on("welcome", move |s, (name,): (String,), _| {
            let t = t.clone();
            async move {
                let _ = t.send(format!("{} welcome {name}", s.nsp()));
            }
        });
        let t = tx.clone();
        s.on_connect_error(move |s, data| {
            let _ = t.send(format!("{} refused {}", s.nsp(), refusal(data)));
        });
    }
    assert_eq!(
        next_sorted(&mut seen, 4).await,
        [
            "/dyn-12 welcome /dyn-12",
            "/dyn-x refused Invalid namespace",
            "/fn-abc welcome /fn-abc",
            "/nope refused Invalid namespace",
        ]
    );
    manager.close();
}

/// `io.timeout(ms).emit(..., cb)`: one ack id to every client, each answer
/// collected; one that stays silent makes it a timeout, with the others'
/// answers still there.
#[tokio::test]
async fn node_server_broadcast_with_acks() {
    let (mut node, url, _) = node_server(&[]).await;
    let (tx, _) = mpsc::unbounded_channel();
    let answering = [
        ("a", serde_json::json!("A")),
        ("b", serde_json::json!({ "n": 2 })),
        ("c", serde_json::json!(3)),
    ];
    let mut sockets = Vec::new();
    for (name, answer) in answering {
        let s = member(&url, name, &tx);
        s.on("poll", move |_, (): (), ack| {
            let answer = answer.clone();
            async move { ack.unwrap().send(&(answer,)).unwrap() }
        });
        join(&s, "r").await;
        sockets.push(s);
    }
    assert_eq!(node.ask("poll 2000").await, r#"poll ok ["A",3,{"n":2}]"#);
    // A fourth client that hears the question and never answers.
    let silent = member(&url, "d", &tx);
    silent.on("poll", |_, (): (), _| async {});
    join(&silent, "r").await;
    let asked = Instant::now();
    assert_eq!(
        node.ask("poll 300").await,
        r#"poll operation has timed out ["A",3,{"n":2}]"#
    );
    assert!(asked.elapsed() >= Duration::from_millis(300));
    sockets.push(silent);
    for s in sockets {
        s.manager().close();
    }
}

/// Node's `onAny` and `onAnyOutgoing` see our event and its answer, ours
/// (`on_any`) sees the answer. Our client has no outgoing catch-all.
#[tokio::test]
async fn catch_all_listeners_with_the_node_server() {
    let (mut node, url, _) = node_server(&[]).await;
    let s = Manager::new(&url, options(Transport::WebSocket)).socket("/any", None);
    let (tx, mut seen) = mpsc::unbounded_channel();
    s.on_any(move |_, event, p| {
        let (text, bin): (String, Binary) = p.event_args().unwrap();
        let _ = tx.send(format!("{event} {text} {:?}", &bin.0[..]));
    });
    s.emit("hello", &(1, Binary::from(vec![5u8]))).unwrap();
    assert_eq!(node.line().await, r#"any-in hello [1,{"bin":[5]}]"#);
    assert_eq!(node.line().await, r#"any-out hi ["there",{"bin":[7]}]"#);
    assert_eq!(next(&mut seen).await, "hi there [7]");
    s.manager().close();
}
