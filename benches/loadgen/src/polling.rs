//! Socket.IO over HTTP long-polling only (no upgrade), the path corporate
//! proxies force: `sio-poll-echo` and `sio-poll-broadcast`.
//!
//! Each client holds two keep-alive HTTP/1.1 connections, one for its GETs
//! and one for its POSTs, as a browser does with its connection pool. The
//! client is written here over plain TCP, so it costs the same against every
//! server.

use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_frame::Message;

use super::{Args, closed_loops, cpu_snapshot, report, sio_connect};

/// How long a response may take: a long-poll GET is held up to the
/// server's ping interval (25 s by default everywhere here).
const RESPONSE_DEADLINE: Duration = Duration::from_secs(40);

/// Where a URL points: `host:port` and the path with its query.
pub(crate) struct Target {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

impl Target {
    /// From any `scheme://host:port/path?query` URL (ws:// or http://).
    pub(crate) fn parse(url: &str) -> Target {
        let uri: http::Uri = url.parse().expect("a URL");
        let host = uri.host().unwrap_or("127.0.0.1");
        let port = uri.port_u16().unwrap_or(80);
        Target {
            addr: format!("{host}:{port}").parse().expect("an IP address"),
            authority: format!("{host}:{port}"),
            path_and_query: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_owned()),
        }
    }

    /// The same path and query with `transport=` set to `transport`.
    pub(crate) fn with_transport(&self, transport: &str) -> String {
        let (path, query) = self
            .path_and_query
            .split_once('?')
            .unwrap_or((&self.path_and_query, ""));
        let mut q: Vec<String> = query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("transport="))
            .map(str::to_owned)
            .collect();
        q.push(format!("transport={transport}"));
        format!("{path}?{}", q.join("&"))
    }
}

/// One keep-alive HTTP/1.1 connection. A server may close an idle one
/// (Node's `keepAliveTimeout` is 5 s): a request that finds it closed
/// before any answer is sent again on a new connection.
pub(crate) struct HttpConn {
    addr: std::net::SocketAddr,
    source: Option<std::net::Ipv4Addr>,
    tcp: Option<TcpStream>,
    buf: BytesMut,
}

impl HttpConn {
    pub(crate) fn new(addr: std::net::SocketAddr, index: usize) -> HttpConn {
        // As `connect_with`: past one address pair's ports, other sources.
        let source = (index >= 20_000)
            .then(|| std::net::Ipv4Addr::new(127, 0, 0, 1 + (index / 20_000) as u8));
        HttpConn {
            addr,
            source,
            tcp: None,
            buf: BytesMut::with_capacity(4096),
        }
    }

    async fn open(&mut self) -> std::io::Result<&mut TcpStream> {
        if self.tcp.is_none() {
            let socket = tokio::net::TcpSocket::new_v4()?;
            if let Some(source) = self.source {
                socket.set_reuseaddr(true)?;
                socket.bind((source, 0).into())?;
            }
            let tcp = socket.connect(self.addr).await?;
            tcp.set_nodelay(true)?;
            self.buf.clear();
            self.tcp = Some(tcp);
        }
        Ok(self.tcp.as_mut().expect("just opened"))
    }

