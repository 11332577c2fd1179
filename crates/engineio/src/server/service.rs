//! The server without a protocol in it: the session registry, the
//! [`Service`] that serves connections, and the TCP accept loop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::time::Instant;

use super::queue::Queue;
use super::{Cmd, Handler, ServerOptions, SessionInfo};

type MakeHandler<H> = dyn Fn(SessionInfo<<H as Handler>::Command>) -> H + Send + Sync;

/// Open sessions' command queues, by sid.
type Registry<C> = HashMap<String, Arc<Queue<Cmd<C>>>>;

/// What a server shares between its connections and sessions: options, the
/// registry of open sessions by sid, and how to make a session's handler.
pub(super) struct Shared<H: Handler> {
    pub(super) options: ServerOptions,
    sessions: Mutex<Registry<H::Command>>,
    pub(super) make: Box<MakeHandler<H>>,
}

impl<H: Handler> Shared<H> {
    /// The registry: each open session's command queue, by sid.
    pub(super) fn sessions(&self) -> MutexGuard<'_, Registry<H::Command>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection the server can serve: TCP, TLS, an in-memory pipe.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub(super) type BoxIo = Box<dyn Io>;

/// What [`Service`] needs of a server, whatever its handler type.
trait Serve: Send + Sync {
    fn serve_io(self: Arc<Self>, io: BoxIo, remote: SocketAddr);
    fn session_count(&self) -> usize;
    fn close_all(&self);
}

impl<H: Handler> Serve for Shared<H> {
    fn serve_io(self: Arc<Self>, io: BoxIo, remote: SocketAddr) {
        tokio::spawn(super::route::serve_connection(self, io, remote));
    }

    fn session_count(&self) -> usize {
        self.sessions().len()
    }

    fn close_all(&self) {
        self.sessions().values().for_each(|q| q.request_close());
    }
}

/// The server without a listener: hand it connections yourself (from your
/// own listener, a TLS acceptor, or `tokio::io::duplex` in tests).
#[derive(Clone)]
pub struct Service {
    shared: Arc<dyn Serve>,
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
                sessions: Mutex::new(HashMap::new()),
                make: Box::new(make),
            }),
        }
    }

    /// Serves one connection (HTTP/1.1, possibly upgraded to WebSocket) on
    /// its own task.
    pub fn serve_io(&self, io: impl Io, remote: SocketAddr) {
        self.shared.clone().serve_io(Box::new(io), remote)
    }

    /// How many sessions are open now.
    pub fn session_count(&self) -> usize {
        self.shared.session_count()
    }

    /// Closes every open session ("forced close").
    pub fn close_all(&self) {
        self.shared.close_all()
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
