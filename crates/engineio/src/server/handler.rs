//! The seam between a session and the code on top: the [`Handler`] a
//! session calls on its own task, the [`Context`] it sees, and the
//! [`SessionSender`] that reaches it from other tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use tokio::time::Instant;

use super::Cmd;
use super::metrics::Tally;
use super::queue::{PushError, Queue};
use crate::SessionClosed;
use crate::packet::{Payload, Prepared};
use crate::{CloseReason, ServerSession, Transport};

/// Code that runs on each session's own task. The session calls it inline
/// and awaits it (with the `tracing` feature, inside the session's
/// `session` span): a handler that takes its time slows that one client down
/// (its reads wait), never the others. No call may take longer than
/// [`ServerOptions::handler_timeout`](super::ServerOptions::handler_timeout): past it the call is dropped and the
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
    pub(super) session: &'a mut ServerSession,
    /// The session's counts for [`Metrics`](super::Metrics).
    pub(super) tally: &'a mut Tally,
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

    /// The Engine.IO protocol revision the client speaks (v3 only with
    /// [`ServerConfig::allow_eio3`](crate::ServerConfig::allow_eio3)).
    pub fn protocol(&self) -> crate::ProtocolVersion {
        self.session.protocol()
    }

    /// Queues a message for the client.
    pub fn send(&mut self, payload: Payload) {
        self.tally.messages_out += 1;
        self.session.send(payload);
    }

    /// Queues a message encoded once for many sessions (see [`Prepared`]).
    pub fn send_prepared(&mut self, message: &Prepared) {
        self.tally.messages_out += 1;
        self.session.send_prepared(message);
    }

    /// Queues a message; `compress: false` asks the transport not to
    /// compress it (see [`ServerSession::send_with`](crate::ServerSession::send_with)).
    pub fn send_with(&mut self, payload: Payload, compress: bool) {
        self.tally.messages_out += 1;
        self.session.send_with(payload, compress);
    }

    /// [`send_prepared`](Self::send_prepared) with the compress flag of
    /// [`send_with`](Self::send_with).
    pub fn send_prepared_with(&mut self, message: &Prepared, compress: bool) {
        self.tally.messages_out += 1;
        self.session.send_prepared_with(message, compress);
    }

    /// Closes the session ("forced close").
    pub fn close(&mut self) {
        self.session.close(Instant::now().into_std());
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// How many more packets the transport takes now (see
    /// [`ServerSession::room`](crate::ServerSession::room)).
    pub fn room(&self) -> usize {
        self.session.room()
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
    pub(super) sid: Arc<str>,
    pub(super) cmds: Arc<Queue<Cmd<C>>>,
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