    /// Sends one request (`body` makes it a POST) and returns the response
    /// body; panics on anything but 200.
    pub(crate) async fn request(
        &mut self,
        authority: &str,
        path: &str,
        body: Option<&str>,
    ) -> String {
        let head = match body {
            None => format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: */*\r\n\r\n"),
            Some(b) => format!(
                "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: */*\r\n\
Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ),
        };
        for attempt in 0..2 {
            let reused = self.tcp.is_some();
            let tcp = self.open().await.expect("connect");
            let sent = tcp.write_all(head.as_bytes()).await;
            let answer = match sent {
                Ok(()) => self.read_response().await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(Some(body)) => return body,
                // Closed by the server while idle: once more, afresh.
                Ok(None) | Err(_) if reused && attempt == 0 => self.tcp = None,
                other => panic!("{path}: no HTTP response: {other:?}"),
            }
        }
        unreachable!("the second attempt returns or panics")
    }

    /// One response: `Ok(None)` if the connection closed before its first byte.
    async fn read_response(&mut self) -> std::io::Result<Option<String>> {
        let tcp = self.tcp.as_mut().expect("open");
        let deadline = tokio::time::Instant::now() + RESPONSE_DEADLINE;
        let (status, head_len, length, close) = loop {
            if let Some(h) = parse_head(&self.buf) {
                break h;
            }
            let n = tokio::time::timeout_at(deadline, tcp.read_buf(&mut self.buf))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        };
        while self.buf.len() < head_len + length {
            let n = tokio::time::timeout_at(deadline, tcp.read_buf(&mut self.buf))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        self.buf.advance(head_len);
        let body = self.buf.split_to(length);
        let body = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
        if close {
            self.tcp = None;
        }
        assert_eq!(status, 200, "HTTP status, body {body:?}");
        Ok(Some(body))
    }
}

/// `(status, head length, Content-Length, Connection: close)` once the
/// head is complete. Every server here answers a polling request with a
/// Content-Length (chunked bodies are refused, loudly).
fn parse_head(buf: &[u8]) -> Option<(u16, usize, usize, bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let (mut length, mut close) = (0, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().expect("a Content-Length");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            panic!("a chunked polling response: not supported by this load generator");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Some((status, end, length, close))
}

/// A Socket.IO client on the polling transport, in the main namespace.
pub(crate) struct PollingClient {
    authority: String,
    /// The path with `transport=polling&sid=…`.
    path: String,
    get: HttpConn,
    post: HttpConn,
    pub(crate) sid: String,
}

impl PollingClient {
    /// The Engine.IO handshake only (`0{"sid":…}`), on a new connection.
    pub(crate) async fn open(target: &Target, index: usize) -> PollingClient {
        let base = target.with_transport("polling");
        let mut get = HttpConn::new(target.addr, index);
        let open = get.request(&target.authority, &base, None).await;
        assert!(open.starts_with('0'), "Engine.IO open, got {open}");
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a sid")
            .to_owned();
        PollingClient {
            authority: target.authority.clone(),
            path: format!("{base}&sid={sid}"),
            get,
            post: HttpConn::new(target.addr, index),
            sid,
        }
    }

    /// Handshake, then the namespace CONNECT over polling.
    pub(crate) async fn connect(target: &Target, index: usize) -> PollingClient {
        let mut c = PollingClient::open(target, index).await;
        c.post("40").await;
        loop {
            let packets = c.poll().await;
            if packets.iter().any(|p| p.starts_with("40")) {
                return c;
            }
        }
    }

    /// One POST of one or more packets.
    pub(crate) async fn post(&mut self, packets: &str) {
        let ok = self
            .post
            .request(&self.authority, &self.path, Some(packets))
            .await;
        assert_eq!(ok, "ok", "POST answered");
    }

    /// One GET: the packets it brings, with heartbeats answered (and left
    /// out) and noops dropped.
    pub(crate) async fn poll(&mut self) -> Vec<String> {
        let body = self.get.request(&self.authority, &self.path, None).await;
        let mut packets = Vec::new();
        let mut pings = 0;
        for p in body.split('\x1e') {
            match p {
                "2" => pings += 1,
                "6" | "" => {}
                p if p.starts_with('1') => panic!("the server closed the session"),
                p => packets.push(p.to_owned()),
            }
        }
        for _ in 0..pings {
            self.post("3").await;
        }
        packets
    }
}

/// Echo with ack, closed-loop, over polling: each client POSTs one event
/// with an ack id, then GETs until the ack is there.
pub(crate) async fn echo(a: &Args) {
    let target = Target::parse(&a.url);
    let body = "x".repeat(a.size);
    let mut clients = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        clients.push(PollingClient::connect(&target, i).await);
    }
    let clients = std::sync::Arc::new(std::sync::Mutex::new(clients));
    let (count, elapsed, lat, cpu0) = closed_loops(a, |_, deadline| {
        let mut c = clients.lock().unwrap().pop().expect("a client");
        let body = body.clone();
        async move {
            let (mut n, mut lat) = (0u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                c.post(&format!("42{n}[\"echo\",\"{body}\"]")).await;
                let want = format!("43{n}[");
                'ack: loop {
                    for p in c.poll().await {
                        if p.starts_with(&want) {
                            break 'ack;
                        }
                    }
                }
                lat.push(t.elapsed().as_micros() as u32);
                n += 1;
            }
            (n, lat)
        }
    })
    .await;
    report("sio-poll-echo", a, count, elapsed, lat, cpu0, "");
}

