//! The client's transports against a hand-driven server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use ws_frame::Message;

use super::{Client, ClientOptions};
use crate::client_session::ClientEvent;
use crate::{CloseReason, Transport};

const OPEN: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// Closing a WebSocket session waits for the server's close frame: the
/// connection then ends with the client's FIN, not with a reset that the
/// kernel sends when the server's close frame reaches a socket already
/// dropped.
#[tokio::test]
async fn websocket_close_reads_the_servers_close_frame_before_dropping() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = ws_frame::accept(tcp).await.unwrap();
        ws.send(Message::Text(OPEN.into())).await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Close(_))) => {}
            other => panic!("expected the client's close frame, got {other:?}"),
        }
        // The stream answers with our close frame and shuts our side.
        assert!(ws.next().await.is_none(), "the stream ends after the echo");
        let tcp = ws.get_mut();
        let mut rest = [0u8; 16];
        let n = tcp
            .read(&mut rest)
            .await
            .expect("the client's end of stream");
        (n, tcp.take_error().unwrap().map(|e| e.kind()))
    });
    let mut options = ClientOptions::default();
    options.session.initial = Transport::WebSocket;
    options.session.upgrade = false;
    let mut client = Client::connect(&url, options).await.unwrap();
    client.close().await;
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(5), client.recv())
            .await
            .expect("the close is reported")
        {
            Some(ClientEvent::Closed(r)) => break r,
            Some(_) => {}
            None => panic!("no close event"),
        }
    };
    assert_eq!(reason, CloseReason::ForcedClose);
    let (n, error) = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server sees the connection end")
        .unwrap();
    assert_eq!(n, 0, "nothing after the close frame, then the client's FIN");
    assert_eq!(error, None, "the connection was not reset");
}
