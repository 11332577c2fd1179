//! socketio-server's socket.io 4.8 API parity, end to end against the
//! official Node `socket.io-client` (`tests/js/sio_parity_client.js`):
//! `disconnecting`, async namespace middleware, `socket.use`, the default
//! ack timeout, several listeners per event, the handshake's fields, and
//! `send`/`message`. Each scenario runs over polling, over WebSocket, and
//! over polling upgraded to WebSocket.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::Extensions;
use serde_json::{Value, json};
use socketio_server::{
    AckError, ConnectError, DisconnectReason, ListenerId, PacketError, Server, ServerOptions,
};
use tokio::sync::mpsc;

use crate::node::NodePeer;

/// How long a whole scenario may take, Node's start included.
const SCENARIO_LIMIT: Duration = Duration::from_secs(30);

/// Runs each scenario over the three ways socket.io-client connects.
macro_rules! over_each_transport {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            async fn run(transports: &str) {
                tokio::time::timeout(super::SCENARIO_LIMIT, super::$scenario(transports))
                    .await
                    .unwrap_or_else(|_| panic!("over {transports}: scenario timed out"));
            }

            #[tokio::test]
            async fn over_polling() {
                run("polling").await;
            }

            #[tokio::test]
            async fn over_websocket() {
                run("websocket").await;
            }

            #[tokio::test]
            async fn with_upgrade() {
                run("polling,websocket").await;
            }
        }
    )*};
}

over_each_transport!(
    disconnecting,
    async_middleware,
    packet_middleware,
    default_ack_timeout,
    listeners,
    handshake_fields,
    send_message,
);

async fn bind(options: ServerOptions) -> (Server, String) {
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    (server, url)
}

fn scenario_peer(url: &str, transports: &str, scenario: &str) -> NodePeer {
    // TZ=UTC: the Node side writes dates as the server's `time()` does.
    NodePeer::spawn_with_env(
        "sio_parity_client.js",
        &[url, transports, scenario],
        &[("TZ", "UTC")],
    )
}

/// The Node side's next JSON line, which must be checkpoint `want`.
async fn step(node: &mut NodePeer, want: &str) -> Value {
    let line = node.line().await;
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(v["step"], want, "{line}");
    v
}

/// The scenario's last checkpoint and a clean exit.
async fn finish(mut node: NodePeer) {
    step(&mut node, "done").await;
    assert!(node.success().await, "node exited with an error");
}

/// The next report from the server's handlers.
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no report from the server within 5 s")
        .expect("report channel closed")
}

/// Reports until (and with) `last`.
async fn log_until(rx: &mut mpsc::UnboundedReceiver<String>, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some(last) {
        seen.push(next(rx).await);
    }
    seen
}

/// A socket's end as its handlers saw it.
#[derive(Debug, PartialEq)]
struct Leaving {
    phase: &'static str,
    reason: DisconnectReason,
    rooms: Vec<String>,
}

