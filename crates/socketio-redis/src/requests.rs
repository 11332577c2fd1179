//! What both adapters wait for from the other nodes, and relay to them:
//! this node's requests until every counted node has answered or time ran
//! out, its broadcasts with acks, the other nodes' broadcasts with acks
//! whose answers it relays; and how sockets, selections and acks travel.
//!
//! The classic and the sharded adapter differ in channels, encodings and
//! type numbers, not in this: each keeps one [`Requests`] per namespace and
//! passes in how to count the nodes and how to publish.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use socketio_proto::Packet;
use socketio_server::{
    AdapterError, BroadcastOptions, LocalNamespace, RemoteAck, RemoteAcks, ServerSideAck,
    SocketData,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::msgpack::Value;
use crate::packet::{PacketError, json_to_value, packet_to_value, value_to_json, value_to_packet};
use crate::redis::LinkError;
use crate::wire::WireOptions;

/// The limits both adapters' options carry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The longest a request waits for the other nodes.
    pub(crate) requests_timeout: Duration,
    /// Requests waiting at once, and other nodes' broadcasts with acks
    /// relayed at once.
    pub(crate) max_pending_requests: usize,
    /// The longest this node relays answers, or waits for its handler.
    pub(crate) max_ack_wait: Duration,
    /// Other nodes' answers to one broadcast with acks queued.
    pub(crate) ack_queue: usize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Unavailable(e.to_string())
}

/// One namespace's requests in flight.
#[derive(Default)]
pub(crate) struct Requests {
    /// Set by [`close`](Self::close): nothing new starts.
    pub(crate) closed: bool,
    /// This node's requests waiting for answers, by request id.
    requests: HashMap<String, Pending>,
    /// This node's broadcasts with acks, by request id.
    acks: HashMap<String, AckWait>,
    /// Other nodes' broadcasts with acks whose answers this node relays.
    relaying: usize,
}

struct Pending {
    expected: usize,
    received: usize,
    collected: Collected,
    done: Option<oneshot::Sender<Collected>>,
}

/// What a request gathers from the other nodes' answers.
pub(crate) enum Collected {
    Sockets(Vec<SocketData>),
    Rooms(HashSet<String>),
    Answers(Vec<serde_json::Value>),
}

/// What was pending when the adapter closed, held only to be dropped.
#[allow(dead_code)]
pub(crate) struct Closed(HashMap<String, Pending>, HashMap<String, AckWait>);

/// A broadcast with acks of this node: the other nodes' counts are summed
/// into one [`RemoteAck::ClientCount`], sent once every counted node has
/// answered (so the namespace sees one "node").
pub(crate) struct AckWait {
    events: mpsc::Sender<RemoteAck>,
    /// Other nodes, once Redis has counted them.
    expected: Option<usize>,
    counted: usize,
    sum: usize,
    reported: bool,
}

impl AckWait {
    fn report_if_complete(&mut self) {
        if !self.reported && self.expected.is_some_and(|e| self.counted >= e) {
            self.reported = true;
            let _ = self.events.try_send(RemoteAck::ClientCount(self.sum));
        }
    }

    /// One node's count of the sockets the broadcast reached.
    pub(crate) fn count(&mut self, n: u64) {
        self.counted += 1;
        self.sum = self
            .sum
            .saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        self.report_if_complete();
    }

    /// One socket's answer; false if the queue is full (it counts as
    /// unanswered).
    pub(crate) fn ack(&mut self, packet: Packet) -> bool {
        self.events.try_send(RemoteAck::Ack(packet)).is_ok()
    }
}

impl Requests {
    /// Stops everything: what was pending is returned, for the caller to
    /// drop outside the lock (dropping wakes the waiters).
    pub(crate) fn close(&mut self) -> Closed {
        self.closed = true;
        Closed(
            std::mem::take(&mut self.requests),
            std::mem::take(&mut self.acks),
        )
    }

