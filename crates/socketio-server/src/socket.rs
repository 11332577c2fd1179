//! A client's socket in one namespace: what the application can do with
//! it, and what its connection tells it.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use engineio::server::{SessionSender, TrySendError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::Packet;
use socketio_runtime::ack::{self, AckWait, NoAnswer};
use socketio_runtime::dispatch::{DisconnectFn, run_or_spawn};
use socketio_runtime::{AckSocket, Acks, Handlers, ListenerId, lock, relay};

use crate::SlowClient;
use crate::adapter::BroadcastOptions;
use crate::command::{Command, Wire};
use crate::error::{AckError, DisconnectReason, EmitError, PacketError};
use crate::handshake::Handshake;
use crate::metrics::Counters;
use crate::namespace::Namespace;
use crate::recovery::{SessionState, recoverable};

type AnyFn = socketio_runtime::dispatch::AnyFn<Socket>;
type ErrorFn = Arc<dyn Fn(&Socket, &PacketError) + Send + Sync>;
type UseFn = Arc<dyn Fn(Socket, Packet) -> crate::BoxFuture<Result<(), PacketError>> + Send + Sync>;

/// Answers an event the client sent with an ack id.
pub type AckSender = socketio_runtime::AckSender<Socket>;

/// A connected client in one namespace. Cheap to clone; every clone is the
/// same socket.
#[derive(Clone)]
pub struct Socket(Arc<SocketInner>);

struct SocketInner {
    id: String,
    ns: Namespace,
    session: SessionSender<Command>,
    handshake: Handshake,
    handlers: Handlers<Socket>,
    /// What few sockets use, made on first use: an idle connection pays
    /// one pointer for it.
    extras: OnceLock<Box<Extras>>,
    /// Whether packet checks exist: read per event without a lock.
    has_checks: AtomicBool,
    max_checking: usize,
    /// The private session id recovery brings the socket back with.
    pid: Option<String>,
    recovered: bool,
    connected: AtomicBool,
    slow_client: SlowClient,
    data: Mutex<http::Extensions>,
    /// The server's counts of sockets and slow clients.
    counters: Arc<Counters>,
    /// Set once the socket is disconnected as too slow (counted once).
    too_slow: AtomicBool,
    /// `socket{nsp, id}`, inside its session's span: its handlers run in it.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.0.ns.name())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The socket id (distinct from the Engine.IO session id).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The namespace.
    pub fn ns(&self) -> &Namespace {
        &self.0.ns
    }

