//! The classic adapter: `@socket.io/redis-adapter`'s `createAdapter` over
//! plain pub/sub (`PUBLISH`, `SUBSCRIBE`, `PSUBSCRIBE`), so Rust and Node
//! servers form one cluster.
//!
//! Each namespace gets a [`RedisAdapter`] with its own node id (6
//! alphanumerics). It listens on the namespace's broadcast pattern
//! `<key>#<nsp>#*` and on its request, shared response and own response
//! channels ([`Channels`]), through the node's one subscriber connection
//! ([`Link`]), so `PUBSUB NUMSUB` counts each node once per namespace.
//!
//! What the namespace does with other nodes goes out as the Node adapter
//! writes it ([`crate::wire`]); what other nodes ask comes in through the
//! namespace's [`LocalNamespace`]. Unlike Node, joins, leaves and
//! disconnects are applied here at once (the namespace does it) and the
//! echo of our own request is ignored; Node applies its own when Redis
//! echoes it. Both are compatible.
//!
//! # Counting and timeouts
//!
//! A request waits for `NUMSUB - 1` answers (every other subscribed node).
//! Fetching sockets, listing rooms and server-side emits with acks wait at
//! most [`RedisAdapterOptions::requests_timeout`] (or the caller's timeout
//! if shorter) and then fail with [`AdapterError::Timeout`]; a server-side
//! emit keeps the answers that came. A broadcast with acks waits the
//! caller's timeout. A node that dies mid-request is noticed only by the
//! timeout, as with Node: there are no heartbeats.
//!
//! # When Redis is down
//!
//! Broadcasts and other one-way messages are dropped (counted in
//! [`LinkStats`](crate::redis::LinkStats) and logged), requests fail with
//! [`AdapterError::Unavailable`], or with a timeout when Redis went away
//! while they were waiting. When Redis is back the link resubscribes and
//! everything flows again by itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand::distr::Alphanumeric;
use socketio_proto::Packet;
use socketio_server::{
    Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions, InMemoryAdapter,
    LocalNamespace, RemoteAck, RemoteAcks, ServerSideAck, ServerSideAnswers, SocketData,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::msgpack::{DecodeConfig, Value};
use crate::packet::{json_to_value, packet_to_value, value_to_json, value_to_packet};
use crate::redis::{Link, LinkError, LinkOptions, Receiver, Registration};
use crate::wire::{
    BroadcastMessage, Channels, Request, RequestBody, Response, ResponseBody, WireOptions,
};

/// Settings of the classic adapter, with Node's defaults where Node has
/// the setting.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisAdapterOptions {
    /// The channel prefix. Default `socket.io`, as Node's `key`; every node
    /// of a cluster uses the same.
    pub key: String,
    /// How long fetching sockets, listing rooms and server-side emits with
    /// acks wait for the other nodes (`requestsTimeout`). Default 5 s.
    pub requests_timeout: Duration,
    /// Answer a node's requests on its own response channel
    /// (`<key>-response#<nsp>#<uid>#`) rather than the shared one, so nodes
    /// do not receive each other's answers
    /// (`publishOnSpecificResponseChannel`). Default false. Every node
    /// listens on both either way.
    pub publish_on_specific_response_channel: bool,
    /// Limits on decoding what arrives from Redis (nesting, number of
    /// values); anyone who can publish on the cluster can send it.
    pub decode: DecodeConfig,
    /// Requests this node waits on at once, per namespace, and broadcasts
    /// with acks of other nodes it relays answers for. Past it, new ones
    /// fail at once (or, for another node's broadcast, are answered with a
    /// count of 0). Default 1024.
    pub max_pending_requests: usize,
    /// How long this node relays its sockets' answers to another node's
    /// broadcast with acks (the sender's `timeout` flag, at most this), and
    /// waits for its handler's answer to a server-side emit. Default 60 s.
    pub max_ack_wait: Duration,
    /// Other nodes' answers to one broadcast with acks queued for the
    /// namespace; past it they count as unanswered. Default 1024.
    pub ack_queue: usize,
}

impl Default for RedisAdapterOptions {
    fn default() -> Self {
        RedisAdapterOptions {
            key: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            decode: DecodeConfig::default(),
            max_pending_requests: 1024,
            max_ack_wait: Duration::from_secs(60),
            ack_queue: 1024,
        }
    }
}