    /// A new request id from `make`, unused by this node's pending ones.
    fn new_id(&self, make: fn() -> String) -> String {
        loop {
            let id = make();
            if !self.requests.contains_key(&id) && !self.acks.contains_key(&id) {
                return id;
            }
        }
    }

    /// This node's broadcast with acks `id`, if it is still waiting.
    pub(crate) fn acks_mut(&mut self, id: &str) -> Option<&mut AckWait> {
        self.acks.get_mut(id)
    }

    /// An answer to request `id`: `add` puts it into what is collected and
    /// says whether it is of the kind asked for (only those count). The
    /// request completes once every expected node has answered.
    pub(crate) fn answer(&mut self, id: &str, add: impl FnOnce(&mut Collected) -> bool) {
        let Some(p) = self.requests.get_mut(id) else {
            return;
        };
        if !add(&mut p.collected) {
            return;
        }
        p.received += 1;
        if p.received >= p.expected {
            if let Some(mut p) = self.requests.remove(id) {
                if let Some(done) = p.done.take() {
                    let _ = done.send(p.collected);
                }
            }
        }
    }
}

/// Asks the other nodes and collects their answers: one from each node
/// `count` finds besides this one, within `timeout`. `publish` sends the
/// request with the id it is given.
pub(crate) async fn ask<C, P, F>(
    requests: &Mutex<Requests>,
    limits: &Limits,
    new_id: fn() -> String,
    count: C,
    collected: Collected,
    timeout: Duration,
    publish: P,
) -> Result<Collected, (AdapterError, Collected)>
where
    C: Future<Output = Result<usize, LinkError>>,
    P: FnOnce(String) -> F,
    F: Future<Output = Result<(), LinkError>>,
{
    let deadline = Instant::now() + timeout;
    if lock(requests).closed {
        return Err((unavailable("the adapter is closed"), collected));
    }
    let nodes = match tokio::time::timeout_at(deadline, count).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return Err((unavailable(e), collected)),
        Err(_) => {
            return Err((
                unavailable("Redis did not count the nodes in time"),
                collected,
            ));
        }
    };
    let expected = nodes.saturating_sub(1);
    if expected == 0 {
        return Ok(collected);
    }
    let (tx, mut rx) = oneshot::channel();
    let id = {
        let mut st = lock(requests);
        if st.closed {
            return Err((unavailable("the adapter is closed"), collected));
        }
        if st.requests.len() >= limits.max_pending_requests {
            return Err((unavailable("too many requests pending"), collected));
        }
        let id = st.new_id(new_id);
        st.requests.insert(
            id.clone(),
            Pending {
                expected,
                received: 0,
                collected,
                done: Some(tx),
            },
        );
        id
    };
    let failed = match tokio::time::timeout_at(deadline, publish(id.clone())).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(unavailable(e)),
        Err(_) => Some(unavailable("Redis did not take the request in time")),
    };
    if failed.is_none() {
        if let Ok(Ok(c)) = tokio::time::timeout_at(deadline, &mut rx).await {
            return Ok(c);
        }
    }
    let pending = lock(requests).requests.remove(&id);
    match pending {
        Some(p) => {
            let e = failed.unwrap_or(AdapterError::Timeout {
                received: p.received,
                expected: p.expected,
            });
            Err((e, p.collected))
        }
        // Completed at the deadline, or dropped by close().
        None => rx.try_recv().map_err(|_| {
            (
                unavailable("the adapter is closed"),
                Collected::Answers(Vec::new()),
            )
        }),
    }
}

/// Starts waiting for the other nodes' answers to a broadcast with acks of
/// this node. `None` once closed; otherwise the namespace's side, and the
/// request id (`None` when too many are in progress: the namespace then
/// sees the other nodes as not answering, and nothing is to be sent).
/// Hand the id to [`wait_for_acks`] once the request is on its way.
pub(crate) fn start_acks(
    requests: &Mutex<Requests>,
    limits: &Limits,
    new_id: fn() -> String,
) -> Option<(RemoteAcks, Option<String>)> {
    let (tx, rx) = mpsc::channel(limits.ack_queue.max(1));
    let remote = RemoteAcks {
        nodes: 1,
        events: rx,
    };
    let mut st = lock(requests);
    if st.closed {
        return None;
    }
    if st.acks.len() >= limits.max_pending_requests {
        return Some((remote, None));
    }
    let id = st.new_id(new_id);
    st.acks.insert(
        id.clone(),
        AckWait {
            events: tx,
            expected: None,
            counted: 0,
            sum: 0,
            reported: false,
        },
    );
    Some((remote, Some(id)))
}

