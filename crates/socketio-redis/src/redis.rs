//! One node's link to Redis: a client that publishes and asks `PUBSUB
//! NUMSUB` (or `SHARDNUMSUB`), a subscriber connection shared by every
//! namespace (Redis counts subscribers per connection, so one connection
//! makes one node), bounded queues both ways, and subscriptions that come
//! back after Redis does.
//!
//! Adapters register the channels and patterns they listen on with a
//! receiver, and publish through the link: the classic adapter and the
//! emitter with `PUBLISH` on classic channels, the sharded adapter with
//! `SPUBLISH` on shard channels (`SSUBSCRIBE`, Redis 7). The two are apart
//! in Redis, and apart here: a shard channel's messages reach only the
//! receivers of that shard channel, even when a classic channel has the
//! same name. Four tasks run per link:
//!
//! - the *pump* drains fred's message broadcast (which drops what a slow
//!   receiver misses) into the link's own bounded queue at once; what does
//!   not fit is dropped and counted, never buffered without bound;
//! - the *dispatcher* reads that queue and hands each message to the
//!   receivers of its channel, in order of arrival;
//! - the *publisher* sends queued publishes in order, pipelined in batches;
//!   while Redis is unreachable it drops them (counted, logged) rather than
//!   let them pile up;
//! - the *subscription keeper* makes Redis's subscriptions match what the
//!   adapters want, again after every reconnect, retrying failures. Shard
//!   channels are subscribed one per command, in turn: in a Redis Cluster
//!   each may live on another shard, and fred matches a `SSUBSCRIBE`'s
//!   reply only when it is neither pipelined nor for several channels.
//!   In a Redis Cluster, a shard channel whose slot moved to another
//!   shard is subscribed again there: the shard that handed it over drops
//!   its subscribers silently, so the keeper reads the slot map every
//!   [`LinkOptions::cluster_refresh`] and whenever the publisher learns a
//!   new one.
//!
//! The link lives as long as a [`Link`] handle or an adapter made from it;
//! when the last one goes, the tasks end and both connections are closed.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, ClusterInterface, EventInterface, PubsubInterface};
use fred::types::cluster::ClusterRouting;
use fred::types::config::{Config, ReconnectPolicy, Server};
use fred::types::{Builder, MessageKind, Value as RedisValue};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

/// Settings of a [`Link`]. Every queue is bounded; what does not fit is
/// dropped and counted in [`LinkStats`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LinkOptions {
    /// Messages received from Redis and not yet handed to the adapters.
    /// Default 4096: a burst of that many broadcasts waits while the
    /// adapters deliver the ones before it.
    pub inbound_queue: usize,
    /// Publishes not yet sent. Default 4096. While Redis is unreachable
    /// publishes are dropped at once rather than queued.
    pub outbound_queue: usize,
    /// The largest message accepted from Redis, in bytes; larger ones are
    /// dropped before decoding. Default 32 MiB, Redis's own default hard
    /// limit on what a pub/sub client may have pending.
    pub max_message_size: usize,
    /// The capacity of fred's broadcast channel of received messages (its
    /// default, 32, loses messages in a burst before the pump reads them).
    /// Default 4096. Only for links made with [`Link::connect`]: clients
    /// given to [`Link::from_clients`] keep their own setting.
    pub notification_capacity: usize,
    /// How long a Redis command may take (fred's default command timeout)
    /// when the link makes its clients. Default 5 s.
    pub command_timeout: Duration,
    /// How the link's own clients reconnect. Default: forever, every 100
    /// ms at first, backing off to 2 s.
    pub reconnect: ReconnectPolicy,
    /// How long to wait before trying again a subscription Redis refused
    /// or did not confirm. Default 1 s.
    pub retry_delay: Duration,
    /// In a Redis Cluster, how often the slot map is read again. A shard
    /// that hands a slot over drops its subscribers to the slot's shard
    /// channels without a word to the client; this is how soon this node
    /// notices and subscribes again where the slot went, unless it learns
    /// sooner by publishing there. Default 5 s, ioredis's
    /// `slotsRefreshInterval`.
    pub cluster_refresh: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            inbound_queue: 4096,
            outbound_queue: 4096,
            max_message_size: 32 << 20,
            notification_capacity: 4096,
            command_timeout: Duration::from_secs(5),
            reconnect: ReconnectPolicy::new_exponential(0, 100, 2000, 2),
            retry_delay: Duration::from_secs(1),
            cluster_refresh: Duration::from_secs(5),
        }
    }
}