/// Connects to the Redis at `url` (one [`Link`] with default
/// [`LinkOptions`]) and returns the adapter factory for
/// `ServerOptions::adapter` (`createAdapter` in Node). Call it within a
/// tokio runtime.
pub async fn create_adapter(
    url: &str,
    options: RedisAdapterOptions,
) -> Result<AdapterFactory, LinkError> {
    let link = Link::connect(url, LinkOptions::default()).await?;
    Ok(adapter_factory(&link, options))
}

/// The adapter factory for `ServerOptions::adapter` over an existing
/// link: one [`RedisAdapter`] per namespace. Use one link per server.
pub fn adapter_factory(link: &Link, options: RedisAdapterOptions) -> AdapterFactory {
    let link = link.clone();
    let options = Arc::new(options);
    Arc::new(move |nsp: &str| {
        Arc::new(RedisAdapter::with_shared_options(
            link.clone(),
            nsp,
            options.clone(),
        ))
    })
}

/// One namespace's adapter: rooms in memory, everything else over Redis.
///
/// Subscribes when the namespace [`init`](Adapter::init)s it; unsubscribes
/// on [`close`](Adapter::close) or when dropped.
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.inner.nsp)
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

struct Inner {
    nsp: String,
    uid: String,
    channels: Channels,
    own_response: String,
    options: Arc<RedisAdapterOptions>,
    link: Link,
    rooms: InMemoryAdapter,
    local: OnceLock<LocalNamespace>,
    state: Mutex<State>,
    registration: Mutex<Option<Registration>>,
}

#[derive(Default)]
struct State {
    closed: bool,
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

enum Collected {
    Sockets(Vec<SocketData>),
    Rooms(HashSet<String>),
    Answers(Vec<serde_json::Value>),
}

/// A broadcast with acks of this node: the other nodes' counts are summed
/// into one [`RemoteAck::ClientCount`], sent once every node counted by
/// `NUMSUB` has answered (so the namespace sees one "node").
struct AckWait {
    events: mpsc::Sender<RemoteAck>,
    /// Other nodes, once `NUMSUB` has answered.
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
}

impl RedisAdapter {
    /// The adapter of namespace `nsp` over `link`.
    pub fn new(link: &Link, nsp: &str, options: RedisAdapterOptions) -> RedisAdapter {
        RedisAdapter::with_shared_options(link.clone(), nsp, Arc::new(options))
    }

    fn with_shared_options(
        link: Link,
        nsp: &str,
        options: Arc<RedisAdapterOptions>,
    ) -> RedisAdapter {
        let uid = random_id();
        let channels = Channels::new(&options.key, nsp);
        RedisAdapter {
            inner: Arc::new(Inner {
                nsp: nsp.to_owned(),
                own_response: channels.node_response(&uid),
                uid,
                channels,
                options,
                link,
                rooms: InMemoryAdapter::default(),
                local: OnceLock::new(),
                state: Mutex::new(State::default()),
                registration: Mutex::new(None),
            }),
        }
    }

