//! The server's counters against what a raw client saw: once its session
//! has ended, every total is exact.

use std::time::Duration;

use engineio::Payload;
use engineio::server::{Context, Handler, Metrics, ServerOptions, Service};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_frame::Message;

struct Echo;

impl Handler for Echo {
    type Command = ();

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

/// What the client sent and got, in Engine.IO bytes.
#[derive(Default)]
struct Seen {
    connections: u64,
    bytes_in: u64,
    bytes_out: u64,
}

/// One request on a fresh connection: its status and body.
async fn request(
    addr: &str,
    seen: &mut Seen,
    method: &str,
    query: &str,
    body: &str,
) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    seen.connections += 1;
    let req = format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(n) = resp.parse(&raw).unwrap() else {
        panic!("incomplete response");
    };
    (
        resp.code.unwrap(),
        String::from_utf8_lossy(&raw[n..]).into_owned(),
    )
}

/// The next text message, counted.
async fn next_text(ws: &mut ws_frame::WebSocketStream<TcpStream>, seen: &mut Seen) -> String {
    match ws.next().await {
        Some(Ok(Message::Text(t))) => {
            seen.bytes_out += t.len() as u64;
            t.as_str().to_owned()
        }
        other => panic!("expected text, got {other:?}"),
    }
}

async fn send(ws: &mut ws_frame::WebSocketStream<TcpStream>, seen: &mut Seen, text: &str) {
    seen.bytes_in += text.len() as u64;
    ws.send(Message::text(text.to_owned())).await.unwrap();
}

const N: usize = 5;

async fn scenario(addr: &str, seen: &mut Seen) {
    // Refused: an unknown transport.
    let (status, _) = request(addr, seen, "GET", "EIO=4&transport=carrier-pigeon", "").await;
    assert_eq!(status, 400);
    // A polling session: its handshake.
    let (status, open) = request(addr, seen, "GET", "EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    seen.bytes_out += open.len() as u64;
    let handshake: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let sid = handshake["sid"].as_str().unwrap().to_owned();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    // N messages in one POST; their echoes in one GET.
    let body: Vec<String> = (0..N).map(|i| format!("4polling {i}")).collect();
    let body = body.join("\x1e");
    assert_eq!(
        request(addr, seen, "POST", &q, &body).await,
        (200, "ok".to_owned())
    );
    seen.bytes_in += body.len() as u64;
    let (status, echoes) = request(addr, seen, "GET", &q, "").await;
    assert_eq!((status, echoes.as_str()), (200, body.as_str()));
    seen.bytes_out += echoes.len() as u64;
    // The upgrade.
    let tcp = TcpStream::connect(addr).await.unwrap();
    seen.connections += 1;
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket&sid={sid}");
    let mut ws = ws_frame::connect(tcp, &url).await.unwrap().0;
    send(&mut ws, seen, "2probe").await;
    assert_eq!(next_text(&mut ws, seen).await, "3probe");
    let (status, noop) = request(addr, seen, "GET", &q, "").await;
    assert_eq!((status, noop.as_str()), (200, "6"));
    seen.bytes_out += noop.len() as u64;
    send(&mut ws, seen, "5").await;
    // N messages each way on the WebSocket.
    for i in 0..N {
        let m = format!("4websocket {i}");
        send(&mut ws, seen, &m).await;
        assert_eq!(next_text(&mut ws, seen).await, m);
    }
    // The client leaves; whatever else comes is counted.
    send(&mut ws, seen, "1").await;
    while let Some(Ok(m)) = ws.next().await {
        if m.is_data() {
            seen.bytes_out += m.payload().len() as u64;
        }
    }
}

#[tokio::test]
async fn after_a_session_has_ended_every_total_is_exact() {
    let mut options = ServerOptions::default();
    // No ping in the way of an exact count.
    options.session.ping_interval = Duration::from_secs(60);
    let listening = engineio::server::serve("127.0.0.1:0", options, |_| Echo)
        .await
        .unwrap();
    let addr = listening.local_addr().to_string();
    let service: Service = listening.service().clone();
    assert_eq!(service.metrics(), Metrics::default());
    let mut seen = Seen::default();
    tokio::time::timeout(Duration::from_secs(10), scenario(&addr, &mut seen))
        .await
        .expect("the scenario in time");
    // The session and its connections end on the server's tasks.
    let ended = async {
        loop {
            let m = service.metrics();
            if m.sessions_websocket == 0 && m.sessions_polling == 0 && m.connections_open == 0 {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let m = tokio::time::timeout(Duration::from_secs(5), ended)
        .await
        .expect("the session ends");
    let mut expected = Metrics::default();
    expected.connections_total = seen.connections;
    expected.sessions_total = 1;
    expected.upgrades = 1;
    expected.messages_in = 2 * N as u64;
    expected.messages_out = 2 * N as u64;
    expected.bytes_in = seen.bytes_in;
    expected.bytes_out = seen.bytes_out;
    expected.refused_requests = 1;
    assert_eq!(m, expected);
}

#[tokio::test]
async fn sessions_open_are_counted_per_transport_while_they_last() {
    let mut options = ServerOptions::default();
    options.session.ping_interval = Duration::from_secs(60);
    let listening = engineio::server::serve("127.0.0.1:0", options, |_| Echo)
        .await
        .unwrap();
    let addr = listening.local_addr().to_string();
    let mut seen = Seen::default();
    let run = async {
        let (status, _) = request(&addr, &mut seen, "GET", "EIO=4&transport=polling", "").await;
        assert_eq!(status, 200);
        let tcp = TcpStream::connect(&addr).await.unwrap();
        let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
        let mut ws = ws_frame::connect(tcp, &url).await.unwrap().0;
        assert!(next_text(&mut ws, &mut seen).await.starts_with("0{"));
        let m = listening.metrics();
        assert_eq!(
            (m.sessions_polling, m.sessions_websocket, m.sessions_total),
            (1, 1, 2)
        );
        // The upgraded WebSocket is the session's now, not an HTTP
        // connection of the front door.
        assert_eq!(m.connections_total, 2);
        ws.send(Message::text("1")).await.unwrap();
        while ws.next().await.is_some_and(|m| m.is_ok()) {}
        loop {
            if listening.metrics().sessions_websocket == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(listening.metrics().sessions_polling, 1);
    };
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("in time");
}