/// Broadcast to `--conns` polling receivers, each with a GET outstanding;
/// the emitter is on a WebSocket, as in `sio-broadcast`. A round ends when
/// every receiver has the broadcast.
pub(crate) async fn broadcast(a: &Args) {
    let target = Target::parse(&a.url);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..a.conns {
        let mut c = PollingClient::connect(&target, i).await;
        let done = done_tx.clone();
        tokio::spawn(async move {
            loop {
                for p in c.poll().await {
                    if p.starts_with("42[\"bcast\"") && done.send(Instant::now()).is_err() {
                        return;
                    }
                }
            }
        });
    }
    let ws_url = format!(
        "ws://{}{}",
        target.authority,
        target.with_transport("websocket")
    );
    let mut emitter = sio_connect(&ws_url, a.conns).await;
    let mut times = Vec::with_capacity(a.rounds);
    let cpu0 = cpu_snapshot(&a.pids);
    let start = Instant::now();
    for r in 0..a.rounds {
        let t = Instant::now();
        emitter
            .send(Message::text(format!("42[\"broadcast\",{r}]")))
            .await
            .expect("send");
        let mut last = t;
        let mut left = a.conns;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while left > 0 {
            tokio::select! {
                d = done_rx.recv() => {
                    last = d.expect("open");
                    left -= 1;
                }
                // The emitter's own copy, and its heartbeats.
                m = emitter.next() => match m {
                    Some(Ok(Message::Text(t))) if t == "2" => {
                        emitter.send(Message::text("3")).await.expect("pong");
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the emitter's connection ended: {other:?}"),
                },
                () = tokio::time::sleep_until(deadline) => {
                    panic!("{} of {} receivers in 30 s", a.conns - left, a.conns)
                }
            }
        }
        times.push(last.duration_since(t).as_micros() as u32);
    }
    let elapsed = start.elapsed();
    let deliveries = (a.conns * a.rounds) as u64;
    report(
        "sio-poll-broadcast",
        a,
        deliveries,
        elapsed,
        times,
        cpu0,
        "",
    );
}

/// Reads what a WebSocket sends until it closes (bounded): the closing
/// handshake's end.
pub(crate) async fn drain(ws: &mut super::Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::{Target, parse_head};

    #[test]
    fn transport_is_replaced_not_added() {
        let t = Target::parse("ws://127.0.0.1:3301/socket.io/?EIO=4&transport=polling");
        assert_eq!(t.addr.to_string(), "127.0.0.1:3301");
        assert_eq!(
            t.with_transport("websocket"),
            "/socket.io/?EIO=4&transport=websocket"
        );
        let bare = Target::parse("http://127.0.0.1:3301/socket.io/");
        assert_eq!(
            bare.with_transport("polling"),
            "/socket.io/?transport=polling"
        );
    }

    #[test]
    fn head_gives_status_length_and_close() {
        let r = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nConnection: close\r\n\r\nok";
        assert_eq!(parse_head(r), Some((200, r.len() - 2, 2, true)));
        // Not complete yet: more to read.
        assert_eq!(parse_head(&r[..20]), None);
    }
}