    /// The handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// Whether the socket is still connected.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// Whether this socket came back through connection state recovery
    /// (`socket.recovered`): same id, rooms and data as before its
    /// connection dropped, and the events it missed sent first.
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// Adds a listener of `event` (several run in order of addition). Its
    /// arguments are deserialized into `T`, a tuple (or `Vec`, or array) of
    /// the event's arguments after the name;
    /// [`Binary`](socketio_proto::Binary) values receive attachments. `ack`
    /// is set when the client asked for an acknowledgement. An event whose
    /// arguments do not fit `T` skips this listener, and the
    /// [`on_mismatch`](Self::on_mismatch) listeners (and a `tracing`
    /// warning) hear of it.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        #[cfg(feature = "tracing")]
        let handler = move |s, args, ack| in_current_span(handler(s, args, ack));
        self.0.handlers.on(event, handler)
    }

    /// Adds a listener of the raw packet of `event` (for forwarding or for
    /// payloads of no fixed shape).
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(Socket, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        #[cfg(feature = "tracing")]
        let handler = move |s, p| in_current_span(handler(s, p));
        self.0.handlers.on_raw(event, handler)
    }

    /// Like [`on`](Self::on), for the next such event only (`once`).
    pub fn once<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        #[cfg(feature = "tracing")]
        let handler = move |s, args, ack| in_current_span(handler(s, args, ack));
        self.0.handlers.once(event, handler)
    }

    /// Removes every listener of `event` (`socket.off(event)`,
    /// `removeAllListeners(event)`).
    pub fn off(&self, event: &str) {
        self.0.handlers.off(event);
    }

    /// Removes one listener of an event, catch-all or mismatch, by the id
    /// its registration returned (`socket.off(event, listener)`).
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.0.handlers.remove_listener(id)
    }

    /// Removes every catch-all listener (`socket.offAny()`).
    pub fn off_any(&self) {
        self.0.handlers.off_any();
    }

    /// How many listeners `event` has (`listenerCount`).
    pub fn listener_count(&self, event: &str) -> usize {
        self.0.handlers.listener_count(event)
    }

    /// Hears of an event whose arguments did not fit a listener's type:
    /// the event name and why.
    pub fn on_mismatch<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &serde_json::Error) + Send + Sync + 'static,
    {
        self.0.handlers.on_mismatch(f)
    }

    /// Adds a check every incoming event goes through before its listeners
    /// (`socket.use`), in order of addition; it may wait. An `Err` drops
    /// the event and the [`on_error`](Self::on_error) listeners hear it
    /// (socket.io's `"error"` event); to tell the client, emit from there.
    ///
    /// ```no_run
    /// # fn run(socket: socketio_server::Socket) {
    /// use socketio_server::PacketError;
    /// socket.use_middleware(|_socket, packet| async move {
    ///     match packet.event_name() {
    ///         Some("admin") => Err(PacketError::new("unauthorized event")),
    ///         _ => Ok(()),
    ///     }
    /// });
    /// socket.on_error(|socket, err| {
    ///     let _ = socket.emit("error", &(err.message.as_str(),));
    /// });
    /// # }
    /// ```
    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), PacketError>> + Send + 'static,
    {
        let f: UseFn = Arc::new(move |s, p| Box::pin(f(s, p)));
        let mut chain = lock(&self.extras().packet_middleware);
        let mut v: Vec<UseFn> = chain.iter().cloned().collect();
        v.push(f);
        *chain = v.into();
        self.0.has_checks.store(true, Ordering::Release);
    }

    /// Called when a packet middleware refuses an event (`socket.on("error")`).
    pub fn on_error<F>(&self, f: F)
    where
        F: Fn(&Socket, &PacketError) + Send + Sync + 'static,
    {
        lock(&self.extras().on_error).push(Arc::new(f));
    }

    /// Called once when the socket disconnects, with the reason.
    pub fn on_disconnect<F>(&self, f: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        lock(&self.extras().on_disconnect).push(Arc::new(f));
    }

    /// Called once when the socket is disconnecting, before it leaves its
    /// rooms (`"disconnecting"`): [`rooms`](Self::rooms) still lists them.
    /// It can no longer emit to its own client.
    pub fn on_disconnecting<F>(&self, f: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        lock(&self.extras().on_disconnecting).push(Arc::new(f));
    }

    /// Stores a value of type `T` on the socket (one per type), for the
    /// handlers that follow: a user id from the middleware, a session.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) {
        lock(&self.0.data).insert(value);
    }

    /// The value of type `T` stored on the socket.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.0.data).get::<T>().cloned()
    }

    /// Removes the value of type `T`.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.0.data).remove::<T>()
    }

    /// Sets `socket.data`: a value every node sees in
    /// [`fetch_sockets`](crate::Broadcast::fetch_sockets) (the typed values
    /// of [`insert`](Self::insert) stay on this node).
    pub fn set_data<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), serde_json::Error> {
        *lock(&self.extras().json_data) = Some(serde_json::to_value(value)?);
        Ok(())
    }

    /// `socket.data`, as set with [`set_data`](Self::set_data).
    pub fn data(&self) -> Option<serde_json::Value> {
        let extras = self.0.extras.get()?;
        lock(&extras.json_data).clone()
    }

    /// The socket as any node describes it in `fetchSockets`.
    pub fn describe(&self) -> crate::SocketData {
        crate::SocketData {
            id: self.id().to_owned(),
            handshake: self.0.handshake.to_json(),
            rooms: self.rooms(),
            data: self.data(),
        }
    }

    /// Called for every incoming event, before its own listeners (`onAny`).
    pub fn on_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        self.0.handlers.on_any(f)
    }

    /// Like [`on_any`](Self::on_any), before the catch-all listeners
    /// already there (`prependAny`).
    pub fn prepend_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        self.0.handlers.prepend_any(f)
    }

    /// Called for every event sent to this socket, broadcasts included
    /// (`onAnyOutgoing`).
    pub fn on_any_outgoing<F>(&self, f: F)
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        lock(&self.extras().any_outgoing).push(Arc::new(f));
    }

    /// Emits `event` with `args` (a tuple, array or `Vec` of arguments; one
    /// non-sequence value is one argument). Never waits: if this client's
    /// queue is full, it is disconnected as too slow.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = Packet::event(self.0.ns.name(), event, args)?;
        self.send_event(packet)
    }

    /// This socket's next emit with socket.io's `compress` flag
    /// (`socket.compress(false).emit(...)`): with `false` the transport does
    /// not compress it, neither in an HTTP-compressed polling response
    /// (unless another packet of that response asks for it, as in
    /// engine.io) nor with permessage-deflate. Default true. For a
    /// broadcast, [`Broadcast::compress`](crate::Broadcast::compress).
    pub fn compress(&self, compress: bool) -> SocketFlags<'_> {
        SocketFlags {
            socket: self,
            compress,
        }
    }

    /// Emits a `message` event (`socket.send`); the client hears it with
    /// `on("message")`.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Like [`emit`](Self::emit), but dropped rather than queued when this
    /// client cannot take it now (`volatile` in socket.io).
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.emit_volatile_with(event, args, true)
    }

    fn emit_volatile_with<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        compress: bool,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(self.0.ns.name(), event, args)?;
        match self.send_wire(
            Wire::new(&packet, self.0.ns.parser())?.compress(compress),
            true,
        ) {
            Err(EmitError::Dropped) => Ok(()),
            r => r,
        }
    }

    /// Emits `event` and waits for the client's acknowledgement, deserialized
    /// into `R` (a tuple or `Vec` of the ack's arguments), for at most
    /// `timeout` (`None`: the server's `ack_timeout`).
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.emit_with_ack_with(event, args, timeout.into(), true)
            .await
    }

    async fn emit_with_ack_with<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
        compress: bool,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let timeout = timeout.unwrap_or_else(|| self.0.ns.ack_timeout());
        let id = self.0.ns.next_ack_id();
        let packet = Packet::event(self.0.ns.name(), event, args)
            .map_err(EmitError::from)?
            .with_id(id);
        let wait = self.expect_ack(id, socketio_runtime::now() + timeout);
        self.send_packet_with(&packet, compress)?;
        answer(wait).await
    }

    /// Emits `event` with the arguments of another event packet, unchanged
    /// (binary attachments included): for relaying.
    pub fn emit_raw_args(&self, event: &str, from: &Packet) -> Result<(), EmitError> {
        self.send_event(relay::event(self.0.ns.name(), event, from)?)
    }

    /// Acknowledges ack id `id` with the arguments of an event packet,
    /// unchanged (binary attachments included): for echoing.
    pub fn ack_raw_args(&self, id: u64, from: &Packet) -> Result<(), EmitError> {
        self.send_packet(&relay::ack(self.0.ns.name(), id, from)?)
    }

    /// Joins `room`.
    pub fn join(&self, room: &str) {
        if self.connected() {
            self.0.ns.adapter().add_all(self.id(), &[room]);
        }
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        self.0.ns.adapter().del(self.id(), room);
    }

    /// The rooms the socket is in (its own id among them).
    pub fn rooms(&self) -> Vec<String> {
        self.0.ns.adapter().socket_rooms(self.id())
    }

    /// A broadcast to `room`, leaving this socket out.
    pub fn to(&self, room: &str) -> crate::Broadcast {
        self.0.ns.to(room).except(self.id())
    }

    /// A broadcast to the whole namespace but this socket.
    pub fn broadcast(&self) -> crate::Broadcast {
        self.0.ns.broadcast().except(self.id())
    }

    /// Disconnects every socket of the client's connection, then closes it
    /// (`socket.disconnect(true)` in socket.io): each namespace's socket
    /// ends with "server namespace disconnect", and socket.io-client, told
    /// so, does not reconnect.
    pub fn close_connection(&self) {
        if self.0.session.try_send(Command::CloseConnection).is_err() {
            // A queue too full to take it: close at once.
            self.0.session.close();
        }
    }

    /// Closes the client's transport without a word (`socket.conn.close()`
    /// in socket.io): every socket of the connection ends with "forced
    /// close", and socket.io-client sees a transport close and reconnects.
    pub fn close_transport(&self) {
        self.0.session.close();
    }

    /// Disconnects the socket from its namespace ("server namespace
    /// disconnect"); the Engine.IO session stays for other namespaces.
    pub fn disconnect(&self) {
        let nsp = self.0.ns.name().to_owned();
        let _ = self.0.session.try_send(Command::Disconnect(nsp));
    }
}

