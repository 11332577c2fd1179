//! HTTP compression of long-polling responses (`httpCompression`) and
//! socket.io's `compress(false)`, differentially: the same requests against
//! our servers and the official ones (engine.io 6.6.12, socket.io 4.8.4, on
//! their defaults) must get the same answers.
//!
//! - Engine.IO: raw polling from Node (`eio_compress_probe.js`), each case
//!   with its own `Accept-Encoding` and queued messages (sizes around the
//!   1024-byte threshold, `compress` flags); the probe reports
//!   `Content-Encoding`, `Vary` and whether Node's zlib decodes the body to
//!   the payload sent.
//! - Socket.IO: the official socket.io-client over polling with the `Fetch`
//!   transport (Node's fetch asks for gzip and decodes, as a browser does),
//!   emits from the socket, the namespace, rooms, with and without
//!   `compress(false)`.
//! - Our client over polling against the official server: it asks for
//!   gzip and inflates what comes.
//! - Clients' `compress(false)` over WebSocket with permessage-deflate:
//!   ours and the official socket.io-client against the official server,
//!   which reads the frames' RSV1 bit off the wire.
//! - Servers' `compress(false)` over WebSocket, read off the wire by the
//!   official client: ours sends it uncompressed; engine.io 6.6 no longer
//!   passes the flag to `ws` (since 6.6.0) and compresses it.

use std::sync::Arc;

use engineio::Payload;
use engineio::server::{Context, Handler, ServerOptions};
use socketio_server::{Binary, Server};

use crate::node::NodePeer;

/// Our engine, queueing what a "send L:C,..." message asks: per item, a
/// message of L "x"s with compress C ("1" or "0"), as
/// `eio_compress_server.js` does with the official server.
struct Sender;

impl Handler for Sender {
    type Command = ();

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        let Payload::Text(text) = msg else { return };
        let Some(spec) = text.as_str().strip_prefix("send ") else {
            return;
        };
        for item in spec.split(',') {
            let (len, compress) = item.split_once(':').unwrap();
            let body = "x".repeat(len.parse().unwrap());
            ctx.send_with(Payload::Text(body.into()), compress == "1");
        }
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

/// The probe's report against the server at `url`, one line per case.
async fn probe(url: &str) -> Vec<String> {
    let mut node = NodePeer::spawn("eio_compress_probe.js", &[url]);
    let mut lines = Vec::new();
    loop {
        let line = node.line().await;
        if line == "done" {
            break;
        }
        lines.push(line);
    }
    assert!(node.success().await);
    lines
}

/// The URL of a Node server script that prints "port N".
async fn node_server(script: &str) -> (NodePeer, String) {
    let mut node = NodePeer::spawn(script, &[]);
    let line = node.line().await;
    let port = line.strip_prefix("port ").expect("port line");
    let url = format!("http://127.0.0.1:{port}");
    (node, url)
}

#[tokio::test]
async fn polling_responses_are_compressed_as_the_official_server_does() {
    let listening = engineio::server::serve("127.0.0.1:0", ServerOptions::default(), |_| Sender)
        .await
        .unwrap();
    let ours = probe(&format!("http://{}", listening.local_addr())).await;
    let (_official, url) = node_server("eio_compress_server.js").await;
    let theirs = probe(&url).await;
    assert_eq!(ours, theirs, "ours, then the official server's");

    // And what that is, so that both agreeing on nothing would fail too.
    let encodings: Vec<(String, String)> = ours
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["status"], 200, "{l}");
            assert_eq!(v["body"], "as sent", "{l}");
            assert_eq!(v["vary"], serde_json::Value::Null, "no Vary, as Node: {l}");
            let name = v["name"].as_str().unwrap().to_owned();
            (name, v["encoding"].as_str().unwrap_or("none").to_owned())
        })
        .collect();
    let want = [
        ("gzip above the threshold", "gzip"),
        ("deflate above the threshold", "deflate"),
        ("deflate first", "deflate"),
        ("one byte below the threshold", "none"),
        ("at the threshold", "gzip"),
        ("no Accept-Encoding", "none"),
        ("identity only", "none"),
        ("unsupported coding", "none"),
        ("q=0 for gzip", "deflate"),
        ("any coding", "gzip"),
        ("compress false", "none"),
        ("every packet compress false", "none"),
        ("one packet of several may be compressed", "gzip"),
        ("several packets, all small", "gzip"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect();
    assert_eq!(encodings, want);
}

#[tokio::test]
async fn no_compression_when_turned_off() {
    let mut options = ServerOptions::default();
    options.http_compression = None;
    let listening = engineio::server::serve("127.0.0.1:0", options, |_| Sender)
        .await
        .unwrap();
    for line in probe(&format!("http://{}", listening.local_addr())).await {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["encoding"], serde_json::Value::Null, "{line}");
        assert_eq!(v["body"], "as sent", "{line}");
    }
}

