//! The tokio server: an HTTP/1.1 listener that serves Engine.IO over
//! long-polling and WebSocket.
//!
//! Each session is one task that owns its [`ServerSession`] (and its
//! WebSocket, once there is one); HTTP connections hand it their requests
//! over a channel. The application sees a [`Socket`] per session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use ws_frame::handshake::{HandshakeConfig, UpgradeRequest};
use ws_frame::{Connection, WebSocketStream};

use crate::http::{self, ReadError, Response};
use crate::packet::Payload;
use crate::session::{Event, RequestError, ServerConfig, ServerSession, Transport};

/// A check on every new session's first request (auth, Origin, rate
/// limits): return `Err(status)` to refuse it with 403 or another status.
pub type AllowRequest = Arc<dyn Fn(&::http::Request<()>) -> Result<(), u16> + Send + Sync>;

/// Everything the server can be told. `Default` gives the official server's
/// defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Session settings: heartbeat, `max_payload`, upgrade timeout, buffers.
    pub session: ServerConfig,
    /// The path Engine.IO answers on. Default `/engine.io/`.
    pub path: String,
    /// `Access-Control-Allow-Origin` for cross-origin browsers: `"*"`, or
    /// one origin (echoed only when the request's Origin matches). Default
    /// `None`: no CORS headers.
    pub cors_origin: Option<String>,
    /// Checked before a new session opens.
    pub allow_request: Option<AllowRequest>,
    /// Limits on HTTP request heads. Default 16 KiB, 64 headers.
    pub http: HandshakeConfig,
    /// WebSocket limits. Default: frames and messages up to `max_payload`,
    /// as the official server's `maxHttpBufferSize` applies to both.
    pub websocket: Option<ws_frame::Config>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            session: ServerConfig::default(),
            path: "/engine.io/".to_owned(),
            cors_origin: None,
            allow_request: None,
            http: HandshakeConfig::default(),
            websocket: None,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("session", &self.session)
            .field("path", &self.path)
            .field("cors_origin", &self.cors_origin)
            .field("allow_request", &self.allow_request.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    fn ws_config(&self) -> ws_frame::Config {
        self.websocket.clone().unwrap_or_else(|| {
            let mut c = ws_frame::Config::default();
            c.max_frame_size = self.session.max_payload;
            c.max_message_size = self.session.max_payload;
            c
        })
    }
}

/// The official error answers: HTTP 400 (403 for `Forbidden`) with
/// `{"code": n, "message": "..."}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    fn response(self, status: Option<u16>) -> Response {
        let message = match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        };
        let status = status.unwrap_or(if self == ErrorCode::Forbidden {
            403
        } else {
            400
        });
        let body = format!("{{\"code\":{},\"message\":\"{message}\"}}", self as u8);
        Response::new(status, "application/json", body.into())
    }
}

enum Cmd {
    Poll(oneshot::Sender<Result<Bytes, RequestError>>),
    Post(Bytes, oneshot::Sender<Result<(), RequestError>>),
    AttachWs(Box<WebSocketStream<TcpStream>>),
    Send(Payload),
    Close,
}

struct Shared {
    options: ServerOptions,
    sessions: Mutex<HashMap<String, mpsc::Sender<Cmd>>>,
    accept: mpsc::Sender<Socket>,
}

/// An Engine.IO server on its own HTTP/1.1 listener.
#[derive(Debug)]
pub struct Server {
    accept: mpsc::Receiver<Socket>,
    local_addr: SocketAddr,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Server {
    /// Listens on `addr`.
    pub async fn bind(addr: impl ToSocketAddrs, options: ServerOptions) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (accept_tx, accept) = mpsc::channel(128);
        let shared = Arc::new(Shared {
            options,
            sessions: Mutex::new(HashMap::new()),
            accept: accept_tx,
        });
        let listener = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve_connection(shared.clone(), tcp));
            }
        });
        Ok(Server {
            accept,
            local_addr,
            listener,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next new session.
    pub async fn accept(&mut self) -> Option<Socket> {
        self.accept.recv().await
    }
}

/// One session, as the application sees it. Dropping it closes the session.
#[derive(Debug)]
pub struct Socket {
    sender: SocketSender,
    events: mpsc::Receiver<Event>,
}

impl Socket {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.sender.sid
    }

    /// The next event: a message, the upgrade, or the close (after which
    /// `None`).
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// A handle that sends on this session from anywhere.
    pub fn sender(&self) -> SocketSender {
        self.sender.clone()
    }

    /// Sends a message.
    pub async fn send(&self, payload: Payload) -> Result<(), SessionClosed> {
        self.sender.send(payload).await
    }

    /// Closes the session ("forced close").
    pub async fn close(&self) {
        self.sender.close().await
    }
}

