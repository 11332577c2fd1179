//! Redis cluster adapters for `socketio-server`, wire-compatible with
//! Node's `@socket.io/redis-adapter` 8.x (classic and sharded), and an
//! emitter compatible with `@socket.io/redis-emitter` 5.x.
//!
//! # Layer
//!
//! Beside `socketio-server`: it implements the server's `Adapter` seam over
//! Redis pub/sub, so Rust and Node servers share rooms, broadcasts and
//! requests. Its encoding layer is pure (no I/O, no tokio) and usable alone:
//!
//! - [`msgpack`]: MessagePack exactly as the Node side writes it
//!   (notepack.io), and a decoder bounded for the hostile input any
//!   publisher on the cluster can send;
//! - [`packet`]: Socket.IO packets as the packet objects Node puts on
//!   Redis, and the JSON most requests travel in;
//! - [`wire`]: the classic adapter's channels, broadcasts, requests and
//!   responses, in Node's encodings and key orders;
//! - [`cluster_message`]: the sharded adapter's messages (socket.io-adapter's
//!   `ClusterMessage`), its shard channels and which one a message takes.
//!
//! Over them, on tokio:
//!
//! - [`redis`]: a node's [`Link`](redis::Link) to Redis: one client for
//!   `PUBLISH`, `SPUBLISH` and counting subscribers, one subscriber
//!   connection for every namespace, bounded queues both ways,
//!   subscriptions (shard channels too) restored after Redis comes back;
//! - [`classic`]: the classic adapter (`createAdapter` in Node): one
//!   [`RedisAdapter`](classic::RedisAdapter) per namespace, made by the
//!   factory [`create_adapter`](classic::create_adapter) returns;
//! - [`sharded`]: the sharded adapter (`createShardedAdapter`): one
//!   [`ShardedAdapter`](sharded::ShardedAdapter) per namespace, made by the
//!   factory [`create_sharded_adapter`](sharded::create_sharded_adapter)
//!   returns;
//! - [`emitter`]: an [`Emitter`](emitter::Emitter), for a process with no
//!   Socket.IO server that emits to the clients of a classic cluster.
//!
//! # Which to pick
//!
//! Every server of a cluster uses the same adapter, and with Node's
//! servers, the one they use.
//!
//! - The **classic** adapter works with any Redis (and Redis Cluster,
//!   where every node sees every `PUBLISH`), and is the one an emitter
//!   reaches: take it unless one of the reasons below applies.
//! - The **sharded** adapter needs Redis 7 or later. In a Redis Cluster
//!   each channel lives on one shard, so the traffic spreads over the
//!   shards instead of reaching every node; in its default dynamic mode a
//!   broadcast to one room reaches only the servers with a socket in it.
//!   Take it for a large Redis Cluster or many servers with their own
//!   rooms. It cannot be reached by an emitter (neither Node's nor ours:
//!   `PUBLISH` never reaches shard channels), has no room listing of its
//!   own (all rooms are gathered by fetching every socket), and costs a
//!   subscription per room with a socket on a server.
//! - The **emitter** speaks the classic protocol only, as upstream's.
//!
//! # The Redis client
//!
//! [`fred`] (re-exported, to build clients for
//! [`Link::from_clients`](redis::Link::from_clients)). It subscribes with
//! RESP2 or RESP3 servers alike, resubscribes after a reconnect, and
//! offers `SSUBSCRIBE` on a standalone Redis 7 as well as on a cluster
//! (redis-rs has `SSUBSCRIBE` only on cluster connections, and resubscribes
//! only over RESP3). Its received messages come through a broadcast
//! channel that drops what a slow reader misses; the link drains it at
//! once into its own bounded queue and counts what it has to drop.
//!
//! # What it does not do
//!
//! The encoding layer reads no clock and holds no state, and leaves to the
//! caller what Node drops on its side (keys whose value is `undefined`) and
//! the order of keys in the maps it builds. The adapters have no heartbeats
//! (as Node's): a node that dies mid-request is noticed by the request's
//! timeout. Only notepack's MessagePack is spoken, not a custom `parser`.
//! The sharded adapter does not support connection state recovery, as
//! Node's does not.
//!
//! # Features
//!
//! - `adapter` (default): [`classic`] and [`sharded`], over
//!   `socketio-server`; implies `emitter`.
//! - `emitter`: [`redis`] and [`emitter`], over tokio and fred, without a
//!   Socket.IO server.
//!
//! Without either the crate is the pure encoding layer alone (a fuzz
//! target, a tool reading Redis traffic).
//!
//! # Example
//!
//! A server in a cluster: every server with the same Redis and key shares
//! broadcasts, rooms and requests, Node's servers included.
//!
//! ```no_run
//! # #[cfg(feature = "adapter")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use socketio_redis::classic::{RedisAdapterOptions, create_adapter};
//! use socketio_server::{Server, ServerOptions};
//!
//! let mut options = ServerOptions::default();
//! options.adapter = create_adapter("redis://127.0.0.1:6379", RedisAdapterOptions::default()).await?;
//! let server = Server::bind("127.0.0.1:3000", options).await?;
//! server.of("/").on_connect(|socket| {
//!     socket.join("lobby");
//! });
//! // Reaches the sockets in "lobby" on every server.
//! server.to("lobby").emit("news", &("hello",))?;
//! let everywhere = server.of("/").broadcast().fetch_sockets(Duration::from_secs(5)).await?;
//! # let _ = everywhere; Ok(()) }
//! ```
//!
//! The sharded adapter goes in the same place (Redis 7 or later):
//!
//! ```no_run
//! # #[cfg(feature = "adapter")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_redis::sharded::{ShardedAdapterOptions, create_sharded_adapter};
//! use socketio_server::ServerOptions;
//!
//! let mut options = ServerOptions::default();
//! options.adapter =
//!     create_sharded_adapter("redis://127.0.0.1:6379", ShardedAdapterOptions::default()).await?;
//! # Ok(()) }
//! ```
//!
//! The encoding layer alone:
//!
//! ```
//! use bytes::Bytes;
//! use socketio_proto::{Binary, Packet};
//! use socketio_redis::msgpack::{self, Value};
//! use socketio_redis::packet::{packet_to_value, value_to_packet};
//!
//! // A classic broadcast to room "r1": [uid, packet, opts].
//! let packet = Packet::event("/", "hello", &(Binary(Bytes::from_static(&[1, 2])),))?;
//! let message = Value::Array(vec![
//!     "abc".into(),
//!     packet_to_value(&packet, true)?,
//!     Value::map([
//!         ("rooms", Value::Array(vec!["r1".into()])),
//!         ("except", Value::Array(vec![])),
//!         ("flags", Value::map::<&str>([])),
//!     ]),
//! ]);
//! let bytes = msgpack::to_vec(&message);
//! assert_eq!(bytes.len(), 60);
//!
//! // The receiving side.
//! let received = msgpack::decode(&bytes)?;
//! let packet = value_to_packet(&received.as_array().unwrap()[1], "/")?;
//! assert_eq!(packet.encode(), r#"51-["hello",{"_placeholder":true,"num":0}]"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Without `adapter` the crate docs link to modules that are not there.
#![cfg_attr(not(feature = "adapter"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "adapter")]
pub mod classic;
pub mod cluster_message;
#[cfg(feature = "emitter")]
pub mod emitter;
/// The MessagePack value codec, shared with socketio-proto's MessagePack
/// parser (notepack.io's habits; see there).
pub use socketio_proto::msgpack;
pub mod packet;
// What only the adapters use (subscribing, counting) is idle in an
// emitter-only build.
#[cfg(feature = "emitter")]
#[cfg_attr(not(feature = "adapter"), allow(dead_code))]
pub mod redis;
#[cfg(feature = "adapter")]
mod requests;
#[cfg(feature = "adapter")]
pub mod sharded;
pub mod wire;

#[cfg(feature = "emitter")]
pub use fred;
