//! What the adapters' and the emitter's tests share: our servers on a
//! real Redis, each with its own link; clients of theirs that record what
//! they hear; and plain Redis clients to publish and watch by hand.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use socketio_client::{ClientOptions, Manager};
use socketio_redis::fred::clients::{Client, SubscriberClient};
use socketio_redis::fred::interfaces::ClientLike;
use socketio_redis::fred::types::config::Config;
use socketio_redis::fred::types::{Builder, Message};
use socketio_redis::redis::{Link, LinkOptions};
use socketio_server::{AdapterFactory, Namespace, Server, ServerOptions};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep, timeout};

use crate::redis_server::RedisServer;

/// How long anything that should happen may take.
pub(crate) const SOON: Duration = Duration::from_secs(5);

/// One of our servers in a cluster.
pub(crate) struct Node {
    pub(crate) server: Server,
    pub(crate) link: Link,
}

impl Node {
    /// A server on its own link to `url`, its adapter made by `adapter`;
    /// namespace `/` [`serve`]s.
    pub(crate) async fn start(url: &str, adapter: impl FnOnce(&Link) -> AdapterFactory) -> Node {
        Node::start_with(url, LinkOptions::default(), adapter).await
    }

    /// The same, with a link made with `link`.
    pub(crate) async fn start_with(
        url: &str,
        link: LinkOptions,
        adapter: impl FnOnce(&Link) -> AdapterFactory,
    ) -> Node {
        let link = Link::connect(url, link).await.expect("connect to redis");
        let mut options = ServerOptions::default();
        options.adapter = adapter(&link);
        let server = Server::bind("127.0.0.1:0", options).await.expect("bind");
        serve(&server.of("/"));
        Node { server, link }
    }

    pub(crate) fn ns(&self) -> Namespace {
        self.server.of("/")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }
}

/// Makes `ns` put each client in the rooms of its `auth.rooms`, and keep
/// its `auth.name` as its data.
pub(crate) fn serve(ns: &Namespace) {
    ns.on_connect(|socket| {
        let auth: Value = socket.handshake().auth().unwrap_or(json!({}));
        for room in auth["rooms"].as_array().into_iter().flatten() {
            socket.join(room.as_str().unwrap_or_default());
        }
        let _ = socket.set_data(&json!({ "name": auth["name"] }));
    });
}

/// Waits until `ns` counts `n` nodes (its subscriptions are in place).
pub(crate) async fn wait_for_nodes(ns: &Namespace, n: usize) {
    timeout(SOON, async {
        while ns.server_count().await != n {
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never {n} nodes"));
}

/// A client, its events as they arrive, and its answer to "ask": its name.
pub(crate) struct Peer {
    pub(crate) name: String,
    pub(crate) socket: socketio_client::Socket,
    pub(crate) events: mpsc::UnboundedReceiver<(String, Vec<Value>)>,
    _manager: Manager,
}

/// A client of `node` on `/`, in `rooms`.
pub(crate) async fn peer(node: &Node, name: &str, rooms: &[&str]) -> Peer {
    peer_in(node, "/", name, rooms).await
}

/// A client of `node` on namespace `nsp` (which must [`serve`]), in
/// `rooms`.
pub(crate) async fn peer_in(node: &Node, nsp: &str, name: &str, rooms: &[&str]) -> Peer {
    let manager = Manager::new(&node.url(), ClientOptions::default());
    let socket = manager.socket(nsp, Some(json!({ "name": name, "rooms": rooms })));
    let (tx, events) = mpsc::unbounded_channel();
    socket.on_any(move |_, event, packet| {
        let args = packet.event_args::<Vec<Value>>().unwrap_or_default();
        let _ = tx.send((event.to_owned(), args));
    });
    let me = name.to_owned();
    socket.on("ask", move |_, (): (), ack| {
        let me = me.clone();
        async move {
            if let Some(ack) = ack {
                let _ = ack.send(&(me,));
            }
        }
    });
    let p = Peer {
        name: name.to_owned(),
        socket,
        events,
        _manager: manager,
    };
    timeout(SOON, async {
        while !p.socket.connected() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("client connects");
    // The rooms are joined on the server before the client hears it is
    // connected; wait for them all the same.
    let id = p.socket.id().expect("socket id");
    let ns = node.server.of(nsp);
    timeout(SOON, async {
        while rooms
            .iter()
            .any(|r| !ns.to(r).sockets().iter().any(|s| s.id() == id))
        {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("rooms joined");
    p
}

impl Peer {
    pub(crate) fn id(&self) -> String {
        self.socket.id().expect("connected")
    }

    /// The events received until `marker` (excluded).
    pub(crate) async fn until(&mut self, marker: &str) -> Vec<(String, Vec<Value>)> {
        let mut out = Vec::new();
        timeout(SOON, async {
            while let Some((event, args)) = self.events.recv().await {
                if event == marker {
                    return;
                }
                out.push((event, args));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} never got {marker}: {out:?}", self.name));
        out
    }
}

pub(crate) fn names(events: &[(String, Vec<Value>)]) -> Vec<&str> {
    events.iter().map(|(e, _)| e.as_str()).collect()
}

/// A plain client for publishing by hand, and a subscriber to watch.
pub(crate) async fn raw_clients(redis: &RedisServer) -> (Client, SubscriberClient) {
    let config = Config::from_url(&redis.url()).unwrap();
    let builder = Builder::from_config(config);
    let publisher = builder.build().unwrap();
    let subscriber = builder.build_subscriber_client().unwrap();
    publisher.init().await.unwrap();
    subscriber.init().await.unwrap();
    (publisher, subscriber)
}

/// Bytes from space-separated hex pairs.
pub(crate) fn hex(s: &str) -> Bytes {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect::<Vec<u8>>()
        .into()
}

/// The next message `watch` sees on a channel starting with `prefix`.
pub(crate) async fn next_on(
    heard: &mut broadcast::Receiver<Message>,
    prefix: &str,
) -> (String, Bytes) {
    timeout(SOON, async {
        loop {
            let m = heard.recv().await.unwrap();
            if m.channel.starts_with(prefix) {
                return (m.channel.to_string(), m.value.into_bytes().unwrap());
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing on {prefix}*"))
}
