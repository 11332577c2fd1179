//! The sharded adapter: `@socket.io/redis-adapter`'s `createShardedAdapter`
//! over Redis 7's sharded pub/sub (`SPUBLISH`, `SSUBSCRIBE`), so Rust and
//! Node servers form one cluster that a Redis Cluster can spread over its
//! shards.
//!
//! Each namespace gets a [`ShardedAdapter`] with its own node id (16 hex
//! digits). It listens on the namespace's main channel and on its own
//! response channel ([`ShardedChannels`]) and, in the dynamic
//! [`SubscriptionMode`]s, on the channel of each room that has a socket of
//! this node, all through the node's one subscriber connection ([`Link`]),
//! so `PUBSUB SHARDNUMSUB` counts each node once per namespace.
//!
//! What the namespace does with other nodes goes out as Node's
//! `ClusterAdapter` writes it ([`crate::cluster_message`]); what other
//! nodes ask comes in through the namespace's [`LocalNamespace`]. Joins,
//! leaves and disconnects are applied here at once and the echo of our own
//! message is ignored, as Node's sharded nodes do.
//!
//! # Rooms and their channels
//!
//! The [`Adapter`] seam has no "room created" event, so the adapter keeps
//! its own count of this node's sockets per room beside the rooms
//! themselves: a room's channel is subscribed when its first socket joins
//! and unsubscribed when its last one leaves. There are as many
//! subscriptions as rooms with a socket here (a socket's own room too, in
//! [`SubscriptionMode::DynamicPrivate`]); rooms are this node's own state,
//! made by the application, so nothing beyond them bounds that number.
//!
//! # Counting and timeouts
//!
//! A request waits for `SHARDNUMSUB - 1` answers (every other node
//! subscribed to the main channel). Fetching sockets and server-side emits
//! with acks wait at most [`ShardedAdapterOptions::requests_timeout`] (or
//! the caller's timeout if shorter: Node waits the `timeout` flag, 5 s by
//! default, and a fixed 5 s) and then fail with [`AdapterError::Timeout`];
//! a server-side emit keeps the answers that came. A broadcast with acks
//! waits the caller's timeout. There are no heartbeats (Node's sharded
//! adapter has none): a node that dies mid-request is noticed by the
//! timeout.
//!
//! Node's cluster protocol has no room listing: [`Adapter::all_rooms`]
//! fetches every socket of the other nodes and gathers their rooms, which
//! costs as much as fetching them.
//!
//! # When Redis is down
//!
//! Broadcasts and other one-way messages are dropped (counted in
//! [`LinkStats`](crate::redis::LinkStats) and logged), requests fail with
//! [`AdapterError::Unavailable`], or with a timeout when Redis went away
//! while they were waiting. When Redis is back the link subscribes every
//! shard channel again by itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use socketio_proto::Packet;
use socketio_server::{
    Adapter, AdapterError, AdapterFactory, BoxFuture, BroadcastOptions, InMemoryAdapter,
    LocalNamespace, RemoteAcks, ServerSideAnswers, SocketData,
};

use crate::cluster_message::{ClusterMessage, MessageBody, ShardedChannels, SubscriptionMode};
use crate::msgpack::{DecodeConfig, Value};
use crate::packet::{packet_to_value, value_to_json, value_to_packet};
use crate::redis::{Link, LinkError, LinkOptions, Receiver, Registration, Space};
use crate::requests::{
    self, Collected, Limits, Relayed, Requests, ack_packet, broadcast_options, event_data,
    event_packet, lock, selection, socket_data_from_value, socket_data_to_value, unavailable,
    wire_broadcast,
};
use crate::wire::WireOptions;

/// Settings of the sharded adapter, with Node's defaults where Node has
/// the setting.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShardedAdapterOptions {
    /// The channel prefix. Default `socket.io`, as Node's `channelPrefix`;
    /// every node of a cluster uses the same.
    pub channel_prefix: String,
    /// Which room channels to listen on. Default
    /// [`SubscriptionMode::Dynamic`], as Node's; every node of a cluster
    /// uses the same.
    pub subscription_mode: SubscriptionMode,
    /// How long fetching sockets (all rooms too) and server-side emits with
    /// acks wait for the other nodes. Default 5 s, Node's fixed timeout.
    pub requests_timeout: Duration,
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

