//! One Engine.IO session carrying Socket.IO: the handler that runs on the
//! session's own task, decodes packets, hands them to its sockets, and
//! keeps their deadlines (joining a namespace, attachments, acks).

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use engineio::server::{Context, Handler, SessionInfo, SessionSender};
use engineio::{CloseReason, Payload};
use socketio_proto::{Decoder, Json, Kind, Packet, Parser};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{TransportReason, now};

use crate::command::{Command, Wire};
use crate::error::{ConnectError, DisconnectReason};
use crate::handshake::Handshake;
use crate::namespace::{Namespace, run_middleware};
use crate::recovery::{RestoredSession, recovery_request};
use crate::registry::Registry;
use crate::socket::{Ids, Limits, Socket};

pub(crate) struct Conn {
    registry: Arc<Registry>,
    request: Arc<http::Request<()>>,
    remote: SocketAddr,
    sender: SessionSender<Command>,
    decoder: Decoder,
    sockets: HashMap<String, Socket>,
    /// Namespaces whose join waits on a check or a restore.
    joining: HashSet<String>,
    /// What waits to go out behind a replay of missed events.
    replay: VecDeque<Wire>,
    replay_cap: usize,
    /// When to feed the transport again from `replay`.
    replay_retry: Option<Instant>,
    connect_deadline: Option<Instant>,
    /// When a binary packet still waiting for attachments is given up on.
    attachment_deadline: Option<Instant>,
    /// The client speaks Engine.IO v3, so Socket.IO v4 (socket.io-client
    /// 2.x): joined to `/` at once, CONNECT answered without a sid, the
    /// namespace's query for auth, refusals as a string.
    v3: bool,
}

impl Conn {
    pub(crate) fn new(registry: Arc<Registry>, info: SessionInfo<Command>) -> Self {
        Conn {
            decoder: Decoder::with_parser(
                registry.options().decoder.clone(),
                registry.options().parser,
            ),
            connect_deadline: Some(now() + registry.options().connect_timeout),
            attachment_deadline: None,
            registry,
            request: Arc::new(info.request),
            remote: info.remote_addr,
            sender: info.sender,
            sockets: HashMap::new(),
            joining: HashSet::new(),
            replay: VecDeque::new(),
            replay_cap: 0,
            replay_retry: None,
            v3: false,
        }
    }

    fn limits(&self) -> Limits {
        let o = self.registry.options();
        Limits {
            slow_client: o.slow_client,
            max_checking: o.max_waiting_checks,
            counters: self.registry.counters.clone(),
        }
    }

    /// Refuses a join: CONNECT_ERROR with `e`'s message and data.
    fn refuse(&self, ctx: &mut Context<'_>, nsp: &str, e: &ConnectError) {
        self.refuse_as(ctx, nsp, e, self.v3);
    }

    /// [`refuse`](Self::refuse); `v3`: in the v3 form (a string).
    fn refuse_as(&self, ctx: &mut Context<'_>, nsp: &str, e: &ConnectError, v3: bool) {
        #[cfg(feature = "tracing")]
        tracing::info!(
            nsp,
            refusal = e.message.as_str(),
            "namespace connection refused"
        );
        self.registry.counters.connect_refused();
        send_refusal(ctx, self.parser(), nsp, e, v3);
    }

    /// Refuses a join because a limit was hit (reported as a warning).
    fn refuse_at_limit(&self, ctx: &mut Context<'_>, nsp: &str, e: &ConnectError) {
        #[cfg(feature = "tracing")]
        tracing::warn!(
            nsp,
            refusal = e.message.as_str(),
            "namespace connection refused: limit hit"
        );
        self.registry.counters.connect_refused();
        send_refusal(ctx, self.parser(), nsp, e, self.v3);
    }

    fn parser(&self) -> Parser {
        self.registry.options().parser
    }

    fn write(ctx: &mut Context<'_>, parser: Parser, p: &Packet) {
        if let Ok(wire) = Wire::new(p, parser) {
            wire.send(ctx);
        }
    }

