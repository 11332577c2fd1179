//! Room membership and the other nodes, behind a trait: the seam where
//! several server nodes share rooms, broadcasts and requests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use socketio_proto::Packet;

use crate::cluster::{
    AdapterError, BoxFuture, LocalNamespace, RemoteAcks, ServerSideAnswers, SocketData,
};
use crate::recovery::{RecoveryOptions, RestoredSession, SessionState, Store};

/// Which sockets a broadcast is for.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// The sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms (a socket's own id is a room).
    pub except: Vec<String>,
    /// Dropped for clients that cannot take it now.
    pub volatile: bool,
    /// Only this node's sockets.
    pub local: bool,
    /// Other flags from another node (`compress`, `timeout`,
    /// `expectSingleResponse`, ...), passed on unchanged.
    pub flags: serde_json::Map<String, Value>,
}

/// Where a namespace keeps which socket is in which room, and how it
/// reaches the other nodes of a cluster.
///
/// Every socket is in the room named by its id from its connection on. The
/// membership methods answer for this node. The cluster methods (all with
/// single-node defaults, so the in-memory adapter costs nothing for them)
/// forward what the namespace does to the other nodes: the namespace applies
/// it here itself, and calls them only when an operation is not `local`.
/// What other nodes ask of this one, an adapter applies through the
/// [`LocalNamespace`] it is given in [`init`](Self::init).
pub trait Adapter: Send + Sync + 'static {
    /// `sid` joins `rooms`.
    fn add_all(&self, sid: &str, rooms: &[&str]);
    /// `sid` leaves `room`.
    fn del(&self, sid: &str, room: &str);
    /// `sid` leaves every room: it disconnected.
    fn del_all(&self, sid: &str);
    /// The ids of this node's sockets a broadcast with `opts` reaches.
    fn sockets(&self, opts: &BroadcastOptions) -> Vec<String>;
    /// The rooms `sid` is in.
    fn socket_rooms(&self, sid: &str) -> Vec<String>;
    /// Every room with a socket of this node in it (socket ids included).
    fn rooms(&self) -> Vec<String>;

    /// The namespace is made: `local` is how requests from other nodes
    /// reach it. Called once, before any other cluster method.
    fn init(&self, local: LocalNamespace) {
        let _ = local;
    }

    /// A broadcast is being sent: forward it to the other nodes.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        let _ = (packet, opts);
    }

    /// A broadcast with acks is being sent: forward it, and report what
    /// the other nodes' sockets answer within `timeout`. `None`: no other
    /// node.
    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Option<RemoteAcks> {
        let _ = (packet, opts, timeout);
        None
    }

    /// The sockets `opts` selects on other nodes join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        let _ = (opts, rooms);
    }

    /// The sockets `opts` selects on other nodes leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        let _ = (opts, rooms);
    }

    /// The sockets `opts` selects on other nodes are disconnected (`close`:
    /// their whole connection).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        let _ = (opts, close);
    }

    /// The sockets `opts` selects on other nodes, within `timeout`.
    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        let _ = (opts, timeout);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// An event for the other nodes' server-side handlers (`[event,
    /// ...args]`), without acks.
    fn server_side_emit(&self, packet: &Packet) {
        let _ = packet;
    }

    /// An event for the other nodes' server-side handlers; each node's
    /// answer (the first argument of its ack) within `timeout`. On a
    /// timeout, the error and the answers that came.
    fn server_side_emit_with_ack(
        &self,
        packet: &Packet,
        timeout: Duration,
    ) -> BoxFuture<ServerSideAnswers> {
        let _ = (packet, timeout);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// The rooms of the other nodes, within `timeout`.
    fn all_rooms(&self, timeout: Duration) -> BoxFuture<Result<HashSet<String>, AdapterError>> {
        let _ = timeout;
        Box::pin(std::future::ready(Ok(HashSet::new())))
    }

    /// How many nodes serve this namespace, this one included.
    fn server_count(&self) -> BoxFuture<usize> {
        Box::pin(std::future::ready(1))
    }

    /// This node's id in the cluster (empty for a single node).
    fn uid(&self) -> &str {
        ""
    }

    /// The server is shutting down: leave the cluster.
    fn close(&self) {}

    /// Connection state recovery is on for this namespace (the methods
    /// from here on are recovery's; with it on, [`store_packet`](Self::store_packet),
    /// [`broadcast`](Self::broadcast), [`sockets`](Self::sockets) and
    /// [`restore_session`](Self::restore_session) run under the
    /// namespace's emit lock: they must not emit to the namespace nor
    /// block): keep sessions
    /// and events as `options` says. Returns whether this adapter can
    /// (the default cannot: its sockets always start afresh, as with
    /// socket.io's base adapter). Called once, before any socket connects.
    fn enable_recovery(&self, options: &RecoveryOptions) -> bool {
        let _ = options;
        false
    }

    /// Records an event going to the sockets `opts` selects, for replay;
    /// returns it with its offset appended as its last argument (see
    /// [`append_offset`](crate::append_offset)), which is what is sent.
    /// Called only for events without an ack id and not volatile, and only
    /// once [`enable_recovery`](Self::enable_recovery) returned true.
    fn store_packet(&self, packet: &Packet, opts: &BroadcastOptions) -> Option<Packet> {
        let _ = (packet, opts);
        None
    }

    /// A socket left for a reason it may come back from: keep its session.
    fn persist_session(&self, session: SessionState) {
        let _ = session;
    }

    /// The session `pid`, if it is still kept, with the events recorded
    /// after `offset` for its rooms; taken, so it comes back once. An
    /// answer that is ready at once (as the in-memory adapter's) is applied
    /// atomically with the namespace's emits; one that waits leaves the
    /// events emitted meanwhile to the adapter to include.
    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<RestoredSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// Makes the adapter of each namespace, from its name.
pub type AdapterFactory = Arc<dyn Fn(&str) -> Arc<dyn Adapter> + Send + Sync>;

/// Rooms in this process's memory: the default, for one node. With
/// connection state recovery on, it also keeps the sessions and events
/// (socket.io's `SessionAwareAdapter`), bounded as
/// [`RecoveryOptions`] says.
#[derive(Default)]
pub struct InMemoryAdapter {
    state: Mutex<Rooms>,
    recovery: Mutex<Option<Store>>,
}

impl std::fmt::Debug for InMemoryAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryAdapter")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Rooms {
    members: HashMap<String, Ids>,
    of_socket: HashMap<String, Ids>,
}