/// The session is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SessionClosed;

/// A cloneable handle that sends on one session.
#[derive(Debug, Clone)]
pub struct SocketSender {
    sid: Arc<str>,
    cmds: mpsc::Sender<Cmd>,
}

impl SocketSender {
    /// Sends a message; waits while the session's queue is full.
    pub async fn send(&self, payload: Payload) -> Result<(), SessionClosed> {
        self.cmds
            .send(Cmd::Send(payload))
            .await
            .map_err(|_| SessionClosed)
    }

    /// Closes the session.
    pub async fn close(&self) {
        let _ = self.cmds.send(Cmd::Close).await;
    }
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cmd::Poll(_) => "Poll",
            Cmd::Post(..) => "Post",
            Cmd::AttachWs(_) => "AttachWs",
            Cmd::Send(_) => "Send",
            Cmd::Close => "Close",
        })
    }
}

/// A session id: 15 random bytes (the official server's size), base64url.
fn new_sid() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
}

fn query<'a>(uri: &'a ::http::Uri, key: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

/// The `Access-Control-Allow-Origin` value for this request, if any.
fn cors_origin(options: &ServerOptions, req: &::http::Request<()>) -> Option<String> {
    let allowed = options.cors_origin.as_deref()?;
    let origin = req
        .headers()
        .get(::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    match (allowed, origin) {
        ("*", _) => Some("*".to_owned()),
        (a, Some(o)) if a == o => Some(o.to_owned()),
        _ => None,
    }
}

async fn serve_connection(shared: Arc<Shared>, tcp: TcpStream) {
    let mut tcp = Some(tcp);
    let mut buf = BytesMut::with_capacity(4096);
    let max_body = shared.options.session.max_payload;
    loop {
        let Some(io) = tcp.as_mut() else { return };
        let req = match http::read_request(io, &mut buf, &shared.options.http, max_body).await {
            Ok(req) => req,
            Err(ReadError::Eof | ReadError::Io) => return,
            Err(e) => {
                let resp = match e {
                    ReadError::TooLarge => Response::text(413, "Payload Too Large"),
                    ReadError::Head(h) => Response::text(h.status(), h.to_string()),
                    _ => Response::text(400, "Bad Request"),
                };
                if http::write_response(io, &resp, true).await.is_ok() {
                    http::linger_close(io, 2 * max_body).await;
                }
                return;
            }
        };
        let keep = http::keep_alive(&req.head);
        let Routed::Respond(resp) = route(&shared, req, &mut tcp, &mut buf).await else {
            return;
        };
        let Some(io) = tcp.as_mut() else { return };
        if http::write_response(io, &resp, !keep).await.is_err() || !keep {
            return;
        }
    }
}

enum Routed {
    Respond(Response),
    /// The connection became a WebSocket, or the client went away while its
    /// poll waited: nothing more to answer on it.
    Done,
}

async fn route(
    shared: &Arc<Shared>,
    req: http::Request,
    tcp: &mut Option<TcpStream>,
    buf: &mut BytesMut,
) -> Routed {
    let http::Request { head, body } = req;
    let opts = &shared.options;
    let cors = cors_origin(opts, &head);
    let respond = |mut resp: Response| {
        if let Some(origin) = &cors {
            resp.headers
                .push(("Access-Control-Allow-Origin", origin.clone()));
            resp.headers.push(("Vary", "Origin".to_owned()));
        }
        Routed::Respond(resp)
    };
    let path = head.uri().path();
    if path != opts.path && path != opts.path.trim_end_matches('/') {
        return respond(Response::text(404, "Not Found"));
    }
    if head.method() == ::http::Method::OPTIONS {
        let mut resp = Response::text(204, Bytes::new());
        resp.headers
            .push(("Access-Control-Allow-Methods", "GET, POST".to_owned()));
        if let Some(h) = head.headers().get("access-control-request-headers") {
            resp.headers.push((
                "Access-Control-Allow-Headers",
                h.to_str().unwrap_or("").to_owned(),
            ));
        }
        return respond(resp);
    }
    let transport = match query(head.uri(), "transport").and_then(Transport::parse) {
        Some(Transport::Polling) if opts.session.allow_polling => Transport::Polling,
        Some(Transport::WebSocket) if opts.session.allow_websocket => Transport::WebSocket,
        _ => return respond(ErrorCode::UnknownTransport.response(None)),
    };
    if query(head.uri(), "EIO") != Some("4") {
        return respond(ErrorCode::UnsupportedProtocolVersion.response(None));
    }
    let session = match query(head.uri(), "sid") {
        Some(sid) => match shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sid)
        {
            Some(s) => Some(s.clone()),
            None => return respond(ErrorCode::UnknownSid.response(None)),
        },
        None => {
            if head.method() != ::http::Method::GET {
                return respond(ErrorCode::BadHandshakeMethod.response(None));
            }
            if let Some(allow) = &opts.allow_request {
                if let Err(status) = allow(&head) {
                    return respond(ErrorCode::Forbidden.response(Some(status)));
                }
            }
            None
        }
    };

    if transport == Transport::WebSocket {
        let Some(mut io) = tcp.take() else {
            return Routed::Done;
        };
        let up = match UpgradeRequest::check(head) {
            Ok(up) => up,
            Err(e) => {
                let resp = Response::text(e.status(), e.to_string());
                let _ = http::write_response(&mut io, &resp, true).await;
                return Routed::Done;
            }
        };
        let mut head_bytes = Vec::with_capacity(160);
        ws_frame::handshake::encode_response(&up.accept(None), &mut head_bytes);
        if tokio::io::AsyncWriteExt::write_all(&mut io, &head_bytes)
            .await
            .is_err()
        {
            return Routed::Done;
        }
        let rest = std::mem::take(buf);
        let ws = WebSocketStream::from_parts(io, Connection::server(opts.ws_config()), rest);
        match session {
            Some(s) => {
                let _ = s.send(Cmd::AttachWs(Box::new(ws))).await;
            }
            None => {
                open_session(shared, Transport::WebSocket, Some(ws));
            }
        }
        return Routed::Done;
    }

    let session = match session {
        Some(s) => s,
        None => open_session(shared, Transport::Polling, None),
    };
    match *head.method() {
        ::http::Method::GET => {
            let (tx, mut rx) = oneshot::channel();
            if session.send(Cmd::Poll(tx)).await.is_err() {
                return respond(ErrorCode::UnknownSid.response(None));
            }
            let Some(io) = tcp.as_mut() else {
                return Routed::Done;
            };
            // Wait for the answer, noticing a client that goes away meanwhile.
            let answer = loop {
                tokio::select! {
                    r = &mut rx => break r,
                    n = tokio::io::AsyncReadExt::read_buf(io, buf) => match n {
                        Ok(0) | Err(_) => return Routed::Done,
                        Ok(_) => continue,
                    },
                }
            };
            match answer {
                Ok(Ok(body)) => respond(Response::text(200, body)),
                _ => respond(ErrorCode::BadRequest.response(None)),
            }
        }
        ::http::Method::POST => {
            let (tx, rx) = oneshot::channel();
            if session.send(Cmd::Post(body, tx)).await.is_err() {
                return respond(ErrorCode::UnknownSid.response(None));
            }
            match rx.await {
                Ok(Ok(())) => respond(Response::text(200, "ok")),
                _ => respond(ErrorCode::BadRequest.response(None)),
            }
        }
        _ => respond(ErrorCode::BadRequest.response(None)),
    }
}

