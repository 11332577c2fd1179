//! The server without a protocol in it: the session registry, the
//! [`Service`] that serves connections, and the TCP accept loop.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::metrics::Counters;
use super::queue::Queue;
use super::route::Answer;
use super::{Cmd, Handler, Metrics, ServerOptions, SessionInfo};

type MakeHandler<H> = dyn Fn(SessionInfo<<H as Handler>::Command>) -> H + Send + Sync;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An open session: its command queue, and its task once spawned (so a
/// shutdown can end one that overruns it). One map, one lock: a session is
/// registered, started, ended and dropped under it, so a shutdown sees
/// each exactly once.
pub(super) struct Entry<C> {
    pub(super) cmds: Arc<Queue<Cmd<C>>>,
    task: Option<AbortHandle>,
}

/// Open sessions, by sid.
type Registry<C> = HashMap<String, Entry<C>>;

/// What a server shares between its connections and sessions: options, the
/// registry of open sessions by sid, and how to make a session's handler.
pub(super) struct Shared<H: Handler> {
    pub(super) options: ServerOptions,
    /// The registry, and whether a shutdown has begun (under the same
    /// lock, so no session opens after a shutdown has looked).
    sessions: Mutex<(Registry<H::Command>, bool)>,
    /// Told whenever a session ends (a shutdown waits on it).
    ended: Notify,
    /// A copy of the flag for the fast path (no lock to read it).
    shutting_down: AtomicBool,
    pub(super) make: Box<MakeHandler<H>>,
    /// What [`Service::metrics`] reads.
    pub(super) counters: Counters,
    /// Where sessions step aside while others wait (see `fair`).
    pub(super) room: Arc<super::fair::Room>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<H: Handler> Shared<H> {
    /// An open session's command queue.
    pub(super) fn session(&self, sid: &str) -> Option<Arc<Queue<Cmd<H::Command>>>> {
        lock(&self.sessions).0.get(sid).map(|e| e.cmds.clone())
    }

    /// Registers a new session, unless a shutdown has begun.
    pub(super) fn register(&self, sid: &str, cmds: &Arc<Queue<Cmd<H::Command>>>) -> bool {
        let mut guard = lock(&self.sessions);
        let (registry, shutting_down) = &mut *guard;
        if *shutting_down {
            return false;
        }
        let entry = Entry {
            cmds: cmds.clone(),
            task: None,
        };
        registry.insert(sid.to_owned(), entry);
        true
    }

    /// Records a session's task (after it was registered and spawned); a
    /// session that already ended is not recorded.
    pub(super) fn started(&self, sid: &str, task: AbortHandle) {
        if let Some(e) = lock(&self.sessions).0.get_mut(sid) {
            e.task = Some(task);
        }
    }

    /// A session ended (or its task was dropped): forget it.
    pub(super) fn ended(&self, sid: &str) {
        lock(&self.sessions).0.remove(sid);
        self.ended.notify_waiters();
    }

    /// Whether a shutdown has begun: new sessions are refused.
    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// From now on new sessions are refused; the open ones are closed.
    fn begin_shutdown(&self) {
        let guard = {
            let mut guard = lock(&self.sessions);
            guard.1 = true;
            self.shutting_down.store(true, Ordering::Relaxed);
            guard
        };
        guard.0.values().for_each(|e| e.cmds.request_close());
    }

    /// [`begin_shutdown`](Self::begin_shutdown), then waits up to `grace`
    /// for the sessions to end (close packets and WebSocket close
    /// handshakes go out), then ends the rest. Returns how many had to be
    /// ended so.
    async fn shutdown(self: Arc<Self>, grace: Duration) -> usize {
        self.begin_shutdown();
        let deadline = Instant::now() + grace;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if lock(&self.sessions).0.is_empty() {
                return 0;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                break;
            }
        }
        // No session can register any more: what is left is all there is.
        let left: Vec<Entry<H::Command>> = lock(&self.sessions).0.drain().map(|(_, e)| e).collect();
        for e in &left {
            // The task's drop guard closes the queue (answering what waits
            // in it) and the handler hears nothing more.
            if let Some(t) = &e.task {
                t.abort();
            }
            e.cmds.close();
        }
        #[cfg(feature = "tracing")]
        if !left.is_empty() {
            tracing::warn!(
                dropped = left.len(),
                "shutdown: sessions still open at the grace period's end dropped"
            );
        }
        left.len()
    }
}

/// A connection the server can serve: TCP, TLS, an in-memory pipe.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub(super) type BoxIo = Box<dyn Io>;

/// What [`Service`] needs of a server, whatever its handler type.
pub(super) trait Serve: Send + Sync {
    /// `secure`: the connection is TLS; its requests carry [`Secure`](super::Secure).
    fn serve_io(self: Arc<Self>, io: BoxIo, remote: SocketAddr, secure: bool);
    /// Answers one request read by another front door (hyper).
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    fn answer(
        self: Arc<Self>,
        head: ::http::Request<()>,
        body: Bytes,
        remote: SocketAddr,
    ) -> BoxFuture<Answer>;
    fn options(&self) -> &ServerOptions;
    fn metrics(&self) -> Metrics;
    /// Counts a request another front door (hyper) refused itself.
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    fn refused(&self);
    fn session_count(&self) -> usize;
    fn close_all(&self);
    fn begin_shutdown(&self);
    fn shutdown(self: Arc<Self>, grace: Duration) -> BoxFuture<usize>;
}

impl<H: Handler> Serve for Shared<H> {
    fn serve_io(self: Arc<Self>, io: BoxIo, remote: SocketAddr, secure: bool) {
        let serve = super::route::serve_connection(self, io, remote, secure);
        #[cfg(feature = "tracing")]
        let serve = tracing::Instrument::instrument(
            serve,
            tracing::debug_span!(parent: None, "connection", peer = %remote),
        );
        tokio::spawn(serve);
    }

    fn answer(
        self: Arc<Self>,
        head: ::http::Request<()>,
        body: Bytes,
        remote: SocketAddr,
    ) -> BoxFuture<Answer> {
        Box::pin(async move { super::route::answer(&self, head, body, remote).await })
    }

    fn options(&self) -> &ServerOptions {
        &self.options
    }

    fn metrics(&self) -> Metrics {
        self.counters.snapshot()
    }

    fn refused(&self) {
        self.counters.refused()
    }

    fn session_count(&self) -> usize {
        lock(&self.sessions).0.len()
    }

    fn close_all(&self) {
        lock(&self.sessions)
            .0
            .values()
            .for_each(|e| e.cmds.request_close());
    }

    fn begin_shutdown(&self) {
        Shared::begin_shutdown(self)
    }

    fn shutdown(self: Arc<Self>, grace: Duration) -> BoxFuture<usize> {
        Box::pin(Shared::shutdown(self, grace))
    }
}

/// The server without a listener: hand it connections yourself (from your
/// own listener, a TLS acceptor, or `tokio::io::duplex` in tests).
#[derive(Clone)]
pub struct Service {
    pub(super) shared: Arc<dyn Serve>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("sessions", &self.session_count())
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
        Service {
            shared: Arc::new(Shared {
                options,
                sessions: Mutex::new((HashMap::new(), false)),
                ended: Notify::new(),
                shutting_down: AtomicBool::new(false),
                make: Box::new(make),
                counters: Counters::default(),
                room: Arc::default(),
            }),
        }
    }

    /// Serves one connection (HTTP/1.1, possibly upgraded to WebSocket) on
    /// its own task.
    pub fn serve_io(&self, io: impl Io, remote: SocketAddr) {
        self.shared.clone().serve_io(Box::new(io), remote, false)
    }

    /// [`serve_io`](Self::serve_io) for a connection that is TLS: its
    /// requests carry the [`Secure`](super::Secure) extension.
    pub fn serve_tls_io(&self, io: impl Io, remote: SocketAddr) {
        self.shared.clone().serve_io(Box::new(io), remote, true)
    }

    /// How many sessions are open now.
    pub fn session_count(&self) -> usize {
        self.shared.session_count()
    }

    /// The server's counters now: connections, sessions by transport,
    /// upgrades, messages and bytes each way, drops and refusals. Cheap:
    /// a few atomic loads. Per-message counts are added by each session in
    /// batches, so they may lag by about a second of each session (see
    /// [`Metrics`]); they are exact for sessions that have ended.
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics()
    }

    /// Closes every open session ("forced close"), without waiting.
    pub fn close_all(&self) {
        self.shared.close_all()
    }

    /// The options it was made with.
    pub fn options(&self) -> &ServerOptions {
        self.shared.options()
    }

    /// The first half of [`shutdown`](Self::shutdown), without waiting:
    /// new sessions are refused from now on and every open one is closed.
    pub fn begin_shutdown(&self) {
        self.shared.begin_shutdown()
    }

    /// A graceful shutdown, for either front door: from now on new sessions
    /// are refused (503); every open session is closed ("forced close": a
    /// close packet to polling clients, a close frame to WebSocket ones,
    /// which then reconnect elsewhere, as after the official server's
    /// `close()`); resolves once all have ended, or at `grace`, when the
    /// rest are dropped. Returns how many were dropped so. Connections of
    /// the embedded listener are not accepted any more only once the
    /// [`Listening`] is dropped or shut down ([`Listening::shutdown`]).
    pub fn shutdown(&self, grace: Duration) -> impl Future<Output = usize> + Send + 'static {
        self.shared.clone().shutdown(grace)
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

    /// The server's counters ([`Service::metrics`]).
    pub fn metrics(&self) -> Metrics {
        self.service.metrics()
    }

    /// The service behind the listener, to hand it other connections too.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Stops accepting connections, then shuts the service down gracefully
    /// ([`Service::shutdown`]).
    pub async fn shutdown(self, grace: Duration) -> usize {
        self.listener.abort();
        self.service.shutdown(grace).await
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
    let accepting = service.clone();
    accept_loop(listener, service, move |tcp, remote| {
        accepting.serve_io(tcp, remote)
    })
}

