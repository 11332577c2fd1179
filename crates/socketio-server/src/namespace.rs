//! Namespaces: who may connect, who is connected, which rooms they are in,
//! and broadcasts to them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::{Packet, Parser};
use socketio_runtime::{lock, read, write};
use tokio::sync::mpsc;

use crate::adapter::{Adapter, BroadcastOptions};
use crate::cluster::{
    AdapterError, BroadcastAcks, LocalNamespace, RemoteAck, RemoteSocket, ServerSideAck,
    ServerSideFn, SocketData,
};
use crate::command::Wire;
use crate::error::{AckError, ConnectError, EmitError};
use crate::handshake::Handshake;
use crate::recovery::RecoveryOptions;
use crate::socket::{Socket, answer};

pub(crate) type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
type SyncMiddleware =
    Arc<dyn Fn(&Handshake, &mut http::Extensions) -> Result<(), ConnectError> + Send + Sync>;
type AsyncMiddleware = Arc<
    dyn Fn(Handshake) -> crate::BoxFuture<Result<http::Extensions, ConnectError>> + Send + Sync,
>;

/// One check of the namespace's middleware chain.
#[derive(Clone)]
pub(crate) enum Middleware {
    Sync(SyncMiddleware),
    Async(AsyncMiddleware),
}

/// What every namespace of a server takes from its options.
#[derive(Clone, Debug)]
pub(crate) struct NsConfig {
    pub(crate) ack_timeout: Duration,
    pub(crate) recovery: Option<RecoveryOptions>,
    pub(crate) parser: Parser,
}

/// Runs the middleware chain in order; the data the checks stored.
pub(crate) async fn run_middleware(
    chain: Vec<Middleware>,
    handshake: Handshake,
) -> Result<http::Extensions, ConnectError> {
    let mut data = http::Extensions::new();
    for m in chain {
        match m {
            Middleware::Sync(f) => f(&handshake, &mut data)?,
            Middleware::Async(f) => data.extend(f(handshake.clone()).await?),
        }
    }
    Ok(data)
}

/// A namespace. Cheap to clone; every clone is the same namespace.
#[derive(Clone)]
pub struct Namespace(Arc<NsInner>);

pub(crate) struct NsInner {
    name: String,
    on_connect: RwLock<Vec<ConnectFn>>,
    middleware: RwLock<Vec<Middleware>>,
    sockets: RwLock<HashMap<String, Socket>>,
    adapter: Arc<dyn Adapter>,
    /// Ack ids, per namespace as socket.io numbers them, so a broadcast's
    /// recipients all answer one id.
    ack_ids: AtomicU64,
    /// Handlers of server-side emits from other nodes, by event.
    server_side: RwLock<HashMap<String, ServerSideFn>>,
    config: NsConfig,
    /// Recovery is on and the adapter keeps sessions.
    recovering: bool,
    /// With recovery, held while an event is recorded and handed to its
    /// sockets, and while a socket comes back: each socket then gets every
    /// event once, in the order of the record, live or replayed.
    emit_lock: Mutex<()>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    pub(crate) fn new(name: &str, adapter: Arc<dyn Adapter>, config: NsConfig) -> Namespace {
        let recovering = config
            .recovery
            .as_ref()
            .is_some_and(|r| adapter.enable_recovery(r));
        let ns = Namespace(Arc::new(NsInner {
            name: name.to_owned(),
            on_connect: RwLock::new(Vec::new()),
            middleware: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            adapter,
            ack_ids: AtomicU64::new(0),
            server_side: RwLock::new(HashMap::new()),
            config,
            recovering,
            emit_lock: Mutex::new(()),
        }));
        ns.0.adapter.init(LocalNamespace(Arc::downgrade(&ns.0)));
        ns
    }

    /// The server's parser: how packets to this namespace's sockets are encoded.
    pub(crate) fn parser(&self) -> Parser {
        self.0.config.parser
    }

