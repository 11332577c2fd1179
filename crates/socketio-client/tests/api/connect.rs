//! Waiting for a namespace (`connect().await`), its failures (a refusal
//! with the middleware's message and data, the connect timeout), the auth
//! function, and the listener list, against our socketio-server and a
//! server that never answers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use socketio_client::{ClientOptions, ConnectError, Manager};
use socketio_server::{Server, ServerOptions};
use tokio::sync::mpsc;

/// Our server: "/" wants `{"token": "t<n>"}` and tells each socket the
/// token it came with; "/private" refuses with data; "cut" closes the
/// transport; "burst" emits "n" with 1, then "x", then 2.
async fn server() -> (Server, String) {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let main = server.of("/");
    main.use_middleware(|hs| {
        let token = hs.auth::<serde_json::Value>().unwrap_or_default()["token"].clone();
        match token.as_str() {
            Some(t) if t.starts_with('t') => Ok(()),
            _ => Err(socketio_server::ConnectError::new("no token")),
        }
    });
    main.on_connect(|socket| {
        let token = socket.handshake().auth::<serde_json::Value>().unwrap()["token"].clone();
        socket.emit("token", &(token,)).unwrap();
        socket.on("cut", |s, (): (), _| async move { s.close_transport() });
        socket.on("burst", |s, (): (), _| async move {
            s.emit("n", &(1,)).unwrap();
            s.emit("n", &("x",)).unwrap();
            s.emit("n", &(2,)).unwrap();
        });
    });
    server.of("/private").use_middleware(|_| {
        Err(socketio_server::ConnectError::new("members only").with_data(json!({ "code": 403 })))
    });
    let url = format!("http://{}", server.local_addr());
    (server, url)
}

fn options() -> ClientOptions {
    ClientOptions::default()
        .auto_connect(false)
        .reconnection_delay(Duration::from_millis(50))
        .randomization_factor(0.0)
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

#[tokio::test]
async fn connect_awaits_the_join_or_the_refusal() {
    let (_server, url) = server().await;
    let manager = Manager::new(&url, options());
    let socket = manager.socket("/", Some(json!({ "token": "t1" })));
    assert!(!socket.connected(), "auto_connect off: not joined yet");
    tokio::time::timeout(Duration::from_secs(10), socket.connect())
        .await
        .unwrap()
        .unwrap();
    assert!(socket.connected());
    assert!(socket.id().is_some());
    // Joined already: at once.
    socket.connect().await.unwrap();

    let private = manager.socket("/private", None);
    let refused = tokio::time::timeout(Duration::from_secs(10), private.connect())
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(ConnectError::Refused {
            message: "members only".into(),
            data: Some(json!({ "code": 403 })),
        })
    );
    // No token on "/" of another manager: refused by the middleware.
    let bare = socketio_client::connect(&url, options());
    let refused = bare.connect().await.unwrap_err();
    assert!(
        matches!(&refused, ConnectError::Refused { message, data: None } if message == "no token"),
        "{refused:?}"
    );
    bare.manager().close();
    manager.close();
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_and_reconnection_goes_on() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            h.lock().unwrap().push(stream);
        }
    });
    let manager = Manager::new(&url, options().timeout(Duration::from_millis(300)));
    let (tx, mut seen) = mpsc::unbounded_channel();
    let t = tx.clone();
    manager.on_error(move |e| {
        let _ = t.send(format!("error {}", *e == ConnectError::Timeout));
    });
    let t = tx.clone();
    manager.on_reconnect_attempt(move |n| {
        let _ = t.send(format!("attempt {n}"));
    });
    let socket = manager.socket("/", None);
    socket.on_connect_error(move |_, e| {
        let _ = tx.send(format!("connect_error {e}"));
    });
    let started = tokio::time::Instant::now();
    let error = socket.connect().await.unwrap_err();
    assert_eq!(error, ConnectError::Timeout);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let mut first = vec![next(&mut seen).await, next(&mut seen).await];
    first.sort();
    assert_eq!(
        first,
        [
            "connect_error no connection within the connect timeout",
            "error true"
        ]
    );
    assert_eq!(next(&mut seen).await, "attempt 1", "reconnection goes on");
    assert!(!held.lock().unwrap().is_empty(), "the server was reached");
    manager.close();
}

