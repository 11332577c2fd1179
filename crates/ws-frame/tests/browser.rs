//! The browser client in headless Chromium, against the ws-frame echo
//! server that `tests/wasm` (package realtime-interop) starts: its URL comes
//! in `WS_ECHO_URL` at compile time, and `WS_REFUSED_URL` names a port where
//! nothing listens. Run them with `cargo test -p realtime-interop --test
//! wasm`; the echo server's commands are in `tests/src/ws_echo.rs`.
#![cfg(target_arch = "wasm32")]

use std::future::Future;
use std::time::Duration;

use futures_util::future::{Either, select};
use futures_util::{SinkExt, StreamExt};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use ws_frame::handshake::ClientRequest;
use ws_frame::{
    BrowserWebSocket, CloseCode, CloseFrame, ConnectOptions, Error, Message, ProtocolError,
    UserError,
};

wasm_bindgen_test_configure!(run_in_browser);

// Optional at compile time so the suite builds for clippy; a run without
// them fails at once, saying so.
const ECHO: &str = match option_env!("WS_ECHO_URL") {
    Some(url) => url,
    None => "",
};
const REFUSED: &str = match option_env!("WS_REFUSED_URL") {
    Some(url) => url,
    None => "",
};

/// Every wait in these tests is bounded.
const DEADLINE: Duration = Duration::from_secs(15);

async fn sleep(d: Duration) {
    let ms = d.as_millis() as f64;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
                .expect("setTimeout")
                .into();
        set_timeout
            .call2(&wasm_bindgen::JsValue::NULL, &resolve, &ms.into())
            .expect("setTimeout call");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("timer");
}

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match select(Box::pin(fut), Box::pin(sleep(DEADLINE))).await {
        Either::Left((t, _)) => t,
        Either::Right(_) => panic!("{what}: not done within {DEADLINE:?}"),
    }
}

fn servers_given() {
    assert!(
        !ECHO.is_empty() && !REFUSED.is_empty(),
        "WS_ECHO_URL and WS_REFUSED_URL were not set at compile time: \
         run this suite with `cargo test -p realtime-interop --test wasm`"
    );
}

async fn connect(options: &ConnectOptions) -> BrowserWebSocket {
    servers_given();
    let (ws, resp) = within("connect", ws_frame::connect_url(ECHO, options))
        .await
        .expect("connect to the echo server");
    assert_eq!(resp.status(), 101);
    ws
}

async fn next(ws: &mut BrowserWebSocket) -> Option<Result<Message, Error>> {
    within("next message", ws.next()).await
}

async fn recv(ws: &mut BrowserWebSocket) -> Message {
    next(ws)
        .await
        .expect("stream ended early")
        .expect("stream error")
}