/// Why the link could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Redis or the client said no (connection refused, bad URL, ...).
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// Redis is unreachable now; the link is reconnecting.
    #[error("not connected to Redis")]
    Disconnected,
    /// The outbound queue ([`LinkOptions::outbound_queue`]) is full.
    #[error("the outbound queue is full")]
    QueueFull,
    /// Every handle to the link is gone.
    #[error("the link to Redis is closed")]
    Closed,
    /// Redis answered a command in a shape it does not have.
    #[error("unexpected reply to {0}")]
    UnexpectedReply(&'static str),
}

/// What a link has done, counted since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Messages received from Redis.
    pub received: u64,
    /// Received messages dropped: the inbound queue was full, or fred's
    /// broadcast channel overflowed before the pump read them.
    pub inbound_dropped: u64,
    /// Received messages dropped for being larger than
    /// [`LinkOptions::max_message_size`].
    pub oversized: u64,
    /// Received messages an adapter could not read, and dropped.
    pub malformed: u64,
    /// Messages published.
    pub published: u64,
    /// Publishes dropped: the outbound queue was full, Redis was
    /// unreachable, or the publish failed.
    pub outbound_dropped: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    inbound_dropped: AtomicU64,
    oversized: AtomicU64,
    malformed: AtomicU64,
    published: AtomicU64,
    outbound_dropped: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Warnings on stderr, at most one a second (the rest are counted and
/// reported with the next one): a flood of bad messages costs no I/O.
struct Warnings {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Warnings {
    fn warn(&self, what: fmt::Arguments<'_>) {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| now.duration_since(l) < Duration::from_secs(1)) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        match self.suppressed.swap(0, Ordering::Relaxed) {
            0 => eprintln!("socketio-redis: {what}"),
            n => eprintln!("socketio-redis: {what} ({n} more warnings suppressed)"),
        }
    }
}

/// Receives the messages of the channels it subscribed.
pub(crate) trait Receiver: Send + Sync {
    /// A message on `channel`. Runs on the dispatcher: it must not block.
    fn receive(self: Arc<Self>, channel: &str, payload: Bytes);
}

/// A registration's id and receiver.
type Route = (u64, Weak<dyn Receiver>);

/// Which of Redis's two pub/sub spaces a channel is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Space {
    /// `PUBLISH`, `SUBSCRIBE`, `PSUBSCRIBE`: every node of a Redis Cluster
    /// sees every message.
    Classic,
    /// `SPUBLISH`, `SSUBSCRIBE`: a channel lives on the shard of its slot.
    Shard,
}

/// Who gets which channel: exact channels, shard channels, and channel
/// prefixes standing for patterns (fred reports a pattern message's
/// channel, not its pattern).
#[derive(Default)]
struct Routes {
    next_id: u64,
    exact: HashMap<String, Vec<Route>>,
    shard: HashMap<String, Vec<Route>>,
    prefixes: Vec<(String, u64, Weak<dyn Receiver>)>,
    /// What Redis should be subscribed to, with how many registrations
    /// want each.
    channels: HashMap<String, usize>,
    patterns: HashMap<String, usize>,
    shard_channels: HashMap<String, usize>,
}

