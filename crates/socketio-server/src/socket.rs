//! A client's socket in one namespace, and what it can do.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engineio::server::{SessionSender, TrySendError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::{Json, Packet};
use socketio_runtime::ack::{self, AckWait, NoAnswer};
use socketio_runtime::dispatch::DisconnectFn;
use socketio_runtime::{AckSocket, Acks, Handlers, lock, relay};

use crate::conn::ConnCmd;
use crate::error::{AckError, DisconnectReason, EmitError};
use crate::namespace::Namespace;

type AnyFn = socketio_runtime::dispatch::AnyFn<Socket>;

/// Answers an event the client sent with an ack id.
pub type AckSender = socketio_runtime::AckSender<Socket>;

/// What the client said when it connected: the handshake of its Engine.IO
/// session and its CONNECT packet.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The CONNECT payload (`auth` in socket.io-client), if any.
    pub auth: Option<Json>,
    /// The request that opened the Engine.IO session, shared by every socket
    /// of the connection (one copy of its headers per connection).
    pub(crate) request: Arc<http::Request<()>>,
    /// The client's address.
    pub address: SocketAddr,
}

impl Handshake {
    /// The headers of the request that opened the connection.
    pub fn headers(&self) -> &http::HeaderMap {
        self.request.headers()
    }

    /// Its URI (path and query string).
    pub fn uri(&self) -> &http::Uri {
        self.request.uri()
    }

    /// One query parameter of the opening request.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.uri().query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
    }

    /// The `auth` payload deserialized.
    pub fn auth<T: DeserializeOwned>(&self) -> Option<T> {
        self.auth.as_ref()?.parse().ok()
    }
}

/// A connected client in one namespace. Cheap to clone; every clone is the
/// same socket.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

pub(crate) struct SocketInner {
    pub(crate) id: String,
    pub(crate) ns: Namespace,
    pub(crate) session: SessionSender<ConnCmd>,
    pub(crate) handshake: Handshake,
    pub(crate) handlers: Handlers<Socket>,
    pub(crate) on_disconnect: Mutex<Vec<DisconnectFn<Socket, DisconnectReason>>>,
    pub(crate) acks: Mutex<Acks>,
    pub(crate) connected: AtomicBool,
    pub(crate) slow_client: crate::SlowClient,
    pub(crate) data: Mutex<http::Extensions>,
    pub(crate) any_outgoing: Mutex<Vec<AnyFn>>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("nsp", &self.0.ns.name())
            .finish_non_exhaustive()
    }
}

/// A packet's wire form, encoded once however many sockets it goes to: its
/// text, then its attachments.
#[derive(Clone, Debug)]
pub(crate) struct Wire {
    text: engineio::Prepared,
    attachments: Option<Arc<[engineio::Prepared]>>,
}

impl Wire {
    pub(crate) fn new(p: &Packet) -> Wire {
        let attachments = p.attachments();
        Wire {
            // Written straight after the Engine.IO digit: one buffer.
            text: engineio::Prepared::text_with(p.encoded_len_hint(), |s| p.encode_into(s)),
            attachments: (!attachments.is_empty()).then(|| {
                attachments
                    .iter()
                    .map(|a| engineio::Prepared::new(engineio::Payload::Binary(a.clone())))
                    .collect()
            }),
        }
    }

    /// Queues it on the connection it is for.
    pub(crate) fn send(&self, ctx: &mut engineio::server::Context<'_>) {
        ctx.send_prepared(&self.text);
        for a in self.attachments.iter().flat_map(|a| a.iter()) {
            ctx.send_prepared(a);
        }
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

    /// Registers the handler of `event`. Its arguments are deserialized into
    /// `T`, a tuple (or `Vec`, or array) of the event's arguments after the
    /// name; [`Binary`](socketio_proto::Binary) values receive attachments.
    /// `ack` is set when the client asked for an acknowledgement. An event
    /// whose arguments do not fit `T` is ignored.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.handlers.on(event, handler);
    }

