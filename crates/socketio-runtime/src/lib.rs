//! The tokio glue the Socket.IO server and client share.
//!
//! # Layer
//!
//! Between [`socketio_proto`] (pure packets) and the two runtimes,
//! `socketio-server` and `socketio-client`: what both do alike with a
//! decoded packet, written once for both.
//!
//! - [`dispatch`]: Engine.IO messages into the decoder, a socket's event
//!   handlers (typed, raw, catch-all), and running a handler where it was
//!   called;
//! - [`ack`]: answering the peer's acks ([`AckSender`]);
//! - [`relay`]: an event's arguments passed on unchanged;
//! - [`TransportReason`]: the disconnect reasons a connection's end gives;
//! - [`lock`]: locks that shrug off poisoning.
//!
//! # Why a crate
//!
//! The glue needs tokio (handlers spawned), which `socketio-proto` must not
//! have; and the runtimes are two crates, so a module in one would make the
//! other depend on it. A crate both depend on keeps the packets pure and
//! the glue in one place.
//!
//! # What it does not do
//!
//! No sockets, no Engine.IO connection, no clock. It is the runtimes'
//! internals, not meant to be used alone; its types appear in their API
//! only as [`AckSender`].

pub mod ack;
mod disconnect;
pub mod dispatch;
mod lock;
pub mod relay;

pub use ack::{AckSender, AckSocket};
pub use disconnect::TransportReason;
pub use dispatch::Handlers;
pub use lock::{lock, read, write};
