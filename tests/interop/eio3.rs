//! Engine.IO v3 clients (`allowEIO3`): the official `socket.io-client` 2.5.0
//! (Engine.IO v3, Socket.IO v4 protocol) against socketio-server with
//! `allow_eio3`, and the raw v3 wire against the engine.

use std::time::{Duration, Instant};

use socketio_server::{Binary, ConnectError, DisconnectReason, Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::node::NodePeer;

const PING_INTERVAL: Duration = Duration::from_millis(200);
const PING_TIMEOUT: Duration = Duration::from_millis(300);

fn v3_options() -> ServerOptions {
    let mut options = ServerOptions::default();
    options.engine.session.allow_eio3 = true;
    options.engine.session.ping_interval = PING_INTERVAL;
    options.engine.session.ping_timeout = PING_TIMEOUT;
    options
}

/// The scenario's server; returns its URL and the disconnect reasons of `/`.
async fn v3_server() -> (String, Server, mpsc::UnboundedReceiver<String>) {
    let server = Server::bind("127.0.0.1:0", v3_options()).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let (tx, rx) = mpsc::unbounded_channel();
    let main = server.of("/");
    // A v3 client joins `/` without a CONNECT: its checks see the query of
    // the Engine.IO request. (socket.io-client 2.x hands an error of `/` to
    // every namespace of its connection, so only `bad` is refused here.)
    main.use_middleware(|hs| match hs.query("token") {
        Some("bad") => Err(ConnectError::new("not authorized")),
        _ => Ok(()),
    });
    main.on_connect(move |socket| {
        if socket.handshake().query("token") == Some("ok") {
            let tx = tx.clone();
            socket.on_disconnect(move |s, reason| {
                let _ = tx.send(format!("{} {reason}", s.ns().name()));
            });
        }
        let _ = socket.emit("welcome", &(socket.id(),));
        socket.on_raw("echo", |s, p| async move {
            s.emit_raw_args("echo-back", &p).unwrap();
        });
        socket.on_raw("ack-me", |s, p| async move {
            s.ack_raw_args(p.id().unwrap(), &p).unwrap();
        });
        socket.on("ask", |s, (): (), _| async move {
            let asked = ("how old?", Binary::from(vec![0xab_u8, 0xcd]));
            let (answer, bin): (serde_json::Value, Binary) = s
                .emit_with_ack("question", &asked, Duration::from_secs(5))
                .await
                .unwrap();
            let got = serde_json::json!({ "answer": answer, "bin": bin.0.to_vec() });
            s.emit("answer-received", &(got,)).unwrap();
        });
        socket.on("bye", |s, (): (), _| async move { s.disconnect() });
    });
    let admin = server.of("/admin");
    // Its query string is the auth of a v3 client's CONNECT.
    admin.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a) if a["token"] == "x" => Ok(()),
        _ => Err(ConnectError::new("admins only").with_data(serde_json::json!({"code": 403}))),
    });
    admin.on_connect(|socket| {
        let auth = socket.handshake().auth::<serde_json::Value>();
        let _ = socket.emit("welcome", &(socket.id(), auth));
    });
    (url, server, rx)
}

async fn scenario(transports: &str) {
    let (url, _server, mut reasons) = v3_server().await;
    let interval = PING_INTERVAL.as_millis().to_string();
    let mut node = NodePeer::spawn("sio_v2_client.js", &[&url, transports, &interval]);
    let on = if transports == "polling" {
        "polling"
    } else {
        "websocket"
    };
    for want in [
        r#"refused "not authorized""#.to_owned(),
        "welcome".to_owned(),
        "echo ok".to_owned(),
        "ack ok".to_owned(),
        r#"answer {"answer":{"q":"how old?","got":"abcd"},"bin":[7,7]}"#.to_owned(),
        r#"admin refused {"code":403}"#.to_owned(),
        r#"admin ok {"token":"x","n":"a b"}"#.to_owned(),
        format!("heartbeat ok on {on}"),
        "disconnected io server disconnect".to_owned(),
    ] {
        assert_eq!(node.line().await, want, "over {transports}");
    }
    assert!(node.success().await);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let r = tokio::time::timeout(Duration::from_secs(5), reasons.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(r);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            format!("/ {}", DisconnectReason::ClientNamespaceDisconnect),
            format!("/ {}", DisconnectReason::ServerNamespaceDisconnect),
        ]
    );
}