    /// The namespace's channels.
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// The link it talks through.
    pub fn link(&self) -> &Link {
        &self.inner.link
    }
}

impl Drop for RedisAdapter {
    fn drop(&mut self) {
        self.inner.close();
    }
}

/// 6 characters from `[A-Za-z0-9]`, as Node's `uid2(6)`.
fn random_id() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(char::from)
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unavailable(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Unavailable(e.to_string())
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn close(&self) {
        let (requests, acks) = {
            let mut st = self.state();
            st.closed = true;
            (
                std::mem::take(&mut st.requests),
                std::mem::take(&mut st.acks),
            )
        };
        // Dropping them wakes their waiters, outside the lock.
        drop((requests, acks));
        lock(&self.registration).take();
    }

    fn subscribe(self: &Arc<Self>) {
        let mut reg = lock(&self.registration);
        if reg.is_some() || self.state().closed {
            return;
        }
        let me: Arc<dyn Receiver> = self.clone();
        let channels = vec![
            self.channels.request().to_owned(),
            self.channels.response().to_owned(),
            self.own_response.clone(),
        ];
        let pattern = (
            self.channels.pattern(),
            self.channels.broadcast().to_owned(),
        );
        *reg = Some(
            self.link
                .subscribe(Arc::downgrade(&me), channels, vec![pattern]),
        );
    }

    /// Publishes a request nobody answers (joins, leaves, disconnects,
    /// server-side emits without acks).
    fn publish_one_way(&self, body: RequestBody) {
        let req = Request {
            uid: Some(self.uid.clone()),
            request_id: None,
            body,
        };
        self.link.publish(
            self.channels.request().to_owned(),
            Bytes::from(req.encode()),
        );
    }

    /// Where the answer to `req` goes.
    fn response_channel(&self, req: &Request) -> String {
        match &req.uid {
            Some(uid) if self.options.publish_on_specific_response_channel => {
                self.channels.node_response(uid)
            }
            _ => self.channels.response().to_owned(),
        }
    }

    fn respond(&self, channel: String, request_id: String, body: ResponseBody) {
        let resp = Response { request_id, body };
        self.link.publish(channel, Bytes::from(resp.encode()));
    }

    /// A new request id, unused by this node's pending requests.
    fn new_request_id(st: &State) -> String {
        loop {
            let id = random_id();
            if !st.requests.contains_key(&id) && !st.acks.contains_key(&id) {
                return id;
            }
        }
    }

    /// Asks the other nodes and collects their answers: `NUMSUB - 1` of
    /// them, within `timeout`.
    async fn request(
        self: Arc<Self>,
        body: RequestBody,
        collected: Collected,
        timeout: Duration,
    ) -> Result<Collected, (AdapterError, Collected)> {
        let deadline = Instant::now() + timeout;
        if self.state().closed {
            return Err((unavailable("the adapter is closed"), collected));
        }
        let nodes = match tokio::time::timeout_at(
            deadline,
            self.link.numsub(self.channels.request()),
        )
        .await
        {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err((unavailable(e), collected)),
            Err(_) => {
                return Err((
                    unavailable("Redis did not answer PUBSUB NUMSUB in time"),
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
            let mut st = self.state();
            if st.closed {
                return Err((unavailable("the adapter is closed"), collected));
            }
            if st.requests.len() >= self.options.max_pending_requests {
                return Err((unavailable("too many requests pending"), collected));
            }
            let id = Inner::new_request_id(&st);
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
        let req = Request {
            uid: Some(self.uid.clone()),
            request_id: Some(id.clone()),
            body,
        };
        let sent = tokio::time::timeout_at(
            deadline,
            self.link.publish_confirmed(
                self.channels.request().to_owned(),
                Bytes::from(req.encode()),
            ),
        )
        .await;
        let failed = match sent {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(unavailable(e)),
            Err(_) => Some(unavailable("Redis did not take the request in time")),
        };
        if failed.is_none() {
            if let Ok(Ok(c)) = tokio::time::timeout_at(deadline, &mut rx).await {
                return Ok(c);
            }
        }
        let pending = self.state().requests.remove(&id);
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

    // ------------------------------------------------------------ inbound

    fn on_broadcast(&self, room: &str, payload: Bytes) {
        // A room channel for a room with no socket here: not for us, and
        // not worth decoding (as Node does).
        if !room.is_empty() {
            let mut only = BroadcastOptions::default();
            only.rooms.push(room.to_owned());
            if self.rooms.sockets(&only).is_empty() {
                return;
            }
        }
        let msg = match BroadcastMessage::decode(&payload, &self.options.decode) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("broadcast on {}: {e}", self.nsp));
            }
        };
        if msg.uid == self.uid {
            return;
        }
        let nsp_matches = match msg.packet.get("nsp") {
            None | Some(Value::Nil) => self.nsp == "/",
            Some(Value::Str(n)) => *n == self.nsp,
            Some(_) => false,
        };
        if !nsp_matches {
            return;
        }
        let packet = match value_to_packet(&msg.packet, &self.nsp) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("broadcast packet on {}: {e}", self.nsp));
            }
        };
        if let Some(local) = self.local.get() {
            local.broadcast(&packet, &broadcast_options(&msg.opts));
        }
    }

