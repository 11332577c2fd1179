//! A mixed Socket.IO cluster on one real Redis: a Node node (socket.io 4.8
//! and the official `@socket.io/redis-adapter`,
//! `tests/js/redis_cluster_node.js`) and two of ours (the `cluster_node`
//! example's handlers, in process), with official socket.io-client clients
//! on each node (`tests/js/redis_cluster_clients.js`). Each operation starts
//! from both kinds of node and is checked on every client it should reach
//! and on none other. Each test runs once with the classic adapter and once
//! with the sharded one (every node alike); the emitters, classic only.
//!
//! The clients and rooms of every test:
//!
//! | node | clients (room) |
//! |---|---|
//! | Node | n1 (r1), n2 (r2) |
//! | ours, `a` | a1 (r1), a2 (r2) |
//! | ours, `b` | b1 (r1), b2 (none) |

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socketio_redis::classic::{RedisAdapterOptions, create_adapter};
use socketio_redis::emitter::{Emitter, EmitterOptions};
use socketio_redis::sharded::{ShardedAdapterOptions, create_sharded_adapter};
use socketio_server::{AdapterError, AdapterFactory, Namespace, Server, ServerOptions};
use tokio::time::{sleep, timeout};

use crate::node::NodePeer;

mod clients;
#[path = "../../crates/socketio-redis/examples/cluster_node/handlers.rs"]
mod handlers;
mod redis_server;

use clients::{Client, Clients, Event};
use redis_server::RedisServer;

/// Our adapters' request timeout.
const REQUESTS: Duration = Duration::from_secs(1);
/// The Node node's: `requestsTimeout` (classic) in redis_cluster_node.js,
/// and the `timeout` its fetches are given (sharded).
const NODE_REQUESTS: Duration = Duration::from_secs(2);
/// How late a timed-out request may come back, beyond its timeout (a
/// loaded machine).
const SLACK: Duration = Duration::from_secs(2);
/// How long anything that should happen may take.
const SOON: Duration = Duration::from_secs(10);
/// The bound on a whole test.
const TEST: Duration = Duration::from_secs(120);

/// Which adapter every node of the cluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `createAdapter`: `PUBLISH`/`SUBSCRIBE`.
    Classic,
    /// `createShardedAdapter`: `SPUBLISH`/`SSUBSCRIBE`, dynamic mode.
    Sharded,
}

impl Mode {
    /// The Node node's argument.
    fn node_arg(self) -> &'static str {
        match self {
            Mode::Classic => "classic",
            Mode::Sharded => "sharded",
        }
    }

    /// Our adapter, with the tests' request timeout.
    async fn adapter(self, redis: &str) -> AdapterFactory {
        match self {
            Mode::Classic => {
                let mut options = RedisAdapterOptions::default();
                options.requests_timeout = REQUESTS;
                create_adapter(redis, options)
                    .await
                    .expect("connect to redis")
            }
            Mode::Sharded => {
                let mut options = ShardedAdapterOptions::default();
                options.requests_timeout = REQUESTS;
                create_sharded_adapter(redis, options)
                    .await
                    .expect("connect to redis")
            }
        }
    }
}

/// Runs a test body, bounded in time.
async fn bounded(body: impl Future<Output = ()>) {
    timeout(TEST, body).await.expect("the test took too long");
}

/// Fails with `what` once `deadline` has passed.
fn check_deadline(deadline: Instant, what: impl std::fmt::Display) {
    assert!(Instant::now() < deadline, "never: {what}");
}

/// One of our nodes, on a runtime of its own with one worker thread, as in a
/// process of its own: blocking that thread makes a node that Redis still
/// counts but that answers nothing; shutting the runtime down drops every
/// connection of the node at once, as a crash does.
struct RustNode {
    server: Option<Server>,
    runtime: Option<tokio::runtime::Runtime>,
    thaw: Option<std::sync::mpsc::Sender<()>>,
}