/// What the echo server last received in a close frame, asked on a new
/// connection.
async fn last_close() -> String {
    let mut ws = connect(&ConnectOptions::default()).await;
    ws.send(Message::text("!last-close")).await.expect("send");
    match recv(&mut ws).await {
        Message::Text(t) => t.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn text_round_trip() {
    let mut ws = connect(&ConnectOptions::default()).await;
    ws.send(Message::text("héllo")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("héllo"));
    ws.send(Message::text("")).await.expect("send empty");
    assert_eq!(recv(&mut ws).await, Message::text(""));
}

#[wasm_bindgen_test]
async fn binary_round_trip_as_array_buffer() {
    let mut ws = connect(&ConnectOptions::default()).await;
    let body: Vec<u8> = (0..=255).collect();
    ws.send(Message::binary(body.clone())).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::binary(body));
}

#[wasm_bindgen_test]
async fn large_message_round_trip() {
    let mut ws = connect(&ConnectOptions::default()).await;
    let body: Vec<u8> = (0..(4u32 << 20)).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(body.clone())).await.expect("send");
    match recv(&mut ws).await {
        Message::Binary(b) => assert!(b == body, "4 MiB came back different"),
        other => panic!("expected binary, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn many_messages_arrive_in_order() {
    let mut ws = connect(&ConnectOptions::default()).await;
    for i in 0..1000 {
        ws.feed(Message::text(format!("m{i}"))).await.expect("feed");
    }
    ws.flush().await.expect("flush");
    for i in 0..1000 {
        assert_eq!(recv(&mut ws).await, Message::text(format!("m{i}")));
    }
}

#[wasm_bindgen_test]
async fn server_close_with_code_and_reason_then_none() {
    let mut ws = connect(&ConnectOptions::default()).await;
    ws.send(Message::text("!close 4001 going, bye"))
        .await
        .expect("send");
    let close = Message::Close(Some(CloseFrame {
        code: CloseCode(4001),
        reason: "going, bye".into(),
    }));
    assert_eq!(recv(&mut ws).await, close);
    assert!(next(&mut ws).await.is_none(), "the stream ends after close");
    let err = ws.send(Message::text("late")).await.unwrap_err();
    assert!(
        matches!(err, Error::User(UserError::SendAfterClose)),
        "{err}"
    );
}

#[wasm_bindgen_test]
async fn client_close_with_code_and_reason_reaches_the_server() {
    let mut ws = connect(&ConnectOptions::default()).await;
    let frame = CloseFrame {
        code: CloseCode(4002),
        reason: "done here".into(),
    };
    ws.send(Message::Close(Some(frame))).await.expect("close");
    // ws-frame's server echoes the code alone (RFC 6455 §5.5.1).
    match recv(&mut ws).await {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode(4002)),
        other => panic!("expected the close echo, got {other:?}"),
    }
    assert!(next(&mut ws).await.is_none());
    assert_eq!(last_close().await, "4002 done here");
}

#[wasm_bindgen_test]
async fn sink_close_sends_a_close_without_code() {
    let mut ws = connect(&ConnectOptions::default()).await;
    ws.close().await.expect("close");
    assert_eq!(recv(&mut ws).await, Message::Close(None));
    assert!(next(&mut ws).await.is_none());
    assert_eq!(last_close().await, "1005");
}

#[wasm_bindgen_test]
async fn close_codes_a_page_cannot_send_are_refused() {
    let mut ws = connect(&ConnectOptions::default()).await;
    let going_away = Message::Close(Some(CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "".into(),
    }));
    let err = ws.send(going_away).await.unwrap_err();
    assert!(
        matches!(err, Error::User(UserError::InvalidCloseCode(1001))),
        "{err}"
    );
    // Still open.
    ws.send(Message::text("still here")).await.expect("send");
    assert_eq!(recv(&mut ws).await, Message::text("still here"));
}

#[wasm_bindgen_test]
async fn a_dropped_connection_is_an_abnormal_closure() {
    let mut ws = connect(&ConnectOptions::default()).await;
    ws.send(Message::text("!drop")).await.expect("send");
    let err = next(&mut ws).await.expect("an error").unwrap_err();
    assert!(matches!(err, Error::AbnormalClosure), "{err}");
    assert!(next(&mut ws).await.is_none());
}

#[wasm_bindgen_test]
async fn connect_refused_is_an_error() {
    servers_given();
    let err = within(
        "refused connect",
        ws_frame::connect_url(REFUSED, &ConnectOptions::default()),
    )
    .await
    .unwrap_err();
    match err {
        Error::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected an I/O error, got {other}"),
    }
}

#[wasm_bindgen_test]
async fn a_rejected_handshake_is_an_error() {
    servers_given();
    let url = format!("{ECHO}reject");
    let err = within(
        "rejected connect",
        ws_frame::connect_url(&url, &ConnectOptions::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
}

#[wasm_bindgen_test]
async fn subprotocol_is_offered_and_reported() {
    servers_given();
    let req = ClientRequest::new(ECHO, [0; 16])
        .expect("url")
        .protocols(["other", "echo"]);
    let (ws, resp) = within(
        "connect",
        ws_frame::connect_request(&req, &ConnectOptions::default()),
    )
    .await
    .expect("connect");
    assert_eq!(ws.protocol(), "echo");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "echo");
}

#[wasm_bindgen_test]
async fn headers_cannot_be_set_in_a_browser() {
    servers_given();
    let req = ClientRequest::new(ECHO, [0; 16]).expect("url").header(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Bearer x"),
    );
    let err = ws_frame::connect_request(&req, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::User(UserError::HeaderInBrowser(ref h)) if h == "authorization"),
        "{err}"
    );
}

