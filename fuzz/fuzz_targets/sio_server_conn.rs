//! The Socket.IO server's per-connection packet handling, through its public
//! API only: one real `Server` for the whole process, on a current-thread
//! runtime with paused time (so "idle" is exact and a stuck server is seen at
//! once), namespaces `/`, `/custom` (with a middleware) and dynamic `/dyn-N`,
//! each with echo, ack, room, disconnect and server-to-client ack handlers.
//! Each input is one WebSocket connection over `tokio::io::duplex` carrying
//! up to 16 messages: raw text and binary frames, Engine.IO control packets,
//! and Socket.IO CONNECT, EVENT, ACK, DISCONNECT and binary packets from
//! templates or from the input itself.
//!
//! Oracles: no panic; everything the server writes is a valid Engine.IO
//! packet whose Socket.IO content our decoder accepts, and there is a bounded
//! amount of it; once the client hangs up, the connection is gone
//! (`connection_count() == 0`) and no socket is left in any namespace or
//! adapter, all within a bound; and a fresh connection then still gets its
//! CONNECT and an ack to an EVENT, within a bound. Nothing grows across runs.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use libfuzzer_sys::fuzz_target;
use socketio_proto::Decoder;
use socketio_server::{
    AckSender, Binary, BroadcastOptions, ConnectError, Namespace, Server, ServerOptions, Socket,
};
use tokio::io::DuplexStream;
use tokio::runtime::Runtime;
use tokio::time::timeout;
use ws_frame::{Message, WebSocketStream};

const URL: &str = "ws://in-memory/socket.io/?EIO=4&transport=websocket";
const MAX_MESSAGES: usize = 16;
/// How long the server may take over anything, in paused (virtual) time:
/// time only moves when every task waits, so this is "stuck", not "slow".
const BOUND: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<DuplexStream>;

struct World {
    rt: Runtime,
    server: Server,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let server = rt.block_on(async { serve() });
        World { rt, server }
    })
}

fn serve() -> Server {
    let server = Server::new(ServerOptions::default());
    server.of("/").on_connect(handlers);
    let custom = server.of("/custom");
    custom.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a) if a.get("deny").is_some() => Err(ConnectError::new("denied")),
        _ => Ok(()),
    });
    custom.on_connect(handlers);
    // A bounded family: every name a client may make stays in the server.
    server
        .of_dynamic(|name| {
            name.strip_prefix("/dyn-")
                .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit())
        })
        .on_connect(handlers);
    server
}

type Args = Vec<serde_json::Value>;

fn handlers(socket: Socket) {
    socket.on_raw("echo", |s, p| async move {
        let _ = match p.id() {
            Some(id) => s.ack_raw_args(id, &p),
            None => s.emit_raw_args("echo", &p),
        };
    });
    socket.on(
        "typed",
        |_, (text, bin): (String, Binary), ack: Option<AckSender>| async move {
            if let Some(ack) = ack {
                let _ = ack.send(&(text, bin));
            }
        },
    );
    socket.on(
        "join",
        |s, (room,): (String,), _| async move { s.join(&room) },
    );
    socket.on(
        "leave",
        |s, (room,): (String,), _| async move { s.leave(&room) },
    );
    socket.on("to", |s, (room,): (String,), _| async move {
        let _ = s.to(&room).emit("to", &(&room,));
    });
    socket.on("all", |s, args: Args, _| async move {
        let _ = s.ns().emit("all", &args);
    });
    // The server asks the client for an ack, and gives up after a while.
    socket.on("ask", |s, _: Args, _| async move {
        tokio::spawn(async move {
            let _ = s
                .emit_with_ack::<_, Args>("ask", &(1,), Duration::from_secs(1))
                .await;
        });
    });
    socket.on("bye", |s, _: Args, _| async move { s.disconnect() });
    socket.on("close", |s, _: Args, _| async move { s.close_connection() });
}

fn remote() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

/// Socket.IO packets a client sends, as Engine.IO messages.
const TEMPLATES: [&str; 24] = [
    "40",
    "40/custom,",
    r#"40/custom,{"deny":1}"#,
    "40/dyn-3,",
    "40/nope,",
    r#"42["echo",1]"#,
    r#"421["echo",{"a":[1,"b"]}]"#,
    r#"42/custom,5["echo"]"#,
    r#"451-["typed","t",{"_placeholder":true,"num":0}]"#,
    r#"452-/custom,3["echo",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#,
    "43/custom,0[1]",
    "430[]",
    "41",
    "41/custom,",
    r#"42["join","r"]"#,
    r#"42["to","r"]"#,
    r#"42["leave","r"]"#,
    r#"42["all",1,2]"#,
    r#"42["ask"]"#,
    r#"42["bye"]"#,
    r#"42["close"]"#,
    r#"44{"message":"x"}"#,
    r#"461-0["x",{"_placeholder":true,"num":0}]"#,
    r#"42/dyn-3,["echo",true]"#,
];
const CONTROL: [&str; 7] = ["2", "3", "2probe", "5", "6", "1", "3probe"];

