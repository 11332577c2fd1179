//! RFC 6455 WebSocket, sans-IO.
//!
//! # Layer
//!
//! The bottom of the stack: `engineio` and the Socket.IO runtimes build on it,
//! and it stands alone for anyone who brings their own I/O. The core reads no
//! socket, no clock and no global RNG:
//!
//! - [`frame`]: the frame header codec, every length form and header rule;
//! - [`mask`]: payload masking, a fast path and the scalar reference;
//! - [`Connection`]: one end (client or server) of an open connection:
//!   reassembly, incremental UTF-8 validation, automatic pong, the close
//!   handshake, limits. Bytes go in with `handle_read`, messages and bytes to
//!   write come out of `poll_message` and `poll_transmit`;
//! - [`handshake`]: the opening handshake for both roles (httparse, sha1,
//!   base64), with hooks for Origin and header checks.
//!
//! With the `tokio` feature (on by default), [`WebSocketStream`] drives a
//! `Connection` over any `AsyncRead + AsyncWrite` as a futures `Stream` and
//! `Sink`, and [`accept`] / [`connect`] run the handshake on it;
//! [`connect_url`] dials the URL's host itself first.
//!
//! # TLS
//!
//! With the `tls` feature, [`connect_url`] speaks `wss://` through rustls
//! (ring): the server's certificate is checked against the webpki roots, or
//! only against the roots of [`ConnectOptions::tls`] (a private CA, say),
//! for the URL's host. Without it, a `wss://` URL fails with
//! [`Error::TlsNotEnabled`]. The [`tls`] module also builds a server's
//! rustls configuration from PEM files; a server hands [`accept`] the
//! stream its TLS acceptor made.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn run() -> Result<(), ws_frame::Error> {
//! use futures_util::SinkExt;
//! use ws_frame::tls::ClientTls;
//! use ws_frame::{ConnectOptions, Message};
//!
//! // A public server: the webpki roots.
//! let (mut ws, _) = ws_frame::connect_url("wss://example.com/chat", &ConnectOptions::default()).await?;
//! ws.send(Message::text("hello")).await?;
//!
//! // A private CA: only its certificates are trusted.
//! let mut options = ConnectOptions::default();
//! options.tls = Some(ClientTls::with_root_pem(&std::fs::read("ca.pem")?)?);
//! let (ws, _) = ws_frame::connect_url("wss://127.0.0.1:8443/chat", &options).await?;
//! # Ok(()) }
//! ```
//!
//! # In the browser
//!
//! On `wasm32-unknown-unknown` with the `browser` feature (`tokio` gives
//! only the pure core there), [`connect_url`] opens the WebSocket through the
//! browser's own `WebSocket` (binary as `ArrayBuffer`; the browser does the
//! framing) and gives a [`BrowserWebSocket`]: the same futures `Stream` of
//! [`Message`] and `Sink<Message>`, the same close codes and reasons, and
//! connect failures and close events surfacing as errors and `None` as
//! they do natively. So code written against `ws_frame` runs in both places:
//!
//! ```toml
//! [target.'cfg(target_arch = "wasm32")'.dependencies]
//! realtime-ws-frame = { version = "0.1", default-features = false, features = ["browser"] }
//! ```
//!
//! The browser has no receive backpressure, so received messages wait in a
//! buffer bounded in count and bytes (the connection is closed with 1008
//! past it, and a message over [`Config::max_message_size`] with 1009), and
//! sending waits while the browser's `bufferedAmount` is past
//! [`Config::write_buffer_mark`]. The [`browser`] module says what else
//! differs (pings are the browser's, no custom headers, close codes 1000
//! and 3000-4999 only). On other targets the feature adds nothing. Its tests
//! (`tests/browser.rs`) run in headless Chromium through the workspace's
//! `tests/wasm` harness.
//!
//! # What it does not do
//!
//! No HTTP server or router (hand it a stream after your own routing), no
//! TLS in the core (hand it a TLS stream, or use the `tls` feature), and no
//! extension but permessage-deflate (behind the `deflate` feature): any
//! other RSV bit is a protocol error, and so is RSV1 unless deflate was
//! negotiated.
//!
//! # permessage-deflate
//!
//! With the `deflate` feature (off by default) and [`Config::deflate`] set,
//! [`connect_with`] (and [`connect_url`] through
//! [`ConnectOptions::config`]) offers and [`accept_with`] accepts
//! permessage-deflate (RFC 7692),
//! with the pure parts in [`deflate`] and [`handshake`]:
//! [`UpgradeRequest::accept_deflate`](handshake::UpgradeRequest::accept_deflate)
//! picks the first offer it can honour, [`ClientRequest::deflate`](handshake::ClientRequest::deflate)
//! offers and [`ClientRequest::deflate_response`](handshake::ClientRequest::deflate_response)
//! checks the answer, and [`Connection::with_deflate`] turns it on.
//! Messages of at least [`DeflateConfig::threshold`] (1024 bytes, as Node's
//! `ws`) go out compressed, unless sent with
//! [`Connection::send_uncompressed`]. Received messages are inflated in
//! chunks and bounded by [`Config::max_message_size`] on their inflated
//! size: a decompression bomb is closed with 1009 after at most that many
//! bytes. Pre-encoded frames ([`EncodedFrame`]) are compressed per
//! connection when they reach the threshold, since each connection has its
//! own compression context.
//!
//! | feature | default | what |
//! |---|---|---|
//! | `tokio` | on | [`WebSocketStream`], [`accept`], [`connect`], [`connect_url`] |
//! | `deflate` | off | permessage-deflate: [`deflate`], [`Config::deflate`] (flate2 on zlib-rs, pure Rust) |
//! | `tls` | off | `wss://` in [`connect_url`], the [`tls`] module (rustls, ring) |
//! | `browser` | off | on wasm32 only: [`connect_url`] and [`BrowserWebSocket`] over the browser's WebSocket (wasm-bindgen, web-sys) |
//!
//! Memory per connection with deflate: see the [`deflate`] module.
//!
//! # Limits
//!
//! Nothing a peer sends may make us allocate without bound or wait forever.
//! Each limit is a field of a `Default` config, documented there with its
//! default and why:
//!
//! - [`Config::max_frame_size`] and [`Config::max_message_size`] bound what
//!   is buffered of a received message (close code 1009 past them);
//! - [`Config::write_buffer_mark`] bounds what we owe the peer: past it the
//!   core answers only the latest ping, and [`WebSocketStream`] stops reading
//!   from a peer that does not read what it is sent;
//! - [`HandshakeConfig::max_head_size`](handshake::HandshakeConfig::max_head_size)
//!   and [`max_headers`](handshake::HandshakeConfig::max_headers) bound the
//!   opening handshake's head (431 past them), and
//!   [`timeout`](handshake::HandshakeConfig::timeout) its duration in
//!   [`accept`] and [`connect`] (408 to a head still arriving).
//!
//! # Example
//!
//! Two in-memory peers, no I/O:
//!
//! ```
//! use bytes::BytesMut;
//! use ws_frame::{Config, Connection, Message};
//!
//! let mut client = Connection::client(Config::default(), || [0x12, 0x34, 0x56, 0x78]);
//! let mut server = Connection::server(Config::default());
//!
//! client.send(Message::text("hello")).unwrap();
//! let mut wire = BytesMut::new();
//! while let Some(chunk) = client.poll_transmit() {
//!     wire.extend_from_slice(&chunk);
//! }
//! server.handle_read(&mut wire).unwrap();
//! assert_eq!(server.poll_message(), Some(Message::text("hello")));
//!
//! // A ping is answered by the core itself: the pong waits in poll_transmit.
//! client.send(Message::Ping("?".into())).unwrap();
//! while let Some(chunk) = client.poll_transmit() {
//!     wire.extend_from_slice(&chunk);
//! }
//! server.handle_read(&mut wire).unwrap();
//! assert_eq!(server.poll_message(), Some(Message::Ping("?".into())));
//! assert_eq!(&server.poll_transmit().unwrap()[..], b"\x8a\x01?");
//! ```

