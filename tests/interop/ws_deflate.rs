//! permessage-deflate (RFC 7692) against Node `ws` with `perMessageDeflate`,
//! both directions and both context-takeover modes, and decompression bombs
//! against a real server process.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use ws_frame::deflate::DeflateConfig;
use ws_frame::handshake::{ClientRequest, HandshakeConfig};
use ws_frame::{Config, Connection, DeflateParams, Message};

use crate::node::NodePeer;

/// A transport that counts the bytes read from it: what the peer actually
/// put on the wire.
struct Counting<S> {
    io: S,
    read: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.read.fetch_add(n, Ordering::Relaxed);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

fn deflate_config(no_context_takeover: bool) -> Config {
    let mut d = DeflateConfig::default();
    d.no_context_takeover = no_context_takeover;
    let mut c = Config::default();
    c.deflate = Some(d);
    c
}

/// The JSON `tests/js/ws_deflate.js` makes: `JSON.stringify` of `n` rows.
fn json(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{{\"id\":{i},\"name\":\"user{}\",\"ok\":{}}}",
                i % 97,
                i % 3 == 0
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

struct Seen {
    params: Option<DeflateParams>,
    wire_read: u64,
    payload: u64,
    messages: usize,
}

/// Our echo server for one connection.
async fn our_server(config: Config) -> (String, tokio::task::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let read = Arc::new(AtomicU64::new(0));
        let io = Counting {
            io: tcp,
            read: read.clone(),
        };
        let hs = HandshakeConfig::default();
        let mut ws = ws_frame::accept_with(io, config, &hs, |_, r| Ok(r))
            .await
            .unwrap();
        let params = ws.connection().deflate_params();
        let (mut payload, mut messages) = (0, 0);
        while let Some(msg) = ws.next().await {
            let Ok(msg) = msg else { continue };
            if msg.is_data() {
                payload += msg.payload().len() as u64;
                messages += 1;
                ws.send(msg).await.unwrap();
            }
        }
        Seen {
            params,
            wire_read: read.load(Ordering::Relaxed),
            payload,
            messages,
        }
    });
    (url, task)
}

#[tokio::test]
async fn node_client_with_deflate_against_our_server() {
    let both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    // (Node's offer, our server imposing no context takeover, the answer)
    for (node_mode, forced, answer) in [
        ("takeover", false, "permessage-deflate"),
        ("nocontext", false, both),
        ("takeover", true, both),
    ] {
        let (url, server) = our_server(deflate_config(forced)).await;
        let mut node = NodePeer::spawn("ws_deflate.js", &["client", &url, node_mode]);
        assert_eq!(
            node.line().await,
            format!("extensions {answer}"),
            "{node_mode}"
        );
        assert_eq!(node.line().await, "echoes ok", "{node_mode} {forced}");
        assert_eq!(node.line().await, "closed 1000");
        assert!(node.success().await);
        let seen = server.await.unwrap();
        let p = seen.params.expect("deflate negotiated");
        assert_eq!(
            p.server_no_context_takeover,
            node_mode == "nocontext" || forced
        );
        assert_eq!(seen.messages, 12);
        // Node compressed what it sent: the wire carried a fraction of it
        // (64 KiB of the payload per round is random and does not shrink).
        assert!(
            seen.wire_read * 4 < seen.payload,
            "{node_mode} {forced}: {} bytes on the wire for {} of messages",
            seen.wire_read,
            seen.payload
        );
    }
}

#[tokio::test]
async fn our_client_with_deflate_against_node_server() {
    // (Node server's mode, our client asking for no context takeover)
    for (node_mode, ours) in [
        ("takeover", false),
        ("nocontext", false),
        ("takeover", true),
    ] {
        let mut node = NodePeer::spawn("ws_deflate.js", &["server", node_mode]);
        let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
        let url = format!("ws://127.0.0.1:{port}/");
        let read = Arc::new(AtomicU64::new(0));
        let io = Counting {
            io: TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap(),
            read: read.clone(),
        };
        let req = ClientRequest::new(&url, [5; 16]).unwrap();
        let (mut ws, resp) =
            ws_frame::connect_with(io, &req, deflate_config(ours), &HandshakeConfig::default())
                .await
                .unwrap();
        let ext = resp.headers()["sec-websocket-extensions"].to_str().unwrap();
        let nct = node_mode == "nocontext" || ours;
        assert!(ext.starts_with("permessage-deflate"), "{ext}");
        assert_eq!(ext.contains("server_no_context_takeover"), nct, "{ext}");
        // Node names the extension it agreed to.
        assert_eq!(node.line().await, "extensions permessage-deflate");
        let p = ws.connection().deflate_params().unwrap();
        assert_eq!(p.client_no_context_takeover, nct);

        let random: Vec<u8> = (0..64u32 << 10)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let big = json(60_000).into_bytes();
        let mut payload = 0;
        for _ in 0..2 {
            for msg in [
                Message::text(json(1500)),
                Message::binary(random.clone()),
                Message::text("small"),
                Message::binary(big.clone()),
            ] {
                payload += msg.payload().len() as u64;
                ws.send(msg.clone()).await.unwrap();
                let got = ws.next().await.unwrap().unwrap();
                assert!(got == msg, "echo differs");
            }
            // Node sends a compressed text in three fragments.
            ws.send(Message::text("fragment-me")).await.unwrap();
            let got = ws.next().await.unwrap().unwrap();
            assert!(
                got == Message::text(json(2000)),
                "fragmented message differs"
            );
            payload += got.payload().len() as u64;
        }
        assert!(
            read.load(Ordering::Relaxed) * 4 < payload,
            "{} bytes on the wire for {payload}",
            read.load(Ordering::Relaxed)
        );
        ws.close().await.unwrap();
        while ws.next().await.is_some() {}
    }
}

/// A frame of `len` zeros compressed, as a client sends it (zero mask key):
/// a few KiB that inflate to `len` bytes.
fn bomb(len: usize) -> Vec<u8> {
    let mut c =
        Connection::client(deflate_config(false), || [0; 4]).with_deflate(DeflateParams::default());
    c.send(Message::binary(vec![0u8; len])).unwrap();
    std::iter::from_fn(|| c.poll_transmit()).flatten().collect()
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[tokio::test]
async fn decompression_bombs_get_1009_and_bounded_memory() {
    let exe = realtime_interop::cargo_build(
        "realtime-ws-frame",
        "--example",
        "autobahn_server",
        &["--release", "--features", "deflate"],
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let limit = 1 << 20;
    let mut server = tokio::process::Command::new(exe)
        .args([
            &addr.to_string(),
            "--deflate",
            "--max-message-size",
            &limit.to_string(),
        ])
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = server.id().unwrap();
    let mut tcp = None;
    for _ in 0..100 {
        if let Ok(t) = TcpStream::connect(addr).await {
            tcp = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(tcp.expect("the server listens"));
    let before = vm_hwm_kib(pid);

    // 256 MiB of zeros each, in about 256 KiB; 24 of them, 4 at a time.
    let frame = Arc::new(bomb(256 << 20));
    assert!(frame.len() < 300 << 10, "{}", frame.len());
    let url = format!("ws://{addr}/");
    for _ in 0..6 {
        let mut round = Vec::new();
        for _ in 0..4 {
            let (frame, url) = (frame.clone(), url.clone());
            round.push(tokio::spawn(async move {
                let tcp = TcpStream::connect(addr).await.unwrap();
                let req = ClientRequest::new(&url, [1; 16]).unwrap();
                let (mut ws, _) = ws_frame::connect_with(
                    tcp,
                    &req,
                    deflate_config(false),
                    &HandshakeConfig::default(),
                )
                .await
                .unwrap();
                assert!(ws.connection().deflate_params().is_some());
                // Written raw: our own client would not send past the limit.
                ws.get_mut().write_all(&frame).await.unwrap();
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Close(Some(f)))) => return f.code.0,
                        Some(Ok(_)) => {}
                        other => panic!("expected a close frame, got {other:?}"),
                    }
                }
            }));
        }
        for t in round {
            // A server that inflates past the limit is slow to answer, if
            // it answers at all.
            let code = tokio::time::timeout(std::time::Duration::from_secs(60), t)
                .await
                .expect("no close frame within 60 s");
            assert_eq!(code.unwrap(), 1009);
        }
    }
    let after = vm_hwm_kib(pid);
    // Four bombs at a time, each held to the 1 MiB limit: a few MiB more at
    // the peak. Inflating one unbounded would take 256 MiB.
    assert!(
        after < before + 32 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
    server.kill().await.unwrap();
}

/// The official engine.io-client offers permessage-deflate by default; our
/// server takes it only with `per_message_deflate` set, and then the echo
/// comes back compressed.
#[tokio::test]
async fn engineio_client_with_deflate_against_our_server() {
    use engineio::server::{Server, ServerOptions};
    use engineio::{Event, Payload};
    for on in [true, false] {
        let mut options = ServerOptions::default();
        if on {
            options.per_message_deflate = Some(DeflateConfig::default());
        }
        let mut server = Server::bind("127.0.0.1:0", options).await.unwrap();
        let url = format!("http://{}", server.local_addr());
        let task = tokio::spawn(async move {
            let mut socket = server.accept().await.unwrap();
            while let Some(event) = socket.recv().await {
                if let Event::Message(m @ Payload::Text(_)) = event {
                    socket.send(m).await.unwrap();
                }
            }
        });
        let mut node = NodePeer::spawn("eio_deflate_client.js", &[&url]);
        let want = if on { "permessage-deflate" } else { "" };
        assert_eq!(node.line().await, format!("extensions {want}"));
        let echo = node.line().await;
        let mut parts = echo.strip_prefix("echo ok ").unwrap().split(' ');
        let read: u64 = parts.next().unwrap().parse().unwrap();
        let len: u64 = parts.next().unwrap().parse().unwrap();
        // Compressed, the ~100 KB echo takes a fraction of its size.
        assert_eq!(read * 4 < len, on, "{read} bytes read for {len}");
        assert!(node.line().await.starts_with("closed "));
        assert!(node.success().await);
        task.abort();
    }
}

/// Our engineio client offers permessage-deflate by default (as the official
/// client does); the official server with `perMessageDeflate` takes it, and
/// what we send arrives compressed.
#[tokio::test]
async fn our_engineio_client_with_deflate_against_node_server() {
    use engineio::client::{Client, ClientOptions};
    use engineio::{ClientEvent, Payload, Transport};
    for offer in [true, false] {
        let mut node = NodePeer::spawn("eio_deflate_server.js", &[]);
        let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
        let mut options = ClientOptions::default();
        assert!(options.per_message_deflate.is_some(), "offered by default");
        if !offer {
            options.per_message_deflate = None;
        }
        options.session.initial = Transport::WebSocket;
        options.session.upgrade = false;
        let mut c = Client::connect(&format!("http://127.0.0.1:{port}"), options)
            .await
            .unwrap();
        let want = if offer { "permessage-deflate" } else { "" };
        assert_eq!(node.line().await, format!("extensions {want}"));
        let text = json(2500);
        let next = async |c: &mut Client| loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), c.recv())
                .await
                .unwrap()
            {
                Some(ClientEvent::Message(Payload::Text(t))) => break t.to_string(),
                Some(ClientEvent::Message(_)) | Some(ClientEvent::Upgraded) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        };
        c.send(Payload::Text(text.as_str().into())).await.unwrap();
        assert!(next(&mut c).await == text, "echo differs");
        c.send(Payload::Text("bytes".into())).await.unwrap();
        let read: usize = next(&mut c)
            .await
            .strip_prefix("bytes ")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            read * 4 < text.len(),
            offer,
            "{read} bytes read for {}",
            text.len()
        );
        c.close().await;
    }
}
