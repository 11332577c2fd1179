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
//!   [`payload::v3`]: the Engine.IO v3 forms, for servers that also serve
//!   v3 clients ([`ServerConfig::allow_eio3`], off by default as Node's
//!   `allowEIO3`; [`ProtocolVersion`]);
//! - [`ServerSession`]: one session on the server, as a state machine:
//!   handshake, heartbeat, polling, the upgrade to WebSocket, close;
//! - [`ClientSession`]: the client's side: answering the heartbeat, probing
//!   and upgrading, batching POSTs under `maxPayload`, close.
//!
//! With the `server` feature (on by default), [`server::Server`] serves
//! sessions on its own HTTP/1.1 listener (httparse), over long-polling and
//! WebSocket (ws-frame), one task per session. Features:
//!
//! - `hyper`: the same server as a tower `Service`/`Layer`
//!   ([`server::EngineIoLayer`]) for hyper 1.x and axum 0.8;
//! - `axum`: with `hyper`, the peer address from axum's `ConnectInfo`;
//! - `tls`: `https://`/`wss://` in the client (rustls, webpki roots by
//!   default) and [`server::listen_tls`];
//! - `http-compression` (on by default, as the official server's
//!   `httpCompression`): long-polling responses of 1024 bytes or more are
//!   sent gzip- or deflate-compressed when the request accepts it
//!   ([`server::ServerOptions::http_compression`], [`compression`]); a
//!   message sent with `compress: false`
//!   ([`ServerSession::send_with`]) does not ask for it;
//! - `deflate` (off by default): permessage-deflate on the WebSocket
//!   (`server::ServerOptions::per_message_deflate`, off unless set, as
//!   Node's `perMessageDeflate`; offered by the client); a message sent with
//!   `compress: false` goes uncompressed;
//! - `tracing` (off by default): the server's spans (per connection, per
//!   session with its `sid` and `transport`) and events through `tracing`;
//!   without it no tracing code is compiled in.
//!
//! The server counts connections, sessions, upgrades, messages, bytes,
//! drops and refusals whatever the features:
//! [`server::Service::metrics`].
//!
//! The server has the hooks Node users reach for on `io.engine`, in
//! [`server::ServerOptions`], for both front doors:
//! [`on_initial_headers`](server::ServerOptions::on_initial_headers) (a
//! cookie on the response that opens a session),
//! [`on_headers`](server::ServerOptions::on_headers) (every response of a
//! session) and
//! [`on_connection_error`](server::ServerOptions::on_connection_error)
//! (every refused request, with its official code and why).
//!
//! # In the browser
//!
//! On `wasm32-unknown-unknown` the `client` feature builds the client over
//! the browser's `fetch` and `WebSocket`, with no tokio (see `client`'s
//! docs there for what differs); `server` compiles to nothing there, and
//! `tls` is refused (the browser speaks TLS itself). The sessions read
//! time as [`Instant`]: std's natively, web-time's in the browser.
//!
//! # What it does not do
//!
//! The core has no sockets, no HTTP and no clock. There is no Socket.IO
//! here.
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

// The crate docs link to the tokio adapters; without their feature those
// links have nothing to point at.
#![cfg_attr(
    any(
        not(all(
            feature = "server",
            feature = "client",
            feature = "hyper",
            feature = "tls"
        )),
        target_arch = "wasm32"
    ),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(all(feature = "client", not(target_arch = "wasm32")))]
pub mod client;
#[cfg(all(feature = "client", target_arch = "wasm32"))]
#[path = "client/browser.rs"]
pub mod client;
mod client_session;
#[cfg(feature = "http-compression")]
pub mod compression;
mod error;
mod heartbeat;
#[cfg(all(
    any(feature = "server", feature = "client"),
    not(target_arch = "wasm32")
))]
mod http;
mod outbox;
mod packet;
pub mod payload;
// Native only: on wasm32 the feature (on by default) compiles to nothing,
// so `--features client` with the defaults still builds for the browser.
#[cfg(all(feature = "server", not(target_arch = "wasm32")))]
pub mod server;
mod server_session;
mod transport;

pub use client_session::{ClientConfig, ClientEvent, ClientSession, Transmit};
pub use error::{CloseReason, DecodeError, RequestError, SessionClosed};
pub use packet::{Handshake, Packet, Payload, Prepared};
pub use server_session::{Event, ProtocolVersion, ServerConfig, ServerSession, ServerTransmit};
pub use transport::Transport;

/// The clock the sessions read deadlines in: std's `Instant` on native
/// targets; on wasm32 web-time's, the same API over the browser's
/// `performance.now()` (std's `Instant::now` panics there).
#[cfg(not(target_arch = "wasm32"))]
pub use std::time::Instant;
/// The clock the sessions read deadlines in: std's `Instant` on native
/// targets; on wasm32 web-time's, the same API over the browser's
/// `performance.now()` (std's `Instant::now` panics there).
#[cfg(target_arch = "wasm32")]
pub use web_time::Instant;

#[cfg(all(feature = "tls", target_arch = "wasm32"))]
compile_error!(
    "engineio's `tls` feature is for native targets: in the browser, https:// and wss:// are the browser's own"
);
