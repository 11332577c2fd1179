//! The server over real HTTP and WebSocket, configured as the official
//! engine.io-protocol suite expects: every transport-level behaviour the
//! suite specifies.

use std::time::Duration;

use bytes::Bytes;
use engineio::Payload;
use engineio::server::{Context, Handler, Server, ServerOptions};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_frame::Message;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);

/// Echoes every message on the session's own task, as the suite's server
/// does (see the `eio_suite_server` example for why not the channel API).
pub(crate) struct Echo;

impl Handler for Echo {
    type Command = ();

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

/// The suite's server: echoes every message. Returns its address.
async fn suite_server() -> String {
    let mut options = ServerOptions::default();
    options.session.ping_interval = PING_INTERVAL;
    options.session.ping_timeout = PING_TIMEOUT;
    options.cors = Some(engineio::server::Cors::any());
    let listening = engineio::server::serve("127.0.0.1:0", options, |_| Echo)
        .await
        .unwrap();
    let addr = listening.local_addr().to_string();
    // The server lives as long as the test's runtime.
    tokio::spawn(async move {
        let _listening = listening;
        std::future::pending::<()>().await
    });
    addr
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// One HTTP/1.1 request on a fresh connection.
async fn request(addr: &str, method: &str, query: &str, body: &str) -> Resp {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://example.test\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(&raw).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            panic!("incomplete response: {}", String::from_utf8_lossy(&raw))
        }
    };
    Resp {
        status: resp.code.unwrap(),
        headers: resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&raw[n..]).into_owned(),
    }
}

async fn get(addr: &str, query: &str) -> Resp {
    request(addr, "GET", query, "").await
}

async fn post(addr: &str, query: &str, body: &str) -> Resp {
    request(addr, "POST", query, body).await
}

/// A polling session past its handshake: its sid.
async fn polling_session(addr: &str) -> String {
    let r = get(addr, "EIO=4&transport=polling").await;
    assert_eq!(r.status, 200);
    let open: serde_json::Value = serde_json::from_str(&r.body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

async fn websocket(addr: &str, query: &str) -> ws_frame::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/engine.io/?{query}");
    ws_frame::connect(tcp, &url).await.unwrap().0
}

async fn next_text(ws: &mut ws_frame::WebSocketStream<TcpStream>) -> String {
    match tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[tokio::test]
async fn polling_handshake() {
    let addr = suite_server().await;
    let r = get(&addr, "EIO=4&transport=polling").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .contains(&("access-control-allow-origin".into(), "*".into()))
    );
    assert!(r.body.starts_with('0'));
    let open: serde_json::Value = serde_json::from_str(&r.body[1..]).unwrap();
    let keys: Vec<&String> = open.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{open}");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(
        (open["pingInterval"].as_u64(), open["pingTimeout"].as_u64()),
        (Some(300), Some(200))
    );
    assert_eq!(open["maxPayload"], 1_000_000);
    assert_eq!(open["sid"].as_str().unwrap().len(), 20);
}

#[tokio::test]
async fn bad_handshakes_get_400_with_the_official_codes() {
    let addr = suite_server().await;
    for (method, query, code) in [
        ("GET", "transport=polling", 5),
        ("GET", "EIO=abc&transport=polling", 5),
        ("GET", "EIO=4", 0),
        ("GET", "EIO=4&transport=abc", 0),
        ("POST", "EIO=4&transport=polling", 2),
        ("PUT", "EIO=4&transport=polling", 2),
        ("GET", "EIO=4&transport=polling&sid=nope", 1),
    ] {
        let r = request(&addr, method, query, "").await;
        assert_eq!(r.status, 400, "{method} {query}");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["code"], code, "{method} {query}: {}", r.body);
    }
}

