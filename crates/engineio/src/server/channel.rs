//! The channel API: [`Server::bind`] hands out a [`Socket`] per session,
//! with events over a bounded channel, for applications that would rather
//! not write a [`Handler`](super::Handler).

use std::task::Poll;

use std::net::SocketAddr;

use tokio::net::ToSocketAddrs;
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::{Context, Handler, Listening, ServerOptions, SessionInfo, SessionSender, serve};
use crate::SessionClosed;
use crate::packet::{Payload, Prepared};
use crate::{CloseReason, Event};

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
        self.listening.local_addr()
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
