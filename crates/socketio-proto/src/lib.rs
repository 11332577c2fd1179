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
//!
//! # The MessagePack parser (feature `msgpack`)
//!
//! [`Parser`] picks the wire form; both ends of a connection use the same.
//! `Parser::MsgPack` is `socket.io-msgpack-parser` 3.x's (Node:
//! `parser: require("socket.io-msgpack-parser")` on both sides): each packet
//! is one binary message, the packet object `{type, data, nsp, id}`
//! MessagePack-encoded as notepack.io 2.2 writes it, bytes inside it as
//! MessagePack bin, no attachments. [`Packet::encode_msgpack`] (or
//! [`Parser::encode_binary`]) writes it, byte for byte as the npm package;
//! [`Decoder::with_parser`] reads it into the same [`Packet`] the JSON parser
//! gives (payload as JSON, bytes as attachments), so code above this crate
//! does not care which parser is in use. The value codec, [`msgpack`], is
//! the one `socketio-redis` speaks to Node's adapters.
//!
//! ```
//! # #[cfg(feature = "msgpack")] {
//! use bytes::Bytes;
//! use socketio_proto::{Binary, Decoder, DecoderConfig, Packet, Parser};
//!
//! let file = Binary(Bytes::from_static(b"\x89PNG"));
//! let packet = Packet::event("/", "file", &("cat.png", &file))?.with_id(1);
//! let message = packet.encode_msgpack()?;
//! assert_eq!(message.len(), 42); // {type: 2, data: [..], nsp: "/", id: 1}
//!
//! let mut decoder = Decoder::with_parser(DecoderConfig::default(), Parser::MsgPack);
//! decoder.handle_binary(Bytes::from(message))?;
//! let got = decoder.poll_packet().expect("one message, one packet");
//! let (name, data): (String, Binary) = got.event_args()?;
//! assert_eq!((got.event_name(), got.id(), name.as_str(), data), (Some("file"), Some(1), "cat.png", file));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decoding checks what `socket.io-msgpack-parser` checks (a map; `type` an
//! integer 0 to 4; `nsp` a string; `data` absent or an object for CONNECT,
//! absent for DISCONNECT, a string or object for CONNECT_ERROR, an array for
//! EVENT and ACK; `id` absent or an integer), and refuses besides, where the
//! npm package passes the packet on:
//!
//! - what the JSON parser refuses in events: no name (empty array, or a first
//!   element that is no string or number) and reserved names (`connect`, ...);
//! - a namespace not starting with `/`, an ack id that is no `u64`;
//! - an object `{_placeholder: true, ...}`, which readers of the packet would
//!   take for an attachment.
//!
//! MessagePack-only values read as a Node peer sees them, in the terms of
//! `JSON.stringify`: `undefined` (notepack's `fixext 1` type 0) leaves a key
//! out of its object, is `null` in an array, and as the `data` or `id` is
//! none; a `Date` is its ISO string (`null` if invalid); `NaN` and
//! infinities are `null`; integers past 2^53 are the double Node rounds them
//! to; map keys that are not strings are their JavaScript property names
//! (`1` → `"1"`), the last of duplicate keys wins; an `ArrayBuffer`
//! (extension type 0) is bytes; any other extension is `[type, bytes]`. Bytes
//! are [`Binary`] as with the JSON parser, however many (the message is
//! bounded by the transport's limit; [`DecoderConfig`]'s attachment limits
//! are the JSON parser's). Encoding writes object keys in the payload's own
//! order (Node would put integer-like keys first; the object a receiver
//! builds is the same).

// Without `msgpack` the docs link to items that are not there.
#![cfg_attr(not(feature = "msgpack"), allow(rustdoc::broken_intra_doc_links))]

mod ack;

/// The clock ack deadlines are read in: std's `Instant` on native targets,
/// web-time's on wasm32 (the same type as `engineio::Instant`).
#[cfg(not(target_arch = "wasm32"))]
pub use std::time::Instant;
/// The clock ack deadlines are read in: std's `Instant` on native targets,
/// web-time's on wasm32 (the same type as `engineio::Instant`).
#[cfg(target_arch = "wasm32")]
pub use web_time::Instant;
mod binary;
mod decoder;
mod error;
mod json;
#[cfg(feature = "msgpack")]
pub mod msgpack;
#[cfg(feature = "msgpack")]
mod msgpack_parser;
mod namespace;
mod packet;
mod parser;

pub use ack::PendingAcks;
pub use binary::Binary;
pub use decoder::{Decoder, DecoderConfig, TextMessage};
pub use error::{BuildError, DecodeError};
pub use json::Json;
pub use namespace::{ClientNamespaces, NamespaceEvent, NamespaceState};
pub use packet::{Kind, Packet, RESERVED_EVENTS};
pub use parser::Parser;
/// Text known to be UTF-8, as the WebSocket and polling transports deliver
/// it: [`Decoder::handle_text`] and [`Json::from_text`] take it unchecked.
pub use ws_frame::Utf8Bytes;