impl Routes {
    fn receivers(&self, space: Space, channel: &str) -> Vec<Arc<dyn Receiver>> {
        if space == Space::Shard {
            return self
                .shard
                .get(channel)
                .into_iter()
                .flatten()
                .filter_map(|(_, r)| r.upgrade())
                .collect();
        }
        let exact = self.exact.get(channel).into_iter().flatten();
        let prefixed = self
            .prefixes
            .iter()
            .filter(|(p, _, _)| channel.starts_with(p.as_str()))
            .map(|(_, id, r)| (*id, r.clone()));
        exact
            .cloned()
            .chain(prefixed)
            .filter_map(|(_, r)| r.upgrade())
            .collect()
    }
}

struct Shared {
    publisher: Client,
    subscriber: SubscriberClient,
    outbound: mpsc::Sender<Outbound>,
    routes: Arc<RwLock<Routes>>,
    /// Wakes the subscription keeper: what is wanted changed, or the link
    /// is going away.
    changed: Arc<Notify>,
    counters: Arc<Counters>,
    warnings: Arc<Warnings>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.changed.notify_one();
        let (publisher, subscriber) = (self.publisher.clone(), self.subscriber.clone());
        // Closing the subscriber connection is what tells the other nodes
        // this one is gone (NUMSUB stops counting it).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = subscriber.quit().await;
                let _ = publisher.quit().await;
            });
        }
    }
}

/// One node's link to Redis, shared by the adapters of all its namespaces.
/// Cheap to clone. Make one per server: two servers on one link would be
/// counted as one node.
#[derive(Clone)]
pub struct Link {
    shared: Arc<Shared>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("connected", &self.is_connected())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

enum Outbound {
    Publish {
        space: Space,
        channel: String,
        payload: Bytes,
        /// Told whether Redis took it (requests wait for this; broadcasts
        /// do not).
        done: Option<oneshot::Sender<Result<(), LinkError>>>,
    },
}

impl Link {
    /// Connects to the Redis at `url` (`redis://host:port/db`, with a user
    /// and password if needed; fred's URL forms): a client and a
    /// subscriber connection, both reconnecting by `options.reconnect`.
    /// Fails if Redis cannot be reached now. Call it within a tokio
    /// runtime.
    pub async fn connect(url: &str, options: LinkOptions) -> Result<Link, LinkError> {
        let config = Config::from_url(url)?;
        let mut builder = Builder::from_config(config);
        builder
            .with_performance_config(|p| {
                p.broadcast_channel_capacity = options.notification_capacity;
                p.default_command_timeout = options.command_timeout;
            })
            .set_policy(options.reconnect.clone());
        let publisher = builder.build()?;
        let subscriber = builder.build_subscriber_client()?;
        publisher.init().await?;
        if let Err(e) = subscriber.init().await {
            let _ = publisher.quit().await;
            return Err(e.into());
        }
        Ok(Link::from_clients(publisher, subscriber, options))
    }

