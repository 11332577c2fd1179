//! The client in headless Chromium (wasm32-unknown-unknown), against our
//! own server: `realtime_interop::wasm_peer` (tests/src/wasm_peer.rs), whose
//! URL is read at compile time from `SIO_PEER_URL`
//! (`http://127.0.0.1:PORT`).
//!
//! ```sh
//! cargo run -p realtime-interop --bin wasm_peer        # prints the URL
//! CHROMEDRIVER=/usr/bin/chromedriver \
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! SIO_PEER_URL=http://127.0.0.1:PORT \
//! cargo test --target wasm32-unknown-unknown -p realtime-socketio-client --test browser
//! ```
//!
//! Chromium's flags for a container are in `webdriver.json` beside the
//! crate's Cargo.toml. `restart_and_reconnect` restarts the peer.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use serde_json::{Value, json};
use socketio_client::{AckError, AckSender, Binary, ClientOptions, Manager, Socket};
use socketio_runtime::rt::{self, mpsc};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// One test at a time: the runner starts them all at once, and
/// `restart_and_reconnect` takes the shared peer down.
static ONE_AT_A_TIME: futures_util::lock::Mutex<()> = futures_util::lock::Mutex::new(());

fn url() -> &'static str {
    // Not `env!`: the file builds without it (clippy, a plain build) and
    // each test says what is missing.
    match option_env!("SIO_PEER_URL") {
        Some(url) => url,
        None => panic!("build with SIO_PEER_URL=http://127.0.0.1:PORT of the wasm peer"),
    }
}

fn options(transports: &[&str]) -> ClientOptions {
    ClientOptions::default()
        .transports(transports.iter().copied())
        .auto_connect(false)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
        .timeout(Duration::from_secs(5))
}

/// The value, or a failed test after 10 s.
async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match rt::timeout(Duration::from_secs(10), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn joined(socket: &Socket) {
    within("the namespace to be joined", socket.connect())
        .await
        .expect("joined");
    assert!(socket.connected());
}

/// A listener of `event` whose arguments come out of the returned channel.
fn listen<T: serde::de::DeserializeOwned + Send + 'static>(
    socket: &Socket,
    event: &str,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel(16);
    socket.on(event, move |_, args: T, _ack| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(args).await;
        }
    });
    rx
}

async fn ack_round_trip(socket: &Socket) {
    let answer: Vec<Value> = within(
        "the server's ack",
        socket.emit_with_ack("ack-me", &("hi", 42), Duration::from_secs(5)),
    )
    .await
    .expect("acked");
    assert_eq!(answer, [json!("hi"), json!(42)]);
}

/// How many sessions the peer has seen upgrade to WebSocket.
async fn upgrades(socket: &Socket) -> u64 {
    let (n,): (u64,) = within(
        "the upgrade count",
        socket.emit_with_ack("upgrades", &(), Duration::from_secs(5)),
    )
    .await
    .unwrap();
    n
}

async fn echo_round_trip(socket: &Socket, echoes: &mut mpsc::Receiver<(String, u32)>, n: u32) {
    socket.emit("echo", &("echo", n)).unwrap();
    let back = within("echo-back", echoes.recv()).await.unwrap();
    assert_eq!(back, ("echo".to_owned(), n));
}

#[wasm_bindgen_test]
async fn polling_only() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let socket = socketio_client::connect(url(), options(&["polling"]));
    let mut echoes = listen::<(String, u32)>(&socket, "echo-back");
    joined(&socket).await;
    let before = upgrades(&socket).await;
    ack_round_trip(&socket).await;
    echo_round_trip(&socket, &mut echoes, 1).await;
    rt::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        upgrades(&socket).await,
        before,
        "polling only, yet upgraded"
    );
    socket.manager().close();
}

#[wasm_bindgen_test]
async fn websocket_only() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let socket = socketio_client::connect(url(), options(&["websocket"]));
    let mut echoes = listen::<(String, u32)>(&socket, "echo-back");
    joined(&socket).await;
    ack_round_trip(&socket).await;
    echo_round_trip(&socket, &mut echoes, 2).await;
    socket.manager().close();
}