    pub(crate) fn from_inner(inner: Arc<NsInner>) -> Namespace {
        Namespace(inner)
    }

    /// A namespace made from a dynamic one's template: its connect handler
    /// and middleware as they are now.
    pub(crate) fn child_of(
        template: &Namespace,
        name: &str,
        adapter: Arc<dyn Adapter>,
    ) -> Namespace {
        let child = Namespace::new(name, adapter, template.0.config.clone());
        *write(&child.0.on_connect) = read(&template.0.on_connect).clone();
        *write(&child.0.middleware) = read(&template.0.middleware).clone();
        *write(&child.0.server_side) = read(&template.0.server_side).clone();
        child
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.0.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// The namespace's name (`/`, `/admin`, ...).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Adds what runs when a socket has connected (`io.on("connection")`;
    /// several run in order of addition): register its event handlers here
    /// (it runs before any of its events are read).
    pub fn on_connect<F>(&self, f: F)
    where
        F: Fn(Socket) + Send + Sync + 'static,
    {
        write(&self.0.on_connect).push(Arc::new(f));
    }

    /// Adds a check that runs, in order of addition, before a socket may
    /// connect. An `Err` refuses it with a CONNECT_ERROR carrying its
    /// message and data.
    pub fn use_middleware<F>(&self, f: F)
    where
        F: Fn(&Handshake) -> Result<(), ConnectError> + Send + Sync + 'static,
    {
        self.use_middleware_with_data(move |hs, _| f(hs));
    }

    /// Like [`use_middleware`](Self::use_middleware), and what it stores in
    /// `data` becomes the socket's data ([`Socket::get`]): the user a token
    /// belongs to, found once at connection.
    pub fn use_middleware_with_data<F>(&self, f: F)
    where
        F: Fn(&Handshake, &mut http::Extensions) -> Result<(), ConnectError>
            + Send
            + Sync
            + 'static,
    {
        write(&self.0.middleware).push(Middleware::Sync(Arc::new(f)));
    }

    /// Adds a check that may wait (a token verified against a database or
    /// a JWKS endpoint), run in order with the others. The connection's
    /// other namespaces and its heartbeat go on meanwhile; a client still
    /// waiting at `connect_timeout` is closed, as socket.io does.
    ///
    /// ```no_run
    /// # fn run(ns: socketio_server::Namespace) {
    /// use socketio_server::ConnectError;
    /// ns.use_middleware_async(|hs| async move {
    ///     let token: Option<String> = hs.auth::<serde_json::Value>()
    ///         .and_then(|a| a["token"].as_str().map(str::to_owned));
    ///     tokio::time::sleep(std::time::Duration::from_millis(5)).await; // a lookup
    ///     match token {
    ///         Some(t) if t == "secret" => Ok(()),
    ///         _ => Err(ConnectError::new("not authorized")),
    ///     }
    /// });
    /// # }
    /// ```
    pub fn use_middleware_async<F, Fut>(&self, f: F)
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.use_middleware_async_with_data(move |hs| {
            let fut = f(hs);
            async move { fut.await.map(|()| http::Extensions::new()) }
        });
    }

    /// Like [`use_middleware_async`](Self::use_middleware_async); the
    /// values in the `Extensions` it returns join the socket's data
    /// ([`Socket::get`]).
    pub fn use_middleware_async_with_data<F, Fut>(&self, f: F)
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<http::Extensions, ConnectError>> + Send + 'static,
    {
        let f: AsyncMiddleware = Arc::new(move |hs| Box::pin(f(hs)));
        write(&self.0.middleware).push(Middleware::Async(f));
    }

    /// The connected sockets.
    pub fn sockets(&self) -> Vec<Socket> {
        read(&self.0.sockets).values().cloned().collect()
    }