/// Waits, in a task, for `sent` (the request published and the nodes
/// counted, this one included), then until `timeout` for the answers, and
/// forgets broadcast `id`. If `sent` fails the namespace sees no answer at
/// once.
pub(crate) fn wait_for_acks(
    requests: Weak<Mutex<Requests>>,
    id: String,
    timeout: Duration,
    sent: impl Future<Output = Option<usize>> + Send + 'static,
) {
    tokio::spawn(async move {
        let deadline = Instant::now() + timeout;
        let nodes = tokio::time::timeout_at(deadline, sent).await.ok().flatten();
        if let Some(requests) = requests.upgrade() {
            let mut st = lock(&requests);
            match nodes {
                Some(n) => {
                    if let Some(w) = st.acks.get_mut(&id) {
                        w.expected = Some(n.saturating_sub(1));
                        w.report_if_complete();
                    }
                }
                None => drop(st.acks.remove(&id)),
            }
        }
        tokio::time::sleep_until(deadline).await;
        if let Some(requests) = requests.upgrade() {
            let removed = lock(&requests).acks.remove(&id);
            drop(removed);
        }
    });
}

/// What this node relays of another node's broadcast with acks.
pub(crate) enum Relayed {
    /// How many sockets it reached here (always sent, even 0: the sender
    /// waits for every counted node).
    ClientCount(u64),
    /// One socket's answer: the first argument of its ack.
    Ack(Option<Value>),
}

/// Delivers another node's broadcast with acks `id` to this node's
/// sockets, and relays through `respond` the count, then each answer as it
/// comes, until the sender's `timeout` flag (at most
/// [`Limits::max_ack_wait`]). Past [`Limits::max_pending_requests`] relays
/// the count is 0 and nothing is delivered; `busy` is told.
#[allow(clippy::too_many_arguments)]
pub(crate) fn relay(
    requests: &Arc<Mutex<Requests>>,
    limits: &Limits,
    local: &LocalNamespace,
    id: &str,
    packet: &Packet,
    opts: &WireOptions,
    busy: impl FnOnce(),
    respond: impl Fn(Relayed) + Send + 'static,
) {
    {
        let mut st = lock(requests);
        // This node's own broadcast, back from Redis.
        if st.acks.contains_key(id) {
            return;
        }
        if st.relaying >= limits.max_pending_requests {
            drop(st);
            busy();
            return respond(Relayed::ClientCount(0));
        }
        st.relaying += 1;
    }
    let max = limits.max_ack_wait;
    let timeout = opts
        .flag("timeout")
        .and_then(Value::as_f64)
        .filter(|ms| *ms >= 0.0)
        .map_or(limits.requests_timeout, |ms| {
            Duration::from_secs_f64((ms / 1000.0).min(max.as_secs_f64()))
        })
        .min(max);
    // The flags do not apply here (Node drops them); the timeout bounds
    // the relay.
    let (count, mut answers) = local.broadcast_with_ack(packet, &selection(opts), timeout);
    respond(Relayed::ClientCount(count as u64));
    let requests = Arc::downgrade(requests);
    tokio::spawn(async move {
        while let Some(ack) = answers.recv().await {
            respond(Relayed::Ack(first_arg(&ack)));
        }
        if let Some(requests) = requests.upgrade() {
            lock(&requests).relaying -= 1;
        }
    });
}