#[tokio::test]
async fn websocket_handshake_offers_no_upgrade_and_bad_ones_are_refused() {
    let addr = suite_server().await;
    let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
    let open = next_text(&mut ws).await;
    assert!(
        open.starts_with("0{") && open.contains(r#""upgrades":[]"#),
        "{open}"
    );
    for query in [
        "transport=websocket",
        "EIO=abc&transport=websocket",
        "EIO=4",
        "EIO=4&transport=abc",
    ] {
        let tcp = TcpStream::connect(&addr).await.unwrap();
        let url = format!("ws://{addr}/engine.io/?{query}");
        let refused = ws_frame::connect(tcp, &url).await.err();
        assert!(
            matches!(
                refused,
                Some(ws_frame::Error::Handshake(
                    ws_frame::HandshakeError::UnexpectedStatus(400)
                ))
            ),
            "{query}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn polling_messages() {
    let addr = suite_server().await;
    for body in [
        "4hello",
        "4test1\x1e4test2\x1e4test3",
        "4hello\x1ebAQIDBA==",
    ] {
        let sid = polling_session(&addr).await;
        let q = format!("EIO=4&transport=polling&sid={sid}");
        let r = post(&addr, &q, body).await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        let r = get(&addr, &q).await;
        assert_eq!((r.status, r.body.as_str()), (200, body));
    }
}

#[tokio::test]
async fn polling_invalid_packet_and_duplicate_poll_close_the_session() {
    let addr = suite_server().await;
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    assert_eq!(post(&addr, &q, "abc").await.status, 400);
    assert_eq!(get(&addr, &q).await.status, 400);

    // Two GETs at once: whichever the session takes first waits and gets
    // the close packet, the other 400; then the session is gone.
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let burst = format!("{q}&t=burst");
    let (a, b) = tokio::join!(get(&addr, &q), get(&addr, &burst));
    let mut answers = [(a.status, a.body), (b.status, b.body)];
    answers.sort();
    assert_eq!(answers[0], (200, "1".to_owned()));
    assert_eq!(answers[1].0, 400);
    assert_eq!(get(&addr, &q).await.status, 400);
}

#[tokio::test]
async fn oversized_post_is_413() {
    let addr = suite_server().await;
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let big = format!("4{}", "x".repeat(1_000_000));
    assert_eq!(post(&addr, &q, &big).await.status, 413);
}

#[tokio::test]
async fn websocket_messages_and_invalid_packet() {
    let addr = suite_server().await;
    let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
    next_text(&mut ws).await;
    ws.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4hello");
    ws.send(Message::binary(vec![1u8, 2, 3, 4])).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(matches!(got, Some(Ok(Message::Binary(b))) if b == Bytes::from_static(&[1, 2, 3, 4])));
    ws.send(Message::text("abc")).await.unwrap();
    // The server closes the WebSocket.
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), ws.collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(
        rest.iter().all(|m| !matches!(m, Ok(Message::Text(_)))),
        "{rest:?}"
    );
}

#[tokio::test]
async fn heartbeat_polling_and_ping_timeout() {
    let addr = suite_server().await;
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    for _ in 0..3 {
        let r = get(&addr, &q).await;
        assert_eq!((r.status, r.body.as_str()), (200, "2"));
        assert_eq!(post(&addr, &q, "3").await.status, 200);
    }
}

#[tokio::test]
async fn heartbeat_websocket_and_ping_timeout() {
    let addr = suite_server().await;
    let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
    next_text(&mut ws).await;
    for _ in 0..3 {
        assert_eq!(next_text(&mut ws).await, "2");
        ws.send(Message::text("3")).await.unwrap();
    }
    // No pong: the server closes.
    assert_eq!(next_text(&mut ws).await, "2");
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = ws.next().await {
            if !m.is_data() {
                continue;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "closed after the ping timeout");
}

#[tokio::test]
async fn client_close() {
    let addr = suite_server().await;
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    // The official suite sends the GET and the close at once: the GET is
    // released with a noop whichever reaches the session first.
    let (r, closed) = tokio::join!(get(&addr, &q), post(&addr, &q, "1"));
    assert_eq!(closed.status, 200);
    assert_eq!((r.status, r.body.as_str()), (200, "6"));
    assert_eq!(get(&addr, &q).await.status, 400);

    let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
    next_text(&mut ws).await;
    ws.send(Message::text("1")).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        while ws.next().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the server closes the WebSocket");
}

#[tokio::test]
async fn upgrade_and_what_follows_it() {
    let addr = suite_server().await;
    let sid = polling_session(&addr).await;
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let mut ws = websocket(&addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "3probe");
    let r = get(&addr, &q).await;
    assert_eq!((r.status, r.body.as_str()), (200, "6"));
    ws.send(Message::text("5")).await.unwrap();
    ws.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4hello");
    // Polling with the same sid is refused now.
    assert_eq!(get(&addr, &q).await.status, 400);
    // And a second WebSocket with the same sid is closed without a word.
    let mut ws2 = websocket(&addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws2.send(Message::text("2probe")).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(2), ws2.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Text(_)))), "{end:?}");
    // The upgraded session still works.
    ws.send(Message::text("4still")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4still");
}

#[tokio::test]
async fn our_client_against_our_server_in_every_mode() {
    use engineio::client::{Client, ClientOptions};
    use engineio::{ClientEvent, Payload, Transport};
    let addr = suite_server().await;
    for (initial, upgrade) in [
        (Transport::Polling, false),
        (Transport::WebSocket, false),
        (Transport::Polling, true),
    ] {
        let mut options = ClientOptions::default();
        options.session.initial = initial;
        options.session.upgrade = upgrade;
        let mut c = Client::connect(&format!("http://{addr}"), options)
            .await
            .unwrap();
        let sent: Vec<Payload> = (0..50)
            .map(|i| match i % 2 {
                0 => Payload::Text(format!("m{i}").into()),
                _ => Payload::Binary(Bytes::from(vec![i as u8; i])),
            })
            .collect();
        for p in &sent {
            c.send(p.clone()).await.unwrap();
        }
        let mut got = Vec::new();
        let mut upgraded = false;
        while got.len() < sent.len() {
            match tokio::time::timeout(Duration::from_secs(5), c.recv())
                .await
                .unwrap()
            {
                Some(ClientEvent::Message(p)) => got.push(p),
                Some(ClientEvent::Upgraded) => upgraded = true,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            got, sent,
            "{initial:?}/{upgrade}: every message once, in order"
        );
        // Past a few heartbeats.
        tokio::time::sleep(PING_INTERVAL * 3).await;
        c.send(Payload::Text("after".into())).await.unwrap();
        loop {
            match c.recv().await.unwrap() {
                ClientEvent::Message(p) => break assert_eq!(p, Payload::Text("after".into())),
                ClientEvent::Upgraded => upgraded = true,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(upgraded, upgrade);
        c.close().await;
    }
}

#[tokio::test]
async fn allow_request_cors_preflight_keep_alive_and_path() {
    let mut options = ServerOptions::default();
    options.path = "/custom/".into();
    options.cors = Some(engineio::server::Cors::origins(["http://good.test"]));
    options.allow_request(|req| {
        let auth = req.headers().get("authorization").cloned();
        async move {
            // A check that waits, as a database lookup would.
            tokio::task::yield_now().await;
            match auth {
                Some(v) if v == "Bearer ok" => Ok(()),
                _ => Err(engineio::server::Refusal::forbidden("Forbidden")),
            }
        }
    });
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().to_string();

    // Three requests on one keep-alive connection.
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let mut exchange = async |req: String| -> String {
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let refused = exchange(format!(
        "GET /custom/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://good.test\r\n\r\n"
    ))
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused.contains(r#"{"code":4,"message":"Forbidden"}"#),
        "{refused}"
    );
    assert!(
        refused.contains("Access-Control-Allow-Origin: http://good.test"),
        "{refused}"
    );
    let preflight = exchange(format!(
        "OPTIONS /custom/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://good.test\r\n\
Access-Control-Request-Headers: authorization\r\n\r\n"
    ))
    .await;
    assert!(preflight.starts_with("HTTP/1.1 204"), "{preflight}");
    assert!(
        preflight.contains("Access-Control-Allow-Headers: authorization"),
        "{preflight}"
    );
    let ok = exchange(format!(
        "GET /custom/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.test\r\n\
Authorization: Bearer ok\r\n\r\n"
    ))
    .await;
    assert!(
        ok.starts_with("HTTP/1.1 200") && ok.contains("\r\n\r\n0{"),
        "{ok}"
    );
    assert!(
        !ok.contains("Access-Control-Allow-Origin"),
        "no CORS for another origin: {ok}"
    );
    // Anything but the configured path is not Engine.IO.
    let other = get(&addr, "EIO=4&transport=polling").await;
    assert_eq!(other.status, 404);
}

/// A handler on the session's own task: answers inline, takes commands from
/// other tasks, runs its own timer, hears the close.
#[tokio::test]
async fn a_handler_runs_on_the_session_task() {
    use engineio::server::{Context, Handler, SessionInfo, SessionSender, serve};
    use engineio::{CloseReason, Payload};
    use std::time::Instant as StdInstant;
    use tokio::sync::mpsc;

    struct Shout {
        tick: Option<StdInstant>,
        log: mpsc::UnboundedSender<String>,
    }
    impl Handler for Shout {
        type Command = String;
        async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
            if let Payload::Text(t) = msg {
                ctx.send(Payload::Text(t.as_str().to_uppercase().into()));
                if t == "tick" {
                    self.tick = Some(StdInstant::now() + Duration::from_millis(50));
                }
            }
        }
        async fn on_command(&mut self, ctx: &mut Context<'_>, cmd: String) {
            ctx.send(Payload::Text(format!("cmd:{cmd}").into()));
        }
        fn poll_timeout(&self) -> Option<StdInstant> {
            self.tick
        }
        async fn on_timeout(&mut self, ctx: &mut Context<'_>, _now: StdInstant) {
            self.tick = None;
            ctx.send(Payload::Text("tock".into()));
        }
        async fn on_close(&mut self, reason: CloseReason) {
            let _ = self.log.send(format!("closed: {reason}"));
        }
    }

    let (log_tx, mut log) = mpsc::unbounded_channel();
    let (senders_tx, mut senders) = mpsc::unbounded_channel::<SessionSender<String>>();
    let listening = serve(
        "127.0.0.1:0",
        ServerOptions::default(),
        move |info: SessionInfo<String>| {
            let _ = senders_tx.send(info.sender);
            Shout {
                tick: None,
                log: log_tx.clone(),
            }
        },
    )
    .await
    .unwrap();
    let addr = listening.local_addr().to_string();
    let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
    next_text(&mut ws).await;
    ws.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4HELLO");
    senders
        .recv()
        .await
        .unwrap()
        .send("from elsewhere".into())
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, "4cmd:from elsewhere");
    ws.send(Message::text("4tick")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4TICK");
    assert_eq!(next_text(&mut ws).await, "4tock");
    ws.send(Message::text("1")).await.unwrap();
    assert_eq!(log.recv().await.unwrap(), "closed: transport close");
}

#[tokio::test]
async fn a_prepared_message_reaches_websocket_and_polling_sessions_alike() {
    let mut server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr().to_string();
    let mut clients = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let mut ws = websocket(&addr, "EIO=4&transport=websocket").await;
        assert!(next_text(&mut ws).await.starts_with("0{"));
        clients.push(ws);
        sockets.push(server.accept().await.unwrap());
    }
    let sid = polling_session(&addr).await;
    sockets.push(server.accept().await.unwrap());
    let news = engineio::Prepared::new(engineio::Payload::Text("news".into()));
    for s in &sockets {
        s.sender().send_prepared(news.clone()).await.unwrap();
    }
    for ws in &mut clients {
        assert_eq!(next_text(ws).await, "4news");
    }
    let r = get(&addr, &format!("EIO=4&transport=polling&sid={sid}")).await;
    assert_eq!((r.status, r.body.as_str()), (200, "4news"));
}