    fn on_request(self: &Arc<Self>, payload: Bytes) {
        let req = match Request::decode(&payload, &self.options.decode) {
            Ok(r) => r,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("request on {}: {e}", self.nsp));
            }
        };
        let Some(local) = self.local.get() else {
            return;
        };
        // Emitters send no uid: their requests are never ours.
        let own = req.uid.as_deref() == Some(self.uid.as_str());
        if own {
            return;
        }
        let answer = |body| {
            if let Some(id) = &req.request_id {
                self.respond(self.response_channel(&req), id.clone(), body);
            }
        };
        let socket = |sid: &str| {
            let mut o = BroadcastOptions::default();
            o.rooms.push(sid.to_owned());
            (!self.rooms.sockets(&o).is_empty()).then_some(o)
        };
        match &req.body {
            RequestBody::Sockets { rooms } => {
                let mut o = BroadcastOptions::default();
                o.rooms.clone_from(rooms);
                let ids = self
                    .rooms
                    .sockets(&o)
                    .into_iter()
                    .map(Value::from)
                    .collect();
                answer(ResponseBody::Answer {
                    rooms: None,
                    sockets: Some(ids),
                });
            }
            RequestBody::AllRooms => answer(ResponseBody::Answer {
                rooms: Some(local.rooms().into_iter().collect()),
                sockets: None,
            }),
            RequestBody::Join { opts, rooms } => local.add_sockets(&selection(opts), rooms),
            RequestBody::Leave { opts, rooms } => local.del_sockets(&selection(opts), rooms),
            RequestBody::Disconnect { opts, close } => {
                local.disconnect_sockets(&selection(opts), *close)
            }
            RequestBody::JoinSocket { sid, room } => {
                if let Some(o) = socket(sid) {
                    local.add_sockets(&o, std::slice::from_ref(room));
                    answer(ResponseBody::Answer {
                        rooms: None,
                        sockets: None,
                    });
                }
            }
            RequestBody::LeaveSocket { sid, room } => {
                if let Some(o) = socket(sid) {
                    local.del_sockets(&o, std::slice::from_ref(room));
                    answer(ResponseBody::Answer {
                        rooms: None,
                        sockets: None,
                    });
                }
            }
            RequestBody::DisconnectSocket { sid, close } => {
                if let Some(o) = socket(sid) {
                    local.disconnect_sockets(&o, *close);
                    answer(ResponseBody::Answer {
                        rooms: None,
                        sockets: None,
                    });
                }
            }
            RequestBody::Fetch { opts } => {
                let sockets = local.fetch_sockets(&selection(opts));
                answer(ResponseBody::Answer {
                    rooms: None,
                    sockets: Some(sockets.iter().map(socket_data_to_value).collect()),
                });
            }
            RequestBody::ServerSideEmit { data } => self.on_server_side_emit(local, &req, data),
            RequestBody::Broadcast { packet, opts } => {
                self.on_broadcast_with_ack(local, &req, packet, opts)
            }
        }
    }

    fn on_server_side_emit(
        self: &Arc<Self>,
        local: &LocalNamespace,
        req: &Request,
        data: &[Value],
    ) {
        let object = Value::map([
            ("type", Value::Int(2)),
            ("data", Value::Array(data.to_vec())),
        ]);
        let packet = match value_to_packet(&object, &self.nsp) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("server-side emit on {}: {e}", self.nsp));
            }
        };
        let Some(id) = req.request_id.clone() else {
            return local.server_side_emit(&packet, None);
        };
        let (ack, answer) = ServerSideAck::new();
        local.server_side_emit(&packet, Some(ack));
        let me = Arc::downgrade(self);
        let wait = self.options.max_ack_wait;
        // No answer if the handler drops its ack (or there is no handler),
        // as with Node: the requester times out.
        tokio::spawn(async move {
            if let Ok(Ok(v)) = tokio::time::timeout(wait, answer).await {
                if let Some(me) = me.upgrade() {
                    // Always the shared channel, as Node does.
                    let channel = me.channels.response().to_owned();
                    me.respond(
                        channel,
                        id,
                        ResponseBody::ServerSideEmit(Some(json_to_value(&v))),
                    );
                }
            }
        });
    }

    fn on_broadcast_with_ack(
        self: &Arc<Self>,
        local: &LocalNamespace,
        req: &Request,
        packet: &Value,
        opts: &WireOptions,
    ) {
        let Some(id) = req.request_id.clone() else {
            return self.link.malformed(format_args!(
                "broadcast with acks on {} without requestId",
                self.nsp
            ));
        };
        let packet = match value_to_packet(packet, &self.nsp) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("broadcast with acks on {}: {e}", self.nsp));
            }
        };
        let channel = self.response_channel(req);
        {
            let mut st = self.state();
            if st.acks.contains_key(&id) {
                return;
            }
            if st.relaying >= self.options.max_pending_requests {
                drop(st);
                self.link.warn(format_args!(
                    "broadcast with acks on {} answered with 0: too many in progress",
                    self.nsp
                ));
                return self.respond(channel, id, ResponseBody::ClientCount(0));
            }
            st.relaying += 1;
        }
        // Node drops the flags here; the timeout is what bounds the relay.
        let max = self.options.max_ack_wait;
        let timeout = opts
            .flag("timeout")
            .and_then(Value::as_f64)
            .filter(|ms| *ms >= 0.0)
            .map_or(self.options.requests_timeout, |ms| {
                Duration::from_secs_f64((ms / 1000.0).min(max.as_secs_f64()))
            })
            .min(max);
        let (count, mut answers) = local.broadcast_with_ack(&packet, &selection(opts), timeout);
        // Every node counted by NUMSUB answers with a count, even 0:
        // the requester waits for all of them.
        self.respond(
            channel.clone(),
            id.clone(),
            ResponseBody::ClientCount(count as u64),
        );
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(ack) = answers.recv().await {
                let Some(me) = me.upgrade() else {
                    return;
                };
                me.respond(
                    channel.clone(),
                    id.clone(),
                    ResponseBody::Ack(first_arg(&ack)),
                );
            }
            if let Some(me) = me.upgrade() {
                me.state().relaying -= 1;
            }
        });
    }

    fn on_response(&self, payload: Bytes) {
        let resp = match Response::decode(&payload, &self.options.decode) {
            Ok(r) => r,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("response on {}: {e}", self.nsp));
            }
        };
        let mut st = self.state();
        if let Some(w) = st.acks.get_mut(&resp.request_id) {
            match resp.body {
                ResponseBody::ClientCount(n) => {
                    w.counted += 1;
                    w.sum = w
                        .sum
                        .saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
                    w.report_if_complete();
                }
                ResponseBody::Ack(arg) => match ack_packet(&self.nsp, arg) {
                    Some(p) => {
                        if w.events.try_send(RemoteAck::Ack(p)).is_err() {
                            drop(st);
                            self.link.warn(format_args!(
                                "an answer to a broadcast with acks on {} dropped: queue full",
                                self.nsp
                            ));
                        }
                    }
                    None => {
                        drop(st);
                        self.link
                            .malformed(format_args!("ack on {}: unusable argument", self.nsp));
                    }
                },
                _ => {}
            }
            return;
        }
        let Some(p) = st.requests.get_mut(&resp.request_id) else {
            return;
        };
        match (&mut p.collected, resp.body) {
            (Collected::Sockets(list), ResponseBody::Answer { sockets, .. }) => {
                p.received += 1;
                list.extend(sockets.iter().flatten().filter_map(socket_data_from_value));
            }
            (Collected::Rooms(set), ResponseBody::Answer { rooms, .. }) => {
                p.received += 1;
                set.extend(rooms.into_iter().flatten());
            }
            (Collected::Answers(list), ResponseBody::ServerSideEmit(data)) => {
                p.received += 1;
                list.push(data.as_ref().map_or(serde_json::Value::Null, value_to_json));
            }
            _ => return,
        }
        if p.received >= p.expected {
            if let Some(mut p) = st.requests.remove(&resp.request_id) {
                if let Some(done) = p.done.take() {
                    let _ = done.send(p.collected);
                }
            }
        }
    }
}