    /// A link over clients made by the caller (TLS, a cluster, sentinels,
    /// ...): `publisher` publishes and asks `PUBSUB NUMSUB`, `subscriber`
    /// is this node's only subscriber connection. Give them a reconnect
    /// policy and a large `broadcast_channel_capacity`; they may still be
    /// connecting. The link manages the subscriptions itself: do not call
    /// `manage_subscriptions` on `subscriber`. Call it within a tokio
    /// runtime.
    pub fn from_clients(
        publisher: Client,
        subscriber: SubscriberClient,
        options: LinkOptions,
    ) -> Link {
        let (out_tx, out_rx) = mpsc::channel(options.outbound_queue.max(1));
        let (in_tx, in_rx) = mpsc::channel(options.inbound_queue.max(1));
        let counters = Arc::new(Counters::default());
        let warnings = Arc::new(Warnings {
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        });
        let routes = Arc::new(RwLock::new(Routes::default()));
        let changed = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            publisher: publisher.clone(),
            subscriber: subscriber.clone(),
            outbound: out_tx,
            routes: routes.clone(),
            changed: changed.clone(),
            counters: counters.clone(),
            warnings: warnings.clone(),
        });
        let resharded = [
            publisher.cluster_change_rx(),
            subscriber.cluster_change_rx(),
        ];
        tokio::spawn(pump(
            subscriber.message_rx(),
            in_tx,
            options.max_message_size,
            counters.clone(),
            warnings.clone(),
        ));
        tokio::spawn(dispatch(in_rx, routes));
        tokio::spawn(publish(
            out_rx,
            publisher,
            options.command_timeout,
            counters,
            warnings.clone(),
        ));
        tokio::spawn(keep_subscriptions(
            Arc::downgrade(&shared),
            subscriber.clone(),
            subscriber.reconnect_rx(),
            resharded,
            changed,
            KeeperTiming {
                wait: options.command_timeout,
                retry: options.retry_delay,
                cluster_refresh: options.cluster_refresh,
            },
            warnings,
        ));
        Link { shared }
    }

    /// Whether both connections are up now.
    pub fn is_connected(&self) -> bool {
        self.shared.publisher.is_connected() && self.shared.subscriber.is_connected()
    }

    /// The counters.
    pub fn stats(&self) -> LinkStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LinkStats {
            received: get(&c.received),
            inbound_dropped: get(&c.inbound_dropped),
            oversized: get(&c.oversized),
            malformed: get(&c.malformed),
            published: get(&c.published),
            outbound_dropped: get(&c.outbound_dropped),
        }
    }

    /// Queues a publish (`SPUBLISH` in [`Space::Shard`]); returns whether
    /// it was queued (if not it is dropped, counted and logged).
    pub(crate) fn publish(&self, space: Space, channel: String, payload: Bytes) -> bool {
        self.enqueue(space, channel, payload, None).is_ok()
    }

    /// Publishes, and says whether Redis took the message.
    pub(crate) async fn publish_confirmed(
        &self,
        space: Space,
        channel: String,
        payload: Bytes,
    ) -> Result<(), LinkError> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(space, channel, payload, Some(tx))?;
        rx.await.unwrap_or(Err(LinkError::Closed))
    }

    fn enqueue(
        &self,
        space: Space,
        channel: String,
        payload: Bytes,
        done: Option<oneshot::Sender<Result<(), LinkError>>>,
    ) -> Result<(), LinkError> {
        if !self.shared.publisher.is_connected() {
            self.dropped_publish(format_args!("not connected to Redis"));
            return Err(LinkError::Disconnected);
        }
        let msg = Outbound::Publish {
            space,
            channel,
            payload,
            done,
        };
        self.shared.outbound.try_send(msg).map_err(|e| {
            self.dropped_publish(format_args!("the outbound queue is full"));
            match e {
                mpsc::error::TrySendError::Full(_) => LinkError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => LinkError::Closed,
            }
        })
    }

    fn dropped_publish(&self, why: fmt::Arguments<'_>) {
        Counters::add(&self.shared.counters.outbound_dropped, 1);
        self.shared
            .warnings
            .warn(format_args!("publish dropped: {why}"));
    }

    /// How many connections are subscribed to `channel` (`PUBSUB NUMSUB`,
    /// or `PUBSUB SHARDNUMSUB` in [`Space::Shard`]), this node's included
    /// when it is. In a Redis Cluster each node counts only its own
    /// clients, so every primary is asked and the counts are added up, as
    /// Node's adapter does.
    pub(crate) async fn numsub(&self, space: Space, channel: &str) -> Result<usize, LinkError> {
        let client = &self.shared.publisher;
        if !client.is_connected() {
            return Err(LinkError::Disconnected);
        }
        if !client.is_clustered() {
            return numsub_count(space, count_on(client, space, channel).await?);
        }
        let primaries = client
            .cached_cluster_state()
            .map(|state| state.unique_primary_nodes())
            .unwrap_or_default();
        if primaries.is_empty() {
            return Err(LinkError::Disconnected);
        }
        let mut total = 0;
        for node in primaries {
            let node = client.with_cluster_node(node);
            total += numsub_count(space, count_on(&node, space, channel).await?)?;
        }
        Ok(total)
    }

    /// Registers `receiver` for `channels` and for the channels starting
    /// with each prefix of `patterns` (`(glob pattern, literal prefix it
    /// stands for)`), and subscribes Redis to them. Dropping the returned
    /// registration undoes it.
    pub(crate) fn subscribe(
        &self,
        receiver: Weak<dyn Receiver>,
        channels: Vec<String>,
        patterns: Vec<(String, String)>,
    ) -> Registration {
        self.register(receiver, channels, patterns, Vec::new())
    }

    /// Registers `receiver` for the shard channels `channels`
    /// (`SSUBSCRIBE`), and subscribes Redis to them. Dropping the returned
    /// registration undoes it.
    pub(crate) fn subscribe_shard(
        &self,
        receiver: Weak<dyn Receiver>,
        channels: Vec<String>,
    ) -> Registration {
        self.register(receiver, Vec::new(), Vec::new(), channels)
    }

    fn register(
        &self,
        receiver: Weak<dyn Receiver>,
        channels: Vec<String>,
        patterns: Vec<(String, String)>,
        shard_channels: Vec<String>,
    ) -> Registration {
        let mut routes = self
            .shared
            .routes
            .write()
            .unwrap_or_else(|p| p.into_inner());
        routes.next_id += 1;
        let id = routes.next_id;
        for c in &channels {
            routes
                .exact
                .entry(c.clone())
                .or_default()
                .push((id, receiver.clone()));
            *routes.channels.entry(c.clone()).or_default() += 1;
        }
        for (pattern, prefix) in &patterns {
            routes.prefixes.push((prefix.clone(), id, receiver.clone()));
            *routes.patterns.entry(pattern.clone()).or_default() += 1;
        }
        for c in &shard_channels {
            routes
                .shard
                .entry(c.clone())
                .or_default()
                .push((id, receiver.clone()));
            *routes.shard_channels.entry(c.clone()).or_default() += 1;
        }
        drop(routes);
        self.shared.changed.notify_one();
        Registration {
            link: self.clone(),
            id,
            channels,
            patterns: patterns.into_iter().map(|(p, _)| p).collect(),
            shard_channels,
        }
    }

    /// Counts a message an adapter could not read, and says why (at most
    /// once a second).
    pub(crate) fn malformed(&self, why: fmt::Arguments<'_>) {
        Counters::add(&self.shared.counters.malformed, 1);
        self.shared
            .warnings
            .warn(format_args!("message dropped: {why}"));
    }

    /// Logs a problem (at most once a second).
    pub(crate) fn warn(&self, what: fmt::Arguments<'_>) {
        self.shared.warnings.warn(what);
    }
}

