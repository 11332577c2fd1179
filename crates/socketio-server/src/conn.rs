//! One Engine.IO session carrying Socket.IO: the handler that runs on the
//! session's own task, decodes packets, hands them to its sockets, and
//! keeps their deadlines (joining a namespace, attachments, acks).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use engineio::server::{Context, Handler, SessionInfo, SessionSender};
use engineio::{CloseReason, Payload};
use socketio_proto::{Decoder, Json, Kind, Packet};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{TransportReason, now};

use crate::command::{Command, Wire};
use crate::error::{ConnectError, DisconnectReason};
use crate::handshake::Handshake;
use crate::namespace::{Namespace, run_middleware};
use crate::recovery::{RestoredSession, recovery_request};
use crate::registry::Registry;
use crate::socket::{Ids, Socket};

pub(crate) struct Conn {
    registry: Arc<Registry>,
    request: Arc<http::Request<()>>,
    remote: SocketAddr,
    sender: SessionSender<Command>,
    decoder: Decoder,
    sockets: HashMap<String, Socket>,
    /// Namespaces whose join waits on a check or a restore.
    joining: HashSet<String>,
    connect_deadline: Option<Instant>,
    /// When a binary packet still waiting for attachments is given up on.
    attachment_deadline: Option<Instant>,
}

impl Conn {
    pub(crate) fn new(registry: Arc<Registry>, info: SessionInfo<Command>) -> Self {
        Conn {
            decoder: Decoder::new(registry.options().decoder.clone()),
            connect_deadline: Some(now() + registry.options().connect_timeout),
            attachment_deadline: None,
            registry,
            request: Arc::new(info.request),
            remote: info.remote_addr,
            sender: info.sender,
            sockets: HashMap::new(),
            joining: HashSet::new(),
        }
    }

    fn limits(&self) -> (crate::SlowClient, usize) {
        let o = self.registry.options();
        (o.slow_client, o.max_waiting_checks)
    }

    fn write(ctx: &mut Context<'_>, p: &Packet) {
        Wire::new(p).send(ctx);
    }