/// A socket's rarely used parts.
#[derive(Default)]
struct Extras {
    /// This side's waits for the client's acks; the connection's timer
    /// ends them at their deadlines.
    acks: Mutex<Acks>,
    on_disconnect: Mutex<Vec<DisconnectFn<Socket, DisconnectReason>>>,
    on_disconnecting: Mutex<Vec<DisconnectFn<Socket, DisconnectReason>>>,
    /// `socket.data`: what other nodes see of it.
    json_data: Mutex<Option<serde_json::Value>>,
    any_outgoing: Mutex<Vec<AnyFn>>,
    on_error: Mutex<Vec<ErrorFn>>,
    /// `socket.use`: checks each incoming event runs through first.
    packet_middleware: Mutex<Arc<[UseFn]>>,
    /// Events waiting on a check, in order: one in the checks at a time,
    /// so a check that waits keeps the order of the events behind it.
    checking: Mutex<Checking>,
}

/// The line of events waiting on a socket's packet middleware.
#[derive(Default)]
struct Checking {
    queue: std::collections::VecDeque<Packet>,
    busy: bool,
}

/// A handler's future in the span it was made in (its socket's): what it
/// logs after it first waits, on a task of its own, still carries the
/// socket and its session.
#[cfg(feature = "tracing")]
fn in_current_span<F: Future>(fut: F) -> tracing::instrument::Instrumented<F> {
    tracing::Instrument::in_current_span(fut)
}

