//! Engine.IO v4, sans-IO.
//!
//! # Layer
//!
//! Between WebSocket ([`ws_frame`]) and Socket.IO (`socketio-proto`): the
//! Engine.IO session a Socket.IO connection rides on, usable alone.
//!
//! - [`Packet`]: open, close, ping, pong, message (text or binary), upgrade,
//!   noop; the text form and the WebSocket form;
//! - [`payload`]: the HTTP long-polling payload, records separated by `\x1e`,
//!   binary as `b` + base64, with a limit on the packet count;
//! - [`ServerSession`]: one session on the server, as a state machine:
//!   handshake, heartbeat, polling, the upgrade to WebSocket, close.
//!
//! # What it does not do
//!
//! No sockets, no HTTP, no clock. The tokio transports (HTTP long-polling
//! and WebSocket, server and client) build on this core.
//!
//! # Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use engineio::{Packet, payload};
//!
//! let body = Bytes::from_static(b"4hello\x1ebAQIDBA==");
//! let packets = payload::decode(body, 64)?;
//! assert_eq!(packets, [Packet::text("hello"), Packet::binary(vec![1u8, 2, 3, 4])]);
//!
//! let mut out = BytesMut::new();
//! payload::encode(&[Packet::text("bye"), Packet::Noop], &mut out);
//! assert_eq!(&out[..], b"4bye\x1e6");
//! # Ok::<(), engineio::DecodeError>(())
//! ```

mod error;
mod packet;
pub mod payload;
mod server;

pub use error::DecodeError;
pub use packet::{Handshake, Packet, Payload};
pub use server::{CloseReason, Event, RequestError, ServerConfig, ServerSession, Transport};