const STEPS: [&str; 12] = [
    "socket",
    "socket small",
    "socket compress false",
    "socket compress true",
    "io",
    "io compress false",
    "namespace compress false",
    "room",
    "room compress false",
    "socket to room compress false",
    "binary compress false",
    "binary",
];

/// Our socket.io server doing what `sio_compress_server.js` does.
async fn our_sio_server() -> (Arc<Server>, String) {
    let server = Arc::new(
        Server::bind("127.0.0.1:0", socketio_server::ServerOptions::default())
            .await
            .unwrap(),
    );
    let url = format!("http://{}", server.local_addr());
    sio_handlers(&server);
    (server, url)
}

/// The handlers of `sio_compress_server.js`, on `server`.
fn sio_handlers(server: &Arc<Server>) {
    let io = Arc::downgrade(server);
    server.of("/").on_connect(move |socket| {
        socket.join("r");
        let io = io.clone();
        socket.on("go", move |s, (step,): (String,), _| {
            let io = io.upgrade().unwrap();
            async move {
                let big = "y".repeat(3000);
                let bytes = Binary::from(vec![7u8; 3000]);
                let args = (step.as_str(), big.as_str());
                let r = match step.as_str() {
                    "socket" => s.emit("big", &args),
                    "socket small" => s.emit("big", &(step.as_str(), "y")),
                    "socket compress false" => s.compress(false).emit("big", &args),
                    "socket compress true" => s.compress(true).emit("big", &args),
                    "io" => io.emit("big", &args).map(drop),
                    "io compress false" => io.compress(false).emit("big", &args).map(drop),
                    "namespace compress false" => {
                        s.ns().compress(false).emit("big", &args).map(drop)
                    }
                    "room" => io.to("r").emit("big", &args).map(drop),
                    "room compress false" => {
                        io.to("r").compress(false).emit("big", &args).map(drop)
                    }
                    "socket to room compress false" => {
                        s.to("nobody").compress(false).emit("big", &args).unwrap();
                        s.compress(false).emit("big", &args)
                    }
                    "binary compress false" => {
                        s.compress(false).emit("big", &(step.as_str(), &bytes))
                    }
                    "binary" => s.emit("big", &(step.as_str(), &bytes)),
                    other => panic!("unknown step {other}"),
                };
                r.unwrap();
            }
        });
    });
}

async fn sio_client(url: &str) -> Vec<String> {
    let mut args = vec![url];
    args.extend(STEPS);
    let mut node = NodePeer::spawn("sio_compress_client.js", &args);
    let mut lines = Vec::new();
    loop {
        let line = node.line().await;
        if line == "done" {
            break;
        }
        lines.push(line);
    }
    assert!(node.success().await);
    lines
}

const WANT_SIO: [&str; 12] = [
    "socket gzip 3000",
    "socket small none 1",
    "socket compress false identity 3000",
    "socket compress true gzip 3000",
    "io gzip 3000",
    "io compress false identity 3000",
    "namespace compress false identity 3000",
    "room gzip 3000",
    "room compress false identity 3000",
    "socket to room compress false identity 3000",
    "binary compress false identity 3000",
    "binary gzip 3000",
];

