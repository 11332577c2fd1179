//! Every Socket.IO behaviour the official socket.io-protocol test suite
//! specifies, against a server configured as that suite expects (the
//! Engine.IO ones are engineio's tests), over a raw WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{Namespace, Server, ServerOptions, Socket};
use tokio::net::TcpStream;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<TcpStream>;

fn greet(socket: &Socket) {
    let text = socket
        .handshake()
        .auth
        .as_ref()
        .map_or("{}", |a| a.as_str());
    let auth = serde_json::value::RawValue::from_string(text.to_owned()).unwrap();
    socket.emit("auth", &(auth,)).unwrap();
}

fn setup(ns: &Namespace, echo: bool) {
    ns.on_connect(move |socket| {
        greet(&socket);
        if echo {
            socket.on_raw("message", |s, p| async move {
                s.emit_raw_args("message-back", &p).unwrap()
            });
            socket.on_raw("message-with-ack", |s, p| async move {
                s.ack_raw_args(p.id().unwrap(), &p).unwrap()
            });
        }
    });
}

async fn suite_server() -> (String, Server) {
    let mut options = ServerOptions::default();
    options.engine.session.ping_interval = Duration::from_millis(300);
    options.engine.session.ping_timeout = Duration::from_millis(200);
    options.engine.cors = Some(engineio::server::Cors::any());
    options.connect_timeout = Duration::from_millis(1000);
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    setup(&server.of("/"), true);
    setup(&server.of("/custom"), false);
    (server.local_addr().to_string(), server)
}

async fn open(addr: &str) -> Ws {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
    assert!(text(&mut ws).await.starts_with("0{"), "Engine.IO handshake");
    ws
}

/// The next message that is not a ping, as text (binary as `bin:` + bytes);
/// `None` when the server closed the connection cleanly: a close frame, then
/// the end of the stream.
async fn next(ws: &mut Ws) -> Option<String> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap();
        match m {
            Some(Ok(Message::Text(t))) if t == "2" => continue,
            Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
            Some(Ok(Message::Binary(b))) => return Some(format!("bin:{b:?}")),
            Some(Ok(Message::Close(_))) => {
                ended(ws).await;
                return None;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a message or a close frame, got {other:?}"),
        }
    }
}

/// After the server's close frame: the stream ends, without an error.
async fn ended(ws: &mut Ws) {
    let after = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(matches!(after, Ok(None)), "{after:?}");
}

async fn text(ws: &mut Ws) -> String {
    next(ws).await.expect("a message, not the end")
}

async fn send(ws: &mut Ws, t: &str) {
    ws.send(Message::text(t)).await.unwrap();
}