/// `PUBSUB NUMSUB channel` or `PUBSUB SHARDNUMSUB channel` on `client`.
async fn count_on(
    client: &impl PubsubInterface,
    space: Space,
    channel: &str,
) -> Result<RedisValue, fred::error::Error> {
    match space {
        Space::Classic => client.pubsub_numsub(channel).await,
        Space::Shard => client.pubsub_shardnumsub(channel).await,
    }
}

/// The count in a `PUBSUB NUMSUB` (or `SHARDNUMSUB`) reply for one
/// channel: `[channel, count]` in RESP2, `{channel: count}` in RESP3.
fn numsub_count(space: Space, reply: RedisValue) -> Result<usize, LinkError> {
    let count = match reply {
        RedisValue::Array(items) => items.get(1).and_then(RedisValue::as_u64),
        RedisValue::Map(map) => map.inner().into_values().next().and_then(|v| v.as_u64()),
        _ => None,
    };
    count
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(LinkError::UnexpectedReply(match space {
            Space::Classic => "PUBSUB NUMSUB",
            Space::Shard => "PUBSUB SHARDNUMSUB",
        }))
}

/// A receiver's channels, subscribed until dropped.
pub(crate) struct Registration {
    link: Link,
    id: u64,
    channels: Vec<String>,
    patterns: Vec<String>,
    shard_channels: Vec<String>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let shared = &self.link.shared;
        let mut routes = shared.routes.write().unwrap_or_else(|p| p.into_inner());
        let id = self.id;
        for c in &self.channels {
            if let Some(list) = routes.exact.get_mut(c) {
                list.retain(|(i, _)| *i != id);
                if list.is_empty() {
                    routes.exact.remove(c);
                }
            }
            release(&mut routes.channels, c);
        }
        routes.prefixes.retain(|(_, i, _)| *i != id);
        for p in &self.patterns {
            release(&mut routes.patterns, p);
        }
        for c in &self.shard_channels {
            if let Some(list) = routes.shard.get_mut(c) {
                list.retain(|(i, _)| *i != id);
                if list.is_empty() {
                    routes.shard.remove(c);
                }
            }
            release(&mut routes.shard_channels, c);
        }
        drop(routes);
        shared.changed.notify_one();
    }
}