    /// A connected socket by id.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        read(&self.0.sockets).get(id).cloned()
    }

    /// A broadcast to every socket of the namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            ns: self.clone(),
            opts: BroadcastOptions::default(),
        }
    }

    /// A broadcast to the sockets in `room` (`to` and `in` in socket.io).
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket, with socket.io's `compress` flag
    /// (`namespace.compress(false).emit(...)`; see [`Broadcast::compress`]).
    pub fn compress(&self, compress: bool) -> Broadcast {
        self.broadcast().compress(compress)
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        self.broadcast().emit(event, args)
    }

    /// Emits a `message` event to every socket (`namespace.send`).
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<usize, EmitError> {
        self.emit("message", args)
    }

    /// The timeout of acks asked without one
    /// (`ServerOptions::ack_timeout`).
    pub fn ack_timeout(&self) -> Duration {
        self.0.config.ack_timeout
    }

    /// Handles `event` emitted by other nodes with
    /// [`server_side_emit`](Self::server_side_emit) (`io.on(event, ...)` for
    /// `serverSideEmit` in socket.io). Its arguments deserialize into `T`
    /// (as for [`Socket::on`]); `ack` is set when the sender waits for an
    /// answer. Arguments that do not fit `T` are ignored.
    pub fn on_server_side<T, F>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T, Option<ServerSideAck>) + Send + Sync + 'static,
    {
        let f: ServerSideFn = Arc::new(move |packet: &Packet, ack| {
            if let Ok(args) = packet.event_args::<T>() {
                handler(args, ack);
            }
        });
        write(&self.0.server_side).insert(event.to_owned(), f);
    }

    /// Emits `event` to the server-side handlers of the other nodes
    /// (`serverSideEmit`); not to this node's, nor to any client.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(self.name(), event, args)?;
        self.0.adapter.server_side_emit(&packet);
        Ok(())
    }

    /// Like [`server_side_emit`](Self::server_side_emit), and collects each
    /// other node's answer (the first argument of its ack), deserialized
    /// into `R`, within `timeout`. On a timeout: the error, and the answers
    /// that came. Answers that do not fit `R` are left out.
    pub async fn server_side_emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Vec<R>, (AdapterError, Vec<R>)>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let packet = Packet::event(self.name(), event, args)
            .map_err(|e| (AdapterError::Unavailable(e.to_string()), Vec::new()))?;
        let fit = |v: Vec<serde_json::Value>| {
            v.into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect::<Vec<R>>()
        };
        match self
            .0
            .adapter
            .server_side_emit_with_ack(&packet, timeout)
            .await
        {
            Ok(v) => Ok(fit(v)),
            Err((e, v)) => Err((e, fit(v))),
        }
    }

    /// Every room with a socket in it, on every node (`allRooms`).
    pub async fn all_rooms(&self, timeout: Duration) -> Result<HashSet<String>, AdapterError> {
        let mut rooms: HashSet<String> = self.0.adapter.rooms().into_iter().collect();
        rooms.extend(self.0.adapter.all_rooms(timeout).await?);
        Ok(rooms)
    }

    /// How many nodes serve this namespace, this one included.
    pub async fn server_count(&self) -> usize {
        self.0.adapter.server_count().await
    }

    /// A server-side emit from another node, for this node's handler.
    pub(crate) fn on_server_side_emit(&self, packet: &Packet, ack: Option<ServerSideAck>) {
        let Some(event) = packet.event_name() else {
            return;
        };
        let handler = read(&self.0.server_side).get(event).cloned();
        if let Some(h) = handler {
            h(packet, ack);
        }
    }

    pub(crate) fn middleware(&self) -> Vec<Middleware> {
        read(&self.0.middleware).clone()
    }

    pub(crate) fn connect_handlers(&self) -> Vec<ConnectFn> {
        read(&self.0.on_connect).clone()
    }

    /// Recovery's settings, when it is on and the adapter keeps sessions.
    pub(crate) fn recovery(&self) -> Option<&RecoveryOptions> {
        self.0
            .config
            .recovery
            .as_ref()
            .filter(|_| self.0.recovering)
    }

    /// With recovery on, the lock an emit holds from its record to its
    /// hand-over (see `emit_lock`); `None` without.
    pub(crate) fn emit_guard(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.0.recovering.then(|| lock(&self.0.emit_lock))
    }

    /// Sends an event to the sockets `opts` selects (and to the other
    /// nodes unless `local`); with recovery on, recorded for replay first,
    /// with its offset. Returns how many of this node's sockets took it.
    pub(crate) fn emit_packet(&self, packet: Packet, opts: &BroadcastOptions) -> usize {
        let recorded = !opts.volatile && packet.id().is_none();
        let guard = if recorded { self.emit_guard() } else { None };
        let packet = match &guard {
            Some(_) => self.0.adapter.store_packet(&packet, opts).unwrap_or(packet),
            None => packet,
        };
        if !opts.local {
            self.0.adapter.broadcast(&packet, opts);
        }
        let recipients = self.recipients(opts);
        let n = hand_over(&packet, self.parser(), opts, &recipients);
        // Listeners run outside the lock: one may emit again.
        drop(guard);
        notify_outgoing(&packet, &recipients);
        n
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.0.adapter
    }

    pub(crate) fn insert(&self, s: &Socket) {
        write(&self.0.sockets).insert(s.id().to_owned(), s.clone());
        self.0.adapter.add_all(s.id(), &[s.id()]);
    }

    pub(crate) fn remove(&self, s: &Socket) {
        let mut sockets = write(&self.0.sockets);
        // Only this socket: one that came back with its id stays.
        if !sockets.get(s.id()).is_some_and(|x| x.same(s)) {
            return;
        }
        sockets.remove(s.id());
        self.0.adapter.del_all(s.id());
    }

    /// Hands `packet` (from here or another node) to this node's sockets
    /// that `opts` selects; returns how many took it.
    pub(crate) fn deliver(&self, packet: &Packet, opts: &BroadcastOptions) -> usize {
        let recipients = self.recipients(opts);
        let n = hand_over(packet, self.parser(), opts, &recipients);
        notify_outgoing(packet, &recipients);
        n
    }

    /// Delivers a broadcast with acks from another node under this node's
    /// own ack id; returns how many sockets it reached and their answers as
    /// they come (within `timeout`).
    pub(crate) fn deliver_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (usize, mpsc::Receiver<Packet>) {
        let id = self.next_ack_id();
        let packet = packet.clone().with_id(id);
        let recipients = self.recipients(opts);
        let deadline = socketio_runtime::now() + timeout;
        let (tx, rx) = mpsc::channel(recipients.len().max(1));
        // Encoded before any ack is awaited: a packet that cannot go leaves
        // no wait behind.
        let Ok(wire) = Wire::new(&packet, self.parser()) else {
            return (0, rx);
        };
        let wire = wire.compress(compress_flag(opts));
        for s in &recipients {
            let wait = s.expect_ack(id, deadline);
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Ok(ack) = wait.answer().await {
                    let _ = tx.try_send(ack);
                }
            });
        }
        for s in &recipients {
            s.outgoing(&packet);
            let _ = s.send_wire(wire.clone(), opts.volatile);
        }
        (recipients.len(), rx)
    }

    /// This node's sockets that `opts` selects, described.
    pub(crate) fn local_socket_data(&self, opts: &BroadcastOptions) -> Vec<SocketData> {
        self.recipients(opts).iter().map(Socket::describe).collect()
    }

    pub(crate) fn recipients(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let sockets = read(&self.0.sockets);
        if opts.rooms.is_empty() && opts.except.is_empty() {
            // Every socket of this node: the namespace knows them without
            // asking the adapter for each id as a new string.
            return sockets.values().cloned().collect();
        }
        let ids = self.0.adapter.sockets(opts);
        ids.iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }
}