/// `on_disconnecting` runs before the socket leaves its rooms (it can
/// still tell them), `on_disconnect` after, for a client's namespace
/// disconnect and for a transport cut under it.
async fn disconnecting(transports: &str) {
    let (server, url) = bind(ServerOptions::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Leaving)>();
    server.of("/").on_connect(move |socket| {
        socket.join("r1");
        let tx1 = tx.clone();
        socket.on_disconnecting(move |s, reason| {
            let mut rooms = s.rooms();
            rooms.sort();
            if rooms.iter().any(|r| r == "r1") {
                s.to("r1").emit("left", &(s.id(), reason.as_str())).unwrap();
            }
            let phase = "disconnecting";
            let _ = tx1.send((
                s.id().to_owned(),
                Leaving {
                    phase,
                    reason,
                    rooms,
                },
            ));
        });
        let tx2 = tx.clone();
        socket.on_disconnect(move |s, reason| {
            let (phase, rooms) = ("disconnect", s.rooms());
            let _ = tx2.send((
                s.id().to_owned(),
                Leaving {
                    phase,
                    reason,
                    rooms,
                },
            ));
        });
        socket.emit("joined", &(socket.id(),)).unwrap();
    });

    let mut node = scenario_peer(&url, transports, "disconnecting");
    let mut left = Vec::new();
    for reason in [
        DisconnectReason::ClientNamespaceDisconnect,
        DisconnectReason::TransportClose,
    ] {
        let v = step(&mut node, "left").await;
        // The room heard it from the leaving socket's disconnecting.
        assert_eq!(v["left"], v["id"], "over {transports}: {v}");
        assert_eq!(v["reason"], reason.as_str(), "over {transports}: {v}");
        left.push((v["id"].as_str().unwrap().to_owned(), reason));
    }
    finish(node).await;

    // Three sockets (the two that left, the watcher), two reports each.
    let mut by_socket: HashMap<String, Vec<Leaving>> = HashMap::new();
    for _ in 0..6 {
        let (id, leaving) = next(&mut rx).await;
        by_socket.entry(id).or_default().push(leaving);
    }
    for (id, reason) in left {
        let mut rooms = vec![id.clone(), "r1".to_owned()];
        rooms.sort();
        assert_eq!(
            by_socket.remove(&id).unwrap(),
            [
                Leaving {
                    phase: "disconnecting",
                    reason,
                    rooms,
                },
                Leaving {
                    phase: "disconnect",
                    reason,
                    rooms: Vec::new(),
                },
            ],
            "over {transports}"
        );
    }
    let watcher: Vec<_> = by_socket.into_values().collect();
    assert_eq!(watcher.len(), 1, "over {transports}");
    let phases: Vec<_> = watcher[0].iter().map(|l| (l.phase, l.reason)).collect();
    assert_eq!(
        phases,
        [
            ("disconnecting", DisconnectReason::ClientNamespaceDisconnect),
            ("disconnect", DisconnectReason::ClientNamespaceDisconnect),
        ],
        "over {transports}"
    );
}

/// Who the async check found the token to belong to.
#[derive(Clone)]
struct User(String);

/// Async namespace middleware: refusal with message and data, values
/// passed on to the socket and to the checks after it, and a slow check on
/// one namespace that leaves the connection's other namespace running.
async fn async_middleware(transports: &str) {
    let (server, url) = bind(ServerOptions::default()).await;
    let main = server.of("/");
    main.use_middleware_async_with_data(|hs| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let auth = hs.auth::<Value>().unwrap_or_default();
        if auth["token"] != "good" {
            return Err(ConnectError::new("bad token").with_data(json!({"code": 4001})));
        }
        let mut data = Extensions::new();
        data.insert(User("good-user".to_owned()));
        Ok(data)
    });
    // Runs after the async check, and sees what it stored.
    main.use_middleware_with_data(|_, data| match data.get::<User>() {
        Some(_) => Ok(()),
        None => Err(ConnectError::new("the async check did not run first")),
    });
    let slow_pending = Arc::new(AtomicBool::new(false));
    let pending = slow_pending.clone();
    main.on_connect(move |socket| {
        let user = socket.get::<User>().map(|u| u.0);
        socket.emit("hello", &(user,)).unwrap();
        let pending = pending.clone();
        socket.on("echo", move |_, (n,): (u32,), ack| {
            let waiting = pending.load(Ordering::SeqCst);
            async move {
                ack.unwrap()
                    .send(&(json!({"n": n, "pending": waiting}),))
                    .unwrap();
            }
        });
    });
    server.of("/slow").use_middleware_async(move |_| {
        let pending = slow_pending.clone();
        async move {
            pending.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(2)).await;
            pending.store(false, Ordering::SeqCst);
            Ok(())
        }
    });

    let mut node = scenario_peer(&url, transports, "middleware");
    let refused = step(&mut node, "refused").await;
    assert_eq!(refused["message"], "bad token", "over {transports}");
    assert_eq!(refused["data"], json!({"code": 4001}), "over {transports}");
    assert!(refused["ms"].as_u64().unwrap() >= 200, "{refused}");
    let accepted = step(&mut node, "accepted").await;
    assert_eq!(accepted["user"], "good-user", "over {transports}");
    assert!(accepted["ms"].as_u64().unwrap() >= 200, "{accepted}");

    let slow = step(&mut node, "slow").await;
    assert_eq!(slow["sameEngine"], true, "one connection, two namespaces");
    let slow_at = slow["slowAt"].as_u64().unwrap();
    assert!(slow_at >= 1900, "/slow joined after {slow_at} ms: {slow}");
    let echoes = slow["echoes"].as_array().unwrap();
    assert_eq!(echoes.len(), 3);
    for (i, echo) in echoes.iter().enumerate() {
        // Answered while /slow's check was still sleeping.
        assert_eq!(echo["n"], i, "{slow}");
        assert_eq!(echo["pending"], true, "over {transports}: {slow}");
        assert_eq!(echo["slowConnected"], false, "over {transports}: {slow}");
        assert!(echo["at"].as_u64().unwrap() < slow_at, "{slow}");
    }
    finish(node).await;
}