/// Hands another node's server-side emit to this node's handler and, for
/// one that waits, sends back through `respond` the handler's answer (if it
/// answers within `wait`: no answer otherwise, as with Node, and the
/// requester times out).
pub(crate) fn server_side_emit(
    local: &LocalNamespace,
    packet: &Packet,
    answered: bool,
    wait: Duration,
    respond: impl FnOnce(Value) + Send + 'static,
) {
    if !answered {
        return local.server_side_emit(packet, None);
    }
    let (ack, answer) = ServerSideAck::new();
    local.server_side_emit(packet, Some(ack));
    tokio::spawn(async move {
        if let Ok(Ok(v)) = tokio::time::timeout(wait, answer).await {
            respond(json_to_value(&v));
        }
    });
}

/// A broadcast's options as they travel.
pub(crate) fn wire_broadcast(o: &BroadcastOptions) -> WireOptions {
    WireOptions::broadcast(&o.rooms, &o.except, o.volatile, &o.flags)
}

/// A classic management request's options as they travel.
pub(crate) fn wire_selection(o: &BroadcastOptions) -> WireOptions {
    WireOptions::selection(&o.rooms, &o.except)
}

/// Another node's broadcast options, for this node's namespace.
pub(crate) fn broadcast_options(w: &WireOptions) -> BroadcastOptions {
    let mut o = selection(w);
    o.volatile = w.volatile();
    o.flags = w.other_flags();
    o
}

/// The sockets another node's request selects; its flags do not apply
/// (Node drops them on this side).
pub(crate) fn selection(w: &WireOptions) -> BroadcastOptions {
    let mut o = BroadcastOptions::default();
    o.rooms.clone_from(&w.rooms);
    o.except.clone_from(&w.except);
    o
}

/// A socket as a fetch answer describes it: `{id, handshake, rooms, data}`,
/// `data` left out when unset.
pub(crate) fn socket_data_to_value(s: &SocketData) -> Value {
    let mut e = vec![
        ("id".to_owned(), Value::from(s.id.as_str())),
        ("handshake".to_owned(), json_to_value(&s.handshake)),
        (
            "rooms".to_owned(),
            s.rooms.iter().map(|r| Value::from(r.as_str())).collect(),
        ),
    ];
    if let Some(d) = &s.data {
        e.push(("data".to_owned(), json_to_value(d)));
    }
    Value::Map(e)
}

/// A socket from a fetch answer; `None` without a string `id`. The
/// handshake and data are kept as sent; rooms that are numbers become
/// their JavaScript strings.
pub(crate) fn socket_data_from_value(v: &Value) -> Option<SocketData> {
    let rooms = v
        .get("rooms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| match r {
            Value::Str(s) => Some(s.clone()),
            n if n.is_number() => Some(n.to_js_string()),
            _ => None,
        })
        .collect();
    Some(SocketData {
        id: v.get("id")?.as_str()?.to_owned(),
        handshake: v
            .get("handshake")
            .map_or(serde_json::Value::Null, value_to_json),
        rooms,
        data: v.get("data").map(value_to_json),
    })
}

/// The first argument of a socket's ACK: all that travels between nodes.
pub(crate) fn first_arg(ack: &Packet) -> Option<Value> {
    let v = packet_to_value(ack, false).ok()?;
    v.get("data")?.as_array()?.first().cloned()
}

/// Another node's socket's answer, as an ACK packet of this namespace with
/// that one argument (none if it had none).
pub(crate) fn ack_packet(nsp: &str, arg: Option<Value>) -> Option<Packet> {
    let object = Value::map([
        ("type", Value::Int(3)),
        ("data", Value::Array(arg.into_iter().collect())),
        ("id", Value::Int(0)),
    ]);
    value_to_packet(&object, nsp).ok()
}

/// An event's `[event, ...args]`, bytes in place.
pub(crate) fn event_data(packet: &Packet) -> Option<Vec<Value>> {
    match packet_to_value(packet, false).ok()? {
        Value::Map(entries) => entries
            .into_iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("data", Value::Array(a)) => Some(a),
                _ => None,
            }),
        _ => None,
    }
}