/// A broadcast's options as they travel.
fn wire_broadcast(o: &BroadcastOptions) -> WireOptions {
    WireOptions::broadcast(&o.rooms, &o.except, o.volatile, &o.flags)
}

/// A management request's options as they travel.
fn wire_selection(o: &BroadcastOptions) -> WireOptions {
    WireOptions::selection(&o.rooms, &o.except)
}

/// Another node's broadcast options, for this node's namespace.
fn broadcast_options(w: &WireOptions) -> BroadcastOptions {
    let mut o = selection(w);
    o.volatile = w.volatile();
    o.flags = w.other_flags();
    o
}

/// The sockets another node's request selects; its flags do not apply
/// (Node drops them on this side).
fn selection(w: &WireOptions) -> BroadcastOptions {
    let mut o = BroadcastOptions::default();
    o.rooms.clone_from(&w.rooms);
    o.except.clone_from(&w.except);
    o
}

/// A socket as a REMOTE_FETCH answer describes it: `{id, handshake, rooms,
/// data}`, `data` left out when unset.
fn socket_data_to_value(s: &SocketData) -> Value {
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

/// A socket from a REMOTE_FETCH answer; `None` without a string `id`. The
/// handshake and data are kept as sent; rooms that are numbers become
/// their JavaScript strings.
fn socket_data_from_value(v: &Value) -> Option<SocketData> {
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
fn first_arg(ack: &Packet) -> Option<Value> {
    let v = packet_to_value(ack, false).ok()?;
    v.get("data")?.as_array()?.first().cloned()
}

/// Another node's socket's answer, as an ACK packet of this namespace with
/// that one argument (none if it had none).
fn ack_packet(nsp: &str, arg: Option<Value>) -> Option<Packet> {
    let object = Value::map([
        ("type", Value::Int(3)),
        ("data", Value::Array(arg.into_iter().collect())),
        ("id", Value::Int(0)),
    ]);
    value_to_packet(&object, nsp).ok()
}

impl Receiver for Inner {
    fn receive(self: Arc<Self>, channel: &str, payload: Bytes) {
        if channel == self.channels.request() {
            self.on_request(payload);
        } else if channel == self.channels.response() || channel == self.own_response {
            self.on_response(payload);
        } else if let Some(room) = self.channels.room_of(channel) {
            self.on_broadcast(room, payload);
        }
    }
}

impl Adapter for RedisAdapter {
    fn add_all(&self, sid: &str, rooms: &[&str]) {
        self.inner.rooms.add_all(sid, rooms)
    }

    fn del(&self, sid: &str, room: &str) {
        self.inner.rooms.del(sid, room)
    }

    fn del_all(&self, sid: &str) {
        self.inner.rooms.del_all(sid)
    }

    fn sockets(&self, opts: &BroadcastOptions) -> Vec<String> {
        self.inner.rooms.sockets(opts)
    }

    fn socket_rooms(&self, sid: &str) -> Vec<String> {
        self.inner.rooms.socket_rooms(sid)
    }

    fn rooms(&self) -> Vec<String> {
        self.inner.rooms.rooms()
    }

    fn init(&self, local: LocalNamespace) {
        let _ = self.inner.local.set(local);
        self.inner.subscribe();
    }

    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        let inner = &self.inner;
        if opts.local || inner.state().closed {
            return;
        }
        let packet = match packet_to_value(packet, true) {
            Ok(p) => p,
            Err(e) => return inner.link.warn(format_args!("broadcast not sent: {e}")),
        };
        let msg = BroadcastMessage {
            uid: inner.uid.clone(),
            packet,
            opts: wire_broadcast(opts),
        };
        inner.link.publish(
            inner.channels.broadcast_to(&opts.rooms),
            Bytes::from(msg.encode()),
        );
    }

    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Option<RemoteAcks> {
        let inner = &self.inner;
        if opts.local {
            return None;
        }
        let packet = match packet_to_value(packet, true) {
            Ok(p) => p,
            Err(e) => {
                inner.link.warn(format_args!("broadcast not sent: {e}"));
                return None;
            }
        };
        let (tx, rx) = mpsc::channel(inner.options.ack_queue.max(1));
        let remote = RemoteAcks {
            nodes: 1,
            events: rx,
        };
        let id = {
            let mut st = inner.state();
            if st.closed {
                return None;
            }
            if st.acks.len() >= inner.options.max_pending_requests {
                drop(st);
                inner.link.warn(format_args!(
                    "broadcast with acks on {} not sent: too many in progress",
                    inner.nsp
                ));
                // The sender is dropped: the namespace sees the other
                // nodes as not answering.
                return Some(remote);
            }
            let id = Inner::new_request_id(&st);
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
            id
        };
        let mut wire_opts = wire_broadcast(opts);
        wire_opts.set_flag("timeout", Value::from(timeout.as_millis() as u64));
        let req = Request {
            uid: Some(inner.uid.clone()),
            request_id: Some(id.clone()),
            body: RequestBody::Broadcast {
                packet,
                opts: wire_opts,
            },
        };
        let bytes = Bytes::from(req.encode());
        let me = Arc::downgrade(inner);
        let link = inner.link.clone();
        let channel = inner.channels.request().to_owned();
        tokio::spawn(async move {
            let deadline = Instant::now() + timeout;
            let asked = async {
                tokio::join!(
                    link.publish_confirmed(channel.clone(), bytes),
                    link.numsub(&channel)
                )
            };
            let nodes = match tokio::time::timeout_at(deadline, asked).await {
                Ok((Ok(()), Ok(n))) => Some(n),
                _ => None,
            };
            if let Some(me) = me.upgrade() {
                let mut st = me.state();
                match nodes {
                    Some(n) => {
                        if let Some(w) = st.acks.get_mut(&id) {
                            w.expected = Some(n.saturating_sub(1));
                            w.report_if_complete();
                        }
                    }
                    // Not sent: the namespace sees no answer at once.
                    None => drop(st.acks.remove(&id)),
                }
            }
            tokio::time::sleep_until(deadline).await;
            if let Some(me) = me.upgrade() {
                let removed = me.state().acks.remove(&id);
                drop(removed);
            }
        });
        Some(remote)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.inner.publish_one_way(RequestBody::Join {
            opts: wire_selection(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.inner.publish_one_way(RequestBody::Leave {
            opts: wire_selection(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.inner.publish_one_way(RequestBody::Disconnect {
            opts: wire_selection(opts),
            close,
        });
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        let inner = self.inner.clone();
        let opts = wire_selection(opts);
        let timeout = timeout.min(inner.options.requests_timeout);
        Box::pin(async move {
            match inner
                .request(
                    RequestBody::Fetch { opts },
                    Collected::Sockets(Vec::new()),
                    timeout,
                )
                .await
            {
                Ok(Collected::Sockets(s)) => Ok(s),
                Ok(_) => Ok(Vec::new()),
                Err((e, _)) => Err(e),
            }
        })
    }

    fn server_side_emit(&self, packet: &Packet) {
        match event_data(packet) {
            Some(data) => self
                .inner
                .publish_one_way(RequestBody::ServerSideEmit { data }),
            None => self
                .inner
                .link
                .warn(format_args!("server-side emit not sent")),
        }
    }

    fn server_side_emit_with_ack(
        &self,
        packet: &Packet,
        timeout: Duration,
    ) -> BoxFuture<ServerSideAnswers> {
        let inner = self.inner.clone();
        let data = event_data(packet);
        let timeout = timeout.min(inner.options.requests_timeout);
        Box::pin(async move {
            let Some(data) = data else {
                return Err((unavailable("the event cannot be encoded"), Vec::new()));
            };
            let answers = |c| match c {
                Collected::Answers(a) => a,
                _ => Vec::new(),
            };
            inner
                .request(
                    RequestBody::ServerSideEmit { data },
                    Collected::Answers(Vec::new()),
                    timeout,
                )
                .await
                .map(answers)
                .map_err(|(e, c)| (e, answers(c)))
        })
    }

    fn all_rooms(&self, timeout: Duration) -> BoxFuture<Result<HashSet<String>, AdapterError>> {
        let inner = self.inner.clone();
        let timeout = timeout.min(inner.options.requests_timeout);
        Box::pin(async move {
            match inner
                .request(
                    RequestBody::AllRooms,
                    Collected::Rooms(HashSet::new()),
                    timeout,
                )
                .await
            {
                Ok(Collected::Rooms(r)) => Ok(r),
                Ok(_) => Ok(HashSet::new()),
                Err((e, _)) => Err(e),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<usize> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let asked = tokio::time::timeout(
                inner.options.requests_timeout,
                inner.link.numsub(inner.channels.request()),
            )
            .await;
            match asked {
                Ok(Ok(n)) => n.max(1),
                _ => {
                    inner
                        .link
                        .warn(format_args!("server count unknown: Redis did not answer"));
                    1
                }
            }
        })
    }

    fn uid(&self) -> &str {
        &self.inner.uid
    }

    fn close(&self) {
        self.inner.close();
    }
}

/// An event's `[event, ...args]`, bytes in place.
fn event_data(packet: &Packet) -> Option<Vec<Value>> {
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