impl ShardedAdapterOptions {
    fn limits(&self) -> Limits {
        Limits {
            requests_timeout: self.requests_timeout,
            max_pending_requests: self.max_pending_requests,
            max_ack_wait: self.max_ack_wait,
            ack_queue: self.ack_queue,
        }
    }
}

impl Default for ShardedAdapterOptions {
    fn default() -> Self {
        ShardedAdapterOptions {
            channel_prefix: "socket.io".to_owned(),
            subscription_mode: SubscriptionMode::default(),
            requests_timeout: Duration::from_secs(5),
            decode: DecodeConfig::default(),
            max_pending_requests: 1024,
            max_ack_wait: Duration::from_secs(60),
            ack_queue: 1024,
        }
    }
}

/// Connects to the Redis at `url` (one [`Link`] with default
/// [`LinkOptions`]; Redis 7 or later) and returns the adapter factory for
/// `ServerOptions::adapter` (`createShardedAdapter` in Node). Call it
/// within a tokio runtime.
pub async fn create_sharded_adapter(
    url: &str,
    options: ShardedAdapterOptions,
) -> Result<AdapterFactory, LinkError> {
    let link = Link::connect(url, LinkOptions::default()).await?;
    Ok(sharded_adapter_factory(&link, options))
}

/// The adapter factory for `ServerOptions::adapter` over an existing
/// link: one [`ShardedAdapter`] per namespace. Use one link per server.
pub fn sharded_adapter_factory(link: &Link, options: ShardedAdapterOptions) -> AdapterFactory {
    let link = link.clone();
    let options = Arc::new(options);
    Arc::new(move |nsp: &str| {
        Arc::new(ShardedAdapter::with_shared_options(
            link.clone(),
            nsp,
            options.clone(),
        ))
    })
}

/// One namespace's adapter: rooms in memory, everything else over Redis's
/// shard channels.
///
/// Subscribes when the namespace [`init`](Adapter::init)s it; unsubscribes
/// on [`close`](Adapter::close) or when dropped.
pub struct ShardedAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ShardedAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedAdapter")
            .field("nsp", &self.inner.nsp)
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Itself, for the registrations of room channels.
    me: Weak<Inner>,
    nsp: String,
    uid: String,
    channels: ShardedChannels,
    /// `<prefix>#<nsp>#<uid>#`.
    own: String,
    options: Arc<ShardedAdapterOptions>,
    limits: Limits,
    link: Link,
    rooms: InMemoryAdapter,
    /// Held while `rooms` changes, so counts and subscriptions follow the
    /// rooms in order.
    membership: Mutex<Membership>,
    local: OnceLock<LocalNamespace>,
    requests: Arc<Mutex<Requests>>,
    /// The main and own channels.
    registration: Mutex<Option<Registration>>,
}

#[derive(Default)]
struct Membership {
    /// This node's sockets in each room.
    counts: HashMap<String, usize>,
    /// The room channels listened on, by room.
    subscriptions: HashMap<String, Registration>,
    /// Between `init` and `close`: rooms get their channels.
    live: bool,
}

impl ShardedAdapter {
    /// The adapter of namespace `nsp` over `link`.
    pub fn new(link: &Link, nsp: &str, options: ShardedAdapterOptions) -> ShardedAdapter {
        ShardedAdapter::with_shared_options(link.clone(), nsp, Arc::new(options))
    }

    fn with_shared_options(
        link: Link,
        nsp: &str,
        options: Arc<ShardedAdapterOptions>,
    ) -> ShardedAdapter {
        let uid = random_id();
        let channels = ShardedChannels::new(&options.channel_prefix, nsp);
        ShardedAdapter {
            inner: Arc::new_cyclic(|me| Inner {
                me: me.clone(),
                nsp: nsp.to_owned(),
                own: channels.node(&uid),
                uid,
                channels,
                limits: options.limits(),
                options,
                link,
                rooms: InMemoryAdapter::default(),
                membership: Mutex::new(Membership::default()),
                local: OnceLock::new(),
                requests: Arc::default(),
                registration: Mutex::new(None),
            }),
        }
    }

    /// The namespace's channels.
    pub fn channels(&self) -> &ShardedChannels {
        &self.inner.channels
    }