impl RustNode {
    async fn start(redis: &str, mode: Mode) -> RustNode {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let redis = redis.to_owned();
        // Made on its runtime, so its listener, sessions and link run there.
        let server = runtime
            .spawn(async move {
                let mut options = ServerOptions::default();
                options.adapter = mode.adapter(&redis).await;
                let server = Server::bind("127.0.0.1:0", options).await.expect("bind");
                handlers::setup(&server);
                server
            })
            .await
            .expect("the node starts");
        RustNode {
            server: Some(server),
            runtime: Some(runtime),
            thaw: None,
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("the node is alive")
    }

    fn ns(&self) -> Namespace {
        self.server().of("/")
    }

    fn url(&self) -> String {
        format!("http://{}", self.server().local_addr())
    }

    /// Blocks the node's only worker thread: its connections stay open, so
    /// Redis still counts it, but it reads and answers nothing (a node that
    /// hangs, or died where Redis cannot see it yet).
    async fn freeze(&mut self) {
        let (thaw, frozen) = std::sync::mpsc::channel::<()>();
        let (blocked, is_blocked) = tokio::sync::oneshot::channel();
        self.runtime.as_ref().expect("alive").spawn(async move {
            let _ = blocked.send(());
            let _ = frozen.recv();
        });
        is_blocked.await.expect("the node froze");
        self.thaw = Some(thaw);
    }

    /// Kills it: every task of the node stops and its connections drop.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        // A frozen worker wakes up into the shutdown.
        self.thaw = None;
        self.server = None;
    }
}

impl Drop for RustNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Node node, whose own cluster operations go through its stdin.
struct NodeNode {
    peer: NodePeer,
    url: String,
    next_id: u64,
}

impl NodeNode {
    async fn start(redis: &str, mode: Mode) -> NodeNode {
        let mut peer = NodePeer::spawn("redis_cluster_node.js", &[redis, mode.node_arg()]);
        let first: Value = serde_json::from_str(&peer.line().await).expect("{\"port\":N}");
        let port = first["port"].as_u64().expect("the Node node's port");
        NodeNode {
            peer,
            url: format!("http://127.0.0.1:{port}"),
            next_id: 0,
        }
    }

    /// Runs `op` with `args` (an object) on the Node node; its answer.
    async fn op(&mut self, op: &str, mut args: Value) -> Value {
        self.next_id += 1;
        args["op"] = json!(op);
        args["id"] = json!(self.next_id);
        let line = self.peer.ask(&args.to_string()).await;
        let answer: Value = serde_json::from_str(&line).expect("a JSON answer");
        assert_eq!(answer["id"], json!(self.next_id), "{line}");
        answer
    }

    /// Emits through its own `io` (`to`, `except` in `args`).
    async fn emit(&mut self, event: &str, args: Value, select: Value) {
        let mut m = select;
        m["event"] = json!(event);
        m["args"] = args;
        self.op("emit", m).await;
    }

    /// The ids `fetchSockets` finds (`to`, `except` in `select`).
    async fn fetch_ids(&mut self, select: Value) -> BTreeSet<String> {
        let answer = self.op("fetch", select).await;
        let sockets = answer["sockets"]
            .as_array()
            .unwrap_or_else(|| panic!("fetch failed: {answer}"));
        sockets
            .iter()
            .map(|s| s["id"].as_str().expect("an id").to_owned())
            .collect()
    }

