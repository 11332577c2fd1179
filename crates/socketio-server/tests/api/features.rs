//! Server features over raw WebSocket clients: catch-all listeners, per-socket
//! data, broadcasts with acks from many, who a broadcast leaves out, dynamic
//! namespaces, room operations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{AckError, DisconnectReason, Server, ServerOptions};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<TcpStream>;

async fn server() -> (String, Server) {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    (server.local_addr().to_string(), server)
}

/// A raw client, past the Engine.IO handshake and connected to `nsp`.
async fn client(addr: &str, connect: &str) -> (Ws, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&token=t1");
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
    assert!(recv(&mut ws).await.starts_with("0{"));
    ws.send(Message::text(connect)).await.unwrap();
    let reply = recv(&mut ws).await;
    (ws, reply)
}

async fn recv(ws: &mut Ws) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(t))) if t == "2" => ws.send(Message::text("3")).await.unwrap(),
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// The socket id in a CONNECT reply (`40{"sid":...}`).
fn sid(reply: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(reply.strip_prefix("40").unwrap()).unwrap();
    v["sid"].as_str().unwrap().to_owned()
}

/// Every disconnect in the main namespace, with its socket id and reason.
fn disconnect_reasons(server: &Server) -> mpsc::UnboundedReceiver<(String, DisconnectReason)> {
    let (tx, rx) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |s, r| {
            let _ = tx.send((s.id().to_owned(), r));
        });
    });
    rx
}

/// The next item from a channel the server's handlers feed (bounded in time).
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

#[derive(Clone, Debug, PartialEq)]
struct User(String);