/// The hyper front door compresses as the embedded one: the same server
/// mounted in axum.
#[tokio::test]
async fn compress_and_compress_false_through_an_axum_mount() {
    let server = Arc::new(Server::new(socketio_server::ServerOptions::default()));
    sio_handlers(&server);
    let app = axum::Router::new().layer(server.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(sio_client(&format!("http://{addr}")).await, WANT_SIO);
}

#[tokio::test]
async fn compress_false_is_honoured_over_polling_as_by_the_official_server() {
    let (_server, url) = our_sio_server().await;
    let ours = sio_client(&url).await;
    let (_official, url) = node_server("sio_compress_server.js").await;
    let theirs = sio_client(&url).await;
    assert_eq!(ours, theirs, "ours, then the official server's");
    assert_eq!(ours, WANT_SIO);
}

#[tokio::test]
async fn our_client_inflates_the_official_servers_compressed_polls() {
    let (mut official, url) = node_server("eio_compress_server.js").await;
    let mut options = engineio::client::ClientOptions::default();
    options.session.upgrade = false;
    let mut client = engineio::client::Client::connect(&url, options)
        .await
        .unwrap();
    client
        .send(Payload::Text("send 5000:1,3000:0".into()))
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), client.recv())
            .await
            .expect("the messages")
            .expect("open");
        if let engineio::ClientEvent::Message(Payload::Text(t)) = event {
            assert!(t.as_str().bytes().all(|b| b == b'x'));
            got.push(t.len());
        }
    }
    assert_eq!(got, [5000, 3000]);
    assert_eq!(
        official.line().await,
        "encoded gzip",
        "the server compressed"
    );
    client.close().await;
}

/// What the official server (permessage-deflate on) saw of a client that
/// emitted "big" as is, then with `compress(false)`, then "done".
async fn frames_seen(node: &mut NodePeer) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = node.line().await;
        if line == "done" {
            return lines;
        }
        lines.push(line);
    }
}

#[tokio::test]
async fn clients_compress_false_leaves_the_websocket_uncompressed() {
    let want = ["frame compressed", "frame plain, 1000 bytes or more"];

    let (mut official, url) = node_server("sio_deflate_server.js").await;
    let mut options = socketio_client::ClientOptions::default().transports(["websocket"]);
    options.engine.per_message_deflate = Some(ws_frame::DeflateConfig::default());
    let socket = socketio_client::connect(&url, options);
    let big = "y".repeat(3000);
    socket.emit("big", &(big.as_str(),)).unwrap();
    socket
        .compress(false)
        .emit("big", &(big.as_str(),))
        .unwrap();
    socket.emit("done", &()).unwrap();
    assert_eq!(frames_seen(&mut official).await, want, "ours");
    socket.disconnect();

    let (mut official, url) = node_server("sio_deflate_server.js").await;
    let client = NodePeer::spawn("sio_deflate_client.js", &[&url]);
    assert_eq!(
        frames_seen(&mut official).await,
        want,
        "the official client"
    );
    assert!(client.success().await);
}

/// What the official client (reading frames off the wire) saw of a server
/// with permessage-deflate that emitted "big" as is, then with
/// `compress(false)`.
async fn server_frames(url: &str) -> Vec<String> {
    let mut node = NodePeer::spawn("sio_deflate_probe_client.js", &[url]);
    let lines = frames_seen(&mut node).await;
    assert!(node.success().await);
    lines
}

#[tokio::test]
async fn servers_compress_false_leaves_the_websocket_uncompressed() {
    let mut options = socketio_server::ServerOptions::default();
    options.engine.per_message_deflate = Some(ws_frame::DeflateConfig::default());
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    server.of("/").on_connect(|socket| {
        socket.on("go", |s, (): (), _| async move {
            let big = "y".repeat(3000);
            s.emit("big", &(big.as_str(),)).unwrap();
            s.compress(false).emit("big", &(big.as_str(),)).unwrap();
        });
    });
    let ours = server_frames(&format!("http://{}", server.local_addr())).await;
    assert_eq!(
        ours,
        ["frame compressed", "frame plain, 1000 bytes or more"]
    );

    // engine.io 6.6.12 sends every message with ws's default compress: true.
    let (_official, url) = node_server("sio_deflate_emit_server.js").await;
    assert_eq!(
        server_frames(&url).await,
        ["frame compressed", "frame compressed"],
        "the official server ignores compress(false) over WebSocket"
    );
}
