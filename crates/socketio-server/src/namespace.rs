//! Namespaces: who may connect, who is connected, which rooms they are in,
//! and broadcasts to them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use socketio_proto::Packet;

use crate::error::{AckError, ConnectError, EmitError};
use crate::socket::{Handshake, Socket, lock, payloads};

pub(crate) type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
pub(crate) type MiddlewareFn = Arc<dyn Fn(&Handshake) -> Result<(), ConnectError> + Send + Sync>;

/// A namespace. Cheap to clone; every clone is the same namespace.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

pub(crate) struct NsInner {
    name: String,
    on_connect: RwLock<Option<ConnectFn>>,
    middleware: RwLock<Vec<MiddlewareFn>>,
    sockets: RwLock<HashMap<String, Socket>>,
    rooms: Mutex<HashMap<String, HashSet<String>>>,
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

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl Namespace {
    pub(crate) fn new(name: &str) -> Namespace {
        Namespace(Arc::new(NsInner {
            name: name.to_owned(),
            on_connect: RwLock::new(None),
            middleware: RwLock::new(Vec::new()),
            sockets: RwLock::new(HashMap::new()),
            rooms: Mutex::new(HashMap::new()),
            ack_ids: AtomicU64::new(0),
        }))
    }

    /// A namespace made from a dynamic one's template: its connect handler
    /// and middleware as they are now.
    pub(crate) fn child_of(template: &Namespace, name: &str) -> Namespace {
        let child = Namespace::new(name);
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
            rooms: Vec::new(),
            except_rooms: Vec::new(),
            except_socket: None,
            volatile: false,
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

    pub(crate) fn check(&self, h: &Handshake) -> Result<(), ConnectError> {
        let chain: Vec<MiddlewareFn> = read(&self.0.middleware).clone();
        chain.iter().try_for_each(|m| m(h))
    }

    pub(crate) fn connect_handler(&self) -> Option<ConnectFn> {
        read(&self.0.on_connect).clone()
    }

    pub(crate) fn insert(&self, s: &Socket) {
        write(&self.0.sockets).insert(s.id().to_owned(), s.clone());
    }

    pub(crate) fn remove(&self, s: &Socket) {
        write(&self.0.sockets).remove(s.id());
        let rooms: Vec<String> = lock(&s.0.rooms).drain().collect();
        let mut all = lock(&self.0.rooms);
        for r in rooms {
            if let Some(members) = all.get_mut(&r) {
                members.remove(s.id());
                if members.is_empty() {
                    all.remove(&r);
                }
            }
        }
    }

    pub(crate) fn add_to_room(&self, room: &str, s: &Socket) {
        lock(&self.0.rooms)
            .entry(room.to_owned())
            .or_default()
            .insert(s.id().to_owned());
    }

    pub(crate) fn remove_from_room(&self, room: &str, id: &str) {
        let mut all = lock(&self.0.rooms);
        if let Some(members) = all.get_mut(room) {
            members.remove(id);
            if members.is_empty() {
                all.remove(room);
            }
        }
    }

    fn recipients(&self, b: &Broadcast) -> Vec<Socket> {
        let sockets = read(&self.0.sockets);
        let rooms = lock(&self.0.rooms);
        let excluded: HashSet<&String> = b
            .except_rooms
            .iter()
            .filter_map(|r| rooms.get(r))
            .flatten()
            .collect();
        let keep =
            |id: &String| !excluded.contains(id) && b.except_socket.as_deref() != Some(id.as_str());
        let ids: Vec<&String> = if b.rooms.is_empty() {
            sockets.keys().filter(|id| keep(id)).collect()
        } else {
            let mut set: HashSet<&String> = HashSet::new();
            for r in &b.rooms {
                set.extend(rooms.get(r).into_iter().flatten().filter(|id| keep(id)));
            }
            set.into_iter().collect()
        };
        ids.into_iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }
}

/// A message to many sockets of one namespace. Its packet is encoded once and
/// its bytes shared by every recipient.
#[derive(Debug, Clone)]
pub struct Broadcast {
    ns: Namespace,
    rooms: Vec<String>,
    except_rooms: Vec<String>,
    except_socket: Option<String>,
    volatile: bool,
}

impl Broadcast {
    /// Also to the sockets in `room` (`to`/`in` in socket.io).
    pub fn to(mut self, room: &str) -> Broadcast {
        self.rooms.push(room.to_owned());
        self
    }

    /// Not to the sockets in `room`.
    pub fn except(mut self, room: &str) -> Broadcast {
        self.except_rooms.push(room.to_owned());
        self
    }

    pub(crate) fn except_socket(mut self, id: &str) -> Broadcast {
        self.except_socket = Some(id.to_owned());
        self
    }

    /// Dropped for a client that cannot take it now, rather than
    /// disconnecting that client as too slow.
    pub fn volatile(mut self) -> Broadcast {
        self.volatile = true;
        self
    }

    /// Only the sockets of this node (`local` in socket.io). Every room is
    /// local to one node here, so this changes nothing yet; it keeps code
    /// meaning the same once rooms span nodes.
    pub fn local(self) -> Broadcast {
        self
    }

    /// Emits; returns how many sockets it was handed to.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        let packet = Packet::event(self.ns.name(), event, args)?;
        Ok(self.send(&packet, self.ns.recipients(self)))
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
        let recipients = self.ns.recipients(self);
        let waits: Vec<_> = recipients
            .iter()
            .map(|s| (s.clone(), s.expect_ack(id)))
            .collect();
        self.send(&packet, recipients);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(waits.len());
        for (s, rx) in waits {
            let r = s.await_ack(id, rx, deadline).await;
            out.push((s, r));
        }
        Ok(out)
    }

    /// Hands one encoded packet to every recipient.
    fn send(&self, packet: &Packet, recipients: Vec<Socket>) -> usize {
        let wire = payloads(packet);
        let mut n = 0;
        for s in recipients {
            s.outgoing(packet);
            let sent = if self.volatile {
                s.0.session
                    .try_send(crate::conn::ConnCmd::Send(wire.clone()))
                    .is_ok()
            } else {
                s.send_payloads(wire.clone()).is_ok()
            };
            n += usize::from(sent);
        }
        n
    }

    /// The sockets it would reach (`fetchSockets` in socket.io).
    pub fn fetch_sockets(&self) -> Vec<Socket> {
        self.ns.recipients(self)
    }

    /// Makes the sockets it would reach join `room` (`socketsJoin`).
    pub fn sockets_join(&self, room: &str) {
        for s in self.ns.recipients(self) {
            s.join(room);
        }
    }

    /// Makes the sockets it would reach leave `room` (`socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        for s in self.ns.recipients(self) {
            s.leave(room);
        }
    }

    /// Disconnects the sockets it would reach.
    pub fn disconnect(&self) {
        for s in self.ns.recipients(self) {
            s.disconnect();
        }
    }
}
