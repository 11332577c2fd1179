//! Our emitter and two of our servers with the classic adapter, on a real
//! Redis: it reaches their clients by room, exception and namespace, makes
//! them join, leave and disconnect, and reaches their server-side
//! handlers; it is never counted as a node.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio_redis::classic::{RedisAdapterOptions, adapter_factory};
use socketio_redis::emitter::{Emitter, EmitterError, EmitterOptions};
use socketio_redis::redis::{Link, LinkOptions};
use socketio_server::Binary;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};

use crate::redis_server::RedisServer;
use crate::servers::{Node, SOON, names, peer, peer_in, serve, wait_for_nodes};

async fn pair(redis: &RedisServer) -> (Node, Node) {
    let url = redis.url();
    let start = || {
        Node::start(&url, |link| {
            adapter_factory(link, RedisAdapterOptions::default())
        })
    };
    let (a, b) = (start().await, start().await);
    for n in [&a, &b] {
        serve(&n.server.of("/admin"));
    }
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&a.server.of("/admin"), 2).await;
    (a, b)
}

async fn emitter(redis: &RedisServer) -> Emitter {
    Emitter::connect(&redis.url(), EmitterOptions::default())
        .await
        .expect("connect to redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaches_rooms_exceptions_and_namespaces() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let em = emitter(&redis).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let mut a2 = peer(&a, "a2", &["r2"]).await;
    let mut b1 = peer(&b, "b1", &["r1"]).await;
    let mut b2 = peer(&b, "b2", &[]).await;
    let mut admin = peer_in(&b, "/admin", "admin", &["r1"]).await;
    let (tx, mut bytes) = mpsc::unbounded_channel();
    b2.socket.on("bin", move |_, (b, n): (Binary, u32), _| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((b.0, n));
        }
    });

    em.emit("all", &(1,)).await.unwrap();
    em.to("r1").emit("r1", &(2,)).await.unwrap();
    em.except("r1").emit("not-r1", &()).await.unwrap();
    em.to("r1")
        .to("r2")
        .except("r2")
        .emit("r1-not-r2", &())
        .await
        .unwrap();
    em.to(&b2.id())
        .volatile()
        .compress(false)
        .emit("to-b2", &())
        .await
        .unwrap();
    em.of("admin").to("r1").emit("admin-r1", &()).await.unwrap();
    em.emit("bin", &(Binary(Bytes::from_static(&[0, 1, 255])), 7))
        .await
        .unwrap();
    em.emit("end", &()).await.unwrap();
    em.of("/admin").emit("end", &()).await.unwrap();

    let got = [
        a1.until("end").await,
        a2.until("end").await,
        b1.until("end").await,
        b2.until("end").await,
        admin.until("end").await,
    ];
    let want: [&[&str]; 5] = [
        &["all", "bin", "r1", "r1-not-r2"],
        &["all", "bin", "not-r1"],
        &["all", "bin", "r1", "r1-not-r2"],
        &["all", "bin", "not-r1", "to-b2"],
        &["admin-r1"],
    ];
    // Each channel keeps the emitter's order; compare as sets, and count
    // to see each came once.
    for (g, w) in got.iter().zip(want) {
        let mut n = names(g);
        n.sort_unstable();
        assert_eq!(n, w);
    }
    let (_, args) = got[0].iter().find(|(e, _)| e == "all").unwrap();
    assert_eq!(args, &[json!(1)]);
    let (received, n) = timeout(SOON, bytes.recv()).await.unwrap().unwrap();
    assert_eq!((&received[..], n), (&[0, 1, 255][..], 7));

    // An emitter only publishes: no server counts it.
    assert_eq!(a.ns().server_count().await, 2);
    assert_eq!(a.link.stats().malformed, 0);
    assert_eq!(b.link.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_leaves_and_disconnects() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let em = emitter(&redis).await;
    let a1 = peer(&a, "a1", &["r1"]).await;
    let b1 = peer(&b, "b1", &["r1"]).await;
    let b2 = peer(&b, "b2", &["r2"]).await;
    let in_room = |node: &Node, room: &str| -> BTreeSet<String> {
        node.ns()
            .to(room)
            .sockets()
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    };
    em.to("r1").sockets_join(&["r8", "r9"]).await.unwrap();
    timeout(SOON, async {
        while in_room(&a, "r9") != BTreeSet::from([a1.id()])
            || in_room(&b, "r8") != BTreeSet::from([b1.id()])
        {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("r1 joins r8 and r9 on both nodes");
    assert!(in_room(&b, "r9").contains(&b1.id()));

    em.sockets_leave(&["r1"]).await.unwrap();
    timeout(SOON, async {
        while !in_room(&a, "r1").is_empty() || !in_room(&b, "r1").is_empty() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("everyone leaves r1");

    let b2_id = b2.id();
    let (tx, mut gone) = mpsc::unbounded_channel();
    b2.socket.on_disconnect(move |_, _| {
        let _ = tx.send(());
    });
    em.to("r2").disconnect_sockets(false).await.unwrap();
    timeout(SOON, gone.recv()).await.expect("b2 disconnected");
    timeout(SOON, async {
        while b.ns().socket(&b2_id).is_some() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("b2 gone from B");
    assert!(b.ns().socket(&b1.id()).is_some());
    assert!(a.ns().socket(&a1.id()).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_emits_reach_the_namespaces_handlers() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    // On a link of its own making, as a caller with special clients would.
    let link = Link::connect(&redis.url(), LinkOptions::default())
        .await
        .unwrap();
    let em = Emitter::new(&link, EmitterOptions::default());
    let (tx, mut heard) = mpsc::unbounded_channel();
    for (node, name) in [(&a, "A"), (&b, "B")] {
        for nsp in ["/", "/admin"] {
            let tx = tx.clone();
            node.server
                .of(nsp)
                .on_server_side("job", move |(arg,): (Value,), ack| {
                    // Nobody waits for an emitter's answer.
                    assert!(ack.is_none());
                    let _ = tx.send((name, nsp, arg));
                });
        }
    }
    em.server_side_emit("job", &(json!({"id": 1}),))
        .await
        .unwrap();
    em.of("admin")
        .server_side_emit("job", &(json!({"id": 2}),))
        .await
        .unwrap();
    let mut got = BTreeSet::new();
    for _ in 0..4 {
        let (node, nsp, arg) = timeout(SOON, heard.recv()).await.unwrap().unwrap();
        got.insert((node, nsp, arg["id"].as_u64().unwrap()));
    }
    assert_eq!(
        got,
        BTreeSet::from([
            ("A", "/", 1),
            ("B", "/", 1),
            ("A", "/admin", 2),
            ("B", "/admin", 2)
        ])
    );
    sleep(Duration::from_millis(50)).await;
    assert!(heard.try_recv().is_err());
    // A reserved name is refused before anything is sent.
    assert!(matches!(
        em.server_side_emit("connect", &()).await,
        Err(EmitterError::Packet(_))
    ));
    assert_eq!(em.of("x").nsp(), "/x");
}