    /// Registers a handler of the raw packet of `event` (for forwarding or
    /// for payloads of no fixed shape).
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Socket, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.handlers.on_raw(event, handler);
    }

    /// Called once when the socket disconnects, with the reason.
    pub fn on_disconnect<F>(&self, f: F)
    where
        F: Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    {
        lock(&self.0.on_disconnect).push(Arc::new(f));
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

    /// Called for every incoming event, before its own handler (`onAny`).
    pub fn on_any<F>(&self, f: F)
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        self.0.handlers.on_any(f);
    }

    /// Called for every event sent to this socket, broadcasts included
    /// (`onAnyOutgoing`).
    pub fn on_any_outgoing<F>(&self, f: F)
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        lock(&self.0.any_outgoing).push(Arc::new(f));
    }

    pub(crate) fn outgoing(&self, packet: &Packet) {
        // Looked at before the event name, which costs a parse: a broadcast
        // calls this for every recipient, and few have listeners.
        let listeners = lock(&self.0.any_outgoing).clone();
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

    /// Emits `event` with `args` (a tuple, array or `Vec` of arguments; one
    /// non-sequence value is one argument). Never waits: if this client's
    /// queue is full, it is disconnected as too slow.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = Packet::event(self.0.ns.name(), event, args)?;
        self.send_packet(&packet)
    }

    /// Like [`emit`](Self::emit), but dropped rather than queued when this
    /// client cannot take it now (`volatile` in socket.io).
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(self.0.ns.name(), event, args)?;
        match self.0.session.try_send(ConnCmd::Send(Wire::new(&packet))) {
            Ok(()) | Err(TrySendError::Full) => Ok(()),
            Err(TrySendError::Closed) => Err(EmitError::Disconnected),
        }
    }

    /// Emits `event` and waits for the client's acknowledgement, deserialized
    /// into `R` (a tuple or `Vec` of the ack's arguments), for at most `timeout`.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.0.ns.next_ack_id();
        let packet = Packet::event(self.0.ns.name(), event, args)
            .map_err(EmitError::from)?
            .with_id(id);
        let wait = self.expect_ack(id, tokio::time::Instant::now().into_std() + timeout);
        self.send_packet(&packet)?;
        answer(wait).await
    }

    /// Waits for ack `id` until `deadline`, which the connection's timer
    /// watches. A socket already disconnected has no timer to watch it: its
    /// wait ends at once.
    pub(crate) fn expect_ack(&self, id: u64, deadline: Instant) -> AckWait {
        let (slot, wait) = ack::wait();
        let mut acks = lock(&self.0.acks);
        // Under the lock: a disconnect after this check clears the slot.
        if self.connected() {
            acks.insert(id, deadline, slot);
        }
        wait
    }

    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), EmitError> {
        self.outgoing(packet);
        self.send_wire(Wire::new(packet))
    }

    pub(crate) fn send_wire(&self, p: Wire) -> Result<(), EmitError> {
        match self.0.session.try_send(ConnCmd::Send(p)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full) => match self.0.slow_client {
                // Too slow to keep up: better gone than buffered without bound.
                crate::SlowClient::Disconnect => {
                    self.0.session.close();
                    Err(EmitError::SlowClient)
                }
                crate::SlowClient::Drop => Err(EmitError::Dropped),
            },
            Err(TrySendError::Closed) => Err(EmitError::Disconnected),
        }
    }

    /// Emits `event` with the arguments of another event packet, unchanged
    /// (binary attachments included): for relaying.
    pub fn emit_raw_args(&self, event: &str, from: &Packet) -> Result<(), EmitError> {
        self.send_packet(&relay::event(self.0.ns.name(), event, from)?)
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

    /// Closes the client's whole connection, every namespace on it
    /// (`socket.disconnect(true)` in socket.io). The client sees a transport
    /// close, and socket.io-client reconnects by itself.
    pub fn close_connection(&self) {
        self.0.session.close();
    }

    /// Disconnects the socket from its namespace ("server namespace
    /// disconnect"); the Engine.IO session stays for other namespaces.
    pub fn disconnect(&self) {
        let nsp = self.0.ns.name().to_owned();
        let _ = self.0.session.try_send(ConnCmd::Disconnect(nsp));
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

impl AckSocket for Socket {
    type Error = EmitError;

    fn namespace(&self) -> &str {
        self.0.ns.name()
    }

    fn send_ack(&self, packet: Packet) -> Result<(), EmitError> {
        self.send_packet(&packet)
    }
}