/// Connected to the main namespace, past the `auth` packet.
async fn connected(addr: &str) -> Ws {
    let mut ws = open(addr).await;
    send(&mut ws, "40").await;
    assert!(text(&mut ws).await.starts_with("40{"));
    assert_eq!(text(&mut ws).await, r#"42["auth",{}]"#);
    ws
}

async fn closes(ws: &mut Ws) {
    while next(ws).await.is_some() {}
}

/// Waits for the server to close the connection cleanly (a close frame, then
/// the end) while answering its pings, so the heartbeat cannot be what ends
/// it; returns how long until the close frame.
async fn closed_by_server(ws: &mut Ws) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(t))) if t == "2" => send(ws, "3").await,
            Some(Ok(Message::Close(_))) => {
                let took = started.elapsed();
                ended(ws).await;
                return took;
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

fn sid_of(packet: &str, prefix: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(packet.strip_prefix(prefix).unwrap()).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only a sid: {packet}");
    v["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn connect_to_namespaces_with_and_without_payload() {
    let (addr, _server) = suite_server().await;
    for (connect, prefix, auth) in [
        ("40", "40", r#"42["auth",{}]"#),
        (
            r#"40{"token":"123"}"#,
            "40",
            r#"42["auth",{"token":"123"}]"#,
        ),
        ("40/custom,", "40/custom,", r#"42/custom,["auth",{}]"#),
        (
            r#"40/custom,{"token":"abc"}"#,
            "40/custom,",
            r#"42/custom,["auth",{"token":"abc"}]"#,
        ),
    ] {
        let mut ws = open(&addr).await;
        send(&mut ws, connect).await;
        let reply = text(&mut ws).await;
        assert!(!sid_of(&reply, prefix).is_empty());
        assert_eq!(text(&mut ws).await, auth);
    }
}

#[tokio::test]
async fn unknown_namespace_and_invalid_handshake() {
    let (addr, _server) = suite_server().await;
    let mut ws = open(&addr).await;
    send(&mut ws, "40/random").await;
    assert_eq!(
        text(&mut ws).await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    let mut ws = open(&addr).await;
    send(&mut ws, "4abc").await;
    // Well before the 1 s connect timeout: the bad packet ended it.
    assert!(closed_by_server(&mut ws).await < Duration::from_millis(500));
}

#[tokio::test]
async fn disconnect_from_namespaces() {
    let (addr, _server) = suite_server().await;
    let mut ws = connected(&addr).await;
    send(&mut ws, "40/custom").await;
    assert!(text(&mut ws).await.starts_with("40/custom,"));
    assert_eq!(text(&mut ws).await, r#"42/custom,["auth",{}]"#);
    send(&mut ws, "41/custom").await;
    send(&mut ws, r#"42["message","message to main namespace"]"#).await;
    assert_eq!(
        text(&mut ws).await,
        r#"42["message-back","message to main namespace"]"#
    );
    // Leaving the last namespace: the connection ends (this client never
    // answers pings, as in the suite).
    send(&mut ws, "41").await;
    closes(&mut ws).await;
}

#[tokio::test]
async fn messages_and_acks_plain_and_binary() {
    let (addr, _server) = suite_server().await;
    let mut ws = connected(&addr).await;
    send(&mut ws, r#"42["message",1,"2",{"3":[true]}]"#).await;
    assert_eq!(
        text(&mut ws).await,
        r#"42["message-back",1,"2",{"3":[true]}]"#
    );

    send(&mut ws, r#"42456["message-with-ack",1,"2",{"3":[false]}]"#).await;
    assert_eq!(text(&mut ws).await, r#"43456[1,"2",{"3":[false]}]"#);

    let ph = r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#;
    send(&mut ws, &format!(r#"452-["message",{ph}]"#)).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::binary(vec![4u8, 5, 6])).await.unwrap();
    assert_eq!(text(&mut ws).await, format!(r#"452-["message-back",{ph}]"#));
    assert_eq!(text(&mut ws).await, "bin:b\"\\x01\\x02\\x03\"");
    assert_eq!(text(&mut ws).await, "bin:b\"\\x04\\x05\\x06\"");

    send(&mut ws, &format!(r#"452-789["message-with-ack",{ph}]"#)).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::binary(vec![4u8, 5, 6])).await.unwrap();
    assert_eq!(text(&mut ws).await, format!("462-789[{ph}]"));
    assert_eq!(text(&mut ws).await, "bin:b\"\\x01\\x02\\x03\"");
    assert_eq!(text(&mut ws).await, "bin:b\"\\x04\\x05\\x06\"");
}

#[tokio::test]
async fn invalid_formats_close_the_connection() {
    let (addr, _server) = suite_server().await;
    for bad in [
        "4abc",
        "42{}",
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
    ] {
        let mut ws = connected(&addr).await;
        send(&mut ws, bad).await;
        assert!(
            closed_by_server(&mut ws).await < Duration::from_millis(500),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_connection_that_joins_no_namespace_is_closed() {
    let (addr, _server) = suite_server().await;
    let mut ws = open(&addr).await;
    let took = closed_by_server(&mut ws).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
}