/// The messages of one input: `[kind, len, body..]` each.
fn messages(mut data: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while out.len() < MAX_MESSAGES {
        let [kind, len, rest @ ..] = data else { break };
        let n = (*len as usize).min(rest.len());
        let (body, rest) = rest.split_at(n);
        data = rest;
        let pick =
            |list: &[&'static str]| list[body.first().copied().unwrap_or(0) as usize % list.len()];
        out.push(match kind % 7 {
            0 => Message::text(String::from_utf8_lossy(body).into_owned()),
            1 => Message::Binary(Bytes::copy_from_slice(body)),
            // A Socket.IO packet from the input.
            2 => Message::text(format!("4{}", String::from_utf8_lossy(body))),
            3 => Message::text(pick(&TEMPLATES)),
            4 => Message::text(pick(&CONTROL)),
            // A template with the input after it (payload, attachments count...).
            5 => Message::text(format!(
                "{}{}",
                pick(&TEMPLATES),
                String::from_utf8_lossy(body.get(1..).unwrap_or_default())
            )),
            _ => Message::Ping(Bytes::copy_from_slice(body)),
        });
    }
    out
}

async fn open(server: &Server) -> Ws {
    let (theirs, ours) = tokio::io::duplex(64 << 10);
    server.serve_io(theirs, remote());
    let (mut ws, _) = timeout(BOUND, ws_frame::connect(ours, URL))
        .await
        .expect("the WebSocket handshake is answered in time")
        .expect("the WebSocket handshake succeeds");
    let first = timeout(BOUND, ws.next())
        .await
        .expect("the open packet in time");
    match first {
        Some(Ok(Message::Text(t))) => assert!(t.as_str().starts_with("0{"), "open packet: {t:?}"),
        other => panic!("no open packet: {other:?}"),
    }
    ws
}

/// Checks one message from the server: a valid Engine.IO packet, and any
/// Socket.IO content accepted by a decoder as a client would run it.
fn check(decoder: &mut Decoder, m: Message) {
    let p = match engineio::Packet::from_ws(m) {
        None => return,
        Some(p) => p.expect("the server writes valid Engine.IO packets"),
    };
    let r = match p {
        engineio::Packet::Message(engineio::Payload::Text(t)) => {
            decoder.handle_text(t.into_bytes())
        }
        engineio::Packet::Message(engineio::Payload::Binary(b)) => decoder.handle_binary(b),
        _ => return,
    };
    if let Err(e) = r {
        panic!("the server wrote a Socket.IO packet its peer cannot decode: {e:?}");
    }
    while decoder.poll_packet().is_some() {}
}

/// Every namespace a client can reach: the static two and the dynamic ones made so far.
fn namespaces(server: &Server) -> Vec<Namespace> {
    let dynamic = (0..10).filter_map(|n| server.namespace(&format!("/dyn-{n}")));
    [server.of("/"), server.of("/custom")]
        .into_iter()
        .chain(dynamic)
        .collect()
}

/// Waits (in virtual time) until the server holds nothing of past
/// connections.
async fn settled(server: &Server) {
    let empty = || {
        server.connection_count() == 0
            && namespaces(server).iter().all(|ns| {
                ns.sockets().is_empty()
                    && ns
                        .adapter()
                        .sockets(&BroadcastOptions::default())
                        .is_empty()
            })
    };
    let waited = timeout(BOUND, async {
        while !empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "still held after the client left: {} connections, sockets {:?}",
        server.connection_count(),
        namespaces(server)
            .iter()
            .map(|ns| ns.sockets().len())
            .collect::<Vec<_>>()
    );
}

async fn run(server: &Server, data: &[u8]) {
    let mut ws = open(server).await;
    for m in messages(data) {
        if ws.send(m).await.is_err() {
            break;
        }
    }
    // Read until the server has nothing more to say (time only moves when
    // it is idle) or hangs up.
    let mut decoder = Decoder::default();
    let mut got = 0;
    while let Ok(Some(Ok(m))) = timeout(Duration::from_millis(10), ws.next()).await {
        got += 1;
        assert!(got <= 8 * MAX_MESSAGES, "the server keeps writing");
        check(&mut decoder, m);
    }
    drop(ws);
    settled(server).await;

    // A fresh client is still served.
    let mut ws = open(server).await;
    ws.send(Message::text("40")).await.expect("CONNECT sent");
    ws.send(Message::text(r#"421["echo","ok"]"#))
        .await
        .expect("EVENT sent");
    let mut replies = Vec::new();
    while replies.len() < 2 {
        match timeout(BOUND, ws.next()).await.expect("an answer in time") {
            Some(Ok(Message::Text(t))) => replies.push(t.as_str().to_owned()),
            Some(Ok(_)) => {}
            other => panic!("the fresh connection ended: {other:?}, after {replies:?}"),
        }
    }
    assert!(
        replies[0].starts_with(r#"40{"sid":""#),
        "CONNECT answered: {replies:?}"
    );
    assert_eq!(replies[1], r#"431["ok"]"#, "EVENT acked");
    drop(ws);
    settled(server).await;
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    w.rt.block_on(run(&w.server, data));
});
