//! The sharded adapter on a real Redis 7: two of our servers, each with its
//! own link, and clients on both, in each subscription mode; room channels
//! following the rooms; Redis killed and restarted; strangers publishing
//! garbage; and Node's exact bytes both ways.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio_redis::cluster_message::{SubscriptionMode, looks_like_socket_id};
use socketio_redis::fred::clients::Client;
use socketio_redis::fred::interfaces::{EventInterface, PubsubInterface};
use socketio_redis::redis::LinkOptions;
use socketio_redis::sharded::{ShardedAdapterOptions, sharded_adapter_factory};
use socketio_server::{AdapterError, Binary};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};

use crate::redis_server::{RedisCluster, RedisServer};
use crate::servers::{Node, SOON, hex, names, next_on, peer, raw_clients, serve, wait_for_nodes};

/// The adapters' request timeout in these tests.
const REQUESTS: Duration = Duration::from_millis(500);

async fn node(url: &str, mode: SubscriptionMode) -> Node {
    let mut adapter = ShardedAdapterOptions::default();
    adapter.requests_timeout = REQUESTS;
    adapter.subscription_mode = mode;
    Node::start(url, |link| sharded_adapter_factory(link, adapter)).await
}

/// Two nodes on one Redis, each subscribed.
async fn pair(redis: &RedisServer, mode: SubscriptionMode) -> (Node, Node) {
    let (a, b) = (
        node(&redis.url(), mode).await,
        node(&redis.url(), mode).await,
    );
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
    (a, b)
}

/// How many connections listen on shard channel `channel`.
async fn listeners(raw: &Client, channel: &str) -> i64 {
    let counts: std::collections::HashMap<String, i64> =
        raw.pubsub_shardnumsub(channel).await.unwrap();
    counts.get(channel).copied().unwrap_or(0)
}