/// What a socket takes from its server: the slow-client policy, the bound
/// on events waiting for checks, the counters.
pub(crate) struct Limits {
    pub(crate) slow_client: SlowClient,
    pub(crate) max_checking: usize,
    pub(crate) counters: Arc<Counters>,
}

/// Who a new socket is: its id, its private session id when recovery is
/// on, and whether it came back with them.
pub(crate) struct Ids {
    pub(crate) id: String,
    pub(crate) pid: Option<String>,
    pub(crate) recovered: bool,
}

/// What the connection and the namespace do with a socket.
impl Socket {
    pub(crate) fn new(
        ids: Ids,
        ns: Namespace,
        session: SessionSender<Command>,
        handshake: Handshake,
        data: http::Extensions,
        limits: Limits,
    ) -> Socket {
        let Ids { id, pid, recovered } = ids;
        let Limits {
            slow_client,
            max_checking,
            counters,
        } = limits;
        counters.socket_joined();
        // Made on the session's task: a child of its `session` span.
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!("socket", nsp = ns.name(), id = id.as_str());
        Socket(Arc::new(SocketInner {
            id,
            ns,
            session,
            handshake,
            handlers: Handlers::default(),
            extras: OnceLock::new(),
            has_checks: AtomicBool::new(false),
            max_checking,
            pid,
            recovered,
            connected: AtomicBool::new(true),
            slow_client,
            data: Mutex::new(data),
            counters,
            too_slow: AtomicBool::new(false),
            #[cfg(feature = "tracing")]
            span,
        }))
    }