#[tokio::test]
async fn socket_io_client_v2_over_polling() {
    scenario("polling").await;
}

#[tokio::test]
async fn socket_io_client_v2_over_websocket() {
    scenario("websocket").await;
}

#[tokio::test]
async fn socket_io_client_v2_with_upgrade() {
    scenario("polling,websocket").await;
}

/// One HTTP/1.1 request on a new connection; the status and the body.
async fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>, String) {
    let mut io = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    io.write_all(head.as_bytes()).await.unwrap();
    io.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, out[split + 4..].to_vec(), head)
}

#[tokio::test]
async fn a_v3_client_is_refused_with_the_official_error_unless_allowed() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().to_string();
    for eio in ["3", "2", "", "abc"] {
        let path = format!("/socket.io/?EIO={eio}&transport=polling");
        let (status, body, head) = request(&addr, "GET", &path, b"").await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            br#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        assert!(head.contains("application/json"), "{head}");
    }
    // The official client hears of it as a connection error.
    let url = format!("http://{addr}");
    let mut node = NodePeer::spawn("sio_v2_client.js", &[&url, "polling", "200", "refused"]);
    assert_eq!(node.line().await, "refused xhr poll error 400");
    assert!(node.success().await);
}

/// With v3 allowed, only `EIO=3` is v3: no `EIO`, or another value, is
/// still refused (the official server would take those for v3 too).
#[tokio::test]
async fn only_eio_3_is_v3() {
    let server = Server::bind("127.0.0.1:0", v3_options()).await.unwrap();
    let addr = server.local_addr().to_string();
    for q in [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=2&transport=polling",
    ] {
        let (status, body, _) = request(&addr, "GET", &format!("/socket.io/?{q}"), b"").await;
        assert_eq!(status, 400, "{q}");
        assert_eq!(
            body,
            br#"{"code":5,"message":"Unsupported protocol version"}"#
        );
    }
    let (status, _, _) = request(&addr, "GET", "/socket.io/?EIO=4&transport=polling", b"").await;
    assert_eq!(status, 200);
}

