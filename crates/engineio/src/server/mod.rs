//! The tokio server: an HTTP/1.1 listener that serves Engine.IO over
//! long-polling and WebSocket.
//!
//! Each session is one task that owns its [`ServerSession`] (and its
//! WebSocket, once there is one); HTTP connections hand it their requests
//! over a channel. Two ways to use it:
//!
//! - [`Server::bind`] and [`Server::accept`]: a [`Socket`] per session, with
//!   events over a channel;
//! - [`serve`] with a [`Handler`]: your code runs on the session's own task,
//!   called for each message with no channel in between (what a protocol on
//!   top, like Socket.IO, wants).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::PollSender;
use ws_frame::handshake::{HandshakeConfig, UpgradeRequest};
use ws_frame::{Connection, WebSocketStream};

use crate::http::{self, ReadError, Response};
use crate::packet::{Payload, Prepared};
use crate::session::{CloseReason, Event, RequestError, ServerConfig, ServerSession, Transport};
use queue::{PushError, Queue, Recv};

mod queue;

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
    /// Limits on HTTP request heads: 16 KiB, 64 headers, and `timeout`,
    /// how long a head may take to arrive in full, counted from when the
    /// server starts waiting for it (a new connection, or the previous
    /// response on a kept-alive one). Past it the connection is closed,
    /// with 408 if part of a head came. Default 10 s: a client that dribbles
    /// its head holds a connection no longer than that.
    pub http: HandshakeConfig,
    /// WebSocket limits. Default: frames and messages up to `max_payload`,
    /// as the official server's `maxHttpBufferSize` applies to both.
    pub websocket: Option<ws_frame::Config>,
    /// How long one write to a client's WebSocket may take before the
    /// session ends with "transport error": a client that stops reading is
    /// let go instead of holding its buffers forever. Default 30 s.
    pub write_timeout: std::time::Duration,
    /// Commands a session's queue holds (requests, messages from other
    /// tasks) before senders wait or `try_send` fails. Default 1024; the
    /// queue's memory is allocated as it fills, not up front.
    pub command_queue: usize,
    /// How long a whole request (head and body) may take. Past it: 408 and
    /// close. Default 30 s: a 1 MB POST needs ~35 KB/s.
    pub request_timeout: std::time::Duration,
    /// How long one handler call may take, and how long an event may wait
    /// for a handler that is not ready ([`Handler::poll_ready`]), before the
    /// session gives up on it: the call is dropped, undelivered messages are
    /// discarded and the session closes ("forced close"). Default 45 s, the
    /// default heartbeat's span (ping interval + ping timeout), after which
    /// the client has given up anyway.
    pub handler_timeout: std::time::Duration,
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
            write_timeout: std::time::Duration::from_secs(30),
            command_queue: 1024,
            request_timeout: std::time::Duration::from_secs(30),
            handler_timeout: std::time::Duration::from_secs(45),
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

enum Cmd<C> {
    Poll(oneshot::Sender<Result<Bytes, RequestError>>),
    Post(Bytes, oneshot::Sender<Result<(), RequestError>>),
    AttachWs(Box<WebSocketStream<BoxIo>>),
    App(C),
}

/// Code that runs on each session's own task. The session calls it inline
/// and awaits it: a handler that takes its time slows that one client down
/// (its reads wait), never the others. No call may take longer than
/// [`ServerOptions::handler_timeout`]: past it the call is dropped and the
/// session closes, so a handler waiting on something that waits on the
/// session cannot wedge it.
pub trait Handler: Send + 'static {
    /// Messages other tasks send to this session ([`SessionSender::send`]).
    type Command: Send + 'static;

    /// Whether the handler can take the next message or upgrade now. While
    /// it cannot, the session holds that event and reads no more from the
    /// client (WebSocket reads and POSTs wait: backpressure), but goes on
    /// taking commands and running timers, so a handler that hands events
    /// to another task which in turn sends to this session never deadlocks.
    /// Register `cx`'s waker when answering `Pending`. Default: ready.
    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Ready(())
    }

    /// The session opened; its handshake is on its way.
    fn on_open(&mut self, ctx: &mut Context<'_>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// A message from the client.
    fn on_message(
        &mut self,
        ctx: &mut Context<'_>,
        msg: Payload,
    ) -> impl Future<Output = ()> + Send;

    /// A command from another task.
    fn on_command(
        &mut self,
        ctx: &mut Context<'_>,
        cmd: Self::Command,
    ) -> impl Future<Output = ()> + Send;

    /// The session moved from polling to WebSocket.
    fn on_upgrade(&mut self, ctx: &mut Context<'_>) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// When the handler wants [`on_timeout`](Self::on_timeout) called.
    fn poll_timeout(&self) -> Option<std::time::Instant> {
        None
    }

    /// Its deadline passed.
    fn on_timeout(
        &mut self,
        ctx: &mut Context<'_>,
        now: std::time::Instant,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, now);
        async {}
    }

    /// The session ended. Nothing can be sent any more.
    fn on_close(&mut self, reason: CloseReason) -> impl Future<Output = ()> + Send {
        let _ = reason;
        async {}
    }
}

