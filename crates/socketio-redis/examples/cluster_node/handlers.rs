//! What a `cluster_node` serves, apart from how it is started: shared by the
//! example and by the mixed-cluster interop test (`tests/interop/cluster.rs`),
//! which runs these handlers in process, so the test checks what the example
//! serves. The Node node of that test (`tests/js/redis_cluster_node.js`)
//! serves the same events.

use std::time::Duration;

use serde_json::{Value, json};
use socketio_server::{Server, ServerSideAck, Socket};

/// How long `count` waits for the other nodes' sockets (the adapter's own
/// request timeout may end it sooner).
const COUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// Namespaces `/` (the protocol suite's echo events and the cluster events)
/// and `/custom` (the suite's greeting only), and the server-side `whoami`.
pub(crate) fn setup(server: &Server) {
    let main = server.of("/");
    main.on_connect(|socket| {
        greet(&socket);
        echo(&socket);
        cluster_events(&socket);
    });
    // Answered so that Node's serverSideEmitWithAck sees this node.
    main.on_server_side("whoami", |_: Vec<Value>, ack: Option<ServerSideAck>| {
        if let Some(ack) = ack {
            ack.send(&json!({ "node": "rust" }));
        }
    });
    server.of("/custom").on_connect(|socket| greet(&socket));
}

/// Emits `auth` with the CONNECT payload (`{}` without one, as socket.io),
/// and publishes it in `socket.data` for the other nodes' fetchSockets.
fn greet(socket: &Socket) {
    let auth = socket
        .handshake()
        .auth::<Value>()
        .unwrap_or_else(|| json!({}));
    let _ = socket.set_data(&json!({ "node": "rust", "auth": auth }));
    let _ = socket.emit("auth", &(auth,));
}

/// The protocol suite's `message` -> `message-back` and acked
/// `message-with-ack`, arguments unchanged (binary included).
fn echo(socket: &Socket) {
    socket.on_raw("message", |socket, packet| async move {
        let _ = socket.emit_raw_args("message-back", &packet);
    });
    socket.on_raw("message-with-ack", |socket, packet| async move {
        if let Some(id) = packet.id() {
            let _ = socket.ack_raw_args(id, &packet);
        }
    });
}

/// `broadcast`, `join`, `to-room` and `count`, as the Node node serves them.
/// The namespace is reached through the socket: a handler holding the
/// namespace itself would keep it (and its adapter) alive forever.
fn cluster_events(socket: &Socket) {
    // Every socket of the namespace on every node, the sender included.
    socket.on("broadcast", |socket, args: Vec<Value>, _| async move {
        let _ = socket.ns().emit("bcast", &args);
    });
    socket.on("join", |socket, (room,): (String,), ack| async move {
        socket.join(&room);
        if let Some(ack) = ack {
            let _ = ack.send(&());
        }
    });
    // `[room, ...args]`: the room's sockets on every node, the sender too
    // when it is in the room.
    socket.on("to-room", |socket, args: Vec<Value>, _| async move {
        let Some((Value::String(room), rest)) = args.split_first() else {
            return;
        };
        let _ = socket.ns().to(room).emit("bcast", rest);
    });
    // Like Node's handler, no answer when the cluster does not answer.
    socket.on("count", |socket, (): (), ack| async move {
        let Some(ack) = ack else { return };
        match socket.ns().broadcast().fetch_sockets(COUNT_TIMEOUT).await {
            Ok(all) => {
                let _ = ack.send(&(all.len(),));
            }
            Err(e) => eprintln!("cluster_node: count: {e}"),
        }
    });
}
