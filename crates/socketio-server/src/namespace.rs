//! Namespaces: who may connect, who is connected, which rooms they are in,
//! and broadcasts to them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::Packet;
use socketio_runtime::{read, write};
use tokio::sync::mpsc;

use crate::adapter::{Adapter, BroadcastOptions};
use crate::cluster::{
    AdapterError, BroadcastAcks, LocalNamespace, RemoteAck, RemoteSocket, ServerSideAck,
    ServerSideFn, SocketData,
};
use crate::command::Wire;
use crate::error::{AckError, ConnectError, EmitError};
use crate::handshake::Handshake;
use crate::socket::{Socket, answer};

pub(crate) type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
pub(crate) type MiddlewareFn =
    Arc<dyn Fn(&Handshake, &mut http::Extensions) -> Result<(), ConnectError> + Send + Sync>;

/// A namespace. Cheap to clone; every clone is the same namespace.
#[derive(Clone)]
pub struct Namespace(Arc<NsInner>);

pub(crate) struct NsInner {
    name: String,
    on_connect: RwLock<Option<ConnectFn>>,
    middleware: RwLock<Vec<MiddlewareFn>>,
    sockets: RwLock<HashMap<String, Socket>>,
    adapter: Arc<dyn Adapter>,
    /// Ack ids, per namespace as socket.io numbers them, so a broadcast's
    /// recipients all answer one id.
    ack_ids: AtomicU64,
    /// Handlers of server-side emits from other nodes, by event.
    server_side: RwLock<HashMap<String, ServerSideFn>>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    pub(crate) fn new(name: &str, adapter: Arc<dyn Adapter>) -> Namespace {
        let ns = Namespace(Arc::new(NsInner {
            name: name.to_owned(),
            on_connect: RwLock::new(None),
            middleware: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            adapter,
            ack_ids: AtomicU64::new(0),
            server_side: RwLock::new(HashMap::new()),
        }));
        ns.0.adapter.init(LocalNamespace(Arc::downgrade(&ns.0)));
        ns
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
        let child = Namespace::new(name, adapter);
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

    /// Sets what runs when a socket has connected: register its event
    /// handlers here (it runs before any of its events are read).
    pub fn on_connect<F>(&self, f: F)
    where
        F: Fn(Socket) + Send + Sync + 'static,
    {
        *write(&self.0.on_connect) = Some(Arc::new(f));
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
        write(&self.0.middleware).push(Arc::new(f));
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

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        self.broadcast().emit(event, args)
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

    pub(crate) fn check(
        &self,
        h: &Handshake,
        data: &mut http::Extensions,
    ) -> Result<(), ConnectError> {
        let chain: Vec<MiddlewareFn> = read(&self.0.middleware).clone();
        chain.iter().try_for_each(|m| m(h, data))
    }

    pub(crate) fn connect_handler(&self) -> Option<ConnectFn> {
        read(&self.0.on_connect).clone()
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
        write(&self.0.sockets).remove(s.id());
        self.0.adapter.del_all(s.id());
    }

    /// Hands `packet` (from here or another node) to this node's sockets
    /// that `opts` selects; returns how many took it.
    pub(crate) fn deliver(&self, packet: &Packet, opts: &BroadcastOptions) -> usize {
        let wire = Wire::new(packet);
        let mut n = 0;
        for s in self.recipients(opts) {
            s.outgoing(packet);
            n += usize::from(s.send_wire(wire.clone(), opts.volatile).is_ok());
        }
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
        for s in &recipients {
            let wait = s.expect_ack(id, deadline);
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Ok(ack) = wait.answer().await {
                    let _ = tx.try_send(ack);
                }
            });
        }
        let wire = Wire::new(&packet);
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
        if !self.opts.local {
            self.ns.0.adapter.broadcast(&packet, &self.opts);
        }
        Ok(self.ns.deliver(&packet, &self.opts))
    }

    /// Emits with acks and collects every recipient's answer within
    /// `timeout` (`io.timeout(ms).emit(..., cb)` in socket.io), on every
    /// node: this node's sockets each with its answer (or
    /// `AckError::Timeout`), the other nodes' answers as they came.
    /// Between nodes only the first argument of an answer travels, as with
    /// the official adapters, so `R` should take one argument when the
    /// server runs in a cluster.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<BroadcastAcks<R>, EmitError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
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
        let recipients = self.ns.recipients(&self.opts);
        let deadline = socketio_runtime::now() + timeout;
        let waits: Vec<_> = recipients
            .iter()
            .map(|s| (s.clone(), s.expect_ack(id, deadline)))
            .collect();
        let wire = Wire::new(&packet);
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