/// Waits until `channel` has `n` listeners.
async fn wait_for_listeners(raw: &Client, channel: &str, n: i64) {
    timeout(SOON, async {
        while listeners(raw, channel).await != n {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{channel} never had {n} listeners"));
}

/// Broadcasts of every kind from both nodes reach exactly the clients
/// they are for, once each.
async fn broadcasts_in(mode: SubscriptionMode) {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, mode).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let mut a2 = peer(&a, "a2", &["r2"]).await;
    let mut b1 = peer(&b, "b1", &["r1"]).await;
    let mut b2 = peer(&b, "b2", &[]).await;
    // The room channels are in place once B's rooms are listened on.
    let (raw, _) = raw_clients(&redis).await;
    let private = mode == SubscriptionMode::DynamicPrivate;
    if mode != SubscriptionMode::Static {
        wait_for_listeners(&raw, "socket.io#/#r1#", 2).await;
        wait_for_listeners(&raw, "socket.io#/#r2#", 1).await;
    }
    // Node's publishers tell a socket id by its 20 characters (spec 3.3).
    assert!(looks_like_socket_id(&b2.id()), "{}", b2.id());
    let own = format!("socket.io#/#{}#", b2.id());
    wait_for_listeners(&raw, &own, i64::from(private)).await;

    let ns = a.ns();
    ns.emit("all", &(1,)).unwrap();
    ns.to("r1").emit("r1", &(2,)).unwrap();
    ns.broadcast().except("r1").emit("not-r1", &(3,)).unwrap();
    ns.to("r1").to("r2").emit("r1-or-r2", &(4,)).unwrap();
    ns.to(&b2.id()).emit("to-b2", &(5,)).unwrap();
    ns.broadcast().volatile().emit("volatile", &(6,)).unwrap();
    ns.broadcast().local().emit("local", &(7,)).unwrap();
    b.ns()
        .to("r1")
        .emit("bytes", &(Binary(Bytes::from_static(&[1, 2, 3])),))
        .unwrap();
    // Each channel keeps one publisher's order, not several channels':
    // the marker goes after all of them, on the main channel.
    sleep(Duration::from_millis(100)).await;
    ns.emit("end", &()).unwrap();

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
        assert_eq!(n, w, "{mode:?}");
    }
    for g in [&got[0], &got[2]] {
        let (_, args) = g.iter().find(|(e, _)| e == "bytes").unwrap();
        assert_eq!(args.len(), 1, "{args:?}");
    }
    assert_eq!(a.link.stats().malformed, 0);
    assert_eq!(b.link.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_dynamic() {
    broadcasts_in(SubscriptionMode::Dynamic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_static() {
    broadcasts_in(SubscriptionMode::Static).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_dynamic_private() {
    broadcasts_in(SubscriptionMode::DynamicPrivate).await;
}

/// A room's channel is listened on while the room has a socket here, and
/// dropped with its last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_channels_follow_the_rooms() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    let (raw, _) = raw_clients(&redis).await;
    let a1 = peer(&a, "a1", &["r1"]).await;
    let b1 = peer(&b, "b1", &["r1", "r2"]).await;
    wait_for_listeners(&raw, "socket.io#/#r1#", 2).await;
    wait_for_listeners(&raw, "socket.io#/#r2#", 1).await;
    // A socket's own room has no channel in dynamic mode.
    assert_eq!(
        listeners(&raw, &format!("socket.io#/#{}#", a1.id())).await,
        0
    );
    b.ns().to(&b1.id()).local().sockets_leave("r2");
    wait_for_listeners(&raw, "socket.io#/#r2#", 0).await;
    // Its last socket here leaves by disconnecting.
    a1.socket.disconnect();
    wait_for_listeners(&raw, "socket.io#/#r1#", 1).await;
    a.ns().to("r1").sockets_join("r3");
    wait_for_listeners(&raw, "socket.io#/#r3#", 1).await;
    // Closing the adapter drops every channel.
    b.ns().adapter().close();
    wait_for_listeners(&raw, "socket.io#/#r3#", 0).await;
    wait_for_listeners(&raw, "socket.io#/#r1#", 0).await;
    wait_for_nodes(&a.ns(), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_and_all_rooms_across_nodes() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    let a1 = peer(&a, "a1", &["r1"]).await;
    let b1 = peer(&b, "b1", &["r1"]).await;
    let b2 = peer(&b, "b2", &["r2"]).await;

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
    assert_eq!(remote.handshake()["auth"]["name"], "a1");
    let ex = a
        .ns()
        .broadcast()
        .except("r1")
        .fetch_sockets(SOON)
        .await
        .unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].id(), b2.id());

    // No room listing in the protocol: gathered from the sockets.
    let rooms = a.ns().all_rooms(SOON).await.unwrap();
    let want: std::collections::HashSet<String> =
        ["r1".into(), "r2".into(), a1.id(), b1.id(), b2.id()].into();
    assert_eq!(rooms, want);

    // What a remote socket can be made to do from here.
    let b2_on_a = all.iter().find(|s| s.id() == b2.id()).unwrap();
    b2_on_a.emit("direct", &(1,)).unwrap();
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
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
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
    // Applied here at once, there when the message comes.
    assert_eq!(in_room(&a, "r9"), BTreeSet::from([a1.id()]));
    timeout(SOON, async {
        while in_room(&b, "r9") != BTreeSet::from([b1.id()]) {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("b1 joins r9");

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
    timeout(SOON, rx.recv()).await.expect("b2 disconnected");
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
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
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
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
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
    // To one room: still on the main channel, every node counts.
    let acks = b
        .ns()
        .to("r1")
        .emit_with_ack::<_, String>("ask", &(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(acks.complete);
    let all: BTreeSet<String> = acks.answers().into_iter().collect();
    assert_eq!(all, BTreeSet::from(["a1".into(), "b1".into()]));
    let started = tokio::time::Instant::now();
    let acks = a
        .ns()
        .to("nobody")
        .emit_with_ack::<_, String>("ask", &(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(acks.complete && acks.answers().is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_count_per_namespace() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    assert_eq!(a.ns().server_count().await, 2);
    let admin = a.server.of("/admin");
    wait_for_nodes(&admin, 1).await;
    b.server.of("/admin");
    wait_for_nodes(&admin, 2).await;
    // A closed adapter leaves, and says it cannot reach the others.
    b.ns().adapter().close();
    wait_for_nodes(&a.ns(), 1).await;
    let fetched = b.ns().broadcast().fetch_sockets(SOON).await;
    assert!(
        matches!(fetched, Err(AdapterError::Unavailable(_))),
        "{fetched:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_run() {
    let mut redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    let mut b1 = peer(&b, "b1", &["r1"]).await;
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

    sleep(Duration::from_millis(100)).await;
    let err = timeout(SOON, a.ns().broadcast().fetch_sockets(SOON))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
    a.ns().to("r1").emit("lost", &()).unwrap();

    redis.restart();
    // Both links reconnect and subscribe every shard channel again, the
    // room's included.
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
    let delivered = timeout(SOON, async {
        loop {
            a.ns().to("r1").emit("back", &()).unwrap();
            sleep(Duration::from_millis(50)).await;
            if let Ok((event, _)) = b1.events.try_recv() {
                return event;
            }
        }
    })
    .await
    .expect("room broadcasts flow again");
    assert_eq!(delivered, "back");
    assert!(a.link.stats().outbound_dropped >= 1);
    b.ns().on_server_side("quick", |(): (), ack| {
        if let Some(ack) = ack {
            ack.send(&"quick");
        }
    });
    // Each link reconnects on its own backoff: requests are answered
    // again once both are back.
    let answers: Vec<Value> = timeout(SOON, async {
        loop {
            match a.ns().server_side_emit_with_ack("quick", &(), SOON).await {
                Ok(answers) => return answers,
                Err(_) => sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("requests answered again");
    assert_eq!(answers, [json!("quick")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_ignored() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let (raw, _) = raw_clients(&redis).await;
    wait_for_listeners(&raw, "socket.io#/#r1#", 1).await;
    let uid = a.ns().adapter().uid().to_owned();
    let channels = [
        "socket.io#/#".to_owned(),
        "socket.io#/#r1#".to_owned(),
        format!("socket.io#/#{uid}#"),
    ];
    let mut deep = vec![0x91u8; 10_000];
    deep.push(0xc0);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        b"\xc1".to_vec(),
        b"{".to_vec(),
        b"[1,2]".to_vec(),
        br#"{"type":3,"uid":"x","nsp":"/"}"#.to_vec(),
        br#"{"type":3,"uid":"x","nsp":"/","data":{"packet":{"type":9},"opts":{}}}"#.to_vec(),
        br#"{"type":3,"uid":"x","nsp":"/","data":{"packet":{"type":2,"data":["connect"]},"opts":{}}}"#.to_vec(),
        br#"{"type":7,"uid":"x","nsp":"/","data":{"opts":[]}}"#.to_vec(),
        br#"{"type":9,"uid":"x","nsp":"/","data":{"packet":[]}}"#.to_vec(),
        br#"{"type":11,"uid":"x","nsp":"/","data":{"requestId":"q","clientCount":-1}}"#.to_vec(),
        br#"{"type":8,"uid":"x","nsp":"/","data":{"requestId":"nobody","sockets":[1,{"id":2}]}}"#.to_vec(),
        br#"{"type":99,"uid":"x","nsp":"/"}"#.to_vec(),
        // Heartbeats are not for this adapter: ignored, not malformed.
        br#"{"type":2,"uid":"x","nsp":"/"}"#.to_vec(),
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        deep,
    ];
    for channel in &channels {
        for g in &garbage {
            let _: i64 = raw
                .spublish(channel.as_str(), Bytes::from(g.clone()))
                .await
                .unwrap();
        }
    }
    b.ns().to("r1").emit("after", &()).unwrap();
    assert_eq!(names(&a1.until("after").await), Vec::<&str>::new());
    assert_eq!(a.ns().server_count().await, 2);
    assert!(a.ns().all_rooms(SOON).await.unwrap().contains("r1"));
    let stats = a.link.stats();
    assert!(stats.malformed >= 30, "{stats:?}");
    assert_eq!(stats.inbound_dropped, 0);
}

/// Node's bytes (spec §3.5) in, and ours out: a broadcast, and the
/// answers to a Node node's fetch and broadcast with acks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_node_bytes_on_redis() {
    let redis = RedisServer::start();
    let a = node(&redis.url(), SubscriptionMode::Dynamic).await;
    wait_for_nodes(&a.ns(), 1).await;
    let mut a1 = peer(&a, "a1", &["r1"]).await;
    let (raw, watch) = raw_clients(&redis).await;
    let mut heard = watch.message_rx();
    let node_uid = "ffffffffffffffff";
    for c in [
        "socket.io#/#r1#".to_owned(),
        format!("socket.io#/#{node_uid}#"),
    ] {
        watch.ssubscribe(c).await.unwrap();
    }
    // One subscription each, from one connection: the node counts once.
    let uid = a.ns().adapter().uid().to_owned();
    assert_eq!(uid.len(), 16);
    assert_eq!(listeners(&raw, "socket.io#/#").await, 1);
    assert_eq!(listeners(&raw, &format!("socket.io#/#{uid}#")).await, 1);
    wait_for_listeners(&raw, "socket.io#/#r1#", 2).await;

    let vector = hex(
        "84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 91 a2 72 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80 a3 75 69 64 b0 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 a3 6e 73 70 a1 2f",
    );
    let _: i64 = raw
        .spublish("socket.io#/#r1#", vector.clone())
        .await
        .unwrap();
    let (event, args) = timeout(SOON, a1.events.recv()).await.unwrap().unwrap();
    assert_eq!((event.as_str(), args.len()), ("hello", 1));

    // Our broadcast to r1: the same bytes but our uid.
    a.ns()
        .to("r1")
        .emit("hello", &(Binary(Bytes::from_static(&[1, 2])),))
        .unwrap();
    let want = [&vector[..79], uid.as_bytes(), &vector[95..]].concat();
    let published = timeout(SOON, async {
        loop {
            let (channel, bytes) = next_on(&mut heard, "socket.io#/#r1#").await;
            if bytes != vector {
                return (channel, bytes);
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&published.1[..], &want[..]);

    // A Node node's fetch, answered on its own channel in Node's form.
    let _: i64 = raw
        .spublish(
            "socket.io#/#",
            format!(r#"{{"type":7,"data":{{"opts":{{"rooms":["r1"],"except":[],"flags":{{}}}},"requestId":"acc78a057a614f06"}},"uid":"{node_uid}","nsp":"/"}}"#),
        )
        .await
        .unwrap();
    let (_, answer) = next_on(&mut heard, &format!("socket.io#/#{node_uid}#")).await;
    let text = std::str::from_utf8(&answer).unwrap();
    assert!(
        text.starts_with(r#"{"type":8,"data":{"requestId":"acc78a057a614f06","sockets":[{"id":""#),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(r#"}},"uid":"{uid}","nsp":"/"}}"#)),
        "{text}"
    );
    let answer: Value = serde_json::from_str(text).unwrap();
    assert_eq!(answer["data"]["sockets"][0]["id"], a1.id());
    assert_eq!(
        answer["data"]["sockets"][0]["data"],
        json!({ "name": "a1" })
    );

    // A Node node's broadcast with acks: the count, then the answer.
    let _: i64 = raw
        .spublish(
            "socket.io#/#",
            format!(r#"{{"type":3,"data":{{"packet":{{"type":2,"data":["ask"]}},"requestId":"d17609e153b66d15","opts":{{"rooms":[],"except":[],"flags":{{"timeout":1000}}}}}},"uid":"{node_uid}","nsp":"/"}}"#),
        )
        .await
        .unwrap();
    let (_, count) = next_on(&mut heard, &format!("socket.io#/#{node_uid}#")).await;
    assert_eq!(
        std::str::from_utf8(&count).unwrap(),
        format!(
            r#"{{"type":11,"data":{{"requestId":"d17609e153b66d15","clientCount":1}},"uid":"{uid}","nsp":"/"}}"#
        )
    );
    let (_, ack) = next_on(&mut heard, &format!("socket.io#/#{node_uid}#")).await;
    assert_eq!(
        std::str::from_utf8(&ack).unwrap(),
        format!(
            r#"{{"type":12,"data":{{"requestId":"d17609e153b66d15","packet":"a1"}},"uid":"{uid}","nsp":"/"}}"#
        )
    );
}

/// In a Redis Cluster each shard channel lives on its slot's shard: the
/// adapter adds up every primary's count, and its subscriptions land where
/// the publishes go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_nodes_across_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&cluster.url(), SubscriptionMode::Dynamic).await);
    }
    for n in &nodes {
        wait_for_nodes(&n.ns(), 3).await;
    }
    let mut peers = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let room = format!("room-{i}");
        peers.push(peer(n, &format!("p{i}"), &["all", &room]).await);
    }
    // Rooms hash to different slots: each broadcast reaches its room's
    // socket, wherever the room's channel lives. (Sent again until the
    // rooms' channels are subscribed on their shards.)
    let mut got = vec![BTreeSet::new(); 3];
    timeout(SOON, async {
        while got.iter().any(|g| g.len() < 2) {
            for i in 0..3 {
                nodes[0]
                    .ns()
                    .to(&format!("room-{i}"))
                    .emit("mine", &(i,))
                    .unwrap();
            }
            nodes[1].ns().to("all").emit("hi", &()).unwrap();
            sleep(Duration::from_millis(100)).await;
            for (i, p) in peers.iter_mut().enumerate() {
                while let Ok((event, args)) = p.events.try_recv() {
                    if event == "mine" {
                        assert_eq!(args, [json!(i)]);
                    }
                    got[i].insert(event);
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not every room reached: {got:?}"));
    let all = nodes[2].ns().broadcast().fetch_sockets(SOON).await.unwrap();
    assert_eq!(all.len(), 3);
}

/// A Redis Cluster moves the main channel's slot to another shard (a
/// resharding): the old shard drops its subscribers with a `sunsubscribe`
/// of its own, and the nodes must subscribe again where the slot now is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resharded_channel_is_subscribed_again() {
    let cluster = RedisCluster::start();
    let a = node(&cluster.url(), SubscriptionMode::Dynamic).await;
    // B only listens: it learns of the move by reading the slot map again.
    let mut link = LinkOptions::default();
    link.cluster_refresh = Duration::from_millis(300);
    let b = Node::start_with(&cluster.url(), link, |link| {
        sharded_adapter_factory(link, ShardedAdapterOptions::default())
    })
    .await;
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
    let mut b1 = peer(&b, "b1", &[]).await;
    cluster.move_slot_of("socket.io#/#");
    let started = tokio::time::Instant::now();
    let delivered = timeout(SOON, async {
        loop {
            a.ns().emit("again", &()).unwrap();
            sleep(Duration::from_millis(50)).await;
            if let Ok((event, _)) = b1.events.try_recv() {
                return event;
            }
        }
    })
    .await
    .expect("broadcasts flow again after the resharding");
    assert_eq!(delivered, "again");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    wait_for_nodes(&a.ns(), 2).await;
    wait_for_nodes(&b.ns(), 2).await;
}

/// A namespace other than `/` keeps to itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_apart() {
    let redis = RedisServer::start();
    let (a, b) = pair(&redis, SubscriptionMode::Dynamic).await;
    for n in [&a, &b] {
        serve(&n.server.of("/admin"));
    }
    wait_for_nodes(&a.server.of("/admin"), 2).await;
    let mut root = peer(&b, "root", &["r1"]).await;
    let mut admin = crate::servers::peer_in(&b, "/admin", "admin", &["r1"]).await;
    let (raw, _) = raw_clients(&redis).await;
    wait_for_listeners(&raw, "socket.io#/#r1#", 1).await;
    wait_for_listeners(&raw, "socket.io#/admin#r1#", 1).await;
    a.server
        .of("/admin")
        .to("r1")
        .emit("for-admin", &())
        .unwrap();
    a.ns().to("r1").emit("for-root", &()).unwrap();
    sleep(Duration::from_millis(100)).await;
    a.ns().emit("end", &()).unwrap();
    a.server.of("/admin").emit("end", &()).unwrap();
    assert_eq!(names(&root.until("end").await), ["for-root"]);
    assert_eq!(names(&admin.until("end").await), ["for-admin"]);
}