/// Accepts TLS connections from `listener` into `service`: https and wss.
/// Each TLS handshake runs on its connection's own task, within the head
/// deadline (`ServerOptions::http.timeout`), so a client that stalls in
/// it holds only its own connection. Build `tls` with
/// [`ws_frame::tls::server_config_from_pem`] or by hand; offer ALPN
/// `http/1.1` only (this listener speaks HTTP/1.1).
#[cfg(feature = "tls")]
pub fn listen_tls(
    listener: TcpListener,
    service: Service,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<Listening> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let accepting = service.clone();
    let limit = service.options().http.timeout;
    accept_loop(listener, service, move |tcp, remote| {
        let (acceptor, service) = (acceptor.clone(), accepting.clone());
        tokio::spawn(async move {
            if let Ok(Ok(tls)) = tokio::time::timeout(limit, acceptor.accept(tcp)).await {
                service.serve_tls_io(tls, remote);
            }
        });
    })
}

fn accept_loop(
    listener: TcpListener,
    service: Service,
    serve: impl Fn(TcpStream, SocketAddr) + Send + 'static,
) -> std::io::Result<Listening> {
    let local_addr = listener.local_addr()?;
    let listener = tokio::spawn(async move {
        let mut last_report: Option<Instant> = None;
        loop {
            match listener.accept().await {
                Ok((tcp, remote)) => {
                    let _ = tcp.set_nodelay(true);
                    serve(tcp, remote);
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