/// Queues `packet`, encoded once, for each of `recipients`; returns how
/// many took it.
fn hand_over(
    packet: &Packet,
    parser: Parser,
    opts: &BroadcastOptions,
    recipients: &[Socket],
) -> usize {
    let Ok(wire) = Wire::new(packet, parser) else {
        return 0;
    };
    let wire = wire.compress(compress_flag(opts));
    recipients
        .iter()
        .filter(|s| s.send_wire(wire.clone(), opts.volatile).is_ok())
        .count()
}

/// socket.io's `flags.compress`: only an explicit `false` (set here by
/// [`Broadcast::compress`], or by another node) turns compression off.
pub(crate) fn compress_flag(opts: &BroadcastOptions) -> bool {
    opts.flags
        .get("compress")
        .and_then(serde_json::Value::as_bool)
        != Some(false)
}

/// The `on_any_outgoing` listeners of each recipient hear of `packet`.
fn notify_outgoing(packet: &Packet, recipients: &[Socket]) {
    for s in recipients {
        s.outgoing(packet);
    }
}

/// A message to many sockets of one namespace. Its packet is encoded once and
/// its bytes shared by every recipient.
#[derive(Debug, Clone)]
pub struct Broadcast {
    ns: Namespace,
    opts: BroadcastOptions,
}

