//! The tokio server: an HTTP/1.1 listener that serves Engine.IO over
//! long-polling and WebSocket.
//!
//! Each session is one task that owns its [`ServerSession`](crate::ServerSession) (and its
//! WebSocket, once there is one); HTTP connections hand it their requests
//! over a channel. Two ways to use it:
//!
//! - [`Server::bind`] and [`Server::accept`]: a [`Socket`] per session, with
//!   events over a channel;
//! - [`serve`] with a [`Handler`]: your code runs on the session's own task,
//!   called for each message with no channel in between (what a protocol on
//!   top, like Socket.IO, wants).
//!
//! A request's way through it: `service` accepts the connection, `route`
//! reads each request and hands it to its session's command queue (`queue`),
//! `driver` runs the session: the pure [`ServerSession`](crate::ServerSession)
//! decides, the [`Handler`] hears of messages, and the driver writes the
//! answer (the pending GET's body, or WebSocket frames).
//!
//! # Taking turns
//!
//! On tokio's multi-thread runtime, a worker keeps at most 256 ready tasks
//! in its own queue and visits the global queue, where the rest wait, only
//! now and then. So that a thousand busy sessions on one core are served in
//! turn rather than a few hundred of them over and over, a session that has
//! just written its answer while tasks wait in the global queue steps aside
//! into a first-come-first-out line of the server's until those have run.
//! When the runtime keeps up it costs one atomic load per write. Fair turns
//! cost throughput on a saturated core (every connection's state is touched
//! in turn instead of a few hundred hot ones): about 15% at 1000 busy
//! connections, a quarter at 10 000, for a p99 within 2x the median instead
//! of 90x. [`ServerOptions::take_turns`] (default on) turns it off.
//!
//! # Observing it
//!
//! [`Service::metrics`] reads the server's counters ([`Metrics`]): always
//! on, cheap (each session counts its own traffic and adds it to the
//! shared totals in batches).
//!
//! With the `tracing` feature (off by default), the server reports through
//! `tracing`: a `connection` span (`peer`) per connection of the embedded
//! front door, a `request` span (`peer`, `method`, `path`) per request of
//! the hyper one, and a `session` span (`sid`, `transport`, `peer`) that
//! the session's task and its handler's calls run in, so what a handler
//! logs carries them. Events: `session opened`, `upgraded`, `session
//! closed` (`reason`) at debug; refused requests at debug (`allow_request`'s
//! at info, with its message); limits hit at warn (a body over
//! `max_payload`, a write timeout, a handler timeout); accept errors at
//! warn. No field carries a request's query, cookies or bodies. Without a
//! subscriber, each event costs a check of a cached flag; nothing is
//! formatted unless a subscriber records it.

use bytes::Bytes;
use tokio::sync::oneshot;
use ws_frame::WebSocketStream;

use crate::RequestError;

mod channel;
mod driver;
mod fair;
mod handler;
#[cfg(feature = "hyper")]
mod hyper;
mod metrics;
mod options;
mod queue;
mod route;
mod service;

#[cfg(feature = "hyper")]
pub use self::hyper::{EngineIoLayer, EngineIoService, NotFound, ResponseBody};
pub use crate::error::SessionClosed;
pub use channel::{Server, Socket, SocketCmd, SocketSender};
pub use handler::{Context, Handler, SessionInfo, SessionSender, TrySendError};
pub use metrics::Metrics;
pub use options::{
    AllowFuture, AllowRequest, ConnectionError, ConnectionErrorHook, Cors, CorsOrigin,
    ErrorContext, HeadersHook, Refusal, ServerOptions,
};
#[cfg(feature = "tls")]
pub use service::listen_tls;
pub use service::{Io, Listening, Service, listen, serve};

use service::BoxIo;

/// In the extensions of every request that came over TLS to the embedded
/// listener ([`listen_tls`], [`Service::serve_tls_io`]): what the official
/// server calls `secure`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Secure;

/// A long-poll's answer: the payload, and whether it may be compressed
/// (see [`ServerTransmit::PollResponse`](crate::ServerTransmit::PollResponse)).
type PollBody = (Bytes, bool);

/// What a session's queue carries: requests from its HTTP connections, and
/// the application's commands.
enum Cmd<C> {
    Poll(oneshot::Sender<Result<PollBody, RequestError>>),
    Post(Bytes, oneshot::Sender<Result<(), RequestError>>),
    /// The WebSocket, and whether its request asked for base64 (`b64`).
    AttachWs(Box<WebSocketStream<BoxIo>>, bool),
    App(C),
}

impl<C> std::fmt::Debug for Cmd<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cmd::Poll(_) => "Poll",
            Cmd::Post(..) => "Post",
            Cmd::AttachWs(..) => "AttachWs",
            Cmd::App(_) => "App",
        })
    }
}