fn release(wanted: &mut HashMap<String, usize>, name: &str) {
    if let Some(n) = wanted.get_mut(name) {
        *n -= 1;
        if *n == 0 {
            wanted.remove(name);
        }
    }
}

/// Moves fred's received messages into the bounded inbound queue at once.
async fn pump(
    mut rx: broadcast::Receiver<fred::types::Message>,
    queue: mpsc::Sender<(Space, String, Bytes)>,
    max_size: usize,
    counters: Arc<Counters>,
    warnings: Arc<Warnings>,
) {
    loop {
        let msg = match rx.recv().await {
            Ok(m) => m,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                Counters::add(&counters.inbound_dropped, n);
                warnings.warn(format_args!(
                    "{n} received messages lost: fred's channel overflowed"
                ));
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        Counters::add(&counters.received, 1);
        // Binary payloads arrive as bytes, valid UTF-8 as a string: the
        // same bytes either way.
        let Some(payload) = msg.value.into_bytes() else {
            Counters::add(&counters.malformed, 1);
            continue;
        };
        if payload.len() > max_size {
            Counters::add(&counters.oversized, 1);
            warnings.warn(format_args!(
                "message of {} bytes on {} dropped: larger than {max_size}",
                payload.len(),
                &*msg.channel
            ));
            continue;
        }
        let space = match msg.kind {
            MessageKind::SMessage => Space::Shard,
            _ => Space::Classic,
        };
        if queue
            .try_send((space, msg.channel.to_string(), payload))
            .is_err()
        {
            Counters::add(&counters.inbound_dropped, 1);
            warnings.warn(format_args!(
                "received message dropped: the inbound queue is full"
            ));
        }
    }
}

/// Hands each received message to the receivers of its channel.
async fn dispatch(mut queue: mpsc::Receiver<(Space, String, Bytes)>, routes: Arc<RwLock<Routes>>) {
    while let Some((space, channel, payload)) = queue.recv().await {
        let receivers = routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .receivers(space, &channel);
        for r in receivers {
            r.receive(&channel, payload.clone());
        }
    }
}

/// The most publishes sent in one pipeline.
const PUBLISH_BATCH: usize = 128;

/// Sends queued publishes, in order, a pipeline per batch.
async fn publish(
    mut queue: mpsc::Receiver<Outbound>,
    client: Client,
    wait: Duration,
    counters: Arc<Counters>,
    warnings: Arc<Warnings>,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        if !client.is_connected() {
            let n = batch.len() as u64;
            Counters::add(&counters.outbound_dropped, n);
            warnings.warn(format_args!(
                "{n} publishes dropped: not connected to Redis"
            ));
            for Outbound::Publish { done, .. } in batch.drain(..) {
                if let Some(done) = done {
                    let _ = done.send(Err(LinkError::Disconnected));
                }
            }
            continue;
        }
        let pipeline = client.pipeline();
        let mut waiting = Vec::with_capacity(batch.len());
        for Outbound::Publish {
            space,
            channel,
            payload,
            done,
        } in batch.drain(..)
        {
            // Queued in memory: this does not wait for Redis.
            let queued: Result<(), _> = match space {
                Space::Classic => pipeline.publish(channel, payload).await,
                Space::Shard => pipeline.spublish(channel, payload).await,
            };
            waiting.push((queued, done));
        }
        // Bounded even for clients made without a command timeout: a batch
        // stuck on a dead connection must not hold up the queue for long.
        let mut results = tokio::time::timeout(wait, pipeline.try_all::<RedisValue>())
            .await
            .unwrap_or_default()
            .into_iter();
        for (queued, done) in waiting {
            let result = match queued {
                Ok(()) => results
                    .next()
                    .unwrap_or(Err(fred::error::Error::new(
                        fred::error::ErrorKind::Unknown,
                        "no reply",
                    )))
                    .map(drop),
                Err(e) => Err(e),
            };
            match &result {
                Ok(()) => Counters::add(&counters.published, 1),
                Err(e) => {
                    Counters::add(&counters.outbound_dropped, 1);
                    warnings.warn(format_args!("publish failed: {e}"));
                }
            }
            if let Some(done) = done {
                let _ = done.send(result.map_err(LinkError::from));
            }
        }
    }
}