    /// Enters the socket's span (with the `tracing` feature) while `f` runs.
    pub(crate) fn in_span<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        let _entered = self.0.span.enter();
        f()
    }

    fn extras(&self) -> &Extras {
        self.0.extras.get_or_init(Box::default)
    }

    /// The private session id, with recovery on.
    pub(crate) fn pid(&self) -> Option<&str> {
        self.0.pid.as_deref()
    }

    /// An EVENT from the client: through the packet middleware, then to
    /// its listeners.
    pub(crate) fn dispatch(&self, event: &Packet) {
        self.in_span(|| self.dispatch_in_span(event))
    }

    fn dispatch_in_span(&self, event: &Packet) {
        if !self.0.has_checks.load(Ordering::Acquire) {
            return self.0.handlers.dispatch(self, event);
        }
        {
            let mut c = lock(&self.extras().checking);
            if c.busy {
                // Behind one that waits. A client sending faster than its
                // checks answer gets its events refused past the bound.
                if c.queue.len() + 1 >= self.0.max_checking {
                    drop(c);
                    #[cfg(feature = "tracing")]
                    tracing::warn!(
                        max_waiting_checks = self.0.max_checking,
                        "too many events waiting for the packet middleware; event refused"
                    );
                    return self.error(&PacketError::new("too many events waiting for checks"));
                }
                c.queue.push_back(event.clone());
                return;
            }
            c.busy = true;
        }
        let (socket, first) = (self.clone(), event.clone());
        // Ready checks run right here; the first that waits moves the rest
        // of the line to a task, which takes them in order.
        let line = async move {
            let mut next = Some(first);
            while let Some(packet) = next {
                socket.check(packet).await;
                let mut c = lock(&socket.extras().checking);
                next = c.queue.pop_front();
                c.busy = next.is_some();
            }
        };
        #[cfg(feature = "tracing")]
        let line = in_current_span(line);
        run_or_spawn(Box::pin(line));
    }

    /// One event through the packet middleware, then to its listeners.
    async fn check(&self, packet: Packet) {
        let chain = lock(&self.extras().packet_middleware).clone();
        for check in chain.iter() {
            if let Err(e) = check(self.clone(), packet.clone()).await {
                return self.error(&e);
            }
        }
        if self.connected() {
            self.0.handlers.dispatch(self, &packet);
        }
    }

    fn error(&self, e: &PacketError) {
        let listeners = self
            .0
            .extras
            .get()
            .map(|x| lock(&x.on_error).clone())
            .unwrap_or_default();
        #[cfg(feature = "tracing")]
        if listeners.is_empty() {
            tracing::warn!(socket = self.id(), error = %e, "a packet middleware refused an event and the socket has no error listener");
        }
        for f in listeners {
            f(self, e);
        }
    }

    /// Sends an event this socket's client should get once, and with
    /// recovery on, again after a reconnect if it missed it: recorded
    /// first (as socket.io sends every `socket.emit` through its adapter).
    pub(crate) fn send_event(&self, packet: Packet) -> Result<(), EmitError> {
        self.send_event_with(packet, true)
    }

    fn send_event_with(&self, packet: Packet, compress: bool) -> Result<(), EmitError> {
        if packet.id().is_some() || self.0.ns.recovery().is_none() {
            return self.send_packet_with(&packet, compress);
        }
        // Through the socket's own room, as socket.io: a handle kept from
        // before a reconnect reaches the socket that came back.
        let mut opts = BroadcastOptions {
            rooms: vec![self.id().to_owned()],
            local: true,
            ..Default::default()
        };
        if !compress {
            opts.flags
                .insert("compress".into(), serde_json::Value::Bool(false));
        }
        match self.0.ns.emit_packet(packet, &opts) {
            0 => Err(EmitError::Disconnected),
            _ => Ok(()),
        }
    }

    /// Whether `other` is this very socket (not one that came back with
    /// its id).
    pub(crate) fn same(&self, other: &Socket) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A packet is on its way to this client: the `on_any_outgoing`
    /// listeners hear of it.
    pub(crate) fn outgoing(&self, packet: &Packet) {
        // Looked at before the event name, which costs a parse: a broadcast
        // calls this for every recipient, and few have listeners.
        let Some(extras) = self.0.extras.get() else {
            return;
        };
        let listeners = lock(&extras.any_outgoing).clone();
        if listeners.is_empty() {
            return;
        }
        let Some(name) = packet.event_name() else {
            return;
        };
        for l in listeners {
            l(self, name, packet);
        }
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), EmitError> {
        self.send_packet_with(packet, true)
    }

    fn send_packet_with(&self, packet: &Packet, compress: bool) -> Result<(), EmitError> {
        self.outgoing(packet);
        self.send_wire(
            Wire::new(packet, self.0.ns.parser())?.compress(compress),
            false,
        )
    }

    /// Hands `wire` to the connection without waiting. When its queue is
    /// full, a `volatile` message is dropped; any other follows
    /// [`SlowClient`].
    pub(crate) fn send_wire(&self, wire: Wire, volatile: bool) -> Result<(), EmitError> {
        // On the emitter's task: the socket is named in the events' fields.
        match self.0.session.try_send(Command::Send(wire)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full) if volatile => {
                #[cfg(feature = "tracing")]
                tracing::debug!(
                    nsp = self.0.ns.name(),
                    socket = self.id(),
                    "client's queue full; volatile message dropped"
                );
                Err(EmitError::Dropped)
            }
            Err(TrySendError::Full) => match self.0.slow_client {
                // Too slow to keep up: better gone than buffered without bound.
                SlowClient::Disconnect => {
                    self.0.session.close();
                    if !self.0.too_slow.swap(true, Ordering::Relaxed) {
                        self.0.counters.slow_client_disconnect();
                        #[cfg(feature = "tracing")]
                        tracing::warn!(
                            nsp = self.0.ns.name(),
                            socket = self.id(),
                            "client's queue full; disconnecting it as too slow"
                        );
                    }
                    Err(EmitError::SlowClient)
                }
                SlowClient::Drop => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(
                        nsp = self.0.ns.name(),
                        socket = self.id(),
                        "client's queue full; message dropped"
                    );
                    Err(EmitError::Dropped)
                }
            },
            Err(TrySendError::Closed) => Err(EmitError::Disconnected),
        }
    }

    /// Waits for ack `id` until `deadline`, which the connection's timer
    /// watches. A socket already disconnected has no timer to watch it: its
    /// wait ends at once.
    pub(crate) fn expect_ack(&self, id: u64, deadline: Instant) -> AckWait {
        let (slot, wait) = ack::wait();
        let mut acks = lock(&self.extras().acks);
        // Under the lock: a disconnect after this check clears the slot.
        if self.connected() {
            acks.insert(id, deadline, slot);
        }
        wait
    }

    /// An ACK from the client.
    pub(crate) fn handle_ack(&self, ack: Packet) {
        if let Some(extras) = self.0.extras.get() {
            lock(&extras.acks).handle_ack(ack);
        }
    }

    /// The earliest deadline of this socket's waits for acks.
    pub(crate) fn poll_ack_timeout(&self) -> Option<Instant> {
        lock(&self.0.extras.get()?.acks).poll_timeout()
    }

    /// Ends the waits for acks whose deadline has passed.
    pub(crate) fn handle_ack_timeout(&self, now: Instant) {
        if let Some(extras) = self.0.extras.get() {
            lock(&extras.acks).handle_timeout(now);
        }
    }

    /// Ends the waits for acks as gone: no timer will watch them.
    pub(crate) fn end_ack_waits(&self) {
        // Made if need be: a wait made on another task meanwhile is then
        // seen under the same lock (see expect_ack).
        lock(&self.extras().acks).clear();
    }

    /// Ends the socket, once: out of its namespace and rooms, its waits for
    /// acks ended, its disconnect handlers called.
    pub(crate) fn finish(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::AcqRel) {
            return;
        }
        self.0.counters.socket_left();
        self.in_span(|| self.finish_in_span(reason));
    }

    fn finish_in_span(&self, reason: DisconnectReason) {
        #[cfg(feature = "tracing")]
        tracing::debug!(reason = reason.as_str(), "socket disconnected");
        let disconnecting = self
            .0
            .extras
            .get()
            .map(|x| lock(&x.on_disconnecting).clone())
            .unwrap_or_default();
        for h in disconnecting {
            h(self.clone(), reason);
        }
        let rooms = self.rooms();
        self.0.ns.remove(self);
        // Kept only once the socket is out of the namespace: the session
        // can then come back as a new socket with the same id at once.
        if let Some(pid) = self.0.pid.as_ref().filter(|_| recoverable(reason)) {
            let mut session = SessionState::new(self.id().to_owned(), pid.clone(), rooms);
            session.data = self.data();
            session.extensions = lock(&self.0.data).clone();
            self.0.ns.adapter().persist_session(session);
        }
        self.end_ack_waits();
        let handlers = match self.0.extras.get() {
            Some(extras) => lock(&extras.on_disconnect).clone(),
            None => Vec::new(),
        };
        for h in handlers {
            h(self.clone(), reason);
        }
    }
}

