//! Socket.IO v5 packets, sans-IO.
//!
//! # Layer
//!
//! The Socket.IO layer of the stack, above Engine.IO and below the
//! `socketio-server` and `socketio-client` runtimes. It turns Engine.IO
//! messages into Socket.IO packets and back, exactly as the official
//! `socket.io-parser` 4.x does:
//!
//! - [`Packet`]: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, and the
//!   binary forms of EVENT and ACK, with namespaces and ack ids;
//! - [`Decoder`]: text packets and the binary attachments that follow them,
//!   with limits on their count and size;
//! - [`Binary`]: bytes anywhere inside a payload, split out as attachments
//!   and put back, through serde;
//! - [`PendingAcks`]: ack ids and deadlines; [`ClientNamespaces`]: which
//!   namespaces a client joined and rejoins after a reconnect.
//!
//! Payloads stay raw JSON ([`Json`]) until asked for as a typed value: a
//! decoded payload is a slice of the message it came in, checked in one pass.
//!
//! # What it does not do
//!
//! No transport, no Engine.IO framing, no timers (deadlines come in as
//! `now`), no event dispatch: that is the runtimes' work.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use socketio_proto::{Binary, Decoder, Kind, Packet};
//!
//! // Encode an event with an ack id and a binary argument.
//! let file = Binary(Bytes::from_static(b"\x89PNG"));
//! let packet = Packet::event("/uploads", "file", &("cat.png", &file))?.with_id(12);
//! let text = packet.encode();
//! assert_eq!(text, r#"51-/uploads,12["file","cat.png",{"_placeholder":true,"num":0}]"#);
//!
//! // Decode it as the peer would: the text, then each attachment.
//! let mut decoder = Decoder::default();
//! decoder.handle_text(text)?;
//! for attachment in packet.attachments() {
//!     decoder.handle_binary(attachment.clone())?;
//! }
//! let got = decoder.poll_packet().expect("complete");
//! assert_eq!((got.kind(), got.event_name(), got.id()), (Kind::Event, Some("file"), Some(12)));
//! let (name, data): (String, Binary) = got.event_args()?;
//! assert_eq!((name.as_str(), data), ("cat.png", file));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ack;
mod binary;
mod decoder;
mod error;
mod json;
mod namespace;
mod packet;

pub use ack::PendingAcks;
pub use binary::Binary;
pub use decoder::{Decoder, DecoderConfig, TextMessage};
pub use error::{BuildError, DecodeError};
pub use json::Json;
pub use namespace::{ClientNamespaces, NamespaceEvent, NamespaceState};
pub use packet::{Kind, Packet, RESERVED_EVENTS};
/// Text known to be UTF-8, as the WebSocket and polling transports deliver
/// it: [`Decoder::handle_text`] and [`Json::from_text`] take it unchecked.
pub use ws_frame::Utf8Bytes;