    fn on_packet(&mut self, ctx: &mut Context<'_>, p: Packet) {
        if self.v3 && p.nsp().contains('?') {
            return self.on_v3_packet(ctx, p);
        }
        match p.kind() {
            Kind::Connect => self.on_connect(ctx, p.nsp().to_owned(), p.raw_data().cloned()),
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

    /// A v3 packet whose namespace carries a query (`0/admin?token=x,`):
    /// the query is the CONNECT's auth, as socket.io reads it; other
    /// packets go to the namespace without it.
    fn on_v3_packet(&mut self, ctx: &mut Context<'_>, p: Packet) {
        let (nsp, query) = p.nsp().split_once('?').unwrap_or((p.nsp(), ""));
        match p.kind() {
            Kind::Connect => {
                let auth = Json::from_value(&query_object(query)).ok();
                self.on_connect(ctx, nsp.to_owned(), auth)
            }
            Kind::Event => {
                if let Some(s) = self.sockets.get(nsp) {
                    s.dispatch(&p);
                }
            }
            Kind::Ack => {
                if let Some(s) = self.sockets.get(nsp) {
                    s.handle_ack(p);
                }
            }
            Kind::Disconnect => {
                if let Some(s) = self.sockets.remove(nsp) {
                    s.finish(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            Kind::ConnectError => {}
        }
    }

    fn on_connect(&mut self, ctx: &mut Context<'_>, nsp: String, auth: Option<Json>) {
        let Some(ns) = self.registry.resolve(&nsp) else {
            // An object even for a v3 client, as socket.io sends it.
            let e = ConnectError::new("Invalid namespace");
            return self.refuse_as(ctx, &nsp, &e, false);
        };
        if self.sockets.contains_key(&nsp) || self.joining.contains(&nsp) {
            return;
        }
        let handshake = Handshake {
            auth,
            request: self.request.clone(),
            address: self.remote,
            issued: std::time::SystemTime::now(),
        };
        let recovery = ns.recovery().cloned();
        let restore = recovery
            .as_ref()
            .and_then(|_| recovery_request(handshake.auth.as_ref()))
            .map_or(Restore::No, |(pid, offset)| Restore::Try(pid, offset));
        let pending = PendingConnect {
            nsp,
            ns,
            handshake,
            data: Ok(http::Extensions::new()),
            restore,
            // A returning socket skips the checks it passed when it first
            // came (socket.io's default).
            checked: false,
            skip_checks: recovery.is_some_and(|r| r.skip_middlewares),
        };
        self.advance(ctx, pending);
    }

    /// Moves a join on, as far as it can go now: a session restored (under
    /// the namespace's emit lock, through the join), the checks run, the
    /// socket joined. What waits (a check, an adapter's restore) goes on
    /// in a task and comes back here as a command.
    fn advance(&mut self, ctx: &mut Context<'_>, mut pending: PendingConnect) {
        if let Err(e) = &pending.data {
            return self.refuse(ctx, &pending.nsp, e);
        }
        if self.sockets.contains_key(&pending.nsp) {
            return;
        }
        if pending.checked || pending.skip_checks {
            match std::mem::replace(&mut pending.restore, Restore::No) {
                Restore::Try(pid, offset) => {
                    let ns = pending.ns.clone();
                    let guard = ns.emit_guard();
                    match now_or_later(ns.adapter().restore_session(&pid, &offset)) {
                        Ok(Ok(Some(session))) => {
                            let socket = self.join(ctx, pending, Some(session));
                            drop(guard);
                            return self.joined(ctx, &ns, socket);
                        }
                        Ok(_) => {}
                        Err(waiting) => {
                            drop(guard);
                            let nsp = pending.nsp.clone();
                            return self.join_later(ctx, nsp, async move {
                                if let Ok(Some(session)) = waiting.await {
                                    pending.restore = Restore::Done(Box::new(session));
                                }
                                pending
                            });
                        }
                    }
                }
                // An adapter whose restore waited: events emitted between
                // its answer and this join are its to include.
                Restore::Done(session) => {
                    let ns = pending.ns.clone();
                    let guard = ns.emit_guard();
                    let socket = self.join(ctx, pending, Some(*session));
                    drop(guard);
                    return self.joined(ctx, &ns, socket);
                }
                Restore::No => {}
            }
        }
        if !pending.checked {
            pending.checked = true;
            let chain = pending.ns.middleware();
            if !chain.is_empty() {
                match now_or_later(Box::pin(run_middleware(chain, pending.handshake.clone()))) {
                    Ok(data) => pending.data = data,
                    // A check waits (a database, a token service): the
                    // connection goes on meanwhile.
                    Err(waiting) => {
                        let nsp = pending.nsp.clone();
                        return self.join_later(ctx, nsp, async move {
                            pending.data = waiting.await;
                            pending
                        });
                    }
                }
            }
            return self.advance(ctx, pending);
        }
        let ns = pending.ns.clone();
        let guard = ns.emit_guard();
        let socket = self.join(ctx, pending, None);
        drop(guard);
        self.joined(ctx, &ns, socket);
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
            return self.refuse_at_limit(
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

    /// The socket joins (the caller holds the namespace's emit lock): a
    /// returning one with its session back, what it missed queued first,
    /// then the CONNECT answer, as socket.io sends them.
    fn join(
        &mut self,
        ctx: &mut Context<'_>,
        pending: PendingConnect,
        restored: Option<RestoredSession>,
    ) -> Socket {
        let PendingConnect {
            nsp,
            ns,
            handshake,
            data,
            ..
        } = pending;
        let data = data.unwrap_or_default();
        let (socket, missed) = match restored {
            Some(r) => {
                let s = r.session;
                let mut extensions = s.extensions;
                // What the checks found now, when they ran, over what was kept.
                extensions.extend(data);
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
                    extensions,
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
                // socket.io names a v3 client's socket after its Engine.IO
                // session, as socket.io-client 2.x does on its side.
                let id = match (self.v3, nsp.as_str()) {
                    (false, _) => new_id(),
                    (true, "/") => ctx.sid().to_owned(),
                    (true, nsp) => format!("{nsp}#{}", ctx.sid()),
                };
                let ids = Ids {
                    id,
                    pid: ns.recovery().is_some().then(new_id),
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
        if !missed.is_empty() {
            // However many there are, they go out as the transport drains
            // (a polling outbox holds `max_buffered_packets`); what comes
            // meanwhile waits behind them, up to a bound.
            self.replay_cap =
                self.replay.len() + missed.len() + self.registry.options().engine.command_queue;
            let parser = self.parser();
            self.replay
                .extend(missed.iter().filter_map(|p| Wire::new(p, parser).ok()));
        }
        let accepted = match socket.pid() {
            _ if self.v3 => None,
            Some(pid) => Some(serde_json::json!({ "sid": socket.id(), "pid": pid })),
            None => Some(serde_json::json!({ "sid": socket.id() })),
        };
        let accepted = accepted.and_then(|a| Json::from_value(&a).ok());
        if let Ok(packet) = Packet::connect(&nsp, accepted) {
            if let Ok(wire) = Wire::new(&packet, self.parser()) {
                self.out(ctx, wire);
            }
        }
        ns.insert(&socket);
        #[cfg(feature = "tracing")]
        socket.in_span(|| tracing::debug!(recovered = socket.recovered(), "socket connected"));
        self.sockets.insert(nsp, socket.clone());
        self.connect_deadline = None;
        socket
    }

    /// A socket joined: its namespace's connection listeners run (outside
    /// the emit lock: they may emit).
    fn joined(&mut self, ctx: &mut Context<'_>, ns: &Namespace, socket: Socket) {
        socket.in_span(|| {
            for f in ns.connect_handlers() {
                f(socket.clone());
            }
        });
        self.pump(ctx);
    }

    /// Sends `wire`, or queues it behind a replay still going out.
    fn out(&mut self, ctx: &mut Context<'_>, wire: Wire) {
        if self.replay.is_empty() {
            return wire.send(ctx);
        }
        if self.replay.len() >= self.replay_cap.max(1) {
            // Behind the replay and still growing: too slow to keep up.
            #[cfg(feature = "tracing")]
            tracing::warn!("output behind a replay past its bound; closing the slow client");
            return ctx.close();
        }
        self.replay.push_back(wire);
    }

    /// Sends what waits in the replay as far as the transport takes it; the
    /// rest on a short timer, as it drains.
    fn pump(&mut self, ctx: &mut Context<'_>) {
        while let Some(w) = self.replay.front() {
            if ctx.room() <= w.packets() + RESERVE {
                self.replay_retry = Some(now() + REPLAY_RETRY);
                return;
            }
            if let Some(w) = self.replay.pop_front() {
                w.send(ctx);
            }
        }
        self.replay_retry = None;
    }
}

/// Room kept free in the transport's queue while a replay feeds it: the
/// heartbeat and a close still fit.
const RESERVE: usize = 8;

/// How soon a replay waiting for the transport to drain looks again.
const REPLAY_RETRY: std::time::Duration = std::time::Duration::from_millis(5);

/// A join on its way: decided at once, or by a task when a check waits.
pub(crate) struct PendingConnect {
    nsp: String,
    ns: Namespace,
    handshake: Handshake,
    data: Result<http::Extensions, ConnectError>,
    restore: Restore,
    /// The namespace's checks ran (and `data` is what they found).
    checked: bool,
    /// A restored socket skips the checks.
    skip_checks: bool,
}

enum Restore {
    /// A fresh socket.
    No,
    /// The client asked to come back with this session and offset.
    Try(String, String),
    /// Restored by an adapter whose answer waited.
    Done(Box<RestoredSession>),
}

/// CONNECT_ERROR with `{"message", "data"}`; for a v3 client (`v3`), as
/// socket.io sends it a refusal by a check: `data` if it is set (an
/// object or a string), else the message, as a string (its ERROR packet).
fn send_refusal(ctx: &mut Context<'_>, parser: Parser, nsp: &str, e: &ConnectError, v3: bool) {
    if v3 {
        let data = e
            .data
            .as_ref()
            .filter(|d| d.is_object() || d.as_str().is_some_and(|s| !s.is_empty()))
            .and_then(|d| Json::from_value(d).ok());
        let data = data.or_else(|| Json::from_value(&e.message).ok());
        if let Some(p) = data.and_then(|d| Packet::connect_error(nsp, d).ok()) {
            Conn::write(ctx, parser, &p);
        }
        return;
    }
    if let Ok(packet) = Packet::connect_error_message(nsp, &e.message, e.data.as_ref()) {
        Conn::write(ctx, parser, &packet);
    }
}

/// A query string as the object socket.io makes of it
/// (`URLSearchParams`): each key's last value, percent-decoded, `+` as a
/// space.
fn query_object(query: &str) -> serde_json::Map<String, serde_json::Value> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (form_decode(k), serde_json::Value::String(form_decode(v)))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte; a malformed escape stays as it is, bytes that are not UTF-8
/// become U+FFFD.
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

    async fn on_open(&mut self, ctx: &mut Context<'_>) {
        if ctx.protocol() == engineio::ProtocolVersion::V3 {
            // socket.io joins a v3 client to `/` without waiting for a
            // CONNECT: socket.io-client 2.x sends none for it.
            self.v3 = true;
            self.on_connect(ctx, "/".to_owned(), None);
        }
    }

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        if let Err(_e) = feed(&mut self.decoder, msg) {
            // Not Socket.IO: the official server closes the connection.
            #[cfg(feature = "tracing")]
            tracing::info!(error = %_e, "not a Socket.IO packet; closing the connection");
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
        self.pump(ctx);
    }

    async fn on_command(&mut self, ctx: &mut Context<'_>, cmd: Command) {
        match cmd {
            Command::Send(wire) => self.out(ctx, wire),
            Command::Disconnect(nsp) => {
                if let Some(s) = self.sockets.remove(&nsp) {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        if let Ok(wire) = Wire::new(&p, self.parser()) {
                            self.out(ctx, wire);
                        }
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
            }
            Command::Connect(pending) => {
                self.joining.remove(&pending.nsp);
                self.advance(ctx, *pending);
            }
            Command::JoinTimedOut(nsp) => {
                self.joining.remove(&nsp);
                self.refuse_at_limit(ctx, &nsp, &ConnectError::new("Middleware timeout"));
            }
            Command::CloseConnection => {
                // As the official server's disconnect(true): each namespace
                // is told first (its client does not reconnect), then the
                // connection closes.
                let parser = self.parser();
                for (nsp, s) in self.sockets.drain() {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        Self::write(ctx, parser, &p);
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
                ctx.close();
            }
        }
        self.pump(ctx);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let acks = self.sockets.values().filter_map(Socket::poll_ack_timeout);
        [
            self.connect_deadline,
            self.attachment_deadline,
            self.replay_retry,
        ]
        .into_iter()
        .flatten()
        .chain(acks)
        .min()
    }

    async fn on_timeout(&mut self, ctx: &mut Context<'_>, now: Instant) {
        for s in self.sockets.values() {
            s.handle_ack_timeout(now);
        }
        self.pump(ctx);
        if self.attachment_deadline.is_some_and(|d| d <= now) {
            // Attachments that never came. The official server would hold
            // them as long as the connection lives; ending it is its answer
            // to a packet it cannot decode (a forced close).
            self.attachment_deadline = None;
            #[cfg(feature = "tracing")]
            tracing::warn!(
                limit = ?self.registry.options().attachment_timeout,
                "binary attachments not in within attachment_timeout; closing the connection"
            );
            return ctx.close();
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            // No namespace joined within connect_timeout: the official
            // server closes the connection.
            self.connect_deadline = None;
            if self.sockets.is_empty() {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    limit = ?self.registry.options().connect_timeout,
                    "no namespace joined within connect_timeout; closing the connection"
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v3_namespace_query_reads_as_url_search_params() {
        let q =
            query_object("token=x&a=1&a=2&sp=a+b%20c&bad=%zz%4&empty=&flag&%C3%A9=%F0%9F%98%80");
        assert_eq!(
            serde_json::Value::Object(q),
            serde_json::json!({
                "token": "x", "a": "2", "sp": "a b c", "bad": "%zz%4",
                "empty": "", "flag": "", "é": "😀"
            })
        );
        assert!(query_object("").is_empty());
        assert_eq!(form_decode("%"), "%");
        assert_eq!(form_decode("%ff"), "\u{fffd}");
    }
}