    /// The link it talks through.
    pub fn link(&self) -> &Link {
        &self.inner.link
    }

    /// The rooms whose channels it listens on now (none in
    /// [`SubscriptionMode::Static`]).
    pub fn room_subscriptions(&self) -> Vec<String> {
        lock(&self.inner.membership)
            .subscriptions
            .keys()
            .cloned()
            .collect()
    }
}

impl Drop for ShardedAdapter {
    fn drop(&mut self) {
        self.inner.close();
    }
}

/// 16 lowercase hex digits, as Node's `randomBytes(8).toString("hex")`.
fn random_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Inner {
    fn close(&self) {
        let pending = lock(&self.requests).close();
        // Dropping them wakes their waiters, outside the lock.
        drop(pending);
        lock(&self.registration).take();
        let rooms = {
            let mut m = lock(&self.membership);
            m.live = false;
            std::mem::take(&mut m.subscriptions)
        };
        drop(rooms);
    }

    fn subscribe(&self) {
        let mut reg = lock(&self.registration);
        if reg.is_some() || lock(&self.requests).closed {
            return;
        }
        let me: Weak<dyn Receiver> = self.me.clone();
        let channels = vec![self.channels.main().to_owned(), self.own.clone()];
        *reg = Some(self.link.subscribe_shard(me, channels));
        let mut m = lock(&self.membership);
        m.live = true;
        let rooms: Vec<String> = m.counts.keys().cloned().collect();
        for room in rooms {
            self.room_created(&mut m, &room, false);
        }
    }

    /// `room` got its first socket here: listen on its channel if the mode
    /// says so. `socket_id`: it is known to be a socket's own room.
    fn room_created(&self, m: &mut Membership, room: &str, socket_id: bool) {
        if !m.live {
            return;
        }
        let socket_id = socket_id || !self.rooms.socket_rooms(room).is_empty();
        if self.options.subscription_mode.listens_to(room, socket_id) {
            let me: Weak<dyn Receiver> = self.me.clone();
            let reg = self
                .link
                .subscribe_shard(me, vec![self.channels.room(room)]);
            m.subscriptions.insert(room.to_owned(), reg);
        }
    }

    /// One socket fewer in `room`.
    fn left(m: &mut Membership, room: &str) {
        if let Some(n) = m.counts.get_mut(room) {
            *n -= 1;
            if *n == 0 {
                m.counts.remove(room);
                // Dropping the registration unsubscribes.
                m.subscriptions.remove(room);
            }
        }
    }

    /// Publishes a message of this node where its type goes.
    fn publish(&self, body: MessageBody) {
        let msg = self.message(body);
        let channel = self
            .channels
            .for_message(&msg, self.options.subscription_mode);
        self.link
            .publish(Space::Shard, channel, Bytes::from(msg.encode()));
    }

    fn message(&self, body: MessageBody) -> ClusterMessage {
        ClusterMessage {
            uid: self.uid.clone(),
            nsp: self.nsp.clone(),
            body,
        }
    }

    /// Answers node `uid` on its own channel.
    fn respond(&self, uid: &str, body: MessageBody) {
        let msg = self.message(body);
        self.link.publish(
            Space::Shard,
            self.channels.node(uid),
            Bytes::from(msg.encode()),
        );
    }

    /// Asks the other nodes and collects their answers: `SHARDNUMSUB - 1`
    /// of them, within `timeout`. `body` makes the request for an id.
    async fn request(
        self: Arc<Self>,
        body: impl FnOnce(String) -> MessageBody,
        collected: Collected,
        timeout: Duration,
    ) -> Result<Collected, (AdapterError, Collected)> {
        let main = self.channels.main();
        requests::ask(
            &self.requests,
            &self.limits,
            random_id,
            self.link.numsub(Space::Shard, main),
            collected,
            timeout,
            |id| {
                let msg = self.message(body(id));
                self.link.publish_confirmed(
                    Space::Shard,
                    main.to_owned(),
                    Bytes::from(msg.encode()),
                )
            },
        )
        .await
    }

    // ------------------------------------------------------------ inbound

    fn on_message(self: &Arc<Self>, msg: ClusterMessage) {
        let Some(local) = self.local.get() else {
            return;
        };
        let from = msg.uid;
        match msg.body {
            MessageBody::Broadcast {
                packet,
                request_id: None,
                opts,
            } => match value_to_packet(&packet, &self.nsp) {
                Ok(p) => local.broadcast(&p, &broadcast_options(&opts)),
                Err(e) => self
                    .link
                    .malformed(format_args!("broadcast on {}: {e}", self.nsp)),
            },
            MessageBody::Broadcast {
                packet,
                request_id: Some(id),
                opts,
            } => self.on_broadcast_with_ack(local, from, id, &packet, &opts),
            MessageBody::SocketsJoin { opts, rooms } => {
                local.add_sockets(&selection(&opts), &rooms)
            }
            MessageBody::SocketsLeave { opts, rooms } => {
                local.del_sockets(&selection(&opts), &rooms)
            }
            MessageBody::DisconnectSockets { opts, close } => {
                local.disconnect_sockets(&selection(&opts), close)
            }
            MessageBody::FetchSockets { opts, request_id } => {
                let sockets = local.fetch_sockets(&selection(&opts));
                self.respond(
                    &from,
                    MessageBody::FetchSocketsResponse {
                        request_id,
                        sockets: sockets.iter().map(socket_data_to_value).collect(),
                    },
                );
            }
            MessageBody::ServerSideEmit { request_id, data } => {
                let packet = match event_packet(&data, &self.nsp) {
                    Ok(p) => p,
                    Err(e) => {
                        return self
                            .link
                            .malformed(format_args!("server-side emit on {}: {e}", self.nsp));
                    }
                };
                let me = Arc::downgrade(self);
                let answered = request_id.is_some();
                requests::server_side_emit(
                    local,
                    &packet,
                    answered,
                    self.limits.max_ack_wait,
                    move |answer| {
                        if let (Some(me), Some(request_id)) = (me.upgrade(), request_id) {
                            me.respond(
                                &from,
                                MessageBody::ServerSideEmitResponse {
                                    request_id,
                                    packet: Some(answer),
                                },
                            );
                        }
                    },
                );
            }
            // Heartbeats are for adapters that have them; responses were
            // handled before.
            _ => {}
        }
    }

    fn on_broadcast_with_ack(
        self: &Arc<Self>,
        local: &LocalNamespace,
        from: String,
        id: String,
        packet: &Value,
        opts: &WireOptions,
    ) {
        let packet = match value_to_packet(packet, &self.nsp) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("broadcast with acks on {}: {e}", self.nsp));
            }
        };
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
                let request_id = id.clone();
                let body = match relayed {
                    Relayed::ClientCount(client_count) => MessageBody::BroadcastClientCount {
                        request_id,
                        client_count,
                    },
                    Relayed::Ack(packet) => MessageBody::BroadcastAck { request_id, packet },
                };
                me.respond(&from, body);
            },
        );
    }

    fn on_response(&self, msg: ClusterMessage) {
        let mut st = lock(&self.requests);
        match msg.body {
            MessageBody::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                if let Some(w) = st.acks_mut(&request_id) {
                    w.count(client_count);
                }
            }
            MessageBody::BroadcastAck { request_id, packet } => {
                let Some(w) = st.acks_mut(&request_id) else {
                    return;
                };
                match ack_packet(&self.nsp, packet) {
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
                }
            }
            MessageBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => st.answer(&request_id, |collected| match collected {
                Collected::Sockets(list) => {
                    list.extend(sockets.iter().filter_map(socket_data_from_value));
                    true
                }
                _ => false,
            }),
            MessageBody::ServerSideEmitResponse { request_id, packet } => {
                st.answer(&request_id, |collected| match collected {
                    Collected::Answers(list) => {
                        list.push(
                            packet
                                .as_ref()
                                .map_or(serde_json::Value::Null, value_to_json),
                        );
                        true
                    }
                    _ => false,
                })
            }
            _ => {}
        }
    }
}