    fn on_packet(&mut self, ctx: &mut Context<'_>, p: Packet) {
        match p.kind() {
            Kind::Connect => self.on_connect(ctx, p),
            Kind::Disconnect => {
                if let Some(s) = self.sockets.remove(p.nsp()) {
                    s.finish(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            Kind::Event => {
                if let Some(s) = self.sockets.get(p.nsp()) {
                    s.dispatch(&p);
                }
            }
            Kind::Ack => {
                if let Some(s) = self.sockets.get(p.nsp()) {
                    s.handle_ack(p);
                }
            }
            // A client never sends these; ignore as the official server does.
            Kind::ConnectError => {}
        }
    }

    fn on_connect(&mut self, ctx: &mut Context<'_>, p: Packet) {
        let nsp = p.nsp().to_owned();
        let Some(ns) = self.registry.resolve(&nsp) else {
            return refuse(ctx, &nsp, &ConnectError::new("Invalid namespace"));
        };
        if self.sockets.contains_key(&nsp) || self.joining.contains(&nsp) {
            return;
        }
        let handshake = Handshake {
            auth: p.raw_data().cloned(),
            request: self.request.clone(),
            address: self.remote,
            issued: std::time::SystemTime::now(),
        };
        let recovery = ns.recovery().cloned();
        let ask = recovery
            .as_ref()
            .and_then(|_| recovery_request(handshake.auth.as_ref()));
        let skip_checks = recovery.as_ref().is_some_and(|r| r.skip_middlewares);
        let nsp_again = nsp.clone();
        let mut pending = PendingConnect {
            nsp,
            ns,
            handshake,
            data: Ok(http::Extensions::new()),
            restore: Restore::No,
        };
        // Back from a dropped connection: a restored socket skips the
        // checks it passed when it first came (socket.io's default).
        if let (Some((pid, offset)), true) = (&ask, skip_checks) {
            let restore = pending.ns.adapter().restore_session(pid, offset);
            match now_or_later(restore) {
                Ok(Ok(Some(session))) => {
                    pending.restore = Restore::Done(Box::new(session));
                    return self.complete_connect(ctx, pending);
                }
                Ok(_) => {}
                Err(waiting) => {
                    return self.join_later(ctx, nsp_again, async move {
                        if let Ok(Some(session)) = waiting.await {
                            pending.restore = Restore::Done(Box::new(session));
                            return pending;
                        }
                        pending.data =
                            run_middleware(pending.ns.middleware(), pending.handshake.clone())
                                .await;
                        pending
                    });
                }
            }
        }
        if !skip_checks {
            if let Some((pid, offset)) = ask {
                pending.restore = Restore::Try(pid, offset);
            }
        }
        let chain = pending.ns.middleware();
        if chain.is_empty() {
            return self.complete_connect(ctx, pending);
        }
        match now_or_later(Box::pin(run_middleware(chain, pending.handshake.clone()))) {
            Ok(data) => {
                pending.data = data;
                self.complete_connect(ctx, pending);
            }
            // A check waits (a database, a token service): the connection
            // goes on meanwhile, and the answer comes back as a command.
            Err(waiting) => self.join_later(ctx, nsp_again, async move {
                pending.data = waiting.await;
                pending
            }),
        }
    }

    fn join_later(
        &mut self,
        ctx: &mut Context<'_>,
        nsp: String,
        work: impl Future<Output = PendingConnect> + Send + 'static,
    ) {
        // Each waiting join is a task: a client asking for many namespaces
        // at once gets the rest refused rather than tasks without bound.
        if self.joining.len() >= self.registry.options().max_waiting_joins {
            return refuse(
                ctx,
                &nsp,
                &ConnectError::new("Too many pending connections"),
            );
        }
        let sender = self.sender.clone();
        // A check that never answers does not hold its task for ever.
        let limit = self.registry.options().connect_timeout;
        self.joining.insert(nsp.clone());
        tokio::spawn(async move {
            let cmd = match tokio::time::timeout(limit, work).await {
                Ok(pending) => Command::Connect(Box::new(pending)),
                Err(_) => Command::JoinTimedOut(nsp),
            };
            let _ = sender.send(cmd).await;
        });
    }

    /// Ends a join: refused, or accepted (with its session back and what it
    /// missed sent first, when recovery restored it).
    fn complete_connect(&mut self, ctx: &mut Context<'_>, pending: PendingConnect) {
        let PendingConnect {
            nsp,
            ns,
            handshake,
            data,
            restore,
        } = pending;
        let data = match data {
            Ok(data) => data,
            Err(e) => return refuse(ctx, &nsp, &e),
        };
        if self.sockets.contains_key(&nsp) {
            return;
        }
        // Held from the restore to the socket joining its rooms, so that
        // every event recorded meanwhile is either replayed or sent live.
        let guard = ns.emit_guard();
        let restored = match restore {
            Restore::No => None,
            Restore::Done(session) => Some(*session),
            Restore::Try(pid, offset) => {
                match now_or_later(ns.adapter().restore_session(&pid, &offset)) {
                    Ok(Ok(session)) => session,
                    _ => None,
                }
            }
        };
        let recovering = ns.recovery().is_some();
        let (socket, missed) = match restored {
            Some(r) => {
                let s = r.session;
                let ids = Ids {
                    id: s.sid,
                    pid: Some(s.pid),
                    recovered: true,
                };
                let socket = Socket::new(
                    ids,
                    ns.clone(),
                    self.sender.clone(),
                    handshake,
                    s.extensions,
                    self.limits(),
                );
                if let Some(d) = &s.data {
                    let _ = socket.set_data(d);
                }
                let rooms: Vec<&str> = s.rooms.iter().map(String::as_str).collect();
                ns.adapter().add_all(socket.id(), &rooms);
                (socket, r.missed)
            }
            None => {
                let ids = Ids {
                    id: new_id(),
                    pid: recovering.then(new_id),
                    recovered: false,
                };
                let socket = Socket::new(
                    ids,
                    ns.clone(),
                    self.sender.clone(),
                    handshake,
                    data,
                    self.limits(),
                );
                (socket, Vec::new())
            }
        };
        // As socket.io: what was missed first, then the CONNECT answer.
        for p in &missed {
            Self::write(ctx, p);
        }
        let accepted = match socket.pid() {
            Some(pid) => serde_json::json!({ "sid": socket.id(), "pid": pid }),
            None => serde_json::json!({ "sid": socket.id() }),
        };
        if let Ok(packet) = Packet::connect(&nsp, Json::from_value(&accepted).ok()) {
            Self::write(ctx, &packet);
        }
        ns.insert(&socket);
        drop(guard);
        self.sockets.insert(nsp, socket.clone());
        self.connect_deadline = None;
        for f in ns.connect_handlers() {
            f(socket.clone());
        }
    }
}

/// A join on its way: decided at once, or by a task when a check waits.
pub(crate) struct PendingConnect {
    nsp: String,
    ns: Namespace,
    handshake: Handshake,
    data: Result<http::Extensions, ConnectError>,
    restore: Restore,
}

enum Restore {
    /// A fresh socket.
    No,
    /// Restore the session at the join (after the checks).
    Try(String, String),
    /// Restored already.
    Done(Box<RestoredSession>),
}

fn refuse(ctx: &mut Context<'_>, nsp: &str, e: &ConnectError) {
    if let Ok(packet) = Packet::connect_error_message(nsp, &e.message, e.data.as_ref()) {
        Conn::write(ctx, &packet);
    }
}

fn new_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
}

/// `fut`'s output if it is ready at once; else `fut`, polled once, to be
/// awaited elsewhere.
fn now_or_later<F: Future + Unpin>(mut fut: F) -> Result<F::Output, F> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(&mut fut).poll(&mut cx) {
        std::task::Poll::Ready(out) => Ok(out),
        std::task::Poll::Pending => Err(fut),
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // `on_close` finished every socket, unless it was cut short (a
        // shutdown's deadline aborted the session, a handler panicked): then
        // they leave their namespace and rooms here, and hear why.
        let reason = if self.registry.is_shutting_down() {
            DisconnectReason::ServerShuttingDown
        } else {
            DisconnectReason::ForcedClose
        };
        for (_, s) in self.sockets.drain() {
            s.end_ack_waits();
            s.finish(reason);
        }
    }
}

impl Handler for Conn {
    type Command = Command;

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        if feed(&mut self.decoder, msg).is_err() {
            // Not Socket.IO: the official server closes the connection.
            return ctx.close();
        }
        while let Some(p) = self.decoder.poll_packet() {
            self.on_packet(ctx, p);
        }
        // The clock is read only when a binary packet starts waiting.
        self.attachment_deadline = match self.attachment_deadline {
            _ if !self.decoder.is_pending() => None,
            Some(d) => Some(d),
            None => Some(now() + self.registry.options().attachment_timeout),
        };
    }