#[tokio::test]
async fn catch_all_listeners_and_socket_data() {
    let (addr, server) = server().await;
    let (log, mut seen) = mpsc::unbounded_channel();
    // Middleware finds the user once; handlers read it from the socket.
    server.of("/").use_middleware_with_data(|hs, data| {
        let token = hs.query("token").unwrap_or_default();
        data.insert(User(format!("user-of-{token}")));
        Ok(())
    });
    server.of("/").on_connect(move |socket| {
        assert_eq!(socket.get::<User>(), Some(User("user-of-t1".into())));
        socket.insert(42u32);
        let (a, b) = (log.clone(), log.clone());
        socket.on_any(move |_, name, _| {
            let _ = a.send(format!("in:{name}"));
        });
        socket.on_any_outgoing(move |_, name, _| {
            let _ = b.send(format!("out:{name}"));
        });
        socket.on("whoami", |s, (): (), ack| async move {
            ack.unwrap().send(&(s.get::<u32>(),)).unwrap();
        });
    });
    let (mut ws, _) = client(&addr, "40").await;
    ws.send(Message::text(r#"421["whoami"]"#)).await.unwrap();
    assert_eq!(recv(&mut ws).await, "431[42]");
    server.emit("news", &("hello",)).unwrap();
    assert_eq!(recv(&mut ws).await, r#"42["news","hello"]"#);
    ws.send(Message::text(r#"42["unhandled",1]"#))
        .await
        .unwrap();
    // The catch-all listeners saw all three, in order, and nothing else.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut seen).await);
    }
    assert_eq!(got, ["in:whoami", "out:news", "in:unhandled"]);
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn broadcast_collects_acks_and_times_out_the_silent() {
    let (addr, server) = server().await;
    let (mut a, reply) = client(&addr, "40").await;
    let a_id = sid(&reply);
    let (mut b, _) = client(&addr, "40").await;
    let ns = server.of("/");
    let asked = tokio::time::Instant::now();
    let asking = tokio::spawn({
        let ns = ns.clone();
        async move {
            ns.broadcast()
                .emit_with_ack::<_, (String,)>("question", &("ready?",), Duration::from_millis(300))
                .await
                .unwrap()
        }
    });
    // One shared ack id for every recipient.
    let qa = recv(&mut a).await;
    let qb = recv(&mut b).await;
    assert_eq!(qa, qb);
    let id: String = qa[2..].chars().take_while(|c| c.is_ascii_digit()).collect();
    assert_eq!(qa, format!(r#"42{id}["question","ready?"]"#));
    a.send(Message::text(format!(r#"43{id}["yes"]"#)))
        .await
        .unwrap();
    let results = asking.await.unwrap();
    // The silent one was waited for, the whole timeout.
    assert!(asked.elapsed() >= Duration::from_millis(300));
    assert!(!results.complete);
    assert!(results.remote.is_empty());
    let results = results.local;
    assert_eq!(results.len(), 2);
    let answered: Vec<_> = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok((y,)) if y == "yes"))
        .map(|(s, _)| s.id())
        .collect();
    let silent: Vec<_> = results
        .iter()
        .filter(|(_, r)| matches!(r, Err(AckError::Timeout)))
        .map(|(s, _)| s.id())
        .collect();
    assert_eq!(answered, [a_id.as_str()]);
    assert_eq!(silent.len(), 1);
    assert_ne!(silent[0], a_id);
}

#[tokio::test]
async fn dynamic_namespaces() {
    let (addr, server) = server().await;
    let rooms = server.of_dynamic(|name| {
        name.strip_prefix("/room-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    rooms.on_connect(|socket| {
        let name = socket.ns().name().to_owned();
        socket.emit("welcome", &(name,)).unwrap();
    });
    let (mut ws, reply) = client(&addr, "40/room-7,").await;
    assert!(reply.starts_with("40/room-7,{\"sid\""), "{reply}");
    assert_eq!(recv(&mut ws).await, r#"42/room-7,["welcome","/room-7"]"#);
    assert!(server.namespace("/room-7").is_some());
    let (_, reply) = client(&addr, "40/room-x,").await;
    assert_eq!(reply, r#"44/room-x,{"message":"Invalid namespace"}"#);
}

#[tokio::test]
async fn room_operations_on_many_sockets() {
    let (addr, server) = server().await;
    let mut reasons = disconnect_reasons(&server);
    let (mut a, reply) = client(&addr, "40").await;
    let a_id = sid(&reply);
    let (mut b, reply) = client(&addr, "40").await;
    let b_id = sid(&reply);
    let ns = server.of("/");
    assert_eq!(ns.broadcast().sockets().len(), 2);
    let fetched = ns
        .broadcast()
        .fetch_sockets(Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(fetched.len(), 2);
    ns.broadcast().sockets_join("everyone");
    assert_eq!(ns.to("everyone").sockets().len(), 2);
    // Every socket is in the room of its own id.
    assert_eq!(ns.to(&a_id).sockets().len(), 1);
    // As every node describes a socket: its handshake, rooms and data.
    ns.socket(&a_id)
        .unwrap()
        .set_data(&serde_json::json!({"user": "ann"}))
        .unwrap();
    let fetched = &ns
        .to(&a_id)
        .fetch_sockets(Duration::from_secs(1))
        .await
        .unwrap()[0];
    assert_eq!(fetched.id(), a_id);
    assert_eq!(fetched.data(), Some(&serde_json::json!({"user": "ann"})));
    let mut rooms = fetched.rooms().to_vec();
    rooms.sort();
    let mut want = vec![a_id.clone(), "everyone".to_owned()];
    want.sort();
    assert_eq!(rooms, want);
    let hs = fetched.handshake();
    assert_eq!(hs["address"], "127.0.0.1");
    assert_eq!(hs["secure"], false);
    assert_eq!(hs["query"]["EIO"], "4");
    assert_eq!(hs["auth"], serde_json::json!({}));
    assert!(hs["url"].as_str().unwrap().starts_with("/socket.io/?"));
    assert!(hs["issued"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(
        hs["time"]
            .as_str()
            .unwrap()
            .ends_with("GMT+0000 (Coordinated Universal Time)")
    );
    assert_eq!(
        ns.to("everyone")
            .except(&a_id)
            .emit("only-others", &())
            .unwrap(),
        1
    );
    ns.to("everyone").volatile().emit("all", &(1,)).unwrap();
    assert_eq!(recv(&mut b).await, r#"42["only-others"]"#);
    assert_eq!(recv(&mut a).await, r#"42["all",1]"#);
    assert_eq!(recv(&mut b).await, r#"42["all",1]"#);
    ns.broadcast().sockets_leave("everyone");
    assert_eq!(ns.to("everyone").sockets().len(), 0);
    ns.broadcast().disconnect();
    assert_eq!(recv(&mut a).await, "41");
    assert_eq!(recv(&mut b).await, "41");
    // A socket is out of its namespace before its disconnect handlers run.
    let mut gone = Vec::new();
    for _ in 0..2 {
        let (id, reason) = next(&mut reasons).await;
        assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
        gone.push(id);
    }
    gone.sort();
    let mut both = [a_id, b_id];
    both.sort();
    assert_eq!(gone, both);
    assert!(ns.sockets().is_empty());
}

#[tokio::test]
async fn a_client_that_stops_reading_is_let_go_and_others_carry_on() {
    let mut options = ServerOptions::default();
    options.engine.write_timeout = Duration::from_millis(500);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().to_string();
    let mut reasons = disconnect_reasons(&server);
    let (_stuck, reply) = client(&addr, "40").await; // never read again
    let stuck_id = sid(&reply);
    let (mut healthy, _) = client(&addr, "40").await;
    let ns = server.of("/");
    let big = "x".repeat(16 << 10);
    // A broadcast each time the healthy client has read the last one, until
    // the stuck one is let go: far more than its socket buffers hold.
    let started = tokio::time::Instant::now();
    let let_go = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            ns.broadcast().emit("big", &(&big,)).unwrap();
            tokio::select! {
                biased;
                gone = reasons.recv() => break gone.unwrap(),
                got = recv(&mut healthy) => assert!(got.starts_with(r#"42["big","#)),
            }
        }
    })
    .await
    .expect("the stuck client is let go");
    assert_eq!(let_go, (stuck_id, DisconnectReason::TransportError));
    // Not before a write to it has waited the whole write timeout.
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The healthy one is still served.
    ns.emit("after", &()).unwrap();
    loop {
        if recv(&mut healthy).await == r#"42["after"]"# {
            break;
        }
    }
    assert_eq!(ns.sockets().len(), 1);
}

/// A socket's own broadcasts leave it out, as in socket.io: `socket.to(room)`
/// reaches the room's other members, `socket.broadcast()` every other socket;
/// the server's `to(room)` reaches every member. Each step is followed by a
/// message every client expects next, so one that should not have come shows
/// up in its place.
#[tokio::test]
async fn a_socket_leaves_itself_out_of_its_broadcasts_the_server_does_not() {
    let (addr, server) = server().await;
    server.of("/").on_connect(|socket| {
        socket.on("join", |s, room: String, ack| async move {
            s.join(&room);
            ack.unwrap().send(&(true,)).unwrap();
        });
        // Each answers with how many sockets the broadcast was handed to,
        // after it: on the sender's connection the answer comes after
        // anything the broadcast sent it.
        socket.on("to-room", |s, room: String, ack| async move {
            let n = s.to(&room).emit("heard", &("to-room",)).unwrap();
            ack.unwrap().send(&(n,)).unwrap();
        });
        socket.on("to-others", |s, (): (), ack| async move {
            let n = s.broadcast().emit("heard", &("to-others",)).unwrap();
            ack.unwrap().send(&(n,)).unwrap();
        });
    });
    let (mut a, _) = client(&addr, "40").await;
    let (mut b, _) = client(&addr, "40").await;
    let (mut c, _) = client(&addr, "40").await;
    // a and b are in room "r", c is not.
    for ws in [&mut a, &mut b] {
        ws.send(Message::text(r#"421["join","r"]"#)).await.unwrap();
        assert_eq!(recv(ws).await, "431[true]");
    }

    // a, a member, to its room: b only.
    a.send(Message::text(r#"422["to-room","r"]"#))
        .await
        .unwrap();
    assert_eq!(recv(&mut a).await, "432[1]");
    assert_eq!(recv(&mut b).await, r#"42["heard","to-room"]"#);

    // c, not a member, to the room: both members.
    c.send(Message::text(r#"422["to-room","r"]"#))
        .await
        .unwrap();
    assert_eq!(recv(&mut c).await, "432[2]");
    assert_eq!(recv(&mut a).await, r#"42["heard","to-room"]"#);
    assert_eq!(recv(&mut b).await, r#"42["heard","to-room"]"#);

    // a to everyone else: b and c.
    a.send(Message::text(r#"423["to-others"]"#)).await.unwrap();
    assert_eq!(recv(&mut a).await, "433[2]");
    assert_eq!(recv(&mut b).await, r#"42["heard","to-others"]"#);
    assert_eq!(recv(&mut c).await, r#"42["heard","to-others"]"#);

    // The server to the room: every member, a included; not c.
    assert_eq!(
        server.to("r").emit("heard", &("server-to-room",)).unwrap(),
        2
    );
    assert_eq!(recv(&mut a).await, r#"42["heard","server-to-room"]"#);
    assert_eq!(recv(&mut b).await, r#"42["heard","server-to-room"]"#);

    // Last, to everyone: the next message of each, so nothing else came.
    assert_eq!(server.emit("heard", &("everyone",)).unwrap(), 3);
    for ws in [&mut a, &mut b, &mut c] {
        assert_eq!(recv(ws).await, r#"42["heard","everyone"]"#);
    }
}

/// The adapter seam: a custom adapter keeps the rooms and hears every
/// broadcast that is not local (where a multi-node adapter would forward
/// it).
#[tokio::test]
async fn a_custom_adapter_sees_rooms_and_broadcasts() {
    use socketio_server::{Adapter, BroadcastOptions, InMemoryAdapter};

    #[derive(Default)]
    struct Recording {
        rooms: InMemoryAdapter,
        log: Mutex<Vec<String>>,
    }
    impl Adapter for Recording {
        fn add_all(&self, sid: &str, rooms: &[&str]) {
            self.rooms.add_all(sid, rooms)
        }
        fn del(&self, sid: &str, room: &str) {
            self.rooms.del(sid, room)
        }
        fn del_all(&self, sid: &str) {
            self.rooms.del_all(sid)
        }
        fn sockets(&self, opts: &BroadcastOptions) -> Vec<String> {
            self.rooms.sockets(opts)
        }
        fn socket_rooms(&self, sid: &str) -> Vec<String> {
            self.rooms.socket_rooms(sid)
        }
        fn rooms(&self) -> Vec<String> {
            self.rooms.rooms()
        }
        fn broadcast(&self, packet: &socketio_proto::Packet, opts: &BroadcastOptions) {
            let line = format!(
                "{} to {:?} local={}",
                packet.event_name().unwrap_or("?"),
                opts.rooms,
                opts.local
            );
            self.log.lock().unwrap().push(line);
        }
    }

    let recording = Arc::new(Recording::default());
    let mut options = ServerOptions::default();
    let r = recording.clone();
    options.adapter = Arc::new(move |_| r.clone() as Arc<dyn Adapter>);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    server.of("/").on_connect(|s| s.join("news"));
    let (mut ws, _) = client(&server.local_addr().to_string(), "40").await;
    server.to("news").emit("headline", &("rust",)).unwrap();
    assert_eq!(recv(&mut ws).await, r#"42["headline","rust"]"#);
    server
        .of("/")
        .broadcast()
        .local()
        .emit("local-only", &())
        .unwrap();
    assert_eq!(recv(&mut ws).await, r#"42["local-only"]"#);
    assert_eq!(
        *recording.log.lock().unwrap(),
        [r#"headline to ["news"] local=false"#]
    );
}

/// The slow-client policy, with a queue of two so a burst overflows it (the
/// test runtime has one thread: nothing drains the queue during the burst).
#[tokio::test]
async fn slow_client_policy_drop_or_disconnect() {
    use socketio_server::{EmitError, SlowClient};
    for policy in [SlowClient::Drop, SlowClient::Disconnect] {
        let mut options = ServerOptions::default();
        options.engine.command_queue = 2;
        options.slow_client = policy;
        let server = Server::bind("127.0.0.1:0", options).await.unwrap();
        let mut reasons = disconnect_reasons(&server);
        let (mut ws, _) = client(&server.local_addr().to_string(), "40").await;
        let socket = server.of("/").sockets().pop().unwrap();
        let results: Vec<_> = (0..4).map(|i| socket.emit("burst", &(i,))).collect();
        assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
        match policy {
            SlowClient::Drop => {
                assert!(
                    matches!(
                        results[2..],
                        [Err(EmitError::Dropped), Err(EmitError::Dropped)]
                    ),
                    "{results:?}"
                );
                assert_eq!(recv(&mut ws).await, r#"42["burst",0]"#);
                assert_eq!(recv(&mut ws).await, r#"42["burst",1]"#);
                socket.emit("still", &()).unwrap();
                assert_eq!(recv(&mut ws).await, r#"42["still"]"#);
            }
            _ => {
                assert!(
                    matches!(results[2], Err(EmitError::SlowClient)),
                    "{results:?}"
                );
                // The close overtakes what was queued: the client gets a prefix
                // of the burst, then a close frame and the end, promptly.
                let mut got = Vec::new();
                let end = loop {
                    match tokio::time::timeout(Duration::from_secs(2), ws.next())
                        .await
                        .unwrap()
                    {
                        Some(Ok(Message::Text(t))) => got.push(t.as_str().to_owned()),
                        other => break other,
                    }
                };
                let burst = [r#"42["burst",0]"#, r#"42["burst",1]"#];
                assert!(
                    got.len() <= 2 && got.iter().zip(burst).all(|(g, b)| g == b),
                    "{got:?}"
                );
                assert!(matches!(end, Some(Ok(Message::Close(None)))), "{end:?}");
                let after = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
                assert!(matches!(after, Ok(None)), "{after:?}");
                let (_, reason) = next(&mut reasons).await;
                assert_eq!(reason, DisconnectReason::ForcedClose);
                assert!(server.of("/").sockets().is_empty());
            }
        }
    }
}

#[tokio::test]
async fn pipelined_events_and_bursts_of_broadcasts_all_arrive_in_order() {
    let (addr, server) = server().await;
    server.of("/").on_connect(|socket| {
        socket.on_raw("echo", |s, p| async move {
            if let Some(id) = p.id() {
                let _ = s.ack_raw_args(id, &p);
            }
        });
        socket.on_raw("shout", |s, p| async move {
            let args = p.event_args::<Vec<serde_json::Value>>().unwrap();
            let _ = s.ns().broadcast().emit("heard", &args);
        });
    });
    let (mut a, _) = client(&addr, "40").await;
    let (mut b, _) = client(&addr, "40").await;
    // Many events in one write: the server answers them as a batch, and the
    // last answers must not wait for more input.
    for round in 0..3 {
        let n = [1, 7, 300][round];
        for i in 0..n {
            a.feed(Message::text(format!("42{i}[\"echo\",{i}]")))
                .await
                .unwrap();
        }
        // Last, an event nobody listens to: it adds no output, and what the
        // batch wrote must still go out.
        a.feed(Message::text("42[\"unheard\"]")).await.unwrap();
        a.flush().await.unwrap();
        for i in 0..n {
            assert_eq!(recv(&mut a).await, format!("43{i}[{i}]"));
        }
    }
    // A burst of broadcasts queues many commands on each receiver's session.
    for i in 0..200 {
        a.feed(Message::text(format!("42[\"shout\",{i}]")))
            .await
            .unwrap();
    }
    a.flush().await.unwrap();
    for ws in [&mut a, &mut b] {
        for i in 0..200 {
            assert_eq!(recv(ws).await, format!("42[\"heard\",{i}]"));
        }
    }
}
