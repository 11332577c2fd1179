//! socketio-client against our socketio-server, on every transport mode:
//! namespaces with auth and refusal, events and acks both ways with binary,
//! rooms, and a server restart on the same port with emits buffered meanwhile.

use std::time::Duration;

use engineio::Transport;
use socketio_client::{Binary, ClientOptions, DisconnectReason, Manager};
use socketio_server::{ConnectError, Server, ServerOptions};
use tokio::sync::mpsc;

/// The scenario server; `record` gets every "record" event's argument.
async fn server_on(addr: &str, record: mpsc::UnboundedSender<String>) -> Server {
    let server = Server::bind(addr, ServerOptions::default()).await.unwrap();
    let main = server.of("/");
    main.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a) if a["token"] == "ok" => Ok(()),
        _ => Err(ConnectError::new("not authorized")),
    });
    main.on_connect(move |socket| {
        let record = record.clone();
        socket.on("record", move |_, n: String, _| {
            let record = record.clone();
            async move {
                let _ = record.send(n);
            }
        });
        socket.on_raw("echo", |s, p| async move {
            s.emit_raw_args("echo-back", &p).unwrap()
        });
        socket.on_raw("ack-me", |s, p| async move {
            s.ack_raw_args(p.id().unwrap(), &p).unwrap()
        });
        socket.on("ask", |s, (): (), _| async move {
            let (n,): (usize,) = s
                .emit_with_ack("question", &("how long?",), Duration::from_secs(5))
                .await
                .unwrap();
            s.emit("answer", &(n,)).unwrap();
        });
        socket.on("join", |s, room: String, ack| async move {
            s.join(&room);
            ack.unwrap().send(&()).unwrap();
        });
        socket.on("shout", |s, (room, text): (String, String), _| async move {
            s.to(&room).emit("shouted", &(text,)).unwrap();
        });
    });
    let admin = server.of("/admin");
    admin.use_middleware(|_| Err(ConnectError::new("admins only")));
    server
}

fn options(transport: Transport, upgrade: bool) -> ClientOptions {
    let mut o = ClientOptions::default();
    o.engine.session.initial = transport;
    o.engine.session.upgrade = upgrade;
    o.backoff.min = Duration::from_millis(50);
    o.backoff.max = Duration::from_millis(200);
    o
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

async fn scenario(transport: Transport, upgrade: bool) {
    let (record_tx, mut record) = mpsc::unbounded_channel();
    let server = server_on("127.0.0.1:0", record_tx.clone()).await;
    let addr = server.local_addr().to_string();
    let url = format!("http://{addr}");
    let manager = Manager::new(&url, options(transport, upgrade));
    let (events_tx, mut events) = mpsc::unbounded_channel::<String>();

    let s = manager.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let tx = events_tx.clone();
    s.on_connect(move |_| {
        let _ = tx.send("connect".into());
    });
    let tx = events_tx.clone();
    s.on_disconnect(move |_, r| {
        let _ = tx.send(format!("disconnect {r}"));
    });
    assert_eq!(next(&mut events).await, "connect");

    // A namespace refused by middleware, on the same connection.
    let admin = manager.socket("/admin", None);
    let tx = events_tx.clone();
    admin.on_connect_error(move |_, error| {
        let _ = tx.send(format!("{error:?}"));
    });
    assert_eq!(
        next(&mut events).await,
        r#"Refused { message: "admins only", data: None }"#
    );

    // Events both ways with nested binary.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Nested {
        bin: Binary,
    }
    let tx = events_tx.clone();
    s.on(
        "echo-back",
        move |_, (t, n, nested): (String, u32, Nested), _| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(format!("echo {t} {n} {:?}", &nested.bin.0[..]));
            }
        },
    );
    let bin = Binary(bytes::Bytes::from_static(&[1, 2, 3]));
    s.emit("echo", &("text", 7, Nested { bin: bin.clone() }))
        .unwrap();
    assert_eq!(next(&mut events).await, "echo text 7 [1, 2, 3]");

    // Acks both ways.
    let (t, b): (String, Binary) = s
        .emit_with_ack("ack-me", &("x", &bin), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((t.as_str(), b), ("x", bin));
    s.on("question", |_, q: String, ack| async move {
        ack.unwrap().send(&(q.len(),)).unwrap()
    });
    let tx = events_tx.clone();
    s.on("answer", move |_, n: usize, _| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(format!("answer {n}"));
        }
    });
    s.emit("ask", &()).unwrap();
    assert_eq!(next(&mut events).await, "answer 9");

    // Rooms: another connection hears a shout to a room they share.
    let other = Manager::new(&url, options(transport, upgrade));
    let o = other.socket("/", Some(serde_json::json!({ "token": "ok" })));
    let tx = events_tx.clone();
    o.on("shouted", move |_, text: String, _| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(format!("heard {text}"));
        }
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

    // The server goes away: emits wait, in order, through failed attempts,
    // and arrive after it is back.
    let (failures_tx, mut failures) = mpsc::unbounded_channel();
    manager.on_reconnect_error(move |e| {
        let _ = failures_tx.send(e.to_owned());
    });
    server.close();
    assert_eq!(next(&mut events).await, "disconnect transport close");
    for i in 0..3 {
        s.emit("record", &(format!("buffered {i}"),)).unwrap();
    }
    s.emit_volatile("record", &("volatile: dropped while away",))
        .unwrap();
    // Nothing listens: the first transport's connection fails (a WebSocket
    // reports its end as a close, as engineio's client session does).
    let reason = match transport {
        Transport::WebSocket => "transport close",
        _ => "transport error",
    };
    assert_eq!(
        next(&mut failures).await,
        format!("closed before the handshake: {reason}")
    );
    let _server = server_on(&addr, record_tx).await;
    assert_eq!(next(&mut events).await, "connect");
    for i in 0..3 {
        assert_eq!(next(&mut record).await, format!("buffered {i}"));
    }
    s.emit("record", &("after",)).unwrap();
    assert_eq!(next(&mut record).await, "after");
    manager.close();
    assert_eq!(
        next(&mut events).await,
        format!("disconnect {}", DisconnectReason::IoClientDisconnect)
    );
}

#[tokio::test]
async fn against_our_server_over_polling() {
    scenario(Transport::Polling, false).await;
}

#[tokio::test]
async fn against_our_server_over_websocket() {
    scenario(Transport::WebSocket, false).await;
}

#[tokio::test]
async fn against_our_server_with_upgrade() {
    scenario(Transport::Polling, true).await;
}