/// The raw v3 wire: the handshake, the client's ping answered, a session
/// whose client stops pinging closed after `ping_interval + ping_timeout`.
#[tokio::test]
async fn the_v3_heartbeat_is_the_clients() {
    let server = Server::bind("127.0.0.1:0", v3_options()).await.unwrap();
    server.of("/").on_connect(|_| {});
    let addr = server.local_addr().to_string();
    let (status, body, head) = request(
        &addr,
        "GET",
        "/socket.io/?EIO=3&transport=polling&b64=1",
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert!(head.contains("text/plain"), "{head}");
    let body = String::from_utf8(body).unwrap();
    // `<len>:0{...}` then the implicit CONNECT of `/`, `2:40`.
    let (len, rest) = body.split_once(':').unwrap();
    let open_len: usize = len.parse().unwrap();
    let open = &rest[..open_len];
    assert!(open.starts_with(r#"0{"sid":""#), "{body}");
    assert!(
        open.contains(r#""pingInterval":200,"pingTimeout":300"#),
        "{open}"
    );
    let sid = open.split('"').nth(3).unwrap().to_owned();
    let mut rest = rest[open_len..].to_owned();
    let poll = format!("/socket.io/?EIO=3&transport=polling&sid={sid}");
    if rest.is_empty() {
        rest = String::from_utf8(request(&addr, "GET", &poll, b"").await.1).unwrap();
    }
    assert_eq!(rest, "2:40");
    // Pings keep it open past its deadline; each is answered.
    let opened = Instant::now();
    let mut pinged = opened;
    while opened.elapsed() < 3 * (PING_INTERVAL + PING_TIMEOUT) {
        pinged = Instant::now();
        let (status, body, _) = request(&addr, "POST", &poll, b"1:2").await;
        assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
        let (status, body, _) = request(&addr, "GET", &poll, b"").await;
        assert_eq!((status, body.as_slice()), (200, &b"1:3"[..]));
        tokio::time::sleep(PING_INTERVAL).await;
    }
    // The server never pings: the next poll waits until the session ends,
    // `ping_interval + ping_timeout` after the last ping.
    let (status, body, _) = request(&addr, "GET", &poll, b"").await;
    let waited = pinged.elapsed();
    assert_eq!((status, body.as_slice()), (200, &b"1:1"[..]));
    assert!(
        waited >= PING_INTERVAL + PING_TIMEOUT - Duration::from_millis(50)
            && waited < PING_INTERVAL + PING_TIMEOUT + Duration::from_secs(1),
        "closed after {waited:?}"
    );
    let (status, _, _) = request(&addr, "GET", &poll, b"").await;
    assert_eq!(status, 400);
}

/// A v3 client that takes binary (no `b64=1`, as a browser's XHR2): a
/// binary payload posted (`application/octet-stream`), and one in answer.
#[tokio::test]
async fn binary_payloads_both_ways() {
    let (url, _server, _reasons) = v3_server().await;
    let addr = url.trim_start_matches("http://").to_owned();
    let (status, body, _) = request(
        &addr,
        "GET",
        "/socket.io/?EIO=3&transport=polling&token=ok",
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let packets = engineio::payload::v3::decode(body.into(), 16).unwrap();
    let engineio::Packet::Open(open) = &packets[0] else {
        panic!("{packets:?}")
    };
    let poll = format!("/socket.io/?EIO=3&transport=polling&sid={}", open.sid);
    // Drain the CONNECT and the welcome.
    let mut seen = packets.len();
    while seen < 3 {
        let (_, body, _) = request(&addr, "GET", &poll, b"").await;
        seen += engineio::payload::v3::decode(body.into(), 16)
            .unwrap()
            .len();
    }
    let event = r#"51-["echo","é",{"_placeholder":true,"num":0}]"#;
    let mut post = bytes::BytesMut::new();
    let sent = [
        engineio::Packet::text(event),
        engineio::Packet::binary(vec![0u8, 1, 255]),
    ];
    assert!(engineio::payload::v3::encode(&sent, true, &mut post));
    let (status, body, _) = request(&addr, "POST", &poll, &post).await;
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    let (status, body, head) = request(&addr, "GET", &poll, b"").await;
    assert_eq!(status, 200);
    assert!(head.contains("application/octet-stream"), "{head}");
    let back = engineio::payload::v3::decode(body.into(), 16).unwrap();
    assert_eq!(
        back,
        [
            engineio::Packet::text(r#"51-["echo-back","é",{"_placeholder":true,"num":0}]"#),
            engineio::Packet::binary(vec![0u8, 1, 255]),
        ]
    );
}

async fn next_ws(ws: &mut ws_frame::WebSocketStream<tokio::net::TcpStream>) -> ws_frame::Message {
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// A v3 client with `forceBase64` asks `b64=1` on its WebSocket's own
/// request: after the upgrade from a polling session that took binary
/// payloads, binary reaches it as `b4` + base64 text, as the official
/// server sends it, not as a binary frame.
#[tokio::test]
async fn an_upgraded_websocket_that_asked_b64_gets_binary_as_text() {
    use futures_util::SinkExt;
    use ws_frame::Message;

    let (url, _server, _reasons) = v3_server().await;
    let addr = url.trim_start_matches("http://").to_owned();
    // Polling that takes binary payloads.
    let (_, body, _) = request(&addr, "GET", "/socket.io/?EIO=3&transport=polling", b"").await;
    let packets = engineio::payload::v3::decode(body.into(), 16).unwrap();
    let engineio::Packet::Open(open) = &packets[0] else {
        panic!("{packets:?}")
    };
    let sid = open.sid.clone();
    let ws_url = format!("ws://{addr}/socket.io/?EIO=3&transport=websocket&b64=1&sid={sid}");
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut ws, _) = ws_frame::connect(tcp, &ws_url).await.unwrap();
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_ws(&mut ws).await, Message::text("3probe"));
    ws.send(Message::text("5")).await.unwrap();
    // A binary event: its attachment comes back as text.
    ws.send(Message::text(
        r#"451-["echo",{"_placeholder":true,"num":0}]"#,
    ))
    .await
    .unwrap();
    ws.send(Message::binary(vec![4u8, 1, 2, 3])).await.unwrap();
    loop {
        match next_ws(&mut ws).await {
            Message::Text(t) if t.as_str().starts_with("451-[\"echo-back\"") => break,
            Message::Text(_) => continue,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next_ws(&mut ws).await, Message::text("b4AQID"));
}