#[wasm_bindgen_test]
async fn polling_then_upgrade() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // Counted before the session under test opens: its upgrade starts
    // right after the Engine.IO handshake.
    let counter = socketio_client::connect(url(), options(&["websocket"]));
    joined(&counter).await;
    let before = upgrades(&counter).await;
    let socket = socketio_client::connect(url(), options(&["polling", "websocket"]));
    let mut echoes = listen::<(String, u32)>(&socket, "echo-back");
    joined(&socket).await;
    echo_round_trip(&socket, &mut echoes, 3).await;
    // The upgrade's probe and switch take a round trip or two; the
    // exchanges after it go over the WebSocket.
    let mut upgraded = false;
    for _ in 0..50 {
        if upgrades(&socket).await > before {
            upgraded = true;
            break;
        }
        rt::sleep(Duration::from_millis(100)).await;
    }
    assert!(upgraded, "no upgrade to WebSocket within 5 s");
    for n in 4..8 {
        echo_round_trip(&socket, &mut echoes, n).await;
    }
    ack_round_trip(&socket).await;
    socket.manager().close();
    counter.manager().close();
}

#[wasm_bindgen_test]
async fn acks_both_ways() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let socket = socketio_client::connect(url(), options(&["websocket"]));
    // The server's emit with an ack: answered here.
    socket.on(
        "question",
        |_, (value,): (Value,), ack: Option<AckSender>| async move {
            ack.expect("the server asked for an ack")
                .send(&(value, "answered"))
                .unwrap();
        },
    );
    let mut answers = listen::<(Value,)>(&socket, "answer-was");
    joined(&socket).await;
    ack_round_trip(&socket).await;
    socket.emit("ask-me", &(json!({ "n": 7 }),)).unwrap();
    let (answer,) = within("answer-was", answers.recv()).await.unwrap();
    assert_eq!(answer, json!([{ "n": 7 }, "answered"]));
    socket.manager().close();
}