// The crate docs link to the tokio adapters, the TLS module and the
// browser client; without their features (and, for the browser client,
// off wasm32) those links have nothing to point at.
#![cfg_attr(
    not(all(
        feature = "tls",
        feature = "deflate",
        feature = "browser",
        target_arch = "wasm32"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
pub mod browser;
pub mod frame;
pub mod handshake;
pub mod mask;

mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
#[cfg(all(feature = "tokio", not(target_arch = "wasm32")))]
mod dial;
mod error;
mod message;
#[cfg(all(feature = "tokio", not(target_arch = "wasm32")))]
mod stream;
#[cfg(all(feature = "tls", not(target_arch = "wasm32")))]
pub mod tls;
mod utf8;

pub use connection::{Config, Connection, EncodedFrame, MaskKeys, Role, State};
#[cfg(feature = "deflate")]
pub use deflate::{DeflateConfig, DeflateParams};
#[cfg(all(feature = "tokio", not(target_arch = "wasm32")))]
pub use dial::{ConnectOptions, MaybeTlsStream, connect_request, connect_url};
pub use error::{Error, HandshakeError, ProtocolError, UserError};
pub use message::{CloseCode, CloseFrame, Message, Utf8Bytes};
#[cfg(all(feature = "tokio", not(target_arch = "wasm32")))]
pub use stream::{WebSocketStream, accept, accept_with, connect, connect_with};

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
pub use browser::{BrowserWebSocket, ConnectOptions, connect_request, connect_url};