/// The session, as a handler sees it while it runs.
#[derive(Debug)]
pub struct Context<'a> {
    session: &'a mut ServerSession,
}

impl Context<'_> {
    /// The session id.
    pub fn sid(&self) -> &str {
        self.session.sid()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.session.transport()
    }

    /// Queues a message for the client.
    pub fn send(&mut self, payload: Payload) {
        self.session.send(payload);
    }

    /// Queues a message encoded once for many sessions (see [`Prepared`]).
    pub fn send_prepared(&mut self, message: &Prepared) {
        self.session.send_prepared(message);
    }

    /// Closes the session ("forced close").
    pub fn close(&mut self) {
        self.session.close(Instant::now().into_std());
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }
}

/// What a new session's handler is made from.
#[derive(Debug)]
pub struct SessionInfo<C> {
    /// The session id.
    pub sid: String,
    /// The request that opened it: URI (query), headers.
    pub request: ::http::Request<()>,
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// Sends commands to this session's handler from other tasks.
    pub sender: SessionSender<C>,
}

/// A cloneable handle that reaches one session's handler from anywhere.
#[derive(Debug)]
pub struct SessionSender<C> {
    sid: Arc<str>,
    cmds: Arc<Queue<Cmd<C>>>,
}

impl<C> Clone for SessionSender<C> {
    fn clone(&self) -> Self {
        SessionSender {
            sid: self.sid.clone(),
            cmds: self.cmds.clone(),
        }
    }
}

impl<C: Send + 'static> SessionSender<C> {
    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Sends a command; waits while the session's queue is full.
    pub async fn send(&self, cmd: C) -> Result<(), SessionClosed> {
        self.cmds
            .push(Cmd::App(cmd))
            .await
            .map_err(|_| SessionClosed)
    }

    /// Sends a command if there is room now: the building block of a
    /// broadcast that must not wait on a slow client.
    pub fn try_send(&self, cmd: C) -> Result<(), TrySendError> {
        self.cmds.try_push(Cmd::App(cmd)).map_err(|e| match e {
            PushError::Full(_) => TrySendError::Full,
            PushError::Closed(_) => TrySendError::Closed,
        })
    }

    /// Closes the session ("forced close"), at once: the request does not
    /// wait behind the commands already queued, so it works on a session
    /// whose queue is full.
    pub fn close(&self) {
        self.cmds.request_close();
    }
}

/// Why [`SessionSender::try_send`] did not send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrySendError {
    /// The session's command queue is full: the client is not keeping up.
    #[error("the session's queue is full")]
    Full,
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
}

type MakeHandler<H> = dyn Fn(SessionInfo<<H as Handler>::Command>) -> H + Send + Sync;

/// A session as the registry knows it: how to reach it, how to close it.
struct Entry<C> {
    cmds: Arc<Queue<Cmd<C>>>,
}

struct Shared<H: Handler> {
    options: ServerOptions,
    sessions: Mutex<HashMap<String, Entry<H::Command>>>,
    make: Box<MakeHandler<H>>,
}

/// A connection the server can serve: TCP, TLS, an in-memory pipe.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

type BoxIo = Box<dyn Io>;

/// The server without a listener: hand it connections yourself (from your
/// own listener, a TLS acceptor, or `tokio::io::duplex` in tests).
#[derive(Clone)]
pub struct Service {
    serve_io: Arc<dyn Fn(BoxIo, SocketAddr) + Send + Sync>,
    sessions: Arc<dyn Fn() -> usize + Send + Sync>,
    close_all: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("sessions", &(self.sessions)())
            .finish()
    }
}

