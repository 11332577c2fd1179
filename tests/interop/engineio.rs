//! engineio against the official Node peers: our server with
//! `engine.io-client`, our client with the `engine.io` server.

use std::time::Duration;

use bytes::Bytes;
use engineio::client::{Client, ClientOptions};
use engineio::server::{Server, ServerOptions};
use engineio::{ClientEvent, CloseReason, Event, Payload, Transport};

use crate::node::NodePeer;

/// Our server: echoes every message; "close-me" makes it close the session.
/// Returns the URL and a task that yields each session's close reason.
async fn echo_server() -> (String, tokio::task::JoinHandle<Vec<CloseReason>>) {
    let mut server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let url = format!("http://{}", server.local_addr());
    let task = tokio::spawn(async move {
        let mut socket = server.accept().await.unwrap();
        let mut reasons = Vec::new();
        while let Some(event) = socket.recv().await {
            match event {
                Event::Message(Payload::Text(t)) if t == "close-me" => socket.close().await,
                Event::Message(m) => socket.send(m).await.unwrap(),
                Event::Closed(reason) => reasons.push(reason),
                Event::Upgraded => {}
            }
        }
        reasons
    });
    (url, task)
}

async fn run(transports: &str, want_transport: &str) {
    let (url, server) = echo_server().await;
    let mut node = NodePeer::spawn("eio_client.js", &[&url, transports, "echo"]);
    assert_eq!(node.line().await, format!("echo ok {want_transport}"));
    assert_eq!(node.line().await, "closed forced close");
    assert!(node.success().await);
    // The client's close reaches us as the client leaving.
    assert_eq!(server.await.unwrap(), [CloseReason::TransportClose]);
}

#[tokio::test]
async fn node_client_polling_only() {
    run("polling", "polling").await;
}

#[tokio::test]
async fn node_client_websocket_only() {
    run("websocket", "websocket").await;
}

#[tokio::test]
async fn node_client_polling_then_upgrade() {
    run("polling,websocket", "websocket").await;
}

#[tokio::test]
async fn server_initiated_close_reaches_the_node_client() {
    for transports in ["polling", "websocket"] {
        let (url, server) = echo_server().await;
        let mut node = NodePeer::spawn("eio_client.js", &[&url, transports, "server-close"]);
        assert_eq!(
            node.line().await,
            "closed transport close",
            "over {transports}"
        );
        assert!(node.success().await);
        assert_eq!(server.await.unwrap(), [CloseReason::ForcedClose]);
    }
}

/// Our client against the Node engine.io server: the Node server's URL and
/// its log.
async fn node_server() -> (String, NodePeer) {
    let mut node = NodePeer::spawn("eio_server.js", &[]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    (format!("http://127.0.0.1:{port}"), node)
}

async fn next_message(c: &mut Client) -> Payload {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.recv())
            .await
            .unwrap()
        {
            Some(ClientEvent::Message(p)) => return p,
            Some(ClientEvent::Upgraded) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Our client's whole life against the Node server, which logs `opened`
/// (its view of the session's transport and upgrade), then the close.
async fn our_client(transport: Transport, upgrade: bool, opened: &[&str]) {
    let (url, mut node) = node_server().await;
    let mut options = ClientOptions::default();
    options.session.initial = transport;
    options.session.upgrade = upgrade;
    let mut c = Client::connect(&url, options).await.unwrap();
    assert_eq!(c.handshake().ping_interval, 300);
    let big = "y".repeat(900_000);
    let sent = [
        Payload::Text("hello".into()),
        Payload::Binary(Bytes::from_static(&[0, 1, 2, 255])),
        Payload::Text(big.as_str().into()),
        Payload::Text("ünïcödé ✓".into()),
    ];
    for p in &sent {
        c.send(p.clone()).await.unwrap();
    }
    for p in &sent {
        assert_eq!(&next_message(&mut c).await, p);
    }
    for want in opened {
        assert_eq!(node.line().await, *want);
    }
    // Three of the server's pings (300 ms apart) answered: the Node server
    // counts our pongs. Its answer comes right after a pong, when its next
    // ping is 300 ms away, and the close below is over long before then.
    // That matters: engine.io 6.6 writes a ping that falls between the
    // client's close frame and the end of the TCP connection to a WebSocket
    // already CLOSING, and reports "transport error" ("write error:
    // WebSocket is not open") for a session the client closed cleanly; the
    // official engine.io-client meets the same race.
    assert_eq!(node.ask("heartbeats 3").await, "heartbeats 3");
    c.send(Payload::Text("still here".into())).await.unwrap();
    assert_eq!(
        next_message(&mut c).await,
        Payload::Text("still here".into())
    );
    c.close().await;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.recv())
            .await
            .expect("the close is reported")
        {
            Some(ClientEvent::Closed(r)) => break assert_eq!(r, CloseReason::ForcedClose),
            Some(_) => {}
            None => panic!("no close event"),
        }
    }
    assert_eq!(node.line().await, "close transport close");
}

#[tokio::test]
async fn our_client_polling_only() {
    our_client(Transport::Polling, false, &["connection polling"]).await;
}

#[tokio::test]
async fn our_client_websocket_only() {
    our_client(Transport::WebSocket, false, &["connection websocket"]).await;
}

#[tokio::test]
async fn our_client_polling_then_upgrade() {
    our_client(
        Transport::Polling,
        true,
        &["connection polling", "upgrade websocket"],
    )
    .await;
}

#[tokio::test]
async fn node_server_close_reaches_our_client() {
    for (transport, upgrade) in [(Transport::Polling, false), (Transport::WebSocket, false)] {
        let (url, _node) = node_server().await;
        let mut options = ClientOptions::default();
        options.session.initial = transport;
        options.session.upgrade = upgrade;
        let mut c = Client::connect(&url, options).await.unwrap();
        c.send(Payload::Text("close-me".into())).await.unwrap();
        let reason = loop {
            match tokio::time::timeout(Duration::from_secs(10), c.recv())
                .await
                .unwrap()
            {
                Some(ClientEvent::Closed(r)) => break r,
                Some(_) => {}
                None => panic!("no close event"),
            }
        };
        assert_eq!(reason, CloseReason::TransportClose, "{transport:?}");
    }
}
