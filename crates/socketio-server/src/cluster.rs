//! The cluster side of the [`Adapter`](crate::Adapter) seam: what a
//! namespace asks of the other nodes (fetch sockets, join and leave rooms,
//! disconnect, server-side emits, broadcasts with acks), and the
//! [`LocalNamespace`] through which an adapter applies what other nodes ask
//! of this one. Shaped after socket.io-adapter's `ClusterAdapter`, so an
//! adapter can speak the Node servers' protocols.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use socketio_proto::Packet;
use tokio::sync::{mpsc, oneshot};

use crate::adapter::BroadcastOptions;
use crate::error::{AckError, EmitError};
use crate::namespace::{Namespace, NsInner};

/// A future an adapter returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The other nodes' answers to a server-side emit; on a timeout, the error
/// and the answers that came.
pub type ServerSideAnswers = Result<Vec<Value>, (AdapterError, Vec<Value>)>;

/// Why a request to the other nodes failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// Not every node answered in time (a node died, or the link to the
    /// others is down).
    #[error("timeout reached: only {received} responses received out of {expected}")]
    Timeout {
        /// Answers that came.
        received: usize,
        /// Answers that were expected.
        expected: usize,
    },
    /// The adapter could not send the request (its link is down).
    #[error("the adapter could not reach the other nodes: {0}")]
    Unavailable(String),
}

/// A socket as any node describes it: what `fetchSockets` returns.
#[derive(Clone, Debug, PartialEq)]
pub struct SocketData {
    /// The socket id.
    pub id: String,
    /// The handshake, as the official server describes it (`headers`,
    /// `time`, `address`, `xdomain`, `secure`, `issued`, `url`, `query`,
    /// `auth`).
    pub handshake: Value,
    /// Its rooms, its own id among them.
    pub rooms: Vec<String>,
    /// Its `data` ([`Socket::set_data`](crate::Socket::set_data)); `None`
    /// when never set (the official server then leaves the key out).
    pub data: Option<Value>,
}

/// A socket on this node or another, from [`fetch_sockets`](crate::Broadcast::fetch_sockets):
/// its description, and what can be done to it from here.
#[derive(Clone, Debug)]
pub struct RemoteSocket {
    data: SocketData,
    ns: Namespace,
}

impl RemoteSocket {
    pub(crate) fn new(data: SocketData, ns: Namespace) -> RemoteSocket {
        RemoteSocket { data, ns }
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.data.id
    }

    /// Its handshake, as the official server describes it.
    pub fn handshake(&self) -> &Value {
        &self.data.handshake
    }

    /// Its rooms when fetched.
    pub fn rooms(&self) -> &[String] {
        &self.data.rooms
    }

    /// Its `data` when fetched.
    pub fn data(&self) -> Option<&Value> {
        self.data.data.as_ref()
    }

    /// The whole description.
    pub fn as_data(&self) -> &SocketData {
        &self.data
    }

    /// Emits to it, wherever it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<usize, EmitError> {
        self.ns.to(&self.data.id).emit(event, args)
    }

    /// Makes it join `room`, wherever it is.
    pub fn join(&self, room: &str) {
        self.ns.to(&self.data.id).sockets_join(room)
    }

    /// Makes it leave `room`, wherever it is.
    pub fn leave(&self, room: &str) {
        self.ns.to(&self.data.id).sockets_leave(room)
    }

    /// Disconnects it from the namespace, wherever it is.
    pub fn disconnect(&self) {
        self.ns.to(&self.data.id).disconnect()
    }
}

/// What another node's sockets tell a broadcast with acks.
#[derive(Debug)]
#[non_exhaustive]
pub enum RemoteAck {
    /// One node's count of the sockets the broadcast reached there (every
    /// node sends one, even 0).
    ClientCount(usize),
    /// One socket's answer: an ACK packet whose arguments are the first
    /// argument of the answer (only that one travels between nodes, as with
    /// the official adapters).
    Ack(Packet),
}

/// The other nodes' side of a broadcast with acks.
#[derive(Debug)]
pub struct RemoteAcks {
    /// How many [`RemoteAck::ClientCount`]s will come: one per other node,
    /// or fewer when the adapter sums several nodes' counts into one (an
    /// adapter that learns the number of nodes only later, by asking its
    /// broker, sends a single sum once all have answered).
    pub nodes: usize,
    /// Their counts and answers. Bounded by the adapter; what it cannot
    /// queue counts as unanswered.
    pub events: mpsc::Receiver<RemoteAck>,
}

