//! Namespaces: who may connect, who is connected, which rooms they are in,
//! and broadcasts to them.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use socketio_proto::Packet;
use socketio_runtime::{read, write};

use crate::adapter::{Adapter, BroadcastOptions};
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

struct NsInner {
    name: String,
    on_connect: RwLock<Option<ConnectFn>>,
    middleware: RwLock<Vec<MiddlewareFn>>,
    sockets: RwLock<HashMap<String, Socket>>,
    adapter: Arc<dyn Adapter>,
    /// Ack ids, per namespace as socket.io numbers them, so a broadcast's
    /// recipients all answer one id.
    ack_ids: AtomicU64,
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
        Namespace(Arc::new(NsInner {
            name: name.to_owned(),
            on_connect: RwLock::new(None),
            middleware: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            adapter,
            ack_ids: AtomicU64::new(0),
        }))
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

    fn recipients(&self, opts: &BroadcastOptions) -> Vec<Socket> {
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

    /// Emits; returns how many sockets it was handed to.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        let packet = Packet::event(self.ns.name(), event, args)?;
        Ok(self.send(&packet, self.ns.recipients(&self.opts)))
    }

    /// Emits with one ack id and collects every recipient's answer, each
    /// within `timeout` (`io.timeout(ms).emit(..., cb)` in socket.io): a
    /// socket that does not answer in time gives `AckError::Timeout`.
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Vec<(Socket, Result<R, AckError>)>, EmitError>
    where
        T: Serialize + ?Sized,
        R: serde::de::DeserializeOwned,
    {
        let id = self.ns.next_ack_id();
        let packet = Packet::event(self.ns.name(), event, args)?.with_id(id);
        let recipients = self.ns.recipients(&self.opts);
        let deadline = socketio_runtime::now() + timeout;
        let waits: Vec<_> = recipients
            .iter()
            .map(|s| (s.clone(), s.expect_ack(id, deadline)))
            .collect();
        self.send(&packet, recipients);
        let mut out = Vec::with_capacity(waits.len());
        for (s, wait) in waits {
            out.push((s, answer(wait).await));
        }
        Ok(out)
    }

    /// Hands one encoded packet to every recipient.
    fn send(&self, packet: &Packet, recipients: Vec<Socket>) -> usize {
        self.ns.0.adapter.broadcast(packet, &self.opts);
        let wire = Wire::new(packet);
        let mut n = 0;
        for s in recipients {
            s.outgoing(packet);
            n += usize::from(s.send_wire(wire.clone(), self.opts.volatile).is_ok());
        }
        n
    }

    /// The sockets it would reach (`fetchSockets` in socket.io).
    pub fn fetch_sockets(&self) -> Vec<Socket> {
        self.ns.recipients(&self.opts)
    }

    /// Makes the sockets it would reach join `room` (`socketsJoin`).
    pub fn sockets_join(&self, room: &str) {
        for s in self.ns.recipients(&self.opts) {
            s.join(room);
        }
    }

    /// Makes the sockets it would reach leave `room` (`socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        for s in self.ns.recipients(&self.opts) {
            s.leave(room);
        }
    }

    /// Disconnects the sockets it would reach.
    pub fn disconnect(&self) {
        for s in self.ns.recipients(&self.opts) {
            s.disconnect();
        }
    }
}
