//! The server over in-memory pipes with paused time: the default timers
//! (25 s heartbeat, 20 s ping timeout, 45 s connect timeout, ack timeouts)
//! play out exactly, and instantly.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{AckError, DisconnectReason, Server, ServerOptions};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<DuplexStream>;

fn remote() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

async fn pipe_client(server: &Server) -> Ws {
    let (theirs, ours) = tokio::io::duplex(64 << 10);
    server.serve_io(theirs, remote());
    let url = "ws://in-memory/socket.io/?EIO=4&transport=websocket";
    let (mut ws, _) = ws_frame::connect(ours, url).await.unwrap();
    assert!(text(&mut ws).await.unwrap().starts_with("0{"));
    ws
}

async fn text(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

fn reasons(server: &Server) -> mpsc::UnboundedReceiver<DisconnectReason> {
    let (tx, rx) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |s| {
        let tx = tx.clone();
        s.on_disconnect(move |_, r| {
            let _ = tx.send(r);
        });
    });
    rx
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_times_out_after_interval_plus_timeout() {
    let server = Server::new(ServerOptions::default());
    let mut reasons = reasons(&server);
    let mut ws = pipe_client(&server).await;
    ws.send(Message::text("40")).await.unwrap();
    assert!(text(&mut ws).await.unwrap().starts_with("40{"));
    let start = Instant::now();
    let mut pings = Vec::new();
    while let Some(t) = text(&mut ws).await {
        assert_eq!(t, "2");
        pings.push(start.elapsed());
    }
    // One ping at 25 s, unanswered; closed 20 s later.
    assert_eq!(pings, [Duration::from_secs(25)]);
    assert_eq!(start.elapsed(), Duration::from_secs(45));
    assert_eq!(reasons.recv().await, Some(DisconnectReason::PingTimeout));
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_answering_client_lives_on() {
    let server = Server::new(ServerOptions::default());
    let mut ws = pipe_client(&server).await;
    ws.send(Message::text("40")).await.unwrap();
    text(&mut ws).await.unwrap();
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(text(&mut ws).await.as_deref(), Some("2"));
        ws.send(Message::text("3")).await.unwrap();
    }
    // Twenty heartbeats: 500 s of (virtual) time, still connected.
    assert_eq!(start.elapsed(), Duration::from_secs(500));
    assert_eq!(server.of("/").sockets().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_joins_no_namespace_is_closed_at_the_connect_timeout() {
    let server = Server::new(ServerOptions::default());
    let mut ws = pipe_client(&server).await;
    let start = Instant::now();
    while let Some(t) = text(&mut ws).await {
        assert_eq!(t, "2");
        ws.send(Message::text("3")).await.unwrap();
    }
    assert_eq!(start.elapsed(), Duration::from_secs(45));
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_ack_times_out_exactly() {
    let server = Server::new(ServerOptions::default());
    let mut ws = pipe_client(&server).await;
    ws.send(Message::text("40")).await.unwrap();
    text(&mut ws).await.unwrap();
    let socket = server.of("/").sockets().pop().unwrap();
    let start = Instant::now();
    let waiting = tokio::spawn(async move {
        socket
            .emit_with_ack::<_, (u8,)>("q", &(), Duration::from_secs(10))
            .await
    });
    assert_eq!(text(&mut ws).await.as_deref(), Some(r#"420["q"]"#));
    let r = waiting.await.unwrap();
    assert!(matches!(r, Err(AckError::Timeout)), "{r:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    // An answer in time is delivered.
    let socket = server.of("/").sockets().pop().unwrap();
    let waiting = tokio::spawn(async move {
        socket
            .emit_with_ack::<_, (u8,)>("q", &(), Duration::from_secs(10))
            .await
    });
    assert_eq!(text(&mut ws).await.as_deref(), Some(r#"421["q"]"#));
    tokio::time::sleep(Duration::from_secs(9)).await;
    ws.send(Message::text("431[7]")).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), (7,));
}