/// How the subscription keeper waits.
struct KeeperTiming {
    /// For one command.
    wait: Duration,
    /// Before trying again what failed.
    retry: Duration,
    /// Between two readings of a Redis Cluster's slot map.
    cluster_refresh: Duration,
}

/// Makes Redis's subscriptions on `subscriber` match the wanted ones: now,
/// after every change, after every reconnect (Redis forgot them all), after
/// a shard channel's slot moved, and `retry` after a failure.
async fn keep_subscriptions(
    link: Weak<Shared>,
    subscriber: SubscriberClient,
    mut reconnects: broadcast::Receiver<Server>,
    resharded: [ClusterChanges; 2],
    changed: Arc<Notify>,
    timing: KeeperTiming,
    warnings: Arc<Warnings>,
) {
    let KeeperTiming {
        wait,
        retry,
        cluster_refresh,
    } = timing;
    let mut channels: HashSet<String> = HashSet::new();
    let mut patterns: HashSet<String> = HashSet::new();
    // Each shard channel with the primary its slot was on when subscribed
    // (none outside a Redis Cluster).
    let mut shard_channels: HashMap<String, Option<Server>> = HashMap::new();
    let [by_publisher, by_subscriber] = resharded;
    let (mut by_publisher, mut by_subscriber) = (Some(by_publisher), Some(by_subscriber));
    let mut refresh = tokio::time::interval(cluster_refresh.max(Duration::from_millis(1)));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(shared) = link.upgrade() else {
            return;
        };
        let (want_channels, want_patterns, want_shard) = {
            let routes = shared.routes.read().unwrap_or_else(|p| p.into_inner());
            let keys = |m: &HashMap<String, usize>| m.keys().cloned().collect::<HashSet<_>>();
            (
                keys(&routes.channels),
                keys(&routes.patterns),
                keys(&routes.shard_channels),
            )
        };
        drop(shared);
        // Each command bounded, even for clients made without a command
        // timeout; a failure is tried again after `retry`.
        let mut failed = false;
        // The broadcast pattern first: the request channel is what other
        // nodes count (NUMSUB), so a node is counted only once it hears
        // broadcasts too, as Node's adapter orders them.
        let add: Vec<String> = want_patterns.difference(&patterns).cloned().collect();
        if !add.is_empty() {
            match bounded(wait, subscriber.psubscribe(add.clone())).await {
                Ok(()) => patterns.extend(add),
                Err(e) => {
                    failed = true;
                    warnings.warn(format_args!("PSUBSCRIBE failed: {e}"));
                }
            }
        }
        let add: Vec<String> = want_channels.difference(&channels).cloned().collect();
        if !add.is_empty() {
            match bounded(wait, subscriber.subscribe(add.clone())).await {
                Ok(()) => channels.extend(add),
                Err(e) => {
                    failed = true;
                    warnings.warn(format_args!("SUBSCRIBE failed: {e}"));
                }
            }
        }
        let remove: Vec<String> = channels.difference(&want_channels).cloned().collect();
        if !remove.is_empty() {
            match bounded(wait, subscriber.unsubscribe(remove.clone())).await {
                Ok(()) => remove.iter().for_each(|c| {
                    channels.remove(c);
                }),
                Err(_) => failed = true,
            }
        }
        let remove: Vec<String> = patterns.difference(&want_patterns).cloned().collect();
        if !remove.is_empty() {
            match bounded(wait, subscriber.punsubscribe(remove.clone())).await {
                Ok(()) => remove.iter().for_each(|p| {
                    patterns.remove(p);
                }),
                Err(_) => failed = true,
            }
        }
        // One shard channel per command, in turn (see the module docs);
        // the first failure ends the round: Redis is likely gone, and each
        // further try would wait its whole timeout.
        let add: Vec<String> = want_shard
            .iter()
            .filter(|c| !shard_channels.contains_key(*c))
            .cloned()
            .collect();
        for c in add {
            match bounded(wait, subscriber.ssubscribe(c.clone())).await {
                Ok(()) => {
                    let owner = slot_owner(subscriber.cached_cluster_state().as_ref(), &c);
                    shard_channels.insert(c, owner);
                }
                Err(e) => {
                    failed = true;
                    warnings.warn(format_args!("SSUBSCRIBE failed: {e}"));
                    break;
                }
            }
        }
        let remove: Vec<String> = shard_channels
            .keys()
            .filter(|c| !want_shard.contains(*c))
            .cloned()
            .collect();
        for c in remove {
            match bounded(wait, subscriber.sunsubscribe(c.clone())).await {
                Ok(()) => {
                    shard_channels.remove(&c);
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let delay = async {
            if failed {
                tokio::time::sleep(retry).await
            } else {
                std::future::pending().await
            }
        };
        // A shard that hands a slot over drops its subscribers to the
        // slot's channels with a `sunsubscribe` of its own, which fred does
        // not pass on. So the slot map is read again now and then, and
        // whenever the publisher learns a new one (a MOVED reply); the
        // subscriber's own news is only compared (reading the map makes
        // news).
        let mut read_map = false;
        let mut compare = false;
        tokio::select! {
            () = changed.notified() => {}
            r = reconnects.recv() => match r {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    channels.clear();
                    patterns.clear();
                    shard_channels.clear();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = cluster_changed(&mut by_publisher) => read_map = true,
            _ = refresh.tick(), if subscriber.is_clustered() => read_map = true,
            () = cluster_changed(&mut by_subscriber) => compare = true,
            () = delay => {}
        }
        if read_map {
            if let Err(e) = bounded(wait, subscriber.sync_cluster()).await {
                warnings.warn(format_args!("reading the cluster's slots failed: {e}"));
            }
        }
        if read_map || compare {
            // A channel whose slot moved is subscribed again where it went.
            let state = subscriber.cached_cluster_state();
            shard_channels.retain(|c, owner| slot_owner(state.as_ref(), c) == *owner);
        }
    }
}

/// The primary holding the slot of shard channel `channel`.
fn slot_owner(state: Option<&ClusterRouting>, channel: &str) -> Option<Server> {
    state?
        .get_server(ClusterRouting::hash_key(channel.as_bytes()))
        .cloned()
}

/// A client's reports of a changed Redis Cluster slot map.
type ClusterChanges = broadcast::Receiver<Vec<fred::types::ClusterStateChange>>;

/// The next report on `changes`; never, once its client is gone.
async fn cluster_changed(changes: &mut Option<ClusterChanges>) {
    loop {
        let Some(rx) = changes else {
            return std::future::pending().await;
        };
        match rx.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => *changes = None,
        }
    }
}

/// `command`, failing with a timeout after `wait`.
async fn bounded(
    wait: Duration,
    command: impl std::future::Future<Output = Result<(), fred::error::Error>>,
) -> Result<(), fred::error::Error> {
    tokio::time::timeout(wait, command)
        .await
        .unwrap_or_else(|_| {
            Err(fred::error::Error::new(
                fred::error::ErrorKind::Timeout,
                "no reply in time",
            ))
        })
}