/// The event packet of namespace `nsp` for another node's server-side
/// emit `[event, ...args]`.
pub(crate) fn event_packet(data: &[Value], nsp: &str) -> Result<Packet, PacketError> {
    let object = Value::map([
        ("type", Value::Int(2)),
        ("data", Value::Array(data.to_vec())),
    ]);
    value_to_packet(&object, nsp)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::msgpack::DecodeConfig;
    use crate::wire::{Response, ResponseBody};

    /// A Node node's answer to REMOTE_FETCH (wire spec §2.6), read into
    /// `SocketData` and written back as this side writes it.
    #[test]
    fn fetched_sockets() {
        let json = r#"{"requestId":"REQ001","sockets":[{"id":"Ns_mzPXDB5QfWwi0AAAA","handshake":{"headers":{"host":"x"},"time":"Mon Nov 30 2026","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1796040370123,"url":"/socket.io/?q=1","query":{"q":"1"},"auth":{"token":"t"}},"rooms":["Ns_mzPXDB5QfWwi0AAAA","r1",7],"data":{"user":"bob"}}]}"#;
        let r = Response::decode(&Bytes::from(json), &DecodeConfig::default()).unwrap();
        let ResponseBody::Answer {
            sockets: Some(s), ..
        } = r.body
        else {
            panic!("no sockets")
        };
        let d = socket_data_from_value(&s[0]).unwrap();
        assert_eq!(d.id, "Ns_mzPXDB5QfWwi0AAAA");
        assert_eq!(d.rooms, ["Ns_mzPXDB5QfWwi0AAAA", "r1", "7"]);
        assert_eq!(d.data, Some(serde_json::json!({"user": "bob"})));
        assert_eq!(d.handshake["issued"], serde_json::json!(1796040370123u64));
        assert_eq!(d.handshake["auth"]["token"], "t");
        let mut unset = d.clone();
        unset.data = None;
        let v = socket_data_to_value(&unset);
        assert!(v.get("data").is_none());
        assert_eq!(socket_data_from_value(&v).unwrap(), unset);
        assert!(socket_data_from_value(&Value::map([("id", Value::Int(1))])).is_none());
    }

    #[test]
    fn options_both_ways() {
        let mut o = BroadcastOptions::default();
        o.rooms = vec!["a".into()];
        o.except = vec!["b".into(), "b".into()];
        o.volatile = true;
        o.flags
            .insert("compress".into(), serde_json::Value::Bool(true));
        let w = wire_broadcast(&o);
        assert_eq!(w.except, ["b"]);
        let back = broadcast_options(&w);
        assert!(back.volatile && !back.local);
        assert_eq!(back.rooms, ["a"]);
        assert_eq!(
            back.flags.get("compress"),
            Some(&serde_json::Value::Bool(true))
        );
        let sel = selection(&w);
        assert!(!sel.volatile && sel.flags.is_empty());
        assert_eq!(wire_selection(&o).flags, None);
    }

    #[tokio::test]
    async fn a_request_completes_when_every_node_answered() {
        let requests = Mutex::new(Requests::default());
        let limits = Limits {
            requests_timeout: Duration::from_secs(1),
            max_pending_requests: 1,
            max_ack_wait: Duration::from_secs(1),
            ack_queue: 1,
        };
        let asked = ask(
            &requests,
            &limits,
            || "id".to_owned(),
            async { Ok(3) },
            Collected::Rooms(HashSet::new()),
            Duration::from_secs(5),
            |id| {
                assert_eq!(id, "id");
                for room in ["a", "b"] {
                    lock(&requests).answer(&id, |c| match c {
                        Collected::Rooms(r) => {
                            r.insert(room.to_owned());
                            true
                        }
                        _ => false,
                    });
                }
                async { Ok(()) }
            },
        )
        .await;
        let Ok(Collected::Rooms(rooms)) = asked else {
            panic!("not complete");
        };
        assert_eq!(rooms.len(), 2);
        assert!(lock(&requests).requests.is_empty());
    }
}