impl Receiver for Inner {
    fn receive(self: Arc<Self>, channel: &str, payload: Bytes) {
        let msg = match ClusterMessage::decode(&payload, &self.options.decode) {
            Ok(m) => m,
            Err(e) => {
                return self
                    .link
                    .malformed(format_args!("message on {channel}: {e}"));
            }
        };
        // Whatever comes on this node's own channel is an answer to it.
        if channel == self.own {
            return self.on_response(msg);
        }
        // The main and room channels echo this node's own messages.
        if msg.uid == self.uid || msg.nsp != self.nsp {
            return;
        }
        if msg.is_response() {
            self.on_response(msg);
        } else {
            self.on_message(msg);
        }
    }
}

impl Adapter for ShardedAdapter {
    fn add_all(&self, sid: &str, rooms: &[&str]) {
        let inner = &self.inner;
        let mut m = lock(&inner.membership);
        let mut had: HashSet<String> = inner.rooms.socket_rooms(sid).into_iter().collect();
        inner.rooms.add_all(sid, rooms);
        for room in rooms {
            if had.insert((*room).to_owned()) {
                let n = m.counts.entry((*room).to_owned()).or_default();
                *n += 1;
                if *n == 1 {
                    inner.room_created(&mut m, room, *room == sid);
                }
            }
        }
    }