#[wasm_bindgen_test]
async fn binary_both_ways() {
    let _serial = ONE_AT_A_TIME.lock().await;
    for transports in [&["polling"][..], &["websocket"][..]] {
        let socket = socketio_client::connect(url(), options(transports));
        let mut echoes = listen::<(Binary, String)>(&socket, "echo-back");
        joined(&socket).await;
        let bytes: Vec<u8> = (0..=255).collect();
        socket
            .emit("echo", &(Binary::from(bytes.clone()), "tag"))
            .unwrap();
        let (back, tag) = within("binary echo-back", echoes.recv()).await.unwrap();
        assert_eq!((&back.0[..], tag.as_str()), (&bytes[..], "tag"));
        let (acked,): (Binary,) = within(
            "binary ack",
            socket.emit_with_ack(
                "ack-me",
                &(Binary::from(vec![0u8, 1, 2]),),
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap();
        assert_eq!(&acked.0[..], &[0u8, 1, 2][..]);
        socket.manager().close();
    }
}

#[wasm_bindgen_test]
async fn two_namespaces_one_connection() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let manager = Manager::new(url(), options(&["polling", "websocket"]));
    let main = manager.socket("/", None);
    let second = manager.socket("/second", None);
    let mut welcome = listen::<(String,)>(&second, "welcome");
    joined(&main).await;
    joined(&second).await;
    assert_eq!(
        within("welcome", welcome.recv()).await.unwrap(),
        ("/second".to_owned(),)
    );
    ack_round_trip(&main).await;
    ack_round_trip(&second).await;
    assert_ne!(main.id(), second.id());
    manager.close();
}

#[wasm_bindgen_test]
async fn ack_timeout() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let socket = socketio_client::connect(url(), options(&["websocket"]));
    joined(&socket).await;
    let started = socketio_runtime::now();
    let r: Result<Vec<Value>, AckError> = within(
        "the ack timeout",
        socket.emit_with_ack("never-ack", &(), Duration::from_millis(300)),
    )
    .await;
    assert!(matches!(r, Err(AckError::Timeout)), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The connection is fine afterwards.
    ack_round_trip(&socket).await;
    socket.manager().close();
}

#[wasm_bindgen_test]
async fn restart_and_reconnect() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let socket = socketio_client::connect(url(), options(&["polling", "websocket"]));
    let (connects_tx, mut connects) = mpsc::channel(8);
    socket.on_connect(move |_| {
        let _ = connects_tx.try_send(());
    });
    let (gone_tx, mut gone) = mpsc::channel(8);
    socket.on_disconnect(move |_, reason| {
        let _ = gone_tx.try_send(reason.to_string());
    });
    joined(&socket).await;
    within("connect event", connects.recv()).await.unwrap();
    let generation = |socket: Socket| async move {
        let (g,): (u64,) = within(
            "generation",
            socket.emit_with_ack("generation", &(), Duration::from_secs(5)),
        )
        .await
        .unwrap();
        g
    };
    let before = generation(socket.clone()).await;

    let control = socketio_client::connect(url(), options(&["websocket"]).reconnection(false));
    let control = control.manager().socket("/control", None);
    joined(&control).await;
    let (ok,): (String,) = within(
        "restart ack",
        control.emit_with_ack("restart", &(800u64,), Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(ok, "restarting");

    // The server went away: the socket hears it, then comes back by itself
    // once the port listens again.
    let reason = within("the disconnect", gone.recv()).await.unwrap();
    assert!(!reason.is_empty());
    within("the reconnection", connects.recv()).await.unwrap();
    assert!(socket.connected());
    assert_eq!(generation(socket.clone()).await, before + 1);
    ack_round_trip(&socket).await;
    control.manager().close();
    socket.manager().close();
}

/// The Engine.IO layer alone: a polling session moves to WebSocket and
/// says so.
#[wasm_bindgen_test]
async fn engineio_session_upgrades() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut options = engineio::client::ClientOptions::default();
    options.path = "/socket.io/".to_owned();
    let mut client = within(
        "the Engine.IO handshake",
        engineio::client::Client::connect(url(), options),
    )
    .await
    .expect("connected");
    loop {
        match within("the upgrade", client.recv()).await {
            Some(engineio::ClientEvent::Upgraded) => break,
            Some(engineio::ClientEvent::Closed(r)) => {
                panic!("closed before the upgrade: {r}")
            }
            Some(e) => wasm_bindgen_test::console_log!("event {e:?}"),
            None => panic!("closed before the upgrade"),
        }
    }
    client.close().await;
}

/// An Engine.IO client dropped while on long-polling closes by POSTing its
/// close packet and waiting for the answer; the page must go on meanwhile
/// (a closed command channel once made that loop spin, freezing the page).
#[wasm_bindgen_test]
async fn dropped_polling_client_leaves_the_page_running() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut engine = engineio::client::ClientOptions::default();
    engine.path = "/socket.io/".to_owned();
    engine.session.upgrade = false;
    let client = within(
        "the Engine.IO handshake",
        engineio::client::Client::connect(url(), engine),
    )
    .await
    .expect("connected");
    drop(client);
    // Timers fire only if the session task yields to the page.
    for _ in 0..5 {
        within(
            "a timer after the drop",
            rt::sleep(Duration::from_millis(50)),
        )
        .await;
    }
    // And the page can still talk to the server.
    let socket = socketio_client::connect(url(), options(&["polling"]));
    joined(&socket).await;
    ack_round_trip(&socket).await;
    socket.manager().close();
}