impl Service {
    /// A service whose sessions get handlers made by `make`.
    pub fn new<H, F>(options: ServerOptions, make: F) -> Service
    where
        H: Handler,
        F: Fn(SessionInfo<H::Command>) -> H + Send + Sync + 'static,
    {
        let shared = Arc::new(Shared {
            options,
            sessions: Mutex::new(HashMap::new()),
            make: Box::new(make),
        });
        let count = shared.clone();
        let closing = shared.clone();
        Service {
            serve_io: Arc::new(move |io, remote| {
                tokio::spawn(serve_connection(shared.clone(), io, remote));
            }),
            sessions: Arc::new(move || {
                count
                    .sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .len()
            }),
            close_all: Arc::new(move || {
                let sessions = closing.sessions.lock().unwrap_or_else(|p| p.into_inner());
                sessions.values().for_each(|e| e.cmds.request_close());
            }),
        }
    }

    /// Serves one connection (HTTP/1.1, possibly upgraded to WebSocket) on
    /// its own task.
    pub fn serve_io(&self, io: impl Io, remote: SocketAddr) {
        (self.serve_io)(Box::new(io), remote)
    }

    /// How many sessions are open now.
    pub fn session_count(&self) -> usize {
        (self.sessions)()
    }

    /// Closes every open session ("forced close").
    pub fn close_all(&self) {
        (self.close_all)()
    }
}

/// A running listener; dropping it stops accepting (sessions in progress
/// run on until they end).
#[derive(Debug)]
pub struct Listening {
    local_addr: SocketAddr,
    listener: tokio::task::JoinHandle<()>,
    service: Service,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Listening {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many sessions are open now.
    pub fn session_count(&self) -> usize {
        self.service.session_count()
    }

    /// The service behind the listener, to hand it other connections too.
    pub fn service(&self) -> &Service {
        &self.service
    }
}

/// Serves Engine.IO on `addr`, with a handler made by `make` for each session.
pub async fn serve<H, F>(
    addr: impl ToSocketAddrs,
    options: ServerOptions,
    make: F,
) -> std::io::Result<Listening>
where
    H: Handler,
    F: Fn(SessionInfo<H::Command>) -> H + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    listen(listener, Service::new(options, make))
}

/// Accepts TCP connections from `listener` into `service`.
pub fn listen(listener: TcpListener, service: Service) -> std::io::Result<Listening> {
    let local_addr = listener.local_addr()?;
    let accepting = service.clone();
    let listener = tokio::spawn(async move {
        let mut last_report: Option<Instant> = None;
        loop {
            match listener.accept().await {
                Ok((tcp, remote)) => {
                    let _ = tcp.set_nodelay(true);
                    accepting.serve_io(tcp, remote);
                }
                Err(e) => accept_failed(&e, &mut last_report).await,
            }
        }
    });
    Ok(Listening {
        local_addr,
        listener,
        service,
    })
}

