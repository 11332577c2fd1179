//! engineio's server against the official Node `engine.io-client`.

use engineio::server::{Server, ServerOptions};
use engineio::{CloseReason, Event, Payload};

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