    /// Sends `signal` (`-STOP`: it hangs, its connections open).
    fn signal(&self, signal: &str) {
        let pid = self.peer.child.id().expect("the Node node runs");
        let sent = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill(1)");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Kills it (SIGKILL): the OS closes its connections.
    async fn kill(&mut self) {
        self.peer.child.start_kill().expect("kill the Node node");
        let _ = timeout(SOON, self.peer.child.wait()).await;
    }
}

/// Waits until `ns` counts `n` nodes (their subscriptions are in place, or
/// Redis has dropped a dead one's).
async fn wait_for_nodes(ns: &Namespace, n: usize) {
    let deadline = Instant::now() + SOON;
    while ns.server_count().await != n {
        check_deadline(deadline, format_args!("{n} nodes"));
        sleep(Duration::from_millis(20)).await;
    }
}

/// Three nodes, six clients.
struct Cluster {
    clients: Clients,
    n1: Client,
    n2: Client,
    a1: Client,
    a2: Client,
    b1: Client,
    b2: Client,
    node: NodeNode,
    a: RustNode,
    b: RustNode,
    redis: RedisServer,
}

impl Cluster {
    async fn start(mode: Mode) -> Cluster {
        let redis = RedisServer::start();
        let url = redis.url();
        let (node, a, b) = tokio::join!(
            NodeNode::start(&url, mode),
            RustNode::start(&url, mode),
            RustNode::start(&url, mode)
        );
        wait_for_nodes(&a.ns(), 3).await;
        wait_for_nodes(&b.ns(), 3).await;
        let clients = Clients::start();
        let connect = |name: &'static str, url: String, room: Option<&'static str>| {
            let clients = &clients;
            async move {
                let c = clients.connect(name, &url, json!({ "name": name })).await;
                if let Some(room) = room {
                    clients.emit_with_ack(&c, "join", json!([room])).await;
                }
                c
            }
        };
        let (n1, n2, a1, a2, b1, b2) = tokio::join!(
            connect("n1", node.url.clone(), Some("r1")),
            connect("n2", node.url.clone(), Some("r2")),
            connect("a1", a.url(), Some("r1")),
            connect("a2", a.url(), Some("r2")),
            connect("b1", b.url(), Some("r1")),
            connect("b2", b.url(), None),
        );
        if mode == Mode::Sharded {
            // A sharded node listens on a room's channel from when its
            // first socket there joined, a moment after the join is
            // acked (Node's too): until then a broadcast to the room does
            // not reach it.
            let deadline = Instant::now() + SOON;
            for (room, nodes) in [("r1", 3), ("r2", 2)] {
                let channel = format!("socket.io#/#{room}#");
                while redis.shard_subscribers(&channel) != nodes {
                    check_deadline(deadline, format_args!("{nodes} nodes on {channel}"));
                    sleep(Duration::from_millis(10)).await;
                }
            }
        }
        Cluster {
            clients,
            n1,
            n2,
            a1,
            a2,
            b1,
            b2,
            node,
            a,
            b,
            redis,
        }
    }

    fn all(&self) -> [&Client; 6] {
        [&self.n1, &self.n2, &self.a1, &self.a2, &self.b1, &self.b2]
    }

    fn all_mut(&mut self) -> [&mut Client; 6] {
        [
            &mut self.n1,
            &mut self.n2,
            &mut self.a1,
            &mut self.a2,
            &mut self.b1,
            &mut self.b2,
        ]
    }

    /// The room each client joined.
    fn room_of(name: &str) -> Option<&'static str> {
        match name {
            "n1" | "a1" | "b1" => Some("r1"),
            "n2" | "a2" => Some("r2"),
            _ => None,
        }
    }

    /// The socket ids of the clients named.
    fn sids(&self, names: &[&str]) -> BTreeSet<String> {
        let found: BTreeSet<String> = self
            .all()
            .iter()
            .filter(|c| names.contains(&c.name.as_str()))
            .map(|c| c.sid.clone())
            .collect();
        assert_eq!(found.len(), names.len(), "unknown client in {names:?}");
        found
    }

    fn name_of(&self, sid: &str) -> String {
        self.all()
            .iter()
            .find(|c| c.sid == sid)
            .map_or_else(|| format!("unknown socket {sid}"), |c| c.name.clone())
    }
}

/// Events the tests do not count: our nodes' greeting, and the asks of
/// broadcasts with acks (answered by the client script itself).
const UNCOUNTED: &[&str] = &["auth", "ask"];

/// The end marker of `origin`: `end origin` from a server, `bcast end
/// origin` relayed for a client.
fn marker_origin((event, args): &Event) -> Option<String> {
    let origin = match (event.as_str(), args.as_slice()) {
        ("end", [o]) => o,
        ("bcast", [m, o]) if m == "end" => o,
        _ => return None,
    };
    Some(origin.as_str().unwrap_or_default().to_owned())
}

/// What `client` receives until the end marker of each of `origins` came
/// (markers and [`UNCOUNTED`] events left out), as sorted `event args`
/// lines: events from different nodes come in any order, and a duplicate
/// shows as a line twice.
async fn collect(client: &mut Client, origins: &[&str]) -> Vec<String> {
    let mut waiting: BTreeSet<&str> = origins.iter().copied().collect();
    let mut got = Vec::new();
    while !waiting.is_empty() {
        let e = client.next_but(UNCOUNTED, SOON).await;
        match marker_origin(&e) {
            Some(o) => assert!(
                waiting.remove(o.as_str()),
                "{}: marker {o} again or unexpected (still waiting for {waiting:?}, got {got:?})",
                client.name
            ),
            None => got.push(line(&e.0, &e.1)),
        }
    }
    got.sort();
    got
}