/// `socket.use`: a refused event reaches no listener (catch-all ones
/// included), the error listeners hear why and tell the client; the event
/// after it goes through, in order.
async fn packet_middleware(transports: &str) {
    let (server, url) = bind(ServerOptions::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    server.of("/").on_connect(move |socket| {
        let log = tx.clone();
        socket.use_middleware(move |_, packet| {
            let event = packet.event_name().unwrap_or_default().to_owned();
            let _ = log.send(format!("use {event}"));
            async move {
                match event.as_str() {
                    "forbidden" => Err(PacketError::new("unauthorized event")),
                    _ => Ok(()),
                }
            }
        });
        let log = tx.clone();
        socket.on_error(move |s, err| {
            let _ = log.send(format!("error {}", err.message));
            s.emit("error", &(err.message.as_str(),)).unwrap();
        });
        let log = tx.clone();
        socket.on_any(move |_, event, _| {
            let _ = log.send(format!("any {event}"));
        });
        let log = tx.clone();
        socket.on("forbidden", move |_, (_n,): (u32,), _| {
            let _ = log.send("forbidden ran".to_owned());
            async {}
        });
        let log = tx.clone();
        socket.on("allowed", move |_, (n,): (u32,), ack| {
            let _ = log.send(format!("allowed {n}"));
            async move {
                ack.unwrap().send(&(format!("allowed {n}"),)).unwrap();
            }
        });
        let log = tx.clone();
        socket.on_disconnect(move |_, _| {
            let _ = log.send("disconnect".to_owned());
        });
    });

    let mut node = scenario_peer(&url, transports, "use");
    let used = step(&mut node, "use").await;
    assert_eq!(
        used["events"],
        json!(["error unauthorized event", "ack allowed 2"]),
        "over {transports}"
    );
    finish(node).await;
    assert_eq!(
        log_until(&mut rx, "disconnect").await,
        [
            "use forbidden",
            "error unauthorized event",
            "use allowed",
            "any allowed",
            "allowed 2",
            "disconnect",
        ],
        "over {transports}"
    );
}

/// Events whose `socket.use` check waits, on a multi-threaded runtime.
/// socket.io's checks of equal delay (`setTimeout(next, 10)`) hand the
/// events on in the order they came, its timers firing in order;
/// socketio-server spawns one task per waiting event, and the listener gets
/// them in the order the worker threads finish them (seen:
/// `[7, 0, 1, .., 6, 11, 8, ..]`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_packet_middleware_keeps_order() {
    let scenario = async {
        let (server, url) = bind(ServerOptions::default()).await;
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        server.of("/").on_connect(move |socket| {
            socket.use_middleware(|_, _| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(())
            });
            let tx = tx.clone();
            let heard = Arc::new(std::sync::atomic::AtomicU32::new(0));
            socket.on("seq", move |s, (n,): (u32,), _| {
                let _ = tx.send(n);
                if heard.fetch_add(1, Ordering::SeqCst) == 49 {
                    s.emit("sequence-done", &()).unwrap();
                }
                async {}
            });
        });
        let node = scenario_peer(&url, "websocket", "sequence");
        finish(node).await;
        let mut order = Vec::new();
        for _ in 0..50 {
            order.push(next(&mut rx).await);
        }
        assert_eq!(order, (0..50).collect::<Vec<_>>());
    };
    tokio::time::timeout(SCENARIO_LIMIT, scenario)
        .await
        .expect("scenario timed out");
}

/// One ack the server asked for: the answer, or why none came.
type Answer = Result<(String,), AckError>;