/// Starts a session task; returns its command channel.
fn open_session(
    shared: &Arc<Shared>,
    transport: Transport,
    ws: Option<WebSocketStream<TcpStream>>,
) -> mpsc::Sender<Cmd> {
    let sid = new_sid();
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(64);
    let now = Instant::now().into_std();
    let session = ServerSession::new(sid.clone(), shared.options.session.clone(), transport, now);
    shared
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(sid.clone(), cmd_tx.clone());
    let socket = Socket {
        sender: SocketSender {
            sid: sid.into(),
            cmds: cmd_tx.clone(),
        },
        events: ev_rx,
    };
    tokio::spawn(run_session(
        shared.clone(),
        session,
        cmd_rx,
        ev_tx,
        ws,
        socket,
    ));
    cmd_tx
}

/// Waits for the client of a pending poll to go away.
async fn poll_dropped(pending: &mut Option<oneshot::Sender<Result<Bytes, RequestError>>>) {
    match pending {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

async fn next_ws(
    ws: &mut Option<Box<WebSocketStream<TcpStream>>>,
) -> Option<Result<ws_frame::Message, ws_frame::Error>> {
    use futures_util::StreamExt;
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn run_session(
    shared: Arc<Shared>,
    mut s: ServerSession,
    mut cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<Event>,
    ws: Option<WebSocketStream<TcpStream>>,
    socket: Socket,
) {
    use futures_util::SinkExt;
    let mut ws = ws.map(Box::new);
    let mut pending_poll: Option<oneshot::Sender<Result<Bytes, RequestError>>> = None;
    if shared.accept.send(socket).await.is_err() {
        s.close();
    }
    loop {
        while let Some(e) = s.poll_event() {
            if events.send(e).await.is_err() && !s.is_closed() {
                // Nobody listens any more: the application dropped the socket.
                s.close();
            }
        }
        if let Some(body) = s.poll_poll_response() {
            if let Some(tx) = pending_poll.take() {
                let _ = tx.send(Ok(body));
            }
        }
        if let Some(w) = ws.as_mut() {
            let mut wrote = false;
            while let Some(m) = s.poll_ws() {
                wrote = true;
                if w.feed(m).await.is_err() {
                    break;
                }
            }
            if wrote {
                let _ = w.flush().await;
            }
            if !s.websocket_attached() {
                let _ = w.close().await;
                ws = None;
            }
        }
        if s.is_finished() {
            break;
        }
        let deadline = s.poll_timeout().map(Instant::from_std);
        tokio::select! {
            cmd = cmds.recv() => {
                let now = Instant::now().into_std();
                match cmd {
                    Some(Cmd::Poll(tx)) => match s.handle_poll() {
                        Ok(()) => pending_poll = Some(tx),
                        Err(e) => { let _ = tx.send(Err(e)); }
                    },
                    Some(Cmd::Post(body, tx)) => { let _ = tx.send(s.handle_post(now, body)); }
                    Some(Cmd::AttachWs(new)) => {
                        if s.attach_websocket(now).is_ok() {
                            ws = Some(new);
                        }
                    }
                    Some(Cmd::Send(p)) => s.send(p),
                    Some(Cmd::Close) | None => s.close(),
                }
            }
            msg = next_ws(&mut ws) => {
                let now = Instant::now().into_std();
                match msg {
                    Some(Ok(m)) => s.handle_ws_message(now, m),
                    _ => { s.handle_ws_closed(); ws = None; }
                }
            }
            () = poll_dropped(&mut pending_poll) => {
                pending_poll = None;
                s.handle_poll_dropped();
            }
            () = sleep_until(deadline) => s.handle_timeout(Instant::now().into_std()),
        }
    }
    // A poll that was never answered gets a 400, not a hang.
    if let Some(tx) = pending_poll.take() {
        let _ = tx.send(Err(RequestError::Closed));
    }
    shared
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(s.sid());
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
