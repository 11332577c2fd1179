//! Checks that wait, and sockets that come back, over raw WebSocket clients:
//! a join waiting on an async middleware does not hold its connection, a
//! client cannot pile up waiting joins or events, and connection state
//! recovery gives a socket back once, with what it missed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{ConnectError, PacketError, RecoveryOptions, Server, ServerOptions};
use tokio::net::TcpStream;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<TcpStream>;

async fn open(addr: &str) -> Ws {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
    assert!(recv(&mut ws).await.starts_with("0{"));
    ws
}

/// The next text message, answering pings meanwhile.
async fn recv(ws: &mut Ws) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
        {
            Some(Ok(Message::Text(t))) if t == "2" => ws.send(Message::text("3")).await.unwrap(),
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

fn json_after(prefix: &str, text: &str) -> serde_json::Value {
    let rest = text
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{text:?} does not start with {prefix:?}"));
    serde_json::from_str(rest).unwrap()
}

#[tokio::test]
async fn waiting_joins_are_bounded_time_limited_and_hold_nothing_else() {
    let mut options = ServerOptions::default();
    options.connect_timeout = Duration::from_millis(800);
    options.engine.session.ping_interval = Duration::from_millis(100);
    options.engine.session.ping_timeout = Duration::from_millis(300);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().to_string();
    // A check that never answers, on every /wait-N namespace.
    server
        .of_dynamic(|name| name.starts_with("/wait-"))
        .use_middleware_async(|_| std::future::pending::<Result<(), ConnectError>>());
    server.of("/").on_connect(|socket| {
        socket.on_raw("echo", |s, p| async move {
            s.ack_raw_args(p.id().unwrap(), &p).unwrap();
        });
    });

    let mut ws = open(&addr).await;
    send(&mut ws, "40").await;
    assert!(recv(&mut ws).await.starts_with("40{"));
    for i in 0..40 {
        send(&mut ws, &format!("40/wait-{i},")).await;
    }
    // Past 16 waiting joins, the rest are refused at once.
    let mut refused = Vec::new();
    for _ in 0..24 {
        let reply = recv(&mut ws).await;
        let nsp = reply
            .strip_prefix("44")
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_owned();
        let body = json_after(&format!("44{nsp},"), &reply);
        assert_eq!(body["message"], "Too many pending connections", "{reply}");
        refused.push(nsp);
    }
    assert_eq!(refused.len(), 24);
    // Meanwhile the connection serves its joined namespace, and its
    // heartbeat goes on (every 100 ms; a missed pong would close it long
    // before the joins time out).
    send(&mut ws, r#"421["echo","x"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"431["x"]"#);
    // At connect_timeout the waiting joins are refused.
    let mut timed_out = 0;
    while timed_out < 16 {
        let reply = recv(&mut ws).await;
        assert!(reply.contains("Middleware timeout"), "{reply}");
        timed_out += 1;
    }
    send(&mut ws, r#"422["echo","y"]"#).await;
    assert_eq!(recv(&mut ws).await, r#"432["y"]"#);
}

#[tokio::test]
async fn events_waiting_on_packet_middleware_are_bounded() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().to_string();
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    server.of("/").on_connect(move |socket| {
        // "stuck" waits for ever; anything else passes at once.
        socket.use_middleware(|_, packet| async move {
            if packet.event_name() == Some("stuck") {
                std::future::pending::<()>().await;
            }
            Ok::<(), PacketError>(())
        });
        let r = r.clone();
        socket.on_error(move |_, e| {
            assert_eq!(e.message, "too many events waiting for checks");
            r.fetch_add(1, Ordering::Relaxed);
        });
        socket.on_raw("echo", |s, p| async move {
            s.ack_raw_args(p.id().unwrap(), &p).unwrap();
        });
    });
    let mut ws = open(&addr).await;
    send(&mut ws, "40").await;
    assert!(recv(&mut ws).await.starts_with("40{"));
    for _ in 0..1000 {
        send(&mut ws, r#"42["stuck"]"#).await;
    }
    // Refused past the bound: the echo after them is refused too, until the
    // stuck ones are gone; a second client is served all along.
    let mut other = open(&addr).await;
    send(&mut other, "40").await;
    assert!(recv(&mut other).await.starts_with("40{"));
    send(&mut ws, r#"421["echo","late"]"#).await;
    tokio::time::timeout(Duration::from_secs(5), async {
        while refused.load(Ordering::Relaxed) < 1000 - 256 + 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the events past the bound refused");
    assert_eq!(refused.load(Ordering::Relaxed), 1000 - 256 + 1);
    // The second client's own socket has its own bound.
    send(&mut other, r#"427["echo","ok"]"#).await;
    assert_eq!(recv(&mut other).await, r#"437["ok"]"#);
}

/// A server with recovery on whose "/" socket joins "red" and emits `e`
/// with an increasing number on `emit` (to itself) and `shout` (to "red").
async fn recovering_server() -> (String, Server) {
    let mut options = ServerOptions::default();
    options.connection_state_recovery = Some(RecoveryOptions::default());
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    server.of("/").on_connect(move |socket| {
        if !socket.recovered() {
            socket.join("red");
            socket
                .set_data(&serde_json::json!({"name": "first"}))
                .unwrap();
        }
        let n = n.clone();
        socket.on("shout", move |s, (): (), _| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            async move {
                s.ns().to("red").emit("e", &(i,)).unwrap();
            }
        });
        socket.on("whoami", |s, (): (), ack| async move {
            let data = s.data().unwrap_or_default();
            ack.unwrap()
                .send(&(s.recovered(), s.rooms().contains(&"red".to_owned()), data))
                .unwrap();
        });
    });
    (server.local_addr().to_string(), server)
}

/// The `(n, offset)` of an `e` event.
fn tick(text: &str) -> (u64, String) {
    let v = json_after("42", text);
    assert_eq!(v[0], "e", "{text}");
    (v[1].as_u64().unwrap(), v[2].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_socket_comes_back_once_with_what_it_missed() {
    let (addr, server) = recovering_server().await;
    let mut ws = open(&addr).await;
    send(&mut ws, "40").await;
    let hello = json_after("40", &recv(&mut ws).await);
    let (sid, pid) = (hello["sid"].clone(), hello["pid"].clone());
    assert!(pid.is_string(), "a private session id: {hello}");
    send(&mut ws, r#"42["shout"]"#).await;
    let (first, offset) = tick(&recv(&mut ws).await);
    // The transport drops; events go on while it is away.
    ws.close().await.unwrap();
    drop(ws);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        server.of("/").to("red").emit("e", &(99,)).unwrap();
    }
    let mut another = open(&addr).await;
    // A guessed session id gets a fresh socket.
    send(
        &mut another,
        &format!(r#"40{{"pid":"nope","offset":{offset:?}}}"#),
    )
    .await;
    let fresh = json_after("40", &recv(&mut another).await);
    assert_ne!(fresh["sid"], sid);

    let mut back = open(&addr).await;
    send(
        &mut back,
        &format!(r#"40{{"pid":{pid},"offset":{offset:?}}}"#),
    )
    .await;
    // What was missed comes first, in order, then the CONNECT answer.
    for _ in 0..3 {
        let (n, _) = tick(&recv(&mut back).await);
        assert_eq!(n, 99);
    }
    let again = json_after("40", &recv(&mut back).await);
    assert_eq!(again["sid"], sid, "the same socket id");
    assert_eq!(again["pid"], pid);
    send(&mut back, r#"421["whoami"]"#).await;
    assert_eq!(recv(&mut back).await, r#"431[true,true,{"name":"first"}]"#);
    send(&mut back, r#"42["shout"]"#).await;
    let (next, _) = tick(&recv(&mut back).await);
    assert_eq!(next, first + 1);

    // The session came back once: presenting it again gets a new socket.
    let mut thief = open(&addr).await;
    send(
        &mut thief,
        &format!(r#"40{{"pid":{pid},"offset":{offset:?}}}"#),
    )
    .await;
    let stolen = json_after("40", &recv(&mut thief).await);
    assert_ne!(stolen["sid"], sid);
}
