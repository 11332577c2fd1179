//! The classic adapter on a real Redis: two of our servers, each with its
//! own link, and clients on both; Redis killed and restarted; a node
//! dropped; strangers publishing garbage; and Node's exact bytes published
//! by hand, as a Node server would.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio_redis::classic::{RedisAdapterOptions, adapter_factory};
use socketio_redis::fred::interfaces::{EventInterface, PubsubInterface};
use socketio_redis::redis::{Link, LinkOptions};
use socketio_server::{AdapterError, Binary};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};

use crate::redis_server::{RedisCluster, RedisServer};
use crate::servers::{Node, SOON, hex, names, next_on, peer, raw_clients, wait_for_nodes};

/// The adapters' request timeout in these tests.
const REQUESTS: Duration = Duration::from_millis(500);

/// A node with the classic adapter and the tests' request timeout.
async fn node(redis: &RedisServer) -> Node {
    let mut adapter = RedisAdapterOptions::default();
    adapter.requests_timeout = REQUESTS;
    node_with(&redis.url(), adapter).await
}

async fn node_with(url: &str, adapter: RedisAdapterOptions) -> Node {
    Node::start(url, |link| adapter_factory(link, adapter)).await
}

/// Two nodes on one Redis, each subscribed.
async fn pair(redis: &RedisServer) -> (Node, Node) {
    let (a, b) = (node(redis).await, node(redis).await);
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_the_right_clients_on_every_node_once() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let mut a2 = peer(&a, "a2", &["r2"]).await;
    let mut b1 = peer(&b, "b1", &["r1"]).await;
    let mut b2 = peer(&b, "b2", &[]).await;

    let ns = a.ns();
    ns.emit("all", &(1,)).unwrap();
    ns.to("r1").emit("r1", &(2,)).unwrap();
    ns.broadcast().except("r1").emit("not-r1", &(3,)).unwrap();
    ns.to("r1").to("r2").emit("r1-or-r2", &(4,)).unwrap();
    ns.to(&b2.id()).emit("to-b2", &(5,)).unwrap();
    ns.broadcast().volatile().emit("volatile", &(6,)).unwrap();
    ns.broadcast().local().emit("local", &(7,)).unwrap();
    // And from the other node, with bytes.
    b.ns()
        .to("r1")
        .emit("bytes", &(Binary(Bytes::from_static(&[1, 2, 3])),))
        .unwrap();
    // Redis keeps one publisher's order; the marker goes after all of them.
    sleep(Duration::from_millis(100)).await;
    ns.emit("end", &()).unwrap();

    // Each node's own emits arrive before the other's: compare as sets,
    // and count to see each came once.
    let got = [
        a1.until("end").await,
        a2.until("end").await,
        b1.until("end").await,
        b2.until("end").await,
    ];
    let want: [&[&str]; 4] = [
        &["all", "bytes", "local", "r1", "r1-or-r2", "volatile"],
        &["all", "local", "not-r1", "r1-or-r2", "volatile"],
        &["all", "bytes", "r1", "r1-or-r2", "volatile"],
        &["all", "not-r1", "to-b2", "volatile"],
    ];
    for (g, w) in got.iter().zip(want) {
        let mut n = names(g);
        n.sort_unstable();
        assert_eq!(n, w);
    }
    let (_, args) = got[2].iter().find(|(e, _)| e == "all").unwrap();
    assert_eq!(args, &[json!(1)]);
    // The bytes arrived as bytes on both nodes.
    for g in [&got[0], &got[2]] {
        let (_, args) = g.iter().find(|(e, _)| e == "bytes").unwrap();
        assert_eq!(args.len(), 1, "{args:?}");
    }
    assert_eq!(a.link.stats().malformed, 0);
    assert_eq!(b.link.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcast_keeps_its_bytes() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let p = peer(&b, "b1", &[]).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    p.socket.on("bin", move |_, (bytes, n): (Binary, u32), _| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((bytes.0, n));
        }
    });
    a.ns()
        .emit("bin", &(Binary(Bytes::from_static(&[0, 1, 255])), 7))
        .unwrap();
    let (bytes, n) = timeout(SOON, rx.recv()).await.unwrap().unwrap();
    assert_eq!((&bytes[..], n), (&[0u8, 1, 255][..], 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_across_nodes() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let a1 = peer(&a, "a1", &["r1"]).await;
    let b1 = peer(&b, "b1", &["r1", "r2"]).await;
    let b2 = peer(&b, "b2", &[]).await;

    let all = a.ns().broadcast().fetch_sockets(SOON).await.unwrap();
    let ids: BTreeSet<String> = all.iter().map(|s| s.id().to_owned()).collect();
    assert_eq!(ids, BTreeSet::from([a1.id(), b1.id(), b2.id()]));

    let r1 = b.ns().to("r1").fetch_sockets(SOON).await.unwrap();
    assert_eq!(r1.len(), 2);
    let remote = r1.iter().find(|s| s.id() == a1.id()).expect("a1 from A");
    assert_eq!(
        remote.rooms().iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([a1.id(), "r1".to_owned()])
    );
    assert_eq!(remote.data(), Some(&json!({ "name": "a1" })));
    let hs = remote.handshake();
    assert_eq!(hs["auth"]["name"], "a1");
    assert!(
        hs["url"].as_str().unwrap().starts_with("/socket.io/"),
        "{hs}"
    );
    assert!(hs["issued"].as_u64().unwrap() > 1 << 32, "{hs}");

    let ex = a
        .ns()
        .broadcast()
        .except("r1")
        .fetch_sockets(SOON)
        .await
        .unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].id(), b2.id());
    let local = a
        .ns()
        .broadcast()
        .local()
        .fetch_sockets(SOON)
        .await
        .unwrap();
    assert_eq!(local.len(), 1);

    // What a remote socket can be made to do from here.
    let b2_on_a = all.iter().find(|s| s.id() == b2.id()).unwrap();
    b2_on_a.join("joined-from-a");
    timeout(SOON, async {
        while b.ns().to("joined-from-a").sockets().is_empty() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("b2 joins from A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_leave_and_disconnect_across_nodes() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
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
    a.ns().to("r1").sockets_join("r9");
    timeout(SOON, async {
        while in_room(&b, "r9") != BTreeSet::from([b1.id()]) {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("b1 joins r9");
    assert_eq!(in_room(&a, "r9"), BTreeSet::from([a1.id()]));

    b.ns().to("r9").sockets_leave("r1");
    timeout(SOON, async {
        while !in_room(&a, "r1").is_empty() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a1 leaves r1");
    assert!(in_room(&b, "r1").is_empty());

    let b2_id = b2.id();
    let (tx, mut rx) = mpsc::unbounded_channel();
    b2.socket.on_disconnect(move |_, reason| {
        let _ = tx.send(reason.to_string());
    });
    a.ns().to("r2").disconnect();
    let reason = timeout(SOON, rx.recv()).await.expect("b2 disconnected");
    assert!(reason.is_some());
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
async fn server_side_emits_both_ways() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let (tx, mut heard) = mpsc::unbounded_channel();
    for (node, name) in [(&a, "A"), (&b, "B")] {
        let tx = tx.clone();
        node.ns().on_server_side("hello", move |(n,): (u32,), ack| {
            let _ = tx.send((name, n));
            if let Some(ack) = ack {
                ack.send(&json!({ "from": name, "n": n }));
            }
        });
    }
    a.ns().server_side_emit("hello", &(1,)).unwrap();
    assert_eq!(timeout(SOON, heard.recv()).await.unwrap(), Some(("B", 1)));

    let answers: Vec<Value> = a
        .ns()
        .server_side_emit_with_ack("hello", &(2,), SOON)
        .await
        .unwrap();
    assert_eq!(answers, [json!({ "from": "B", "n": 2 })]);
    let answers: Vec<Value> = b
        .ns()
        .server_side_emit_with_ack("hello", &(3,), SOON)
        .await
        .unwrap();
    assert_eq!(answers, [json!({ "from": "A", "n": 3 })]);
    // The sender's own handler never runs.
    assert_eq!(heard.recv().await, Some(("B", 2)));
    assert_eq!(heard.recv().await, Some(("A", 3)));
    assert!(heard.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_with_acks_across_nodes() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let _a1 = peer(&a, "a1", &["r1"]).await;
    let _b1 = peer(&b, "b1", &["r1"]).await;
    let _b2 = peer(&b, "b2", &[]).await;

    let acks = a
        .ns()
        .broadcast()
        .emit_with_ack::<_, String>("ask", &(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(acks.complete);
    assert_eq!(acks.local.len(), 1);
    assert_eq!(acks.remote.len(), 2);
    let all: BTreeSet<String> = acks.answers().into_iter().collect();
    assert_eq!(all, BTreeSet::from(["a1".into(), "b1".into(), "b2".into()]));

    let acks = b
        .ns()
        .to("r1")
        .emit_with_ack::<_, String>("ask", &(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(acks.complete);
    let all: BTreeSet<String> = acks.answers().into_iter().collect();
    assert_eq!(all, BTreeSet::from(["a1".into(), "b1".into()]));

    // No socket anywhere: complete at once, with nothing.
    let started = tokio::time::Instant::now();
    let acks = a
        .ns()
        .to("nobody")
        .emit_with_ack::<_, String>("ask", &(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(acks.complete);
    assert!(acks.answers().is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_rooms_and_server_count() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let a1 = peer(&a, "a1", &["r1"]).await;
    let b1 = peer(&b, "b1", &["r2"]).await;
    assert_eq!(a.ns().server_count().await, 2);
    assert_eq!(b.ns().server_count().await, 2);
    let rooms = a.ns().all_rooms(SOON).await.unwrap();
    let want: std::collections::HashSet<String> =
        ["r1".into(), "r2".into(), a1.id(), b1.id()].into();
    assert_eq!(rooms, want);
    assert_eq!(b.ns().all_rooms(SOON).await.unwrap(), want);
    // Another namespace is counted apart: nobody else serves it.
    let admin = a.server.of("/admin");
    wait_for_nodes(&admin, 1).await;
    b.server.of("/admin");
    wait_for_nodes(&admin, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_run() {
    let mut redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut b1 = peer(&b, "b1", &[]).await;
    // B's handler answers late: A's request is still waiting when Redis dies.
    b.ns().on_server_side("slow", |(): (), ack| {
        tokio::spawn(async move {
            sleep(Duration::from_secs(3)).await;
            if let Some(ack) = ack {
                ack.send(&"late");
            }
        });
    });
    let ns = a.ns();
    let asked = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let r = ns
            .server_side_emit_with_ack::<_, Value>("slow", &(), Duration::from_secs(10))
            .await;
        (r, started.elapsed())
    });
    sleep(Duration::from_millis(100)).await;
    redis.kill();
    let (result, took) = timeout(SOON, asked).await.expect("no hang").unwrap();
    match result {
        Err((AdapterError::Timeout { received, expected }, partial)) => {
            assert_eq!((received, expected, partial.len()), (0, 1, 0));
        }
        other => panic!("{other:?}"),
    }
    assert!(took < REQUESTS + Duration::from_millis(400), "{took:?}");

    // While Redis is down: requests fail at once, broadcasts are dropped.
    sleep(Duration::from_millis(100)).await;
    let err = timeout(SOON, a.ns().broadcast().fetch_sockets(SOON))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
    a.ns().emit("lost", &()).unwrap();

    redis.restart();
    // Both links reconnect and resubscribe by themselves.
    wait_for_nodes(&a.ns(), 2).await;
    let delivered = timeout(SOON, async {
        loop {
            a.ns().emit("back", &()).unwrap();
            sleep(Duration::from_millis(50)).await;
            if let Ok((event, _)) = b1.events.try_recv() {
                return event;
            }
        }
    })
    .await
    .expect("broadcasts flow again");
    assert_eq!(delivered, "back");
    assert!(a.link.stats().outbound_dropped >= 1);
    let answers: Vec<Value> = a
        .ns()
        .server_side_emit_with_ack("slow", &(), Duration::from_millis(200))
        .await
        .unwrap_err()
        .1;
    assert!(answers.is_empty());
    b.ns().on_server_side("quick", |(): (), ack| {
        if let Some(ack) = ack {
            ack.send(&"quick");
        }
    });
    let answers: Vec<Value> = a
        .ns()
        .server_side_emit_with_ack("quick", &(), SOON)
        .await
        .unwrap();
    assert_eq!(answers, [json!("quick")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_node_stops_being_counted() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let _b1 = peer(&b, "b1", &["r1"]).await;
    b.ns().on_server_side("slow", |(): (), ack| {
        tokio::spawn(async move {
            sleep(Duration::from_secs(3)).await;
            if let Some(ack) = ack {
                ack.send(&"late");
            }
        });
    });
    let ns = a.ns();
    let asked = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let r = ns
            .server_side_emit_with_ack::<_, Value>("slow", &(), Duration::from_secs(10))
            .await;
        (r, started.elapsed())
    });
    sleep(Duration::from_millis(100)).await;
    let Node { server, link } = b;
    server.close();
    drop(link);
    let (result, took) = timeout(SOON, asked).await.expect("no hang").unwrap();
    assert!(
        matches!(result, Err((AdapterError::Timeout { .. }, _))),
        "{result:?}"
    );
    assert!(took < REQUESTS + Duration::from_millis(400), "{took:?}");
    wait_for_nodes(&a.ns(), 1).await;
    // Alone now: requests answer at once, from this node only.
    let sockets = a.ns().broadcast().fetch_sockets(SOON).await.unwrap();
    assert!(sockets.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_adapter_leaves_the_cluster() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    b.ns().adapter().close();
    wait_for_nodes(&a.ns(), 1).await;
    // It no longer hears the others: it says so rather than pretend.
    let fetched = b.ns().broadcast().fetch_sockets(SOON).await;
    assert!(
        matches!(fetched, Err(AdapterError::Unavailable(_))),
        "{fetched:?}"
    );
    let rooms = b.ns().adapter().all_rooms(SOON).await;
    assert!(
        matches!(rooms, Err(AdapterError::Unavailable(_))),
        "{rooms:?}"
    );
}

/// A node's graceful shutdown closes its adapters once its clients are
/// gone: the others stop counting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shut_down_server_leaves_the_cluster() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let _b1 = peer(&b, "b1", &[]).await;
    assert_eq!(b.server.shutdown(Duration::from_secs(2)).await, 0);
    wait_for_nodes(&a.ns(), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_ignored() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let (raw, _) = raw_clients(&redis).await;
    let uid = a.ns().adapter().uid().to_owned();
    let channels = [
        "socket.io#/#".to_owned(),
        "socket.io#/#r1#".to_owned(),
        "socket.io-request#/#".to_owned(),
        "socket.io-response#/#".to_owned(),
        format!("socket.io-response#/#{uid}#"),
    ];
    let mut deep = vec![0x91u8; 10_000];
    deep.push(0xc0);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        b"\xc1".to_vec(),
        b"{".to_vec(),
        b"{\"type\":7}".to_vec(),
        b"{\"type\":7,\"requestId\":\"x\",\"packet\":{\"type\":9}}".to_vec(),
        b"{\"type\":5,\"requestId\":5,\"opts\":[]}".to_vec(),
        b"{\"type\":6,\"requestId\":\"q\",\"data\":[]}".to_vec(),
        b"{\"type\":8,\"requestId\":\"q\",\"clientCount\":-1}".to_vec(),
        b"{\"requestId\":\"nobody\",\"sockets\":[1,{\"id\":2}]}".to_vec(),
        // [uid, packet, opts] with a packet of a reserved event, and of no event.
        vec![
            0x93, 0xa1, b'x', 0x82, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't',
            b'a', 0x91, 0xa7, b'c', b'o', b'n', b'n', b'e', b'c', b't', 0x80,
        ],
        vec![
            0x93, 0xa1, b'x', 0x81, 0xa4, b't', b'y', b'p', b'e', 0x02, 0x80,
        ],
        vec![0x93, 0xa1, b'x', 0xc0, 0xc0],
        // An array claiming 4 billion elements, a string claiming 4 GB.
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        deep,
    ];
    for channel in &channels {
        for g in &garbage {
            let _: i64 = raw
                .publish(channel.as_str(), Bytes::from(g.clone()))
                .await
                .unwrap();
        }
    }
    // Still working, both ways.
    b.ns().emit("after", &()).unwrap();
    assert_eq!(names(&a1.until("after").await), Vec::<&str>::new());
    assert_eq!(a.ns().server_count().await, 2);
    assert!(a.ns().all_rooms(SOON).await.unwrap().contains("r1"));
    let stats = a.link.stats();
    assert!(stats.malformed >= 10, "{stats:?}");
    assert_eq!(stats.inbound_dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_node_bytes_on_redis() {
    let redis = RedisServer::start();
    let a = node(&redis).await;
    wait_for_nodes(&a.ns(), 1).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let (raw, watch) = raw_clients(&redis).await;
    let mut heard = watch.message_rx();
    watch.psubscribe("socket.io*").await.unwrap();
    // One subscription each, from one connection: the node counts once.
    let uid = a.ns().adapter().uid().to_owned();
    let own = format!("socket.io-response#/#{uid}#");
    let counts: std::collections::HashMap<String, i64> = raw
        .pubsub_numsub(vec![
            "socket.io-request#/#",
            "socket.io-response#/#",
            own.as_str(),
        ])
        .await
        .unwrap();
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");

    // Node's broadcast vector (§2.5), uid "abc", to room r1.
    let vector: Vec<u8> = [
        0x93, 0xa3, 0x61, 0x62, 0x63, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61,
        0x74, 0x61, 0x92, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xc4, 0x02, 0x01, 0x02, 0xa3, 0x6e,
        0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa2, 0x72, 0x31,
        0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    ]
    .to_vec();
    let _: i64 = raw
        .publish("socket.io#/#r1#", Bytes::from(vector.clone()))
        .await
        .unwrap();
    let got = timeout(SOON, a1.events.recv()).await.unwrap().unwrap();
    assert_eq!(got.0, "hello");

    // Our broadcast to r1 is Node's format: the same bytes but our uid.
    a.ns()
        .to("r1")
        .emit("hello", &(Binary(Bytes::from_static(&[1, 2])),))
        .unwrap();
    let want = [&[0x93, 0xa6][..], uid.as_bytes(), &vector[5..]].concat();
    let published = timeout(SOON, async {
        loop {
            let m = heard.recv().await.unwrap();
            let bytes = m.value.into_bytes().unwrap();
            if &*m.channel == "socket.io#/#r1#" && bytes != vector {
                return bytes;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&published[..], &want[..]);

    // A Node node's fetch request, answered in Node's format.
    let _: i64 = raw
        .publish(
            "socket.io-request#/#",
            r#"{"uid":"kxFjvD","requestId":"REQ001","type":5,"opts":{"rooms":["r1"],"except":[]}}"#,
        )
        .await
        .unwrap();
    let answer = timeout(SOON, async {
        loop {
            let m = heard.recv().await.unwrap();
            if &*m.channel == "socket.io-response#/#" {
                return m.value.into_bytes().unwrap();
            }
        }
    })
    .await
    .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["requestId"], "REQ001");
    assert_eq!(answer["sockets"][0]["id"], a1.id());
    assert_eq!(answer["sockets"][0]["data"], json!({ "name": "a1" }));
    assert!(answer["sockets"][0]["handshake"]["query"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_on_the_requesters_own_channel() {
    let redis = RedisServer::start();
    let mut specific = RedisAdapterOptions::default();
    specific.requests_timeout = REQUESTS;
    specific.publish_on_specific_response_channel = true;
    let a = node_with(&redis.url(), specific).await;
    let b = node(&redis).await;
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
    let a1 = peer(&a, "a1", &[]).await;
    let b1 = peer(&b, "b1", &[]).await;
    let (_, watch) = raw_clients(&redis).await;
    let mut heard = watch.message_rx();
    watch.psubscribe("socket.io-response*").await.unwrap();

    // A answers B on B's own channel...
    let fetched = b.ns().broadcast().fetch_sockets(SOON).await.unwrap();
    assert_eq!(fetched.len(), 2);
    assert!(fetched.iter().any(|s| s.id() == a1.id()));
    let b_uid = b.ns().adapter().uid().to_owned();
    let (channel, _) = next_on(&mut heard, "socket.io-response").await;
    assert_eq!(channel, format!("socket.io-response#/#{b_uid}#"));
    // ...and B answers A on the shared one, where A listens too.
    let fetched = a.ns().broadcast().fetch_sockets(SOON).await.unwrap();
    assert!(fetched.iter().any(|s| s.id() == b1.id()));
    let (channel, _) = next_on(&mut heard, "socket.io-response").await;
    assert_eq!(channel, "socket.io-response#/#");
}

/// What `@socket.io/redis-emitter` publishes (spec §4.2, §4.3): no uid on
/// joins, leaves and disconnects, `opts` as {rooms, flags, except}.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obeys_the_emitter() {
    let redis = RedisServer::start();
    let a = node(&redis).await;
    wait_for_nodes(&a.ns(), 1).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let (tx, mut heard) = mpsc::unbounded_channel();
    a.ns().on_server_side("e", move |(arg,): (Value,), _| {
        let _ = tx.send(arg);
    });
    let (raw, _) = raw_clients(&redis).await;
    let publish = |channel: &'static str, bytes: Bytes| {
        let raw = raw.clone();
        async move {
            let _: i64 = raw.publish(channel, bytes).await.unwrap();
        }
    };
    // em.to("r1").emit("hello", Buffer.from([1,2]))
    publish(
        "socket.io#/#r1#",
        hex(
            "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a2 72 31 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90",
        ),
    )
    .await;
    assert_eq!(
        timeout(SOON, a1.events.recv()).await.unwrap().unwrap().0,
        "hello"
    );

    publish(
        "socket.io-request#/#",
        Bytes::from_static(br#"{"type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r5"]}"#),
    )
    .await;
    let id = a1.id();
    timeout(SOON, async {
        while !a.ns().to("r5").sockets().iter().any(|s| s.id() == id) {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("joined r5");

    publish(
        "socket.io-request#/#",
        Bytes::from_static(br#"{"uid":"emitter","type":6,"data":["e",{"a":1}]}"#),
    )
    .await;
    assert_eq!(
        timeout(SOON, heard.recv()).await.unwrap(),
        Some(json!({"a": 1}))
    );

    // Another namespace's broadcast does not reach this one.
    publish(
        "socket.io#/admin#",
        hex(
            "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 91 a3 68 65 79 a3 6e 73 70 a6 2f 61 64 6d 69 6e 83 a5 72 6f 6f 6d 73 92 a1 61 a1 62 a5 66 6c 61 67 73 81 a8 76 6f 6c 61 74 69 6c 65 c3 a6 65 78 63 65 70 74 91 a1 63",
        ),
    )
    .await;

    let (tx, mut gone) = mpsc::unbounded_channel();
    a1.socket.on_disconnect(move |_, _| {
        let _ = tx.send(());
    });
    publish(
        "socket.io-request#/#",
        Bytes::from_static(br#"{"type":4,"opts":{"rooms":["r5"],"except":[]},"close":false}"#),
    )
    .await;
    timeout(SOON, gone.recv())
        .await
        .expect("disconnected by the emitter");
    // Nothing else came: not the /admin broadcast.
    while let Ok((event, _)) = a1.events.try_recv() {
        assert_ne!(event, "hey");
    }
}

/// In a Redis Cluster each node counts only its own subscribers: the
/// adapter adds up every primary's count, and broadcasts still reach all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_nodes_across_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let mut options = RedisAdapterOptions::default();
    options.requests_timeout = Duration::from_secs(2);
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node_with(&cluster.url(), options.clone()).await);
    }
    for n in &nodes {
        wait_for_nodes(&n.ns(), 3).await;
    }
    let mut peers = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        peers.push(peer(n, &format!("p{i}"), &["r1"]).await);
    }
    nodes[0].ns().to("r1").emit("hi", &()).unwrap();
    for p in &mut peers {
        let (event, _) = timeout(SOON, p.events.recv()).await.unwrap().unwrap();
        assert_eq!(event, "hi");
    }
    let all = nodes[2].ns().broadcast().fetch_sockets(SOON).await.unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_no_redis_fails_at_once() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let started = tokio::time::Instant::now();
    let made = socketio_redis::classic::create_adapter(&url, RedisAdapterOptions::default()).await;
    assert!(made.is_err());
    assert!(started.elapsed() < SOON);
    assert!(
        Link::connect("not a url", LinkOptions::default())
            .await
            .is_err()
    );
}
