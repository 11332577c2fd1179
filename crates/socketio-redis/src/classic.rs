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

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand::distr::Alphanumeric;
use socketio_proto::Packet;
use socketio_server::{
    Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions, InMemoryAdapter,
    LocalNamespace, RemoteAcks, ServerSideAnswers, SocketData,
};

use crate::msgpack::{DecodeConfig, Value};
use crate::packet::{packet_to_value, value_to_json, value_to_packet};
use crate::redis::{Link, LinkError, LinkOptions, Receiver, Registration, Space};
use crate::requests::{
    self, Collected, Limits, Relayed, Requests, ack_packet, broadcast_options, event_data,
    event_packet, lock, selection, socket_data_from_value, socket_data_to_value, unavailable,
    wire_broadcast, wire_selection,
};
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

impl RedisAdapterOptions {
    fn limits(&self) -> Limits {
        Limits {
            requests_timeout: self.requests_timeout,
            max_pending_requests: self.max_pending_requests,
            max_ack_wait: self.max_ack_wait,
            ack_queue: self.ack_queue,
        }
    }
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
    limits: Limits,
    link: Link,
    rooms: InMemoryAdapter,
    local: OnceLock<LocalNamespace>,
    requests: Arc<Mutex<Requests>>,
    registration: Mutex<Option<Registration>>,
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
                limits: options.limits(),
                options,
                link,
                rooms: InMemoryAdapter::default(),
                local: OnceLock::new(),
                requests: Arc::default(),
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

impl Inner {
    fn close(&self) {
        let pending = lock(&self.requests).close();
        // Dropping them wakes their waiters, outside the lock.
        drop(pending);
        lock(&self.registration).take();
    }

    fn subscribe(self: &Arc<Self>) {
        let mut reg = lock(&self.registration);
        if reg.is_some() || lock(&self.requests).closed {
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
            Space::Classic,
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
        self.link
            .publish(Space::Classic, channel, Bytes::from(resp.encode()));
    }

    /// Asks the other nodes and collects their answers: `NUMSUB - 1` of
    /// them, within `timeout`.
    async fn request(
        self: Arc<Self>,
        body: RequestBody,
        collected: Collected,
        timeout: Duration,
    ) -> Result<Collected, (AdapterError, Collected)> {
        let channel = self.channels.request();
        requests::ask(
            &self.requests,
            &self.limits,
            random_id,
            self.link.numsub(Space::Classic, channel),
            collected,
            timeout,
            |id| {
                let req = Request {
                    uid: Some(self.uid.clone()),
                    request_id: Some(id),
                    body,
                };
                self.link.publish_confirmed(
                    Space::Classic,
                    channel.to_owned(),
                    Bytes::from(req.encode()),
                )
            },
        )
        .await
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
        let packet = match event_packet(data, &self.nsp) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("server-side emit on {}: {e}", self.nsp));
            }
        };
        let id = req.request_id.clone();
        let me = Arc::downgrade(self);
        requests::server_side_emit(
            local,
            &packet,
            id.is_some(),
            self.limits.max_ack_wait,
            move |answer| {
                if let (Some(me), Some(id)) = (me.upgrade(), id) {
                    // Always the shared channel, as Node does.
                    let channel = me.channels.response().to_owned();
                    me.respond(channel, id, ResponseBody::ServerSideEmit(Some(answer)));
                }
            },
        );
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
        let me = Arc::downgrade(self);
        let busy = || {
            self.link.warn(format_args!(
                "broadcast with acks on {} answered with 0: too many in progress",
                self.nsp
            ))
        };
        requests::relay(
            &self.requests,
            &self.limits,
            local,
            &id.clone(),
            &packet,
            opts,
            busy,
            move |relayed| {
                let Some(me) = me.upgrade() else {
                    return;
                };
                let body = match relayed {
                    Relayed::ClientCount(n) => ResponseBody::ClientCount(n),
                    Relayed::Ack(arg) => ResponseBody::Ack(arg),
                };
                me.respond(channel.clone(), id.clone(), body);
            },
        );
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
        let mut st = lock(&self.requests);
        if let Some(w) = st.acks_mut(&resp.request_id) {
            match resp.body {
                ResponseBody::ClientCount(n) => w.count(n),
                ResponseBody::Ack(arg) => match ack_packet(&self.nsp, arg) {
                    Some(p) => {
                        if !w.ack(p) {
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
        st.answer(&resp.request_id, |collected| {
            match (collected, resp.body) {
                (Collected::Sockets(list), ResponseBody::Answer { sockets, .. }) => {
                    list.extend(sockets.iter().flatten().filter_map(socket_data_from_value));
                }
                (Collected::Rooms(set), ResponseBody::Answer { rooms, .. }) => {
                    set.extend(rooms.into_iter().flatten());
                }
                (Collected::Answers(list), ResponseBody::ServerSideEmit(data)) => {
                    list.push(data.as_ref().map_or(serde_json::Value::Null, value_to_json));
                }
                _ => return false,
            }
            true
        });
    }
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
        if opts.local || lock(&inner.requests).closed {
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
            Space::Classic,
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
        let (remote, id) = requests::start_acks(&inner.requests, &inner.limits, random_id)?;
        let Some(id) = id else {
            inner.link.warn(format_args!(
                "broadcast with acks on {} not sent: too many in progress",
                inner.nsp
            ));
            return Some(remote);
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
        let link = inner.link.clone();
        let channel = inner.channels.request().to_owned();
        let sent = async move {
            match tokio::join!(
                link.publish_confirmed(Space::Classic, channel.clone(), bytes),
                link.numsub(Space::Classic, &channel)
            ) {
                (Ok(()), Ok(n)) => Some(n),
                _ => None,
            }
        };
        requests::wait_for_acks(Arc::downgrade(&inner.requests), id, timeout, sent);
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
                inner.link.numsub(Space::Classic, inner.channels.request()),
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