/// What the server's asks of `default_ack_timeout` came to.
#[derive(Debug)]
struct AckReport {
    own: (Answer, Duration),
    silent: (Answer, Duration),
    silent_600ms: (Answer, Duration),
    /// Each socket of the room's answer, whether all came, the wait.
    room: (Vec<(String, Answer)>, bool, Duration),
    kind_id: String,
}

/// `ServerOptions::ack_timeout`: the wait of an ack asked without a
/// timeout, of one socket and of a broadcast; a timeout given overrides it.
async fn default_ack_timeout(transports: &str) {
    let mut options = ServerOptions::default();
    options.ack_timeout = Duration::from_millis(300);
    let (server, url) = bind(options).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<AckReport>();
    server.of("/").on_connect(move |socket| {
        socket.join("ackers");
        socket.emit("ready", &()).unwrap();
        let tx = tx.clone();
        socket.on("start", move |s, (silent_id,): (String,), ack| {
            let tx = tx.clone();
            async move {
                let silent = s
                    .ns()
                    .socket(&silent_id)
                    .expect("the silent client's socket");
                let own = timed(s.emit_with_ack("q", &(1,), None)).await;
                let silent_default = timed(silent.emit_with_ack("q", &(2,), None)).await;
                let silent_600ms =
                    timed(silent.emit_with_ack("q", &(3,), Duration::from_millis(600))).await;
                let asked = Instant::now();
                let room = s
                    .ns()
                    .to("ackers")
                    .emit_with_ack::<_, (String,)>("q", &(4,), None)
                    .await
                    .unwrap();
                let room_waited = asked.elapsed();
                let mut local: Vec<_> = room
                    .local
                    .into_iter()
                    .map(|(sock, r)| (sock.id().to_owned(), r))
                    .collect();
                local.sort_by(|a, b| a.0.cmp(&b.0));
                let _ = tx.send(AckReport {
                    own,
                    silent: silent_default,
                    silent_600ms,
                    room: (local, room.complete, room_waited),
                    kind_id: s.id().to_owned(),
                });
                ack.unwrap().send(&("done",)).unwrap();
            }
        });
    });

    let mut node = scenario_peer(&url, transports, "acks");
    let v = step(&mut node, "acks").await;
    assert_eq!(v["report"], "done", "over {transports}");
    finish(node).await;
    let report = next(&mut rx).await;
    let default = Duration::from_millis(300);
    // Well before socket.io-server's own 30 s default.
    let bound = Duration::from_secs(5);
    let (own, waited) = &report.own;
    assert!(
        matches!(own, Ok((a,)) if a == "answer-1") && *waited < bound,
        "over {transports}: {report:?}"
    );
    let (silent, waited) = &report.silent;
    assert!(
        matches!(silent, Err(AckError::Timeout)) && *waited >= default && *waited < bound,
        "over {transports}: {report:?}"
    );
    let (silent, waited) = &report.silent_600ms;
    assert!(
        matches!(silent, Err(AckError::Timeout))
            && *waited >= Duration::from_millis(600)
            && *waited < bound,
        "over {transports}: {report:?}"
    );
    let (local, complete, waited) = &report.room;
    assert!(
        !complete && *waited >= default && *waited < bound,
        "{report:?}"
    );
    assert_eq!(local.len(), 2, "{report:?}");
    for (id, answer) in local {
        if *id == report.kind_id {
            assert!(matches!(answer, Ok((a,)) if a == "answer-4"), "{report:?}");
        } else {
            assert!(matches!(answer, Err(AckError::Timeout)), "{report:?}");
        }
    }
}

/// `f`'s output and how long it took.
async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let asked = Instant::now();
    (f.await, asked.elapsed())
}

/// The first "multi" listener, to remove it alone.
#[derive(Clone)]
struct First(ListenerId);

/// A mark the first connection listener leaves for the second.
#[derive(Clone)]
struct Greeted;