fn line(event: &str, args: &[Value]) -> String {
    format!("{event} {}", Value::from(args.to_vec()))
}

/// A broadcast: its event and arguments, its rooms (every socket when none)
/// and the rooms it leaves out.
struct Sent {
    event: &'static str,
    args: Value,
    to: &'static [&'static str],
    except: &'static [&'static str],
}

impl Sent {
    fn new(event: &'static str, args: Value) -> Sent {
        Sent {
            event,
            args,
            to: &[],
            except: &[],
        }
    }

    fn to(mut self, rooms: &'static [&'static str]) -> Sent {
        self.to = rooms;
        self
    }

    fn except(mut self, rooms: &'static [&'static str]) -> Sent {
        self.except = rooms;
        self
    }

    fn reaches(&self, room: Option<&str>) -> bool {
        let has = |rooms: &[&str]| room.is_some_and(|r| rooms.contains(&r));
        (self.to.is_empty() || has(self.to)) && !has(self.except)
    }
}

/// The sorted lines a client in `room` should have received of `sent`.
fn expected(sent: &[Sent], room: Option<&str>) -> Vec<String> {
    let mut lines: Vec<String> = sent
        .iter()
        .filter(|s| s.reaches(room))
        .map(|s| line(s.event, s.args.as_array().expect("args")))
        .collect();
    lines.sort();
    lines
}

/// Broadcasts to all, to rooms and with except, from each of our nodes
/// (the Broadcast API), from the Node node (its own `io`) and from a client
/// of each node (the `broadcast` and `to-room` events), reach every client
/// they should, once, and no other.
async fn broadcasts(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let mut sent = Vec::new();

    let a = c.a.ns();
    a.emit("all", &("A",)).unwrap();
    a.to("r1").emit("room", &("A",)).unwrap();
    a.broadcast().except("r1").emit("except", &("A",)).unwrap();
    a.emit("end", &("A",)).unwrap();
    sent.push(Sent::new("all", json!(["A"])));
    sent.push(Sent::new("room", json!(["A"])).to(&["r1"]));
    sent.push(Sent::new("except", json!(["A"])).except(&["r1"]));

    let b = c.b.ns();
    b.to("r2").emit("room", &("B",)).unwrap();
    b.to("r1")
        .to("r2")
        .except("r2")
        .emit("r1-only", &("B",))
        .unwrap();
    b.broadcast()
        .except("r1")
        .except("r2")
        .emit("roomless", &("B",))
        .unwrap();
    b.emit("end", &("B",)).unwrap();
    sent.push(Sent::new("room", json!(["B"])).to(&["r2"]));
    sent.push(
        Sent::new("r1-only", json!(["B"]))
            .to(&["r1", "r2"])
            .except(&["r2"]),
    );
    sent.push(Sent::new("roomless", json!(["B"])).except(&["r1", "r2"]));

    c.node.emit("all", json!(["N"]), json!({})).await;
    c.node
        .emit("room", json!(["N"]), json!({ "to": ["r2"] }))
        .await;
    c.node
        .emit("except", json!(["N"]), json!({ "except": ["r2"] }))
        .await;
    c.node.emit("end", json!(["N"]), json!({})).await;
    sent.push(Sent::new("all", json!(["N"])));
    sent.push(Sent::new("room", json!(["N"])).to(&["r2"]));
    sent.push(Sent::new("except", json!(["N"])).except(&["r2"]));

    // A client's events are handled in order: its end marker comes last.
    for sender in [&c.n2, &c.a2, &c.b2] {
        let who = sender.name.as_str();
        c.clients
            .emit(sender, "broadcast", json!(["all", who]))
            .await;
        c.clients
            .emit(sender, "to-room", json!(["r1", "r1", who]))
            .await;
        c.clients
            .emit(sender, "broadcast", json!(["end", who]))
            .await;
        sent.push(Sent::new("bcast", json!(["all", who])));
        sent.push(Sent::new("bcast", json!(["r1", who])).to(&["r1"]));
    }

    let origins = ["A", "B", "N", "n2", "a2", "b2"];
    for client in c.all_mut() {
        let room = Cluster::room_of(&client.name);
        let got = collect(client, &origins).await;
        assert_eq!(got, expected(&sent, room), "{}", client.name);
    }
}