impl Broadcast {
    /// Also to the sockets in `room` (`to`/`in` in socket.io).
    pub fn to(mut self, room: &str) -> Broadcast {
        self.opts.rooms.push(room.to_owned());
        self
    }

    /// Not to the sockets in `room`.
    pub fn except(mut self, room: &str) -> Broadcast {
        self.opts.except.push(room.to_owned());
        self
    }

    /// Dropped for a client that cannot take it now, rather than
    /// disconnecting that client as too slow.
    pub fn volatile(mut self) -> Broadcast {
        self.opts.volatile = true;
        self
    }

    /// Whether the transport may compress it (`compress` in socket.io;
    /// default true): `false` keeps it out of HTTP compression of polling
    /// responses (unless another packet of the same response asks for it,
    /// as in engine.io) and out of permessage-deflate. Passed on to the
    /// other nodes as the `compress` flag.
    pub fn compress(mut self, compress: bool) -> Broadcast {
        self.opts
            .flags
            .insert("compress".into(), serde_json::Value::Bool(compress));
        self
    }

    /// Only the sockets of this node (`local` in socket.io): the adapter does
    /// not forward it to other nodes.
    pub fn local(mut self) -> Broadcast {
        self.opts.local = true;
        self
    }

    /// Emits, on every node (unless [`local`](Self::local)); returns how
    /// many of this node's sockets it was handed to.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        let packet = Packet::event(self.ns.name(), event, args)?;
        Ok(self.ns.emit_packet(packet, &self.opts))
    }

    /// Emits a `message` event (`send`).
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<usize, EmitError> {
        self.emit("message", args)
    }

    /// Emits with acks and collects every recipient's answer within
    /// `timeout` (`io.timeout(ms).emit(..., cb)` in socket.io; `None`: the
    /// server's `ack_timeout`), on every
    /// node: this node's sockets each with its answer (or
    /// `AckError::Timeout`), the other nodes' answers as they came.
    /// Between nodes only the first argument of an answer travels, as with
    /// the official adapters, so `R` should take one argument when the
    /// server runs in a cluster.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<BroadcastAcks<R>, EmitError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let timeout = timeout.into().unwrap_or(self.ns.0.config.ack_timeout);
        let id = self.ns.next_ack_id();
        let packet = Packet::event(self.ns.name(), event, args)?;
        let remote = if self.opts.local {
            None
        } else {
            self.ns
                .0
                .adapter
                .broadcast_with_ack(&packet, &self.opts, timeout)
        };
        let packet = packet.with_id(id);
        // Encoded before any ack is awaited: a packet that cannot go leaves
        // no wait behind.
        let wire = Wire::new(&packet, self.ns.parser())?.compress(compress_flag(&self.opts));
        let recipients = self.ns.recipients(&self.opts);
        let deadline = socketio_runtime::now() + timeout;
        let waits: Vec<_> = recipients
            .iter()
            .map(|s| (s.clone(), s.expect_ack(id, deadline)))
            .collect();
        for s in &recipients {
            s.outgoing(&packet);
            let _ = s.send_wire(wire.clone(), self.opts.volatile);
        }
        let remote_answers = async {
            let Some(mut remote) = remote else {
                return (Vec::new(), true);
            };
            let (mut counted, mut expected, mut answers) = (0, 0, Vec::new());
            let all = async {
                while counted < remote.nodes || answers.len() < expected {
                    match remote.events.recv().await {
                        Some(RemoteAck::ClientCount(n)) => {
                            counted += 1;
                            expected += n;
                        }
                        Some(RemoteAck::Ack(p)) => {
                            answers.push(p.ack_args::<R>().map_err(AckError::Deserialize))
                        }
                        None => return false,
                    }
                }
                true
            };
            let done = tokio::time::timeout(timeout, all).await.unwrap_or(false);
            (answers, done)
        };
        let local_answers = async {
            let mut out = Vec::with_capacity(waits.len());
            for (s, wait) in waits {
                out.push((s, answer(wait).await));
            }
            out
        };
        let (local, (remote, remote_done)) = tokio::join!(local_answers, remote_answers);
        let complete = remote_done
            && local
                .iter()
                .all(|(_, r)| !matches!(r, Err(AckError::Timeout)));
        Ok(BroadcastAcks {
            local,
            remote,
            complete,
        })
    }

    /// This node's sockets it would reach, now.
    pub fn sockets(&self) -> Vec<Socket> {
        self.ns.recipients(&self.opts)
    }

    /// The sockets it would reach on every node (`fetchSockets` in
    /// socket.io; only this node's when [`local`](Self::local)), waiting
    /// up to `timeout` for the other nodes.
    pub async fn fetch_sockets(
        &self,
        timeout: Duration,
    ) -> Result<Vec<RemoteSocket>, AdapterError> {
        let mut all = self.ns.local_socket_data(&self.opts);
        if !self.opts.local {
            all.extend(self.ns.0.adapter.fetch_sockets(&self.opts, timeout).await?);
        }
        Ok(all
            .into_iter()
            .map(|d| RemoteSocket::new(d, self.ns.clone()))
            .collect())
    }

    /// Makes the sockets it would reach join `room`, on every node
    /// (`socketsJoin`).
    pub fn sockets_join(&self, room: &str) {
        for s in self.ns.recipients(&self.opts) {
            s.join(room);
        }
        if !self.opts.local {
            self.ns
                .0
                .adapter
                .add_sockets(&self.opts, &[room.to_owned()]);
        }
    }

    /// Makes the sockets it would reach leave `room`, on every node
    /// (`socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        for s in self.ns.recipients(&self.opts) {
            s.leave(room);
        }
        if !self.opts.local {
            self.ns
                .0
                .adapter
                .del_sockets(&self.opts, &[room.to_owned()]);
        }
    }

    /// Disconnects the sockets it would reach from the namespace, on every
    /// node (`disconnectSockets()`).
    pub fn disconnect(&self) {
        for s in self.ns.recipients(&self.opts) {
            s.disconnect();
        }
        if !self.opts.local {
            self.ns.0.adapter.disconnect_sockets(&self.opts, false);
        }
    }

    /// Closes the whole connections of the sockets it would reach, on every
    /// node (`disconnectSockets(true)`).
    pub fn close_connections(&self) {
        for s in self.ns.recipients(&self.opts) {
            s.close_connection();
        }
        if !self.opts.local {
            self.ns.0.adapter.disconnect_sockets(&self.opts, true);
        }
    }
}
