//! Our client's `retries` and `ack_timeout` against the official socket.io
//! server: a server that ignores the first deliveries of each packet still
//! gets every packet, once processed, in order; with too few retries each
//! emit fails after its tries.

use std::time::Duration;

use socketio_client::{AckError, ClientOptions, Socket};

use crate::node::NodePeer;

async fn retry_server(ignored: &str) -> (NodePeer, String) {
    let mut node = NodePeer::spawn("sio_retry_server.js", &[ignored]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    (node, format!("http://127.0.0.1:{port}"))
}

async fn joined(url: &str, retries: u32) -> Socket {
    let options = ClientOptions::default()
        .transports(["websocket"])
        .auto_connect(false)
        .retries(retries)
        .ack_timeout(Duration::from_millis(100));
    let socket = socketio_client::connect(url, options);
    tokio::time::timeout(Duration::from_secs(10), socket.connect())
        .await
        .expect("joined in time")
        .expect("joined");
    socket
}

#[tokio::test]
async fn every_packet_processed_once_in_order_despite_ignored_deliveries() {
    // The server ignores each packet twice; three tries get it through.
    let (mut node, url) = retry_server("2").await;
    let socket = joined(&url, 2).await;
    // All 20 queued at once (each emit_with_ack is queued on its first poll,
    // and join_all polls them in order).
    let acks = (0..20u32).map(|n| {
        let socket = socket.clone();
        async move {
            socket
                .emit_with_ack::<_, String>("job", &(n,), Duration::from_millis(100))
                .await
        }
    });
    let all = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(acks),
    )
    .await
    .expect("every ack in time");
    for (n, ack) in all.into_iter().enumerate() {
        assert_eq!(ack.unwrap(), format!("done {n}"));
    }
    for n in 0..20 {
        assert_eq!(node.line().await, format!("processed {n} (delivery 3)"));
    }
    assert_eq!(socket.queue_len(), 0);
    assert_eq!(socket.queue_head_tries(), None);

    // A plain emit goes through the queue too: sent until acknowledged.
    socket.emit("job", &(20,)).unwrap();
    assert_eq!(node.line().await, "processed 20 (delivery 3)");
    socket.manager().close();
}

#[tokio::test]
async fn too_few_retries_fail_each_emit_after_its_tries_in_order() {
    // Ignored three times: two tries (one retry) never get through.
    let (mut node, url) = retry_server("3").await;
    let socket = joined(&url, 1).await;
    let first = socket.emit_with_ack::<_, String>("job", &(0,), Duration::from_millis(100));
    let second = socket.emit_with_ack::<_, String>("job", &(1,), Duration::from_millis(100));
    let watch = async {
        // While the first waits for its second try, the queue shows it.
        loop {
            if socket.queue_head_tries() == Some(2) {
                break socket.queue_len();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (first, second, len) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(first, second, watch)
    })
    .await
    .expect("in time");
    assert!(
        matches!(first, Err(AckError::RetriesExhausted { tries: 2 })),
        "{first:?}"
    );
    assert!(
        matches!(second, Err(AckError::RetriesExhausted { tries: 2 })),
        "{second:?}"
    );
    assert_eq!(len, 2, "the second waits behind the first");
    // Then one that gets through on its fourth delivery, with three retries
    // given by a new manager: nothing was processed before it.
    socket.manager().close();
    let socket = joined(&url, 3).await;
    let ack: String = socket
        .emit_with_ack("job", &(2,), Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(ack, "done 2");
    assert_eq!(node.line().await, "processed 2 (delivery 4)");
    socket.manager().close();
}