/// The client's answer to a wait, as the asker gets it.
pub(crate) async fn answer<R: DeserializeOwned>(wait: AckWait) -> Result<R, AckError> {
    match wait.answer().await {
        Ok(ack) => ack.ack_args().map_err(AckError::Deserialize),
        Err(NoAnswer::Timeout) => Err(AckError::Timeout),
        Err(NoAnswer::Gone) => Err(AckError::Disconnected),
    }
}

/// A socket's next emit with flags ([`Socket::compress`]), as socket.io's
/// `socket.compress(false).emit(...)`.
#[derive(Debug, Clone, Copy)]
#[must_use = "the flags apply to an emit made through them"]
pub struct SocketFlags<'a> {
    socket: &'a Socket,
    compress: bool,
}

impl SocketFlags<'_> {
    /// [`Socket::emit`] with these flags.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = Packet::event(self.socket.0.ns.name(), event, args)?;
        self.socket.send_event_with(packet, self.compress)
    }

    /// [`Socket::send`] with these flags.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// [`Socket::emit_volatile`] with these flags.
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.socket.emit_volatile_with(event, args, self.compress)
    }

    /// [`Socket::emit_with_ack`] with these flags.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.socket
            .emit_with_ack_with(event, args, timeout.into(), self.compress)
            .await
    }
}

impl AckSocket for Socket {
    type Error = EmitError;

    fn namespace(&self) -> &str {
        self.0.ns.name()
    }

    fn send_ack(&self, packet: Packet) -> Result<(), EmitError> {
        self.send_packet(&packet)
    }
}