#[wasm_bindgen_test]
async fn unread_messages_past_the_count_limit_close_with_1008() {
    let mut options = ConnectOptions::default();
    options.max_buffered_messages = 8;
    let mut ws = connect(&options).await;
    ws.send(Message::text("!flood 100 16")).await.expect("send");
    // Not reading: the browser hands every message over regardless.
    sleep(Duration::from_millis(500)).await;
    for i in 0..8u32 {
        match recv(&mut ws).await {
            Message::Binary(b) => assert_eq!(b[..4], i.to_be_bytes()),
            other => panic!("expected binary {i}, got {other:?}"),
        }
    }
    let err = next(&mut ws).await.expect("the limit's error").unwrap_err();
    assert!(
        matches!(err, Error::ReceiveBufferFull { messages: 9, .. }),
        "{err}"
    );
    assert_eq!(err.close_code(), Some(CloseCode::POLICY));
    assert!(next(&mut ws).await.is_none());
    assert!(last_close().await.starts_with("4008 receive buffer full"));
}

#[wasm_bindgen_test]
async fn unread_bytes_past_the_byte_limit_close_with_1008() {
    let mut options = ConnectOptions::default();
    options.max_buffered_bytes = 10_000;
    let mut ws = connect(&options).await;
    ws.send(Message::text("!flood 10 4000"))
        .await
        .expect("send");
    sleep(Duration::from_millis(500)).await;
    for _ in 0..2 {
        assert!(matches!(recv(&mut ws).await, Message::Binary(_)));
    }
    let err = next(&mut ws).await.expect("the limit's error").unwrap_err();
    assert!(
        matches!(
            err,
            Error::ReceiveBufferFull {
                messages: 3,
                bytes: 12_000
            }
        ),
        "{err}"
    );
    assert!(next(&mut ws).await.is_none());
}

#[wasm_bindgen_test]
async fn a_message_over_max_message_size_closes_with_1009() {
    let mut options = ConnectOptions::default();
    options.config.max_message_size = 1024;
    let mut ws = connect(&options).await;
    ws.send(Message::text("!flood 1 4096")).await.expect("send");
    let err = next(&mut ws).await.expect("the limit's error").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(ProtocolError::MessageTooLarge {
                size: 4096,
                max: 1024
            })
        ),
        "{err}"
    );
    assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
    assert!(next(&mut ws).await.is_none());
    assert!(last_close().await.starts_with("4009 "));
}

#[wasm_bindgen_test]
async fn sending_waits_on_buffered_amount() {
    let mut options = ConnectOptions::default();
    options.config.write_buffer_mark = 64 << 10;
    let mut ws = connect(&options).await;
    const SIZE: usize = 256 << 10;
    let mut highest = 0;
    for i in 0..40u32 {
        let mut body = vec![0u8; SIZE];
        body[..4].copy_from_slice(&i.to_be_bytes());
        within("send", ws.send(Message::binary(body)))
            .await
            .expect("send");
        highest = highest.max(ws.buffered_amount() as usize);
    }
    // Without the wait, 10 MiB would sit in the browser: nothing is handed
    // to the network while this task runs.
    assert!(
        highest <= (64 << 10) + SIZE,
        "bufferedAmount reached {highest}"
    );
    for i in 0..40u32 {
        match recv(&mut ws).await {
            Message::Binary(b) => {
                assert_eq!(b.len(), SIZE);
                assert_eq!(b[..4], i.to_be_bytes());
            }
            other => panic!("expected binary {i}, got {other:?}"),
        }
    }
}