/// An accept error never ends the accept loop. One that concerns a single
/// connection (aborted or reset before it was taken) is skipped; any other
/// (out of file descriptors or memory) is reported at most once a second on
/// stderr, and accepting resumes after a short pause that lets connections
/// close, rather than spinning on an error that repeats at once.
async fn accept_failed(e: &std::io::Error, last_report: &mut Option<Instant>) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    let now = Instant::now();
    if last_report.is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(1)) {
        *last_report = Some(now);
        eprintln!("engineio: accept failed ({e}); retrying in 100 ms");
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// An Engine.IO server on its own HTTP/1.1 listener, handing out a
/// [`Socket`] per session.
#[derive(Debug)]
pub struct Server {
    accept: mpsc::Receiver<Socket>,
    listening: Listening,
}

impl Server {
    /// Listens on `addr`.
    pub async fn bind(addr: impl ToSocketAddrs, options: ServerOptions) -> std::io::Result<Server> {
        let (accept_tx, accept) = mpsc::channel(128);
        let listening = serve(addr, options, move |info: SessionInfo<SocketCmd>| {
            ChannelHandler::new(info, accept_tx.clone())
        })
        .await?;
        Ok(Server { accept, listening })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listening.local_addr
    }

    /// The next new session.
    pub async fn accept(&mut self) -> Option<Socket> {
        self.accept.recv().await
    }
}

/// The commands a [`Socket`] gives its session.
#[derive(Debug)]
pub enum SocketCmd {
    /// Send a message.
    Send(Payload),
    /// Send a message encoded once for many sessions.
    SendPrepared(Prepared),
}

/// The handler behind [`Server::bind`]: events go to the [`Socket`] over a
/// bounded channel. It reports itself not ready while the channel is full,
/// so the session stops reading from the client instead of waiting inside a
/// call for an application that may itself be waiting to send on it.
struct ChannelHandler {
    accept: Option<(mpsc::Sender<Socket>, Socket)>,
    events: PollSender<Event>,
}

impl ChannelHandler {
    fn new(info: SessionInfo<SocketCmd>, accept: mpsc::Sender<Socket>) -> Self {
        let (events, rx) = mpsc::channel(64);
        let socket = Socket {
            sender: SocketSender(info.sender),
            events: rx,
        };
        ChannelHandler {
            accept: Some((accept, socket)),
            events: PollSender::new(events),
        }
    }

    /// Hands `e` over in the room `poll_ready` reserved.
    fn deliver(&mut self, ctx: &mut Context<'_>, e: Event) {
        if self.events.send_item(e).is_err() && !ctx.is_closed() {
            // The application dropped the socket.
            ctx.close();
        }
    }
}

impl Handler for ChannelHandler {
    type Command = SocketCmd;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        // A closed channel is "ready": the delivery fails and closes the session.
        self.events.poll_reserve(cx).map(|_| ())
    }

    async fn on_open(&mut self, ctx: &mut Context<'_>) {
        if let Some((accept, socket)) = self.accept.take() {
            if accept.send(socket).await.is_err() {
                ctx.close();
            }
        }
    }

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        self.deliver(ctx, Event::Message(msg));
    }

    async fn on_command(&mut self, ctx: &mut Context<'_>, cmd: SocketCmd) {
        match cmd {
            SocketCmd::Send(p) => ctx.send(p),
            SocketCmd::SendPrepared(m) => ctx.send_prepared(&m),
        }
    }

    async fn on_upgrade(&mut self, ctx: &mut Context<'_>) {
        self.deliver(ctx, Event::Upgraded);
    }

    async fn on_close(&mut self, reason: CloseReason) {
        // Never waits: if the application is not reading, it learns of the
        // close when the channel ends.
        if let Some(events) = self.events.get_ref() {
            let _ = events.try_send(Event::Closed(reason));
        }
        self.events.close();
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
        self.sender.0.sid()
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

    /// Sends a message encoded once for many sessions (a broadcast): on
    /// WebSocket every session shares its bytes.
    pub async fn send_prepared(&self, message: Prepared) -> Result<(), SessionClosed> {
        self.sender.send_prepared(message).await
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

/// A cloneable handle that sends on one [`Socket`]'s session.
#[derive(Debug, Clone)]
pub struct SocketSender(SessionSender<SocketCmd>);

impl SocketSender {
    /// Sends a message; waits while the session's queue is full.
    pub async fn send(&self, payload: Payload) -> Result<(), SessionClosed> {
        self.0.send(SocketCmd::Send(payload)).await
    }

    /// Sends a message encoded once for many sessions; waits while the
    /// session's queue is full.
    pub async fn send_prepared(&self, message: Prepared) -> Result<(), SessionClosed> {
        self.0.send(SocketCmd::SendPrepared(message)).await
    }

    /// Closes the session.
    pub async fn close(&self) {
        self.0.close()
    }
}

impl<C> std::fmt::Debug for Cmd<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cmd::Poll(_) => "Poll",
            Cmd::Post(..) => "Post",
            Cmd::AttachWs(_) => "AttachWs",
            Cmd::App(_) => "App",
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

async fn serve_connection<H: Handler>(shared: Arc<Shared<H>>, tcp: BoxIo, remote: SocketAddr) {
    let mut tcp = Some(tcp);
    let mut buf = BytesMut::with_capacity(4096);
    let max_body = shared.options.session.max_payload;
    loop {
        let Some(io) = tcp.as_mut() else { return };
        let start = Instant::now();
        let deadlines = http::Deadlines {
            head: start + shared.options.http.timeout,
            whole: start + shared.options.request_timeout,
        };
        let req = match http::read_request(io, &mut buf, &shared.options.http, max_body, deadlines)
            .await
        {
            Ok(req) => req,
            Err(ReadError::Eof | ReadError::Io | ReadError::Idle) => return,
            Err(e) => {
                let resp = match e {
                    ReadError::TooLarge => Response::text(413, "Payload Too Large"),
                    ReadError::TimedOut => Response::text(408, "Request Timeout"),
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
        let Routed::Respond(resp) = route(&shared, req, &mut tcp, &mut buf, remote).await else {
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

async fn route<H: Handler>(
    shared: &Arc<Shared<H>>,
    req: http::Request,
    tcp: &mut Option<BoxIo>,
    buf: &mut BytesMut,
    remote: SocketAddr,
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
            Some(e) => Some(e.cmds.clone()),
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

    // What the handler learns of the request that opened its session.
    let info = || {
        let mut r = ::http::Request::new(());
        *r.uri_mut() = head.uri().clone();
        *r.headers_mut() = head.headers().clone();
        r
    };
    if transport == Transport::WebSocket {
        let Some(mut io) = tcp.take() else {
            return Routed::Done;
        };
        let request = info();
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
                let _ = s.push(Cmd::AttachWs(Box::new(ws))).await;
            }
            None => {
                open_session(shared, Transport::WebSocket, Some(ws), request, remote);
            }
        }
        return Routed::Done;
    }

    let session = match session {
        Some(s) => s,
        None => open_session(shared, Transport::Polling, None, info(), remote),
    };
    match *head.method() {
        ::http::Method::GET => {
            let (tx, mut rx) = oneshot::channel();
            if session.push(Cmd::Poll(tx)).await.is_err() {
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
            if session.push(Cmd::Post(body, tx)).await.is_err() {
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
fn open_session<H: Handler>(
    shared: &Arc<Shared<H>>,
    transport: Transport,
    ws: Option<WebSocketStream<BoxIo>>,
    request: ::http::Request<()>,
    remote_addr: SocketAddr,
) -> Arc<Queue<Cmd<H::Command>>> {
    let sid = new_sid();
    let cmds = Arc::new(Queue::new(shared.options.command_queue));
    let now = Instant::now().into_std();
    let session = ServerSession::new(sid.clone(), shared.options.session.clone(), transport, now);
    let entry = Entry { cmds: cmds.clone() };
    shared
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(sid.clone(), entry);
    let handler = (shared.make)(SessionInfo {
        sid: sid.clone(),
        request,
        remote_addr,
        sender: SessionSender {
            sid: sid.into(),
            cmds: cmds.clone(),
        },
    });
    tokio::spawn(run_session(
        shared.clone(),
        session,
        cmds.clone(),
        ws,
        handler,
    ));
    cmds
}

/// Waits for the client of a pending poll to go away.
async fn poll_dropped(pending: &mut Option<oneshot::Sender<Result<Bytes, RequestError>>>) {
    match pending {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

async fn next_ws(
    ws: &mut Option<Box<WebSocketStream<BoxIo>>>,
) -> Option<Result<ws_frame::Message, ws_frame::Error>> {
    use futures_util::StreamExt;
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// How many rounds in a row a session may answer input at hand before it
/// flushes what it has written.
const MAX_DEFERRED_FLUSHES: u32 = 64;

/// How many queued commands a session takes in one round before it writes
/// and looks at its other input again.
const MAX_COMMANDS_PER_ROUND: u32 = 64;

type PostReply = oneshot::Sender<Result<(), RequestError>>;

/// Input held back while the handler is not ready for the next event.
#[derive(Default)]
struct Held {
    /// The event the handler was not ready for, and since when.
    event: Option<(Event, Instant)>,
    /// A POST that came meanwhile: its packets are decoded once the handler
    /// has caught up, and its answer waits until then, which paces a polling
    /// client as unread WebSocket input paces a WebSocket one.
    post: Option<(Bytes, PostReply)>,
}

/// The session's handler, each call bounded by `limit`.
struct Bounded<H> {
    handler: H,
    limit: std::time::Duration,
}

impl<H: Handler> Bounded<H> {
    /// Delivers the events the session has, in order, while the handler is
    /// ready. `false`: a call overran its limit.
    async fn deliver(&mut self, s: &mut ServerSession, held: &mut Held) -> bool {
        loop {
            let (event, since) = match held.event.take() {
                Some((e, since)) => (e, Some(since)),
                None => match s.poll_event() {
                    Some(e) => (e, None),
                    None => return true,
                },
            };
            if let Event::Closed(reason) = event {
                // No readiness needed: the handler's last call.
                if !bounded(self.limit, self.handler.on_close(reason)).await {
                    return false;
                }
                continue;
            }
            let ready = std::future::poll_fn(|cx| Poll::Ready(self.handler.poll_ready(cx))).await;
            if ready.is_pending() {
                // The clock is read only when an event has to wait.
                held.event = Some((event, since.unwrap_or_else(Instant::now)));
                return true;
            }
            let mut ctx = Context { session: s };
            let done = match event {
                Event::Message(m) => {
                    bounded(self.limit, self.handler.on_message(&mut ctx, m)).await
                }
                Event::Upgraded => bounded(self.limit, self.handler.on_upgrade(&mut ctx)).await,
                Event::Closed(_) => true,
            };
            if !done {
                return false;
            }
        }
    }

    /// The handler overran its limit, or left an event waiting too long:
    /// drop what it was not given and close the session.
    async fn give_up(&mut self, s: &mut ServerSession, held: &mut Held) {
        held.event = None;
        if let Some((_, reply)) = held.post.take() {
            let _ = reply.send(Err(RequestError::Closed));
        }
        s.close(Instant::now().into_std());
        while let Some(e) = s.poll_event() {
            if let Event::Closed(reason) = e {
                bounded(self.limit, self.handler.on_close(reason)).await;
            }
        }
    }
}

/// Runs a handler call; `false` if it overran `limit` (it is then dropped).
async fn bounded<F: Future<Output = ()>>(limit: std::time::Duration, call: F) -> bool {
    within(limit, std::pin::pin!(call)).await.is_some()
}

async fn run_session<H: Handler>(
    shared: Arc<Shared<H>>,
    mut s: ServerSession,
    cmds: Arc<Queue<Cmd<H::Command>>>,
    ws: Option<WebSocketStream<BoxIo>>,
    handler: H,
) {
    use futures_util::SinkExt;
    let limit = shared.options.handler_timeout;
    let mut h = Bounded { handler, limit };
    let mut ws = ws.map(Box::new);
    let mut pending_poll: Option<oneshot::Sender<Result<Bytes, RequestError>>> = None;
    let mut held = Held::default();
    // Output fed to the WebSocket but not flushed, and for how many rounds.
    let (mut unflushed, mut deferred) = (false, 0);
    let mut ctx = Context { session: &mut s };
    if !bounded(limit, h.handler.on_open(&mut ctx)).await {
        h.give_up(&mut s, &mut held).await;
    }
    loop {
        // Working now: sends from this task need not wake it (see queue.rs).
        cmds.unregister();
        if !h.deliver(&mut s, &mut held).await {
            h.give_up(&mut s, &mut held).await;
        }
        if held.event.is_none() {
            if let Some((body, reply)) = held.post.take() {
                let _ = reply.send(s.handle_post(Instant::now().into_std(), body));
                continue;
            }
        }
        if let Some(body) = s.poll_poll_response() {
            if let Some(tx) = pending_poll.take() {
                let _ = tx.send(Ok(body));
            }
        }
        if let Some(w) = ws.as_mut() {
            // More input is at hand without waiting (pipelined messages
            // already read, queued commands such as a burst of broadcasts):
            // answer it first and write everything with one system call.
            // Bounded, so a busy session still writes regularly; the stream
            // also writes once past its backpressure mark.
            if s.has_ws_output() || unflushed {
                let more = deferred < MAX_DEFERRED_FLUSHES
                    && (w.has_buffered_message() || !cmds.is_idle());
                deferred = if more { deferred + 1 } else { 0 };
                unflushed = more;
                let write = async {
                    while let Some(m) = s.poll_ws() {
                        w.feed(m).await?;
                    }
                    if more { Ok(()) } else { w.flush().await }
                };
                let written = within(shared.options.write_timeout, std::pin::pin!(write)).await;
                if !matches!(written, Some(Ok(()))) {
                    // It cannot take a close frame either: just drop it, and
                    // go round again so the handler hears of the close.
                    s.handle_ws_error();
                    ws = None;
                    continue;
                }
            }
        }
        if let Some(w) = ws.as_mut() {
            if !s.websocket_attached() {
                let close = w.close();
                let _ = tokio::time::timeout(shared.options.write_timeout, close).await;
                ws = None;
            }
        }
        if s.is_finished() && held.event.is_none() {
            break;
        }
        let waiting_since = held
            .event
            .as_ref()
            .map(|(_, since)| since.into_std() + limit);
        let deadline = [s.poll_timeout(), h.handler.poll_timeout(), waiting_since]
            .into_iter()
            .flatten()
            .min();
        let holding = held.event.is_some();
        tokio::select! {
            () = std::future::poll_fn(|cx| h.handler.poll_ready(cx)), if holding => {}
            cmd = std::future::poll_fn(|cx| cmds.poll_recv(cx)) => {
                // A burst (broadcasts, a handler's emits) is taken in one
                // round: one pass of the loop and one write for all of it.
                let (mut next, mut taken) = (Some(cmd), 0);
                while let Some(cmd) = next {
                    match cmd {
                        Recv::Item(Cmd::Poll(tx)) => {
                            let now = take_probe_input(&mut s, &mut ws, &held);
                            match s.handle_poll(now) {
                                Ok(()) => pending_poll = Some(tx),
                                Err(e) => { let _ = tx.send(Err(e)); }
                            }
                        }
                        Recv::Item(Cmd::Post(body, tx)) => {
                            if held.event.is_some() {
                                if held.post.is_some() {
                                    // A second POST before the first is
                                    // answered: no client does this.
                                    let _ = tx.send(Err(RequestError::OverlappingPost));
                                    s.handle_overlapping_post();
                                } else {
                                    held.post = Some((body, tx));
                                }
                            } else {
                                let now = take_probe_input(&mut s, &mut ws, &held);
                                let _ = tx.send(s.handle_post(now, body));
                            }
                        }
                        Recv::Item(Cmd::AttachWs(new)) => {
                            if s.attach_websocket(Instant::now().into_std()).is_ok() {
                                ws = Some(new);
                            }
                        }
                        Recv::Item(Cmd::App(c)) => {
                            if !s.is_closed() {
                                let mut ctx = Context { session: &mut s };
                                if !bounded(limit, h.handler.on_command(&mut ctx, c)).await {
                                    h.give_up(&mut s, &mut held).await;
                                }
                            }
                        }
                        Recv::Close => if !s.is_closed() { s.close(Instant::now().into_std()) },
                    }
                    taken += 1;
                    next = if taken < MAX_COMMANDS_PER_ROUND { cmds.try_recv() } else { None };
                }
            }
            msg = next_ws(&mut ws), if !holding => {
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
            () = sleep_until(deadline.map(Instant::from_std)) => {
                let now = Instant::now().into_std();
                s.handle_timeout(now);
                if waiting_since.is_some_and(|d| d <= now) {
                    h.give_up(&mut s, &mut held).await;
                } else if h.handler.poll_timeout().is_some_and(|d| d <= now) && !s.is_closed() {
                    let mut ctx = Context { session: &mut s };
                    if !bounded(limit, h.handler.on_timeout(&mut ctx, now)).await {
                        h.give_up(&mut s, &mut held).await;
                    }
                }
            }
        }
    }
    cmds.close();
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

/// Before a request decides something during an upgrade, takes what the
/// probing WebSocket has already delivered: a client that sent the upgrade
/// packet and then an HTTP request finds the upgrade done, whichever of the
/// two reached this task first. Returns the time to handle the request at.
fn take_probe_input(
    s: &mut ServerSession,
    ws: &mut Option<Box<WebSocketStream<BoxIo>>>,
    held: &Held,
) -> std::time::Instant {
    use futures_util::{FutureExt, StreamExt};
    let now = Instant::now().into_std();
    if s.transport() != Transport::Polling || held.event.is_some() {
        return now;
    }
    while let Some(w) = ws.as_mut() {
        match w.next().now_or_never() {
            None => break,
            Some(Some(Ok(m))) => s.handle_ws_message(now, m),
            Some(_) => {
                s.handle_ws_closed();
                *ws = None;
            }
        }
    }
    now
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// `fut` within `limit`, or `None`. The clock is read and a timer made
/// only when `fut` does not finish at once, as most writes do; the timer is
/// boxed so that it takes no room in the session's task while it idles.
async fn within<F: Future>(limit: std::time::Duration, mut fut: Pin<&mut F>) -> Option<F::Output> {
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}