    fn del(&self, sid: &str, room: &str) {
        let inner = &self.inner;
        let mut m = lock(&inner.membership);
        if inner.rooms.socket_rooms(sid).iter().any(|r| r == room) {
            inner.rooms.del(sid, room);
            Inner::left(&mut m, room);
        }
    }

    fn del_all(&self, sid: &str) {
        let inner = &self.inner;
        let mut m = lock(&inner.membership);
        let rooms = inner.rooms.socket_rooms(sid);
        inner.rooms.del_all(sid);
        for room in &rooms {
            Inner::left(&mut m, room);
        }
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
        // No `nsp`: Node's sharded nodes publish the packet before it gets
        // one, and receivers use their own.
        let packet = match packet_to_value(packet, false) {
            Ok(p) => p,
            Err(e) => return inner.link.warn(format_args!("broadcast not sent: {e}")),
        };
        inner.publish(MessageBody::Broadcast {
            packet,
            request_id: None,
            opts: wire_broadcast(opts),
        });
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
        let packet = match packet_to_value(packet, false) {
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
        // Always the main channel: every node counted must answer.
        let msg = inner.message(MessageBody::Broadcast {
            packet,
            request_id: Some(id.clone()),
            opts: wire_opts,
        });
        let bytes = Bytes::from(msg.encode());
        let link = inner.link.clone();
        let main = inner.channels.main().to_owned();
        let sent = async move {
            match tokio::join!(
                link.publish_confirmed(Space::Shard, main.clone(), bytes),
                link.numsub(Space::Shard, &main)
            ) {
                (Ok(()), Ok(n)) => Some(n),
                _ => None,
            }
        };
        requests::wait_for_acks(Arc::downgrade(&inner.requests), id, timeout, sent);
        Some(remote)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.inner.publish(MessageBody::SocketsJoin {
            opts: wire_broadcast(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.inner.publish(MessageBody::SocketsLeave {
            opts: wire_broadcast(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.inner.publish(MessageBody::DisconnectSockets {
            opts: wire_broadcast(opts),
            close,
        });
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        let inner = self.inner.clone();
        let opts = wire_broadcast(opts);
        let timeout = timeout.min(inner.options.requests_timeout);
        Box::pin(async move {
            let body = |request_id| MessageBody::FetchSockets { opts, request_id };
            match inner
                .request(body, Collected::Sockets(Vec::new()), timeout)
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
            Some(data) => self.inner.publish(MessageBody::ServerSideEmit {
                request_id: None,
                data,
            }),
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
            let body = |id| MessageBody::ServerSideEmit {
                request_id: Some(id),
                data,
            };
            inner
                .request(body, Collected::Answers(Vec::new()), timeout)
                .await
                .map(answers)
                .map_err(|(e, c)| (e, answers(c)))
        })
    }

    fn all_rooms(&self, timeout: Duration) -> BoxFuture<Result<HashSet<String>, AdapterError>> {
        let every = self.fetch_sockets(&BroadcastOptions::default(), timeout);
        Box::pin(async move {
            let sockets = every.await?;
            Ok(sockets.into_iter().flat_map(|s| s.rooms).collect())
        })
    }

    fn server_count(&self) -> BoxFuture<usize> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let asked = tokio::time::timeout(
                inner.options.requests_timeout,
                inner.link.numsub(Space::Shard, inner.channels.main()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_hex_digits() {
        let id = random_id();
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(random_id(), random_id());
    }
}