    async fn on_command(&mut self, ctx: &mut Context<'_>, cmd: Command) {
        match cmd {
            Command::Send(wire) => wire.send(ctx),
            Command::Disconnect(nsp) => {
                if let Some(s) = self.sockets.remove(&nsp) {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        Self::write(ctx, &p);
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
            }
            Command::Connect(pending) => {
                self.joining.remove(&pending.nsp);
                self.complete_connect(ctx, *pending);
            }
            Command::JoinTimedOut(nsp) => {
                self.joining.remove(&nsp);
                refuse(ctx, &nsp, &ConnectError::new("Middleware timeout"));
            }
            Command::CloseConnection => {
                // As the official server's disconnect(true): each namespace
                // is told first (its client does not reconnect), then the
                // connection closes.
                for (nsp, s) in self.sockets.drain() {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        Self::write(ctx, &p);
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
                ctx.close();
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let acks = self.sockets.values().filter_map(Socket::poll_ack_timeout);
        [self.connect_deadline, self.attachment_deadline]
            .into_iter()
            .flatten()
            .chain(acks)
            .min()
    }

    async fn on_timeout(&mut self, ctx: &mut Context<'_>, now: Instant) {
        for s in self.sockets.values() {
            s.handle_ack_timeout(now);
        }
        if self.attachment_deadline.is_some_and(|d| d <= now) {
            // Attachments that never came. The official server would hold
            // them as long as the connection lives; ending it is its answer
            // to a packet it cannot decode (a forced close).
            self.attachment_deadline = None;
            return ctx.close();
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            // No namespace joined within connect_timeout: the official
            // server closes the connection.
            self.connect_deadline = None;
            if self.sockets.is_empty() {
                ctx.close();
            }
        }
    }

    async fn on_close(&mut self, reason: CloseReason) {
        let reason = match DisconnectReason::from_engine(reason) {
            DisconnectReason::ForcedClose if self.registry.is_shutting_down() => {
                DisconnectReason::ServerShuttingDown
            }
            r => r,
        };
        for (_, s) in self.sockets.drain() {
            s.finish(reason);
        }
    }
}