/// What the browser's WebSocket received while the application did not
/// read waits within `max_buffered_messages`: past it the WebSocket counts
/// as lost ("transport close") instead of growing.
#[wasm_bindgen_test]
async fn unread_websocket_messages_are_bounded() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut engine = engineio::client::ClientOptions::default();
    engine.path = "/socket.io/".to_owned();
    engine.max_buffered_messages = 8;
    let mut client = within(
        "the Engine.IO handshake",
        engineio::client::Client::connect(url(), engine),
    )
    .await
    .expect("connected");
    let text = |t: &str| engineio::Payload::Text(t.to_owned().into());
    client.send(text("0")).await.expect("CONNECT sent");
    // Joined, and on the WebSocket (polling has its own bound: one response
    // at a time, within max_response_body).
    let (mut joined, mut upgraded) = (false, false);
    while !(joined && upgraded) {
        match within("the namespace's CONNECT and the upgrade", client.recv()).await {
            Some(engineio::ClientEvent::Message(engineio::Payload::Text(t)))
                if t.as_str().starts_with('0') =>
            {
                joined = true
            }
            Some(engineio::ClientEvent::Upgraded) => upgraded = true,
            Some(engineio::ClientEvent::Closed(r)) => panic!("closed before joining: {r}"),
            Some(_) => {}
            None => panic!("closed before joining"),
        }
    }
    client
        .send(text(r#"2["flood",300]"#))
        .await
        .expect("flood asked");
    // Not reading while the flood arrives.
    rt::sleep(Duration::from_millis(1500)).await;
    let mut flooded = 0;
    let reason = loop {
        match within("the session's end", client.recv()).await {
            Some(engineio::ClientEvent::Message(engineio::Payload::Text(t)))
                if t.as_str().contains("flooded") =>
            {
                flooded += 1
            }
            Some(engineio::ClientEvent::Closed(reason)) => break reason,
            Some(_) => {}
            None => panic!("ended without a Closed event"),
        }
    };
    assert_eq!(
        reason,
        // A lost WebSocket, as the official client names it.
        engineio::CloseReason::TransportClose,
        "{flooded} delivered"
    );
    assert!(
        flooded < 300,
        "all 300 messages were kept for a client that did not read"
    );
    wasm_bindgen_test::console_log!("{flooded} delivered, then closed: {reason}");
}

/// In the browser, handlers may hold what is not `Send`: an `Rc`, kept
/// across an await.
#[wasm_bindgen_test]
async fn handlers_hold_non_send_values() {
    let _serial = ONE_AT_A_TIME.lock().await;
    use std::cell::RefCell;
    use std::rc::Rc;
    let seen: Rc<RefCell<Vec<u32>>> = Rc::default();
    let socket = socketio_client::connect(url(), options(&["websocket"]));
    let (done_tx, mut done) = mpsc::channel(4);
    {
        let seen = seen.clone();
        socket.on("echo-back", move |_, (_, n): (String, u32), _ack| {
            let seen = seen.clone();
            let done_tx = done_tx.clone();
            async move {
                rt::sleep(Duration::from_millis(1)).await;
                seen.borrow_mut().push(n);
                let _ = done_tx.send(()).await;
            }
        });
    }
    joined(&socket).await;
    socket.emit("echo", &("echo", 9)).unwrap();
    within("echo-back", done.recv()).await.unwrap();
    assert_eq!(*seen.borrow(), [9]);
    socket.manager().close();
}

/// `with_credentials`: the peer's cookie comes back on the next session's
/// handshake (cross-origin: the page is served from another port); without
/// it, never.
#[wasm_bindgen_test]
async fn with_credentials_sends_cookies() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let cookie = |options: ClientOptions| async move {
        let socket = socketio_client::connect(url(), options);
        joined(&socket).await;
        let (cookie,): (String,) = within(
            "the cookie",
            socket.emit_with_ack("cookie", &(), Duration::from_secs(5)),
        )
        .await
        .unwrap();
        socket.manager().close();
        cookie
    };
    // The first session's answer sets the cookie, if the browser takes it.
    cookie(options(&["polling"]).with_credentials(true)).await;
    assert_eq!(
        cookie(options(&["polling"])).await,
        "",
        "sent without credentials"
    );
    let sent = cookie(options(&["polling"]).with_credentials(true)).await;
    assert!(sent.contains("sio_peer=1"), "cookie {sent:?}");
}

/// A browser WebSocket cannot carry custom headers: with WebSocket first,
/// `extra_header` is an error, not silently dropped; over polling they go.
#[wasm_bindgen_test]
async fn extra_headers_on_websocket_are_refused() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let refused = socketio_client::connect(
        url(),
        options(&["websocket"])
            .reconnection(false)
            .extra_header("x-token", "secret"),
    );
    let r = within("the refusal", refused.connect()).await;
    match r {
        Err(socketio_client::ConnectError::Transport(message)) => {
            assert!(message.contains("custom headers"), "{message}")
        }
        other => panic!("connected with headers on a browser WebSocket: {other:?}"),
    }
    let polling = socketio_client::connect(
        url(),
        options(&["polling"]).extra_header("x-token", "secret"),
    );
    joined(&polling).await;
    ack_round_trip(&polling).await;
    polling.manager().close();
}
