//! A binary packet whose attachments never come is not held for as long as
//! the client answers pings: the connection is closed at
//! `attachment_timeout` after the header. Over in-memory pipes, paused time.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use socketio_server::{Binary, DisconnectReason, Server, ServerOptions};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<DuplexStream>;

const HEADER: &str = r#"451-["e",{"_placeholder":true,"num":0}]"#;

/// A client joined to `/`.
async fn client(server: &Server) -> Ws {
    let (theirs, ours) = tokio::io::duplex(64 << 10);
    server.serve_io(theirs, SocketAddr::from(([127, 0, 0, 1], 40_000)));
    let url = "ws://in-memory/socket.io/?EIO=4&transport=websocket";
    let (mut ws, _) = ws_frame::connect(ours, url).await.unwrap();
    assert!(text(&mut ws).await.unwrap().starts_with("0{"));
    ws.send(Message::text("40")).await.unwrap();
    assert!(text(&mut ws).await.unwrap().starts_with("40{"));
    ws
}

/// The next text that is not a ping (pings are answered); `None` once closed.
async fn text(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t == "2" => ws.send(Message::text("3")).await.ok()?,
            Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

/// A server whose "e" events (one binary argument) and disconnects are reported.
fn server(
    options: ServerOptions,
) -> (
    Server,
    mpsc::UnboundedReceiver<Bytes>,
    mpsc::UnboundedReceiver<DisconnectReason>,
) {
    let server = Server::new(options);
    let (events, events_rx) = mpsc::unbounded_channel();
    let (reasons, reasons_rx) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |s| {
        let events = events.clone();
        s.on("e", move |_, (b,): (Binary,), _| {
            let _ = events.send(b.0);
            async {}
        });
        let reasons = reasons.clone();
        s.on_disconnect(move |_, r| {
            let _ = reasons.send(r);
        });
    });
    (server, events_rx, reasons_rx)
}

#[tokio::test(start_paused = true)]
async fn missing_attachments_close_the_connection_at_the_deadline() {
    let (server, mut events, mut reasons) = server(ServerOptions::default());
    let mut bad = client(&server).await;
    let mut good = client(&server).await;
    let start = Instant::now();
    bad.send(Message::text(HEADER)).await.unwrap();
    // A well-behaved client sends the same packet whole.
    good.send(Message::text(HEADER)).await.unwrap();
    good.send(Message::binary(&b"ok"[..])).await.unwrap();
    assert_eq!(events.recv().await.as_deref(), Some(&b"ok"[..]));
    // The bad one answers pings but never sends the attachment. Bounded in
    // (virtual) time, so a server without the deadline fails, not hangs.
    let closed = tokio::time::timeout(Duration::from_secs(300), text(&mut bad)).await;
    assert_eq!(closed, Ok(None), "closed, with nothing else sent");
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(reasons.recv().await, Some(DisconnectReason::ForcedClose));
    // The other lives on, its binary packets delivered.
    good.send(Message::text(HEADER)).await.unwrap();
    good.send(Message::binary(&b"still"[..])).await.unwrap();
    assert_eq!(events.recv().await.as_deref(), Some(&b"still"[..]));
    assert_eq!(server.of("/").sockets().len(), 1);
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_runs_from_the_header_and_ends_with_the_packet() {
    let mut options = ServerOptions::default();
    options.attachment_timeout = Duration::from_secs(5);
    let (server, mut events, mut reasons) = server(options);
    let two = r#"452-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let mut ws = client(&server).await;
    // Whole within the deadline, twice over: no close.
    for _ in 0..2 {
        ws.send(Message::text(two)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(4)).await;
        ws.send(Message::binary(&b"a"[..])).await.unwrap();
        ws.send(Message::binary(&b"b"[..])).await.unwrap();
        assert_eq!(events.recv().await.as_deref(), Some(&b"a"[..]));
    }
    // An attachment on time does not restart the clock for the next one.
    let start = Instant::now();
    ws.send(Message::text(two)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    ws.send(Message::binary(&b"a"[..])).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(300), text(&mut ws)).await;
    assert_eq!(closed, Ok(None));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(reasons.recv().await, Some(DisconnectReason::ForcedClose));
}
