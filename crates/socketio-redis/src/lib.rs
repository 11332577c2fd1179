//! A Redis cluster adapter for `socketio-server`, wire-compatible with
//! Node's `@socket.io/redis-adapter` 8.x.
//!
//! # Layer
//!
//! Beside `socketio-server`: it implements the server's `Adapter` seam over
//! Redis pub/sub, so Rust and Node servers share rooms, broadcasts and
//! requests. Its encoding layer is pure (no I/O, no tokio) and usable alone,
//! by an emitter say:
//!
//! - [`msgpack`]: MessagePack exactly as the Node side writes it
//!   (notepack.io), and a decoder bounded for the hostile input any
//!   publisher on the cluster can send;
//! - [`packet`]: Socket.IO packets as the packet objects Node puts on
//!   Redis, and the JSON the classic adapter uses for most requests.
//!
//! # What it does not do
//!
//! The encoding layer knows no channels, request types or timeouts, and
//! leaves to the caller what Node drops on its side (keys whose value is
//! `undefined`) and the order of keys in the maps it builds.
//!
//! # Example
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

pub mod msgpack;
pub mod packet;