/// The server of [`listeners`]; returns what its listeners log.
async fn listeners_server() -> (Server, String, mpsc::UnboundedReceiver<String>) {
    let (server, url) = bind(ServerOptions::default()).await;
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let ns = server.of("/");
    let log = tx.clone();
    ns.on_connect(move |socket| {
        socket.insert(Greeted);
        let _ = log.send("connect 1".to_owned());
    });
    ns.on_connect(move |socket| {
        let greeted = socket.get::<Greeted>().is_some();
        let _ = tx.send(format!("connect 2 after 1: {greeted}"));
        let log = tx.clone();
        let first = socket.on("multi", move |_, (n,): (u32,), ack| {
            let _ = log.send(format!("first {n}"));
            async move {
                if let Some(ack) = ack {
                    ack.send(&("from-first",)).unwrap();
                }
            }
        });
        socket.insert(First(first));
        let log = tx.clone();
        socket.on("multi", move |_, (n,): (u32,), ack| {
            let _ = log.send(format!("second {n}"));
            async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&("from-second",));
                }
            }
        });
        let log = tx.clone();
        socket.on_any(move |_, event, _| {
            if event != "ctl" {
                let _ = log.send(format!("any {event}"));
            }
        });
        let log = tx.clone();
        socket.prepend_any(move |_, event, _| {
            if event != "ctl" {
                let _ = log.send(format!("prepended any {event}"));
            }
        });
        let log = tx.clone();
        socket.on("typed", move |_, (n,): (u32,), _| {
            let _ = log.send(format!("typed {n}"));
            async {}
        });
        let log = tx.clone();
        socket.on_mismatch(move |_, event, _| {
            let _ = log.send(format!("mismatch {event}"));
        });
        socket.on("ctl", |s, (cmd,): (String,), ack| async move {
            let before = s.listener_count("multi");
            let mut answer = json!({});
            match cmd.as_str() {
                "remove-first" => {
                    let First(id) = s.get::<First>().unwrap();
                    answer["removed"] = s.remove_listener(id).into();
                    answer["again"] = s.remove_listener(id).into();
                }
                "off" => s.off("multi"),
                "off-any" => s.off_any(),
                _ => {}
            }
            answer["before"] = before.into();
            answer["after"] = s.listener_count("multi").into();
            ack.unwrap().send(&(answer,)).unwrap();
        });
        let log = tx.clone();
        socket.on_disconnect(move |_, _| {
            let _ = log.send("disconnect".to_owned());
        });
    });

    (server, url, rx)
}

/// Several listeners per event, in order; removing one, all of an
/// event's, the catch-all ones; `prepend_any`; `on_mismatch`; several
/// connection listeners, in order.
async fn listeners(transports: &str) {
    let (_server, url, mut rx) = listeners_server().await;
    let mut node = scenario_peer(&url, transports, "listeners");
    let v = step(&mut node, "listeners").await;
    // Each listener answers; the client hears the first answer.
    assert_eq!(v["multiAnswer"], "from-first", "over {transports}: {v}");
    assert_eq!(
        v["counts"],
        json!([
            {"removed": true, "again": false, "before": 2, "after": 1},
            {"before": 1, "after": 0},
            {"before": 0, "after": 0},
            {"before": 0, "after": 0},
        ]),
        "over {transports}"
    );
    finish(node).await;
    assert_eq!(
        log_until(&mut rx, "disconnect").await,
        [
            "connect 1",
            "connect 2 after 1: true",
            // Both listeners, after the catch-all ones, prepended first.
            "prepended any multi",
            "any multi",
            "first 1",
            "second 1",
            // The first removed.
            "prepended any multi",
            "any multi",
            "second 2",
            // Every "multi" listener removed: only the catch-all ones.
            "prepended any multi",
            "any multi",
            // The catch-all ones removed: "multi" 4 is heard by no one.
            "typed 7",
            "mismatch typed",
            "disconnect",
        ],
        "over {transports}"
    );
}

/// Several listeners of one event asked for an ack: socket.io's ack
/// callback is one function for all of them and sends once (its `sent`
/// flag), so the client gets one ACK packet per id. socketio-server gives
/// each listener its own `AckSender` and sends one ACK per listener that
/// answers; socket.io-client drops the extra ones ("bad ack"), other
/// clients may not.
#[tokio::test]
async fn several_listeners_answer_one_ack() {
    let scenario = async {
        let (_server, url, _log) = listeners_server().await;
        let mut node = scenario_peer(&url, "websocket", "listeners");
        let v = step(&mut node, "listeners").await;
        assert_eq!(v["multiAnswer"], "from-first", "{v}");
        // Ack ids 0 ("multi"), then 1 to 4 (the "ctl" events).
        assert_eq!(v["ackIds"], json!([0, 1, 2, 3, 4]), "{v}");
        finish(node).await;
    };
    tokio::time::timeout(SCENARIO_LIMIT, scenario)
        .await
        .expect("scenario timed out");
}