/// The answers to a broadcast with acks.
#[derive(Debug)]
pub struct BroadcastAcks<R> {
    /// This node's sockets, each with its answer or why there is none.
    pub local: Vec<(crate::Socket, Result<R, AckError>)>,
    /// The answers of other nodes' sockets, in order of arrival.
    pub remote: Vec<Result<R, AckError>>,
    /// Whether every socket of every node answered in time (`false`:
    /// socket.io's "operation has timed out").
    pub complete: bool,
}

impl<R> BroadcastAcks<R> {
    /// Every answer that came, this node's and the others', dropping the
    /// sockets that did not answer.
    pub fn answers(self) -> Vec<R> {
        let local = self.local.into_iter().filter_map(|(_, r)| r.ok());
        local
            .chain(self.remote.into_iter().filter_map(Result::ok))
            .collect()
    }
}

/// Answers a server-side emit from another node: its first argument goes
/// back to the asking node.
#[derive(Debug)]
pub struct ServerSideAck(oneshot::Sender<Value>);

impl ServerSideAck {
    /// A new ack and the receiver of its answer (for adapters).
    pub fn new() -> (ServerSideAck, oneshot::Receiver<Value>) {
        let (tx, rx) = oneshot::channel();
        (ServerSideAck(tx), rx)
    }

    /// Answers with `value`.
    pub fn send<T: Serialize + ?Sized>(self, value: &T) {
        if let Ok(v) = serde_json::to_value(value) {
            let _ = self.0.send(v);
        }
    }
}

/// This node's namespace, as its adapter sees it: how requests from other
/// nodes are applied here. Holds the namespace weakly (the namespace owns
/// its adapter); once the namespace is gone every call does nothing.
#[derive(Clone, Debug)]
pub struct LocalNamespace(pub(crate) Weak<NsInner>);

impl LocalNamespace {
    fn ns(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace::from_inner)
    }

    /// The namespace's name, or `None` once it is gone.
    pub fn name(&self) -> Option<String> {
        self.ns().map(|n| n.name().to_owned())
    }

    /// Delivers a broadcast from another node to this node's sockets
    /// (rooms, except and volatile applied as here).
    pub fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        if let Some(ns) = self.ns() {
            ns.deliver(packet, opts);
        }
    }

    /// Delivers a broadcast with acks from another node: returns how many
    /// sockets it reached here, and their answers (ACK packets, within
    /// `timeout`) as they come.
    pub fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (usize, mpsc::Receiver<Packet>) {
        match self.ns() {
            Some(ns) => ns.deliver_with_ack(packet, opts, timeout),
            None => (0, mpsc::channel(1).1),
        }
    }

    /// This node's sockets that `opts` selects.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketData> {
        self.ns()
            .map(|ns| ns.local_socket_data(opts))
            .unwrap_or_default()
    }

    /// Makes this node's sockets that `opts` selects join `rooms`.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        if let Some(ns) = self.ns() {
            for s in ns.recipients(opts) {
                rooms.iter().for_each(|r| s.join(r));
            }
        }
    }

    /// Makes them leave `rooms`.
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        if let Some(ns) = self.ns() {
            for s in ns.recipients(opts) {
                rooms.iter().for_each(|r| s.leave(r));
            }
        }
    }

    /// Disconnects them; `close`: their whole connection.
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if let Some(ns) = self.ns() {
            for s in ns.recipients(opts) {
                if close {
                    s.close_connection()
                } else {
                    s.disconnect()
                }
            }
        }
    }

    /// A server-side emit from another node: `packet` is an event packet
    /// (`[event, ...args]`); `ack`, when the sender waits for an answer.
    pub fn server_side_emit(&self, packet: &Packet, ack: Option<ServerSideAck>) {
        if let Some(ns) = self.ns() {
            ns.on_server_side_emit(packet, ack);
        }
    }

    /// The rooms of this node's sockets.
    pub fn rooms(&self) -> HashSet<String> {
        self.ns()
            .map(|ns| ns.adapter().rooms().into_iter().collect())
            .unwrap_or_default()
    }
}

/// Held by a namespace: the handlers of server-side emits.
pub(crate) type ServerSideFn = Arc<dyn Fn(&Packet, Option<ServerSideAck>) + Send + Sync>;