/// What `fetchSockets` tells of a client, as any node sees it: its rooms
/// and its data (each node puts its kind and the client's auth there).
fn check_fetched(name: &str, sid: &str, rooms: BTreeSet<String>, data: &Value) {
    let mut want: BTreeSet<String> = [sid.to_owned()].into();
    want.extend(Cluster::room_of(name).map(str::to_owned));
    assert_eq!(rooms, want, "rooms of {name}");
    let kind = if name.starts_with('n') {
        "node"
    } else {
        "rust"
    };
    assert_eq!(
        *data,
        json!({ "node": kind, "auth": { "name": name } }),
        "data of {name}"
    );
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Sorted, as text: answers from several nodes come in any order.
fn sorted(values: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut v: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    v.sort();
    v
}

/// Requests between the kinds of node, both ways: fetchSockets (ids, rooms,
/// data; with rooms and except), `count` on each node, allRooms, the
/// server count, server-side emits with acks, broadcasts with acks; and
/// (classic) Node's emitter reaches our nodes' clients, ours the Node
/// node's.
async fn requests(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let everyone = c.sids(&["n1", "n2", "a1", "a2", "b1", "b2"]);

    // fetchSockets from the Node node sees our sockets, and its own.
    let answer = c.node.op("fetch", json!({})).await;
    let fetched = answer["sockets"].as_array().expect("sockets");
    let mut ids = BTreeSet::new();
    for s in fetched {
        let sid = s["id"].as_str().expect("id");
        let rooms = s["rooms"].as_array().expect("rooms");
        let rooms = rooms.iter().map(|r| r.as_str().unwrap().to_owned());
        check_fetched(&c.name_of(sid), sid, rooms.collect(), &s["data"]);
        assert!(ids.insert(sid.to_owned()), "{sid} twice");
    }
    assert_eq!(ids, everyone);
    let r1 = c.sids(&["n1", "a1", "b1"]);
    assert_eq!(c.node.fetch_ids(json!({ "to": ["r1"] })).await, r1);
    let not_r1 = c.sids(&["n2", "a2", "b2"]);
    assert_eq!(c.node.fetch_ids(json!({ "except": ["r1"] })).await, not_r1);

    // Ours see the Node node's sockets, handshake included.
    for ours in [&c.a, &c.b] {
        let fetched = ours.ns().broadcast().fetch_sockets(SOON).await.unwrap();
        let mut ids = BTreeSet::new();
        for s in &fetched {
            let name = c.name_of(s.id());
            let rooms = s.rooms().iter().cloned().collect();
            check_fetched(&name, s.id(), rooms, s.data().unwrap_or(&Value::Null));
            assert_eq!(s.handshake()["auth"]["name"], json!(name), "handshake");
            assert!(ids.insert(s.id().to_owned()), "{} twice", s.id());
        }
        assert_eq!(ids, everyone);
    }
    let ids = |v: Vec<socketio_server::RemoteSocket>| -> BTreeSet<String> {
        v.iter().map(|s| s.id().to_owned()).collect()
    };
    let r2 = c.a.ns().to("r2").fetch_sockets(SOON).await.unwrap();
    assert_eq!(ids(r2), c.sids(&["n2", "a2"]));
    let not_r2 = c.b.ns().broadcast().except("r2").fetch_sockets(SOON).await;
    assert_eq!(ids(not_r2.unwrap()), c.sids(&["n1", "a1", "b1", "b2"]));

    // A client of each node counts the whole cluster.
    for client in [&c.n1, &c.a1, &c.b1] {
        let n = c.clients.emit_with_ack(client, "count", json!([])).await;
        assert_eq!(n, json!(6), "count on {}'s node", client.name);
    }

    // allRooms and the server count.
    let mut rooms: BTreeSet<String> = everyone.clone();
    rooms.extend(set(&["r1", "r2"]));
    // Node's sharded adapter has no allRooms.
    if mode == Mode::Classic {
        let answer = c.node.op("allRooms", json!({})).await;
        let node_rooms = answer["rooms"].as_array().expect("rooms");
        let node_rooms = node_rooms.iter().map(|r| r.as_str().unwrap().to_owned());
        assert_eq!(node_rooms.collect::<BTreeSet<_>>(), rooms);
    }
    let ours = c.a.ns().all_rooms(SOON).await.unwrap();
    assert_eq!(ours.into_iter().collect::<BTreeSet<_>>(), rooms);
    assert_eq!(c.b.ns().server_count().await, 3);

    // Server-side emits with acks: the Node node hears from both of ours,
    // each of ours from the Node node and the other one of ours.
    let answer = c
        .node
        .op(
            "serverSideEmit",
            json!({ "event": "whoami", "args": ["x"] }),
        )
        .await;
    let answers = answer["answers"].as_array();
    let answers = answers.unwrap_or_else(|| panic!("{answer}")).clone();
    let rust = json!({ "node": "rust" });
    assert_eq!(sorted(answers), sorted([rust.clone(), rust.clone()]));
    for ours in [&c.a, &c.b] {
        let answers: Vec<Value> = ours
            .ns()
            .server_side_emit_with_ack("whoami", &("x",), SOON)
            .await
            .unwrap();
        let node = json!({ "node": "node", "arg": "x" });
        assert_eq!(sorted(answers), sorted([node, rust.clone()]));
    }

    // Broadcasts with acks: every client answers with its name.
    let names = |v: &[&str]| sorted(v.iter().map(|n| json!(n)));
    let all = ["n1", "n2", "a1", "a2", "b1", "b2"];
    let answer = c.node.op("emitWithAck", json!({ "event": "ask" })).await;
    let answers = answer["answers"].as_array().expect("answers").clone();
    assert_eq!(sorted(answers), names(&all));
    let answer = c
        .node
        .op("emitWithAck", json!({ "event": "ask", "to": ["r1"] }))
        .await;
    let answers = answer["answers"].as_array().expect("answers").clone();
    assert_eq!(sorted(answers), names(&["n1", "a1", "b1"]));
    let acks =
        c.a.ns()
            .broadcast()
            .emit_with_ack::<_, String>("ask", &(), SOON)
            .await;
    let acks = acks.unwrap();
    assert!(acks.complete, "every client answered");
    assert_eq!(acks.local.len(), 2);
    assert_eq!(
        sorted(acks.answers().into_iter().map(Value::from)),
        names(&all)
    );
    let acks =
        c.b.ns()
            .to("r2")
            .emit_with_ack::<_, String>("ask", &(), SOON)
            .await;
    let acks = acks.unwrap();
    assert!(acks.complete && acks.local.is_empty());
    assert_eq!(
        sorted(acks.answers().into_iter().map(Value::from)),
        names(&["n2", "a2"])
    );

    if mode == Mode::Classic {
        emitters(&mut c).await;
    }
}

/// Node's emitter and ours reach the clients of every node: emits to all
/// and to a room, and ours makes a room's sockets join another.
async fn emitters(c: &mut Cluster) {
    let emit =
        |event: &str, args: Value, to: &[&str]| json!({ "event": event, "args": args, "to": to });
    let node = &mut c.node;
    node.op("emitterEmit", emit("emitted", json!(["N"]), &[]))
        .await;
    node.op("emitterEmit", emit("emitted", json!(["N-r2"]), &["r2"]))
        .await;
    node.op("emitterEmit", emit("end", json!(["N"]), &[])).await;
    let ours = Emitter::connect(&c.redis.url(), EmitterOptions::default())
        .await
        .expect("connect to redis");
    ours.emit("emitted", &("R",)).await.unwrap();
    ours.to("r1").emit("emitted", &("R-r1",)).await.unwrap();
    ours.emit("end", &("R",)).await.unwrap();
    let sent = [
        Sent::new("emitted", json!(["N"])),
        Sent::new("emitted", json!(["N-r2"])).to(&["r2"]),
        Sent::new("emitted", json!(["R"])),
        Sent::new("emitted", json!(["R-r1"])).to(&["r1"]),
    ];
    for client in c.all_mut() {
        let room = Cluster::room_of(&client.name);
        let got = collect(client, &["N", "R"]).await;
        assert_eq!(got, expected(&sent, room), "{}", client.name);
    }
    ours.to("r2").sockets_join(&["e1"]).await.unwrap();
    let r2 = c.sids(&["n2", "a2"]);
    wait_for_node_room(&mut c.node, "e1", &r2).await;
    wait_for_room(&c.b.ns(), "e1", &r2).await;
}

/// Waits until `ns` finds exactly `want` in `room` across the cluster.
async fn wait_for_room(ns: &Namespace, room: &str, want: &BTreeSet<String>) {
    let deadline = Instant::now() + SOON;
    loop {
        let found = ns.to(room).fetch_sockets(SOON).await.unwrap();
        let found: BTreeSet<String> = found.iter().map(|s| s.id().to_owned()).collect();
        if found == *want {
            return;
        }
        check_deadline(deadline, format_args!("{room} = {want:?}, still {found:?}"));
        sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the Node node finds exactly `want` in `room`.
async fn wait_for_node_room(node: &mut NodeNode, room: &str, want: &BTreeSet<String>) {
    let deadline = Instant::now() + SOON;
    loop {
        let found = node.fetch_ids(json!({ "to": [room] })).await;
        if found == *want {
            return;
        }
        check_deadline(deadline, format_args!("{room} = {want:?}, still {found:?}"));
        sleep(Duration::from_millis(20)).await;
    }
}

/// The next disconnect `client` hears of, with its reason.
async fn disconnect_reason(client: &mut Client) -> String {
    loop {
        let (event, args) = client.next(SOON).await;
        if event == "disconnect" {
            return args[0].as_str().unwrap_or_default().to_owned();
        }
    }
}

/// socketsJoin, socketsLeave and disconnectSockets, both ways: the Node
/// node moves our sockets, ours move the Node node's (through the
/// Broadcast API and a fetched RemoteSocket).
async fn remote_management(mode: Mode) {
    let mut c = Cluster::start(mode).await;

    // The Node node makes r1 join j1, ours see it; then leave.
    let r1 = c.sids(&["n1", "a1", "b1"]);
    c.node
        .op("join", json!({ "to": ["r1"], "rooms": ["j1"] }))
        .await;
    wait_for_room(&c.a.ns(), "j1", &r1).await;
    wait_for_room(&c.b.ns(), "j1", &r1).await;
    c.node
        .op("leave", json!({ "to": ["r1"], "rooms": ["j1"] }))
        .await;
    wait_for_room(&c.a.ns(), "j1", &BTreeSet::new()).await;

    // Ours make r2 join j2, the Node node sees it; the other one of ours
    // (with no socket in r2) makes them leave.
    let r2 = c.sids(&["n2", "a2"]);
    c.a.ns().to("r2").sockets_join("j2");
    wait_for_node_room(&mut c.node, "j2", &r2).await;
    c.b.ns().to("r2").sockets_leave("j2");
    wait_for_node_room(&mut c.node, "j2", &BTreeSet::new()).await;

    // A fetched RemoteSocket of the Node node, moved from ours.
    let fetched = c.b.ns().to(&c.n1.sid).fetch_sockets(SOON).await.unwrap();
    let [n1] = fetched.as_slice() else {
        panic!("n1 not fetched: {fetched:?}")
    };
    n1.join("k1");
    let just_n1 = c.sids(&["n1"]);
    wait_for_node_room(&mut c.node, "k1", &just_n1).await;
    n1.leave("k1");
    wait_for_node_room(&mut c.node, "k1", &BTreeSet::new()).await;

    // Disconnects both ways: from the namespace, and whole connections.
    c.node.op("disconnect", json!({ "to": [c.b2.sid] })).await;
    assert_eq!(disconnect_reason(&mut c.b2).await, "io server disconnect");
    c.a.ns().to(&c.n2.sid).disconnect();
    assert_eq!(disconnect_reason(&mut c.n2).await, "io server disconnect");
    // disconnect(true) disconnects each namespace before it closes the
    // connection, on both kinds of node: the client hears of the namespace
    // first, and does not reconnect.
    c.node
        .op("disconnect", json!({ "to": [c.a2.sid], "close": true }))
        .await;
    assert_eq!(disconnect_reason(&mut c.a2).await, "io server disconnect");
    c.b.ns().to(&c.n1.sid).close_connections();
    assert_eq!(disconnect_reason(&mut c.n1).await, "io server disconnect");
    let left = c.sids(&["a1", "b1"]);
    let deadline = Instant::now() + SOON;
    while c.node.fetch_ids(json!({})).await != left {
        check_deadline(deadline, "only a1 and b1 left");
        sleep(Duration::from_millis(20)).await;
    }
}

fn assert_timeout<T: std::fmt::Debug>(r: Result<T, AdapterError>, asked: Instant, limit: Duration) {
    let took = asked.elapsed();
    assert!(
        matches!(r, Err(AdapterError::Timeout { .. })),
        "a timeout, not {r:?}"
    );
    assert!(
        took >= limit && took < limit + SLACK,
        "timed out after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_broadcasts_reach_the_right_clients_once_from_every_node() {
    bounded(broadcasts(Mode::Classic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_requests_both_ways() {
    bounded(requests(Mode::Classic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_remote_join_leave_disconnect_both_ways() {
    bounded(remote_management(Mode::Classic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_dead_nodes_cost_a_timeout_then_are_not_counted() {
    bounded(dead_nodes(Mode::Classic)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_broadcasts_reach_the_right_clients_once_from_every_node() {
    bounded(broadcasts(Mode::Sharded)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_requests_both_ways() {
    bounded(requests(Mode::Sharded)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_remote_join_leave_disconnect_both_ways() {
    bounded(remote_management(Mode::Sharded)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dead_nodes_cost_a_timeout_then_are_not_counted() {
    bounded(dead_nodes(Mode::Sharded)).await;
}

/// A node that hangs costs the others one request timeout, no more; once
/// it is dead, Redis no longer counts it and requests answer at once with
/// the live nodes. First one of ours, then the Node node.
async fn dead_nodes(mode: Mode) {
    let mut c = Cluster::start(mode).await;
    let a = c.a.ns();

    c.b.freeze().await;
    let asked = Instant::now();
    assert_timeout(a.broadcast().fetch_sockets(SOON).await, asked, REQUESTS);
    let asked = Instant::now();
    let bound = json!({ "timeout": NODE_REQUESTS.as_millis() as u64 });
    let answer = c.node.op("fetch", bound).await;
    let took = asked.elapsed();
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("timeout"),
        "the Node node timed out: {answer}"
    );
    assert!(
        took >= NODE_REQUESTS && took < NODE_REQUESTS + SLACK,
        "the Node node timed out after {took:?}"
    );
    // Server-side emits with acks keep the answers that came (Node's
    // sharded adapter waits a fixed 5 s: not worth it here).
    if mode == Mode::Classic {
        let answer = c
            .node
            .op(
                "serverSideEmit",
                json!({ "event": "whoami", "args": ["x"] }),
            )
            .await;
        assert!(answer["error"].as_str().is_some(), "{answer}");
        assert_eq!(answer["answers"], json!([{ "node": "rust" }]));
    }
    let asked = Instant::now();
    let r = a
        .server_side_emit_with_ack::<_, Value>("whoami", &("x",), SOON)
        .await;
    let Err((e, answers)) = r else {
        panic!("a timeout, not {r:?}")
    };
    assert_timeout::<()>(Err(e), asked, REQUESTS);
    assert_eq!(answers, [json!({ "node": "node", "arg": "x" })]);

    c.b.kill();
    wait_for_nodes(&a, 2).await;
    let live = c.sids(&["n1", "n2", "a1", "a2"]);
    assert_eq!(c.node.fetch_ids(json!({})).await, live);
    let fetched = a.broadcast().fetch_sockets(SOON).await.unwrap();
    let fetched: BTreeSet<String> = fetched.iter().map(|s| s.id().to_owned()).collect();
    assert_eq!(fetched, live);

    c.node.signal("-STOP");
    let asked = Instant::now();
    assert_timeout(a.all_rooms(SOON).await, asked, REQUESTS);
    // A broadcast with acks gets the live clients' answers, and says
    // it is incomplete when its own timeout ends.
    let acks = a
        .broadcast()
        .emit_with_ack::<_, String>("ask", &(), REQUESTS)
        .await
        .unwrap();
    assert!(!acks.complete);
    assert_eq!(
        sorted(acks.answers().into_iter().map(Value::from)),
        sorted([json!("a1"), json!("a2")])
    );

    c.node.kill().await;
    wait_for_nodes(&a, 1).await;
    let asked = Instant::now();
    let fetched = a.broadcast().fetch_sockets(SOON).await.unwrap();
    assert!(asked.elapsed() < REQUESTS, "no one to wait for");
    let fetched: BTreeSet<String> = fetched.iter().map(|s| s.id().to_owned()).collect();
    assert_eq!(fetched, c.sids(&["a1", "a2"]));
}