/// The handshake's fields, read by the server and judged on both sides.
async fn handshake_fields(transports: &str) {
    let (server, url) = bind(ServerOptions::default()).await;
    server.of("/").on_connect(|socket| {
        let hs = socket.handshake();
        let issued = hs.issued();
        // As the server's clock has it; `None` if in the future.
        let age = std::time::SystemTime::now()
            .duration_since(issued)
            .ok()
            .map(|d| d.as_millis() as u64);
        let issued_ms = issued
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let origin = hs.headers().get("origin").map(|o| o.to_str().unwrap());
        let fields = json!({
            "time": hs.time(),
            "issued": issued_ms,
            "secure": hs.secure(),
            "xdomain": hs.xdomain(),
            "url": hs.url(),
            "q": hs.query("q"),
            "origin": origin,
            "auth": hs.auth::<Value>(),
            "serverAgeMs": age,
        });
        socket.emit("hs", &(fields,)).unwrap();
    });

    let mut node = scenario_peer(&url, transports, "handshake");
    let first = transports.split(',').next().unwrap();
    let with_origin = step(&mut node, "hs").await;
    let without = step(&mut node, "hs").await;
    for (hs, xdomain) in [(&with_origin, true), (&without, false)] {
        assert_eq!(hs["timeIsJsDate"], true, "{hs}");
        assert_eq!(hs["time"], hs["jsTime"], "{hs}");
        let age = hs["ageMs"].as_i64().unwrap();
        assert!((0..10_000).contains(&age), "{hs}");
        assert!(hs["serverAgeMs"].as_u64().unwrap() < 5_000, "{hs}");
        assert_eq!(hs["secure"], false, "{hs}");
        assert_eq!(hs["xdomain"], xdomain, "over {transports}: {hs}");
        let url = hs["url"].as_str().unwrap();
        assert!(url.starts_with("/socket.io/?"), "{hs}");
        assert!(url.contains("EIO=4"), "{hs}");
        assert!(url.contains(&format!("transport={first}")), "{hs}");
    }
    assert!(with_origin["url"].as_str().unwrap().contains("q=1"));
    assert_eq!(with_origin["q"], "1");
    assert_eq!(with_origin["origin"], "http://example.test");
    assert_eq!(with_origin["auth"], json!({"user": "ann"}));
    assert!(!without["url"].as_str().unwrap().contains("q=1"));
    assert_eq!(without["q"], Value::Null);
    assert_eq!(without["origin"], Value::Null);
    assert_eq!(
        without["auth"],
        json!({}),
        "no auth reads as {{}}, as socket.io's handshake.auth"
    );
    finish(node).await;
}

/// `send` both ways as the "message" event, and `Namespace::send` to
/// every socket.
async fn send_message(transports: &str) {
    let (server, url) = bind(ServerOptions::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    server.of("/").on_connect(move |socket| {
        let log = tx.clone();
        socket.on("message", move |s, (a, b): (String, u32), _| {
            let _ = log.send(format!("message {a} {b}"));
            async move { s.send(&("yo",)).unwrap() }
        });
        let log = tx.clone();
        socket.on("to-all", move |s, (): (), _| {
            let n = s.ns().send(&("everyone",)).unwrap();
            let _ = log.send(format!("sent to {n}"));
            async {}
        });
    });

    let mut node = scenario_peer(&url, transports, "message");
    let reply = step(&mut node, "reply").await;
    assert_eq!(reply["message"], "yo", "over {transports}");
    let everyone = step(&mut node, "everyone").await;
    assert_eq!(
        everyone["heard"],
        json!([["everyone"], ["everyone"]]),
        "over {transports}"
    );
    finish(node).await;
    assert_eq!(next(&mut rx).await, "message hi 1");
    assert_eq!(next(&mut rx).await, "sent to 2");
}