/// A set of ids (sockets or rooms) that most often holds one: a socket's
/// own room has that socket only, and most sockets are in that room only.
/// One is kept without a table (a table of one costs about 100 bytes more,
/// twice per socket).
#[derive(Debug)]
enum Ids {
    One(String),
    /// Empty, or more than one.
    Many(HashSet<String>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids::Many(HashSet::new())
    }
}

impl Ids {
    fn insert(&mut self, id: &str) {
        match self {
            Ids::Many(set) if set.is_empty() => *self = Ids::One(id.to_owned()),
            Ids::Many(set) => {
                if !set.contains(id) {
                    set.insert(id.to_owned());
                }
            }
            Ids::One(one) if one == id => {}
            Ids::One(one) => {
                let set = HashSet::from([std::mem::take(one), id.to_owned()]);
                *self = Ids::Many(set);
            }
        }
    }

    fn remove(&mut self, id: &str) {
        match self {
            Ids::One(one) if one == id => *self = Ids::default(),
            Ids::One(_) => {}
            Ids::Many(set) => {
                set.remove(id);
            }
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Ids::Many(set) if set.is_empty())
    }

    fn iter(&self) -> impl Iterator<Item = &String> {
        let (one, many) = match self {
            Ids::One(one) => (Some(one), None),
            Ids::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl InMemoryAdapter {
    fn state(&self) -> std::sync::MutexGuard<'_, Rooms> {
        socketio_runtime::lock(&self.state)
    }
}

impl Adapter for InMemoryAdapter {
    fn add_all(&self, sid: &str, rooms: &[&str]) {
        let mut st = self.state();
        for room in rooms {
            st.members
                .entry((*room).to_owned())
                .or_default()
                .insert(sid);
            st.of_socket.entry(sid.to_owned()).or_default().insert(room);
        }
    }

    fn del(&self, sid: &str, room: &str) {
        let mut st = self.state();
        if let Some(m) = st.members.get_mut(room) {
            m.remove(sid);
            if m.is_empty() {
                st.members.remove(room);
            }
        }
        if let Some(r) = st.of_socket.get_mut(sid) {
            r.remove(room);
        }
    }

    fn del_all(&self, sid: &str) {
        let mut st = self.state();
        for room in st.of_socket.remove(sid).unwrap_or_default().iter() {
            if let Some(m) = st.members.get_mut(room) {
                m.remove(sid);
                if m.is_empty() {
                    st.members.remove(room);
                }
            }
        }
    }

    fn sockets(&self, opts: &BroadcastOptions) -> Vec<String> {
        let st = self.state();
        let excluded: HashSet<&String> = opts
            .except
            .iter()
            .filter_map(|r| st.members.get(r))
            .flat_map(Ids::iter)
            .collect();
        let keep = |sid: &&String| !excluded.contains(*sid);
        if opts.rooms.is_empty() {
            return st.of_socket.keys().filter(keep).cloned().collect();
        }
        let mut out: HashSet<&String> = HashSet::new();
        for room in &opts.rooms {
            out.extend(
                st.members
                    .get(room)
                    .into_iter()
                    .flat_map(Ids::iter)
                    .filter(keep),
            );
        }
        out.into_iter().cloned().collect()
    }

    fn socket_rooms(&self, sid: &str) -> Vec<String> {
        self.state()
            .of_socket
            .get(sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn rooms(&self) -> Vec<String> {
        self.state().members.keys().cloned().collect()
    }

    fn enable_recovery(&self, options: &RecoveryOptions) -> bool {
        *socketio_runtime::lock(&self.recovery) = Some(Store::new(options.clone()));
        true
    }

    fn store_packet(&self, packet: &Packet, opts: &BroadcastOptions) -> Option<Packet> {
        let now = socketio_runtime::now();
        socketio_runtime::lock(&self.recovery)
            .as_mut()?
            .store(packet, opts, now)
    }

    fn persist_session(&self, session: SessionState) {
        let now = socketio_runtime::now();
        if let Some(st) = socketio_runtime::lock(&self.recovery).as_mut() {
            st.persist(session, now);
        }
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<RestoredSession>, AdapterError>> {
        let now = socketio_runtime::now();
        let restored = socketio_runtime::lock(&self.recovery)
            .as_mut()
            .and_then(|st| st.restore(pid, offset, now));
        Box::pin(std::future::ready(Ok(restored)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn a_set_of_one_grows_and_shrinks() {
        let a = InMemoryAdapter::default();
        a.add_all("s1", &["s1", "red", "red"]);
        assert_eq!(sorted(a.socket_rooms("s1")), ["red", "s1"]);
        a.add_all("s2", &["red"]);
        a.add_all("s2", &["red"]);
        a.del("s1", "red");
        a.del("s1", "blue");
        assert_eq!(
            a.sockets(&BroadcastOptions {
                rooms: vec!["red".into()],
                ..Default::default()
            }),
            ["s2"]
        );
        a.del("s2", "red");
        assert_eq!(sorted(a.rooms()), ["s1"]);
        a.add_all("s2", &["red"]);
        assert_eq!(sorted(a.rooms()), ["red", "s1"]);
        assert_eq!(sorted(a.socket_rooms("s1")), ["s1"]);
    }

    #[test]
    fn rooms_and_exceptions() {
        let a = InMemoryAdapter::default();
        a.add_all("s1", &["s1", "red"]);
        a.add_all("s2", &["s2", "red", "blue"]);
        a.add_all("s3", &["s3"]);
        let opts = |rooms: &[&str], except: &[&str]| BroadcastOptions {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(sorted(a.sockets(&opts(&[], &[]))), ["s1", "s2", "s3"]);
        assert_eq!(sorted(a.sockets(&opts(&["red"], &[]))), ["s1", "s2"]);
        assert_eq!(sorted(a.sockets(&opts(&["red", "blue"], &["s1"]))), ["s2"]);
        assert_eq!(sorted(a.sockets(&opts(&[], &["blue"]))), ["s1", "s3"]);
        a.del("s2", "red");
        assert_eq!(sorted(a.socket_rooms("s2")), ["blue", "s2"]);
        a.del_all("s2");
        assert!(a.socket_rooms("s2").is_empty());
        assert_eq!(sorted(a.sockets(&opts(&[], &[]))), ["s1", "s3"]);
        a.del_all("s1");
        a.del_all("s3");
        let st = a.state();
        assert!(
            st.members.is_empty() && st.of_socket.is_empty(),
            "nothing left behind"
        );
    }
}
