//! ws-frame against Node `ws`, both directions.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use ws_frame::{CloseCode, Message};

use crate::node::NodePeer;

/// Our echo server; returns its URL and the messages the first connection saw.
async fn our_echo_server() -> (String, tokio::task::JoinHandle<Vec<Message>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = ws_frame::accept(tcp).await.unwrap();
        let mut seen = Vec::new();
        while let Some(msg) = ws.next().await {
            let Ok(msg) = msg else { continue };
            if msg.is_data() {
                ws.send(msg.clone()).await.unwrap();
            }
            seen.push(msg);
        }
        seen
    });
    (url, task)
}

#[tokio::test]
async fn node_client_against_our_server() {
    let (url, server) = our_echo_server().await;
    let mut node = NodePeer::spawn("ws_client.js", &[&url, "echo"]);
    assert_eq!(node.line().await, "echoes ok");
    // Our server echoes the close code; Node reports it.
    assert_eq!(node.line().await, "closed 1000 ");
    assert!(node.success().await);
    let seen = server.await.unwrap();
    assert_eq!(seen[0], Message::text("hello from node"));
    assert_eq!(seen[2], Message::binary(vec![7u8; 1 << 20]));
    assert!(matches!(&seen[3], Message::Ping(p) if &p[..] == b"node-ping"));
    match seen.last() {
        Some(Message::Close(Some(f))) => {
            assert_eq!(
                (f.code, f.reason.as_str()),
                (CloseCode::NORMAL, "node done")
            )
        }
        other => panic!("expected Node's close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn node_client_sending_invalid_utf8_gets_1007() {
    let (url, _server) = our_echo_server().await;
    let mut node = NodePeer::spawn("ws_client.js", &[&url, "badutf8"]);
    assert_eq!(
        node.line().await,
        "closed 1007 text message is not valid UTF-8"
    );
    assert!(node.success().await);
}

#[tokio::test]
async fn our_client_against_node_server() {
    let mut node = NodePeer::spawn("ws_echo_server.js", &[]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    let url = format!("ws://127.0.0.1:{port}/path?q=1");
    let tcp = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let (mut ws, resp) = ws_frame::connect(tcp, &url).await.unwrap();
    assert_eq!(resp.status(), 101);

    let big = Message::binary((0..(3 << 20)).map(|i| i as u8).collect::<Vec<u8>>());
    for msg in [
        Message::text("héllo from rust"),
        Message::binary(vec![0u8, 255]),
        big,
    ] {
        ws.send(msg.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), msg);
    }
    ws.send(Message::Ping("rust-ping".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong("rust-ping".into())
    );

    // The Node server closes; we echo and the stream ends cleanly.
    ws.send(Message::text("close-me")).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        Message::Close(Some(f)) => assert_eq!((f.code.0, f.reason.as_str()), (4001, "server bye")),
        other => panic!("expected close, got {other:?}"),
    }
    assert!(ws.next().await.is_none());
    // Node logs the close we sent back: its code echoed, no reason.
    assert_eq!(node.line().await, "closed 4001 ");
}