#[tokio::test]
async fn the_auth_function_is_called_at_every_join() {
    let (_server, url) = server().await;
    let manager = Manager::new(&url, options());
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let socket = manager.socket_with_auth("/", move || {
        let n = c.fetch_add(1, Ordering::Relaxed) + 1;
        Some(json!({ "token": format!("t{n}") }))
    });
    let (tx, mut tokens) = mpsc::unbounded_channel();
    socket.on("token", move |_, token: String, _| {
        let _ = tx.send(token);
        async {}
    });
    socket.connect().await.unwrap();
    assert_eq!(next(&mut tokens).await, "t1");
    socket.emit("cut", &()).unwrap();
    // The re-join after the reconnection asks for a fresh token.
    assert_eq!(next(&mut tokens).await, "t2");
    manager.close();
}

#[tokio::test]
async fn several_listeners_removed_one_or_all_and_a_mismatch_reported() {
    let (_server, url) = server().await;
    let socket = socketio_client::connect(&url, options().auth(json!({ "token": "t" })));
    let (tx, mut seen) = mpsc::unbounded_channel::<String>();
    let say = move |s: String| {
        let _ = tx.send(s);
    };
    let s = say.clone();
    let typed = socket.on("n", move |_, n: u32, _| {
        s(format!("typed {n}"));
        async {}
    });
    let s = say.clone();
    socket.on("n", move |_, v: serde_json::Value, _| {
        s(format!("value {v}"));
        async {}
    });
    let s = say.clone();
    socket.on_any(move |_, event, _| s(format!("any {event}")));
    let s = say.clone();
    socket.prepend_any(move |_, event, _| s(format!("first {event}")));
    let s = say.clone();
    socket.on_mismatch(move |_, event, _| s(format!("mismatch {event}")));
    assert_eq!(socket.listener_count("n"), 2);
    socket.connect().await.unwrap();
    socket.emit("burst", &()).unwrap();
    let mut got = Vec::new();
    while got.len() < 12 {
        let s = next(&mut seen).await;
        // The "token" greeting's catch-all calls are not the point here.
        if !s.ends_with(" token") {
            got.push(s);
        }
    }
    #[rustfmt::skip]
    assert_eq!(got, [
        "first n", "any n", "typed 1", "value 1",
        "first n", "any n", "mismatch n", "value \"x\"",
        "first n", "any n", "typed 2", "value 2",
    ]);

    // One removed, the catch-alls off: only the other listener is left.
    assert!(socket.remove_listener(typed));
    socket.off_any();
    assert_eq!(socket.listener_count("n"), 1);
    socket.emit("burst", &()).unwrap();
    for want in ["value 1", "value \"x\"", "value 2"] {
        assert_eq!(next(&mut seen).await, want);
    }
    socket.off("n");
    assert_eq!(socket.listener_count("n"), 0);
    socket.manager().close();
}

/// Closing the manager ends every `connect().await`, of sockets joined or
/// never joined, and any made after.
#[tokio::test]
async fn closing_the_manager_ends_every_wait_for_a_join() {
    let (_server, url) = server().await;
    let manager = Manager::new(&url, options());
    let never = manager.socket("/", Some(json!({ "token": "t1" })));
    let refused = manager.socket("/private", None);
    let r = tokio::time::timeout(Duration::from_secs(10), refused.connect()).await;
    assert!(matches!(r, Ok(Err(ConnectError::Refused { .. }))), "{r:?}");
    let waiting = refused.connect();
    manager.close();
    // Asked right after the close, before the manager's task took it.
    let right_after = never.connect();
    let within = |f| tokio::time::timeout(Duration::from_secs(5), f);
    for (name, r) in [
        ("refused before", within(waiting).await),
        ("never joined", within(right_after).await),
        ("after the close", within(refused.connect()).await),
    ] {
        assert!(matches!(r, Ok(Err(ConnectError::Closed))), "{name}: {r:?}");
    }
}
