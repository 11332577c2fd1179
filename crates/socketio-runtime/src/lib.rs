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
//! - [`ack`]: answering the peer's acks ([`AckSender`]), and waiting for
//!   its answers to ours, each until a deadline ([`Acks`]);
//! - [`relay`]: an event's arguments passed on unchanged;
//! - [`TransportReason`]: the disconnect reasons a connection's end gives;
//! - [`now`]: the clock deadlines are read from, tokio's;
//! - [`lock`]: locks that shrug off poisoning.
//!
//! # Why a crate
//!
//! The glue needs tokio (handlers spawned, waits woken), which
//! `socketio-proto` must not have; and the runtimes are two crates, so a
//! module in one would make the other depend on it. A crate both depend on
//! keeps the packets pure and the glue in one place.
//!
//! # What it does not do
//!
//! No sockets, no Engine.IO connection, and no clock but [`now`]: its types
//! take deadlines and `now` from the timer of the runtime's connection task.
//! It is the runtimes' internals, not meant to be used alone; of its types only
//! [`AckSender`] appears in their API.

pub mod ack;
mod clock;
mod disconnect;
pub mod dispatch;
mod lock;
mod maybe;
pub mod relay;
pub mod rt;

pub use ack::{AckSender, AckSocket, Acks, Answered};
pub use clock::now;
pub use disconnect::TransportReason;
pub use dispatch::{Handlers, ListenerId};
pub use lock::{lock, read, write};
pub use maybe::{MaybeSend, MaybeSync};
