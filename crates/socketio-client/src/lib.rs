//! A Socket.IO v5 client, on tokio and in the browser (wasm32).
//!
//! # Layer
//!
//! The top of the client side: [`engineio`]'s client carries the
//! connection, [`socketio_proto`] the packets. A [`Manager`] owns one
//! Engine.IO connection and the [`Socket`]s of every namespace on it, as
//! socket.io-client's Manager does; it reconnects with exponential backoff
//! and jitter, re-joins the namespaces (recovering their sessions when the
//! server allows), and sends what was emitted while it was away, in order.
//! Everything its API takes or gives is re-exported here: no `engineio`
//! or `socketio_proto` import is needed.
//!
//! # Connecting
//!
//! [`connect`] (or [`Manager::socket`]) joins a namespace; its listeners
//! are registered on the [`Socket`] it returns. To be sure they are there
//! before anything arrives, turn [`ClientOptions::auto_connect`] off,
//! register, then await [`Socket::connect`]: it resolves once the
//! namespace is joined, or fails with a [`ConnectError`] (the server's
//! refusal with its message and data, the connect timeout, a transport
//! error).
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_client::{ClientOptions, ConnectError};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = ClientOptions::default()
//!     .transports(["websocket"])
//!     .auto_connect(false)
//!     .reconnection_delay(Duration::from_millis(500))
//!     .auth(serde_json::json!({ "token": "secret" }));
//! let socket = socketio_client::connect("http://127.0.0.1:3000", options);
//! socket.on("chat", |_socket, (from, text): (String, String), _ack| async move {
//!     println!("{from}: {text}");
//! });
//! socket.on_disconnect(|_, reason| eprintln!("disconnected: {reason}"));
//! match socket.connect().await {
//!     Ok(()) => println!("joined as {:?}", socket.id()),
//!     Err(ConnectError::Refused { message, data }) => {
//!         eprintln!("refused: {message} {data:?}");
//!         return Ok(());
//!     }
//!     Err(e) => return Err(e.into()),
//! }
//! socket.emit("join", &("rust",))?;
//! let (members,): (usize,) = socket.emit_with_ack("count", &(), Duration::from_secs(5)).await?;
//! # let _ = members; Ok(()) }
//! ```
//!
//! # Delivery
//!
//! While a namespace is not joined, [`Socket::emit`] waits in the
//! manager's buffer (up to [`ClientOptions::max_buffered`]) and goes out
//! in order once it is. With [`ClientOptions::retries`] emits are sent one
//! at a time and again until acknowledged (at least once, in order, as
//! socket.io-client's `retries` and `ackTimeout`); with connection state
//! recovery on the server, events missed while away arrive after the
//! reconnection ([`Socket::recovered`]).
//!
//! # TLS
//!
//! With the `tls` feature, `https://` (and `wss://`) URLs work: every
//! connection speaks TLS through rustls, with the URL's host as the server
//! name. The server's certificate is checked against the webpki roots, or
//! only against the roots given to [`ClientOptions::tls`] (a private
//! CA, or a server's self-signed certificate), built with
//! [`tls::ClientTls`]. Without the feature such a URL fails to connect, and
//! the error (given to `on_connect_error` and `on_reconnect_error`) says to
//! enable it. A refused certificate fails the same way, with rustls's
//! reason, at once.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_client::tls::ClientTls;
//! use socketio_client::{ClientOptions, Manager};
//!
//! let options = ClientOptions::default()
//!     .tls(ClientTls::with_root_pem(&std::fs::read("ca.pem")?)?);
//! let manager = Manager::new("https://chat.internal:8443", options);
//! # let _ = manager; Ok(()) }
//! ```
//!
//! # Features
//!
//! - `tls`: `https://` and `wss://`.
//! - `msgpack`: the MessagePack parser, `socket.io-msgpack-parser`'s wire
//!   form ([`ClientOptions::parser`]).
//! - `tracing` (default): a warning through `tracing` for each event whose
//!   arguments do not fit a listener's type (also heard by
//!   [`Socket::on_mismatch`]). This workspace's runtime crate turns it on
//!   for its own default, so in a build with it the warning is there
//!   either way.
//! - `http-compression` (default): polling asks for gzip/deflate responses,
//!   as a browser does, and inflates them within the response limit; a
//!   body that would inflate past it closes the connection with a
//!   transport error.
//!
//! [`Socket::compress`]`(false)` marks an emit as not to be compressed by a
//! WebSocket with permessage-deflate (socket.io-client's `compress`).
//!
//! # In the browser
//!
//! For `wasm32-unknown-unknown` the same API builds with no tokio: polling
//! goes over `fetch`, the WebSocket is the browser's (binary as
//! `ArrayBuffer`), timers are `setTimeout`, tasks `spawn_local`, the clock
//! `performance.now()`; the Engine.IO session, reconnection, acks, buffer
//! and recovery are the same code. Build with default features (not
//! `tls`: the browser speaks TLS itself). What differs, because the
//! browser owns the sockets (details in `engineio::client`'s docs):
//! `extra_header`s go on polling requests only, and with WebSocket as the
//! first transport they are an error; cookies are the browser's (sent
//! cross-origin with `.with_credentials(true)`); `http_compression` and
//! permessage-deflate are the browser's. Handlers and their futures are
//! bound by [`MaybeSend`]/[`MaybeSync`]: `Send`/`Sync` natively, nothing in
//! the browser, so there they may hold an `Rc` or a DOM node.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_client::ClientOptions;
//!
//! let options = ClientOptions::default().auto_connect(false);
//! // Cookies to another origin (the server's CORS must allow credentials).
//! #[cfg(target_arch = "wasm32")]
//! let options = options.with_credentials(true);
//! let socket = socketio_client::connect("https://chat.example.com", options);
//! socket.on("chat", |_socket, (text,): (String,), _ack| async move {
//!     let _ = text; // update the page here
//! });
//! socket.connect().await?;
//! socket.emit("chat", &("hello from Rust in the browser",))?;
//! # Ok(()) }
//! ```
//!
//! # What it does not do
//!
//! The upgrade and transports are engineio's; this crate adds none.

// In the browser handlers need not be `Send` (`MaybeSend`), so the shared
// state holding them is not either, by design: one thread.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
// The TLS docs link to the re-exported module, there only with its feature.
#![cfg_attr(not(feature = "tls"), allow(rustdoc::broken_intra_doc_links))]

mod backoff;
mod command;
mod conn;
mod error;
mod manager;
mod retry;
mod socket;

use std::time::Duration;

pub use backoff::Backoff;
/// The Engine.IO layer's settings, [`ClientOptions::engine`].
pub use engineio::ClientConfig as EngineSessionConfig;
/// The transports, for [`EngineSessionConfig::initial`].
pub use engineio::Transport;
/// The Engine.IO client's settings, [`ClientOptions::engine`].
pub use engineio::client::ClientOptions as EngineOptions;
/// In the browser: the `mode` of polling requests (`engine.fetch_mode`).
#[cfg(target_arch = "wasm32")]
pub use engineio::client::FetchMode;
/// TLS settings (with the `tls` feature): [`tls::ClientTls`] for
/// [`ClientOptions::tls`], and the rustls it is built on.
#[cfg(feature = "tls")]
pub use engineio::client::tls;
pub use error::{AckError, ConnectError, DisconnectReason, EmitError, TransportsError};
pub use manager::Manager;
pub use socket::{AckSender, Socket, SocketFlags};
pub use socketio_proto::{Binary, DecoderConfig, Packet, Parser};
pub use socketio_runtime::{ListenerId, MaybeSend, MaybeSync};

/// A manager of `url` and its socket of the main namespace `/`, with the
/// options' `auth` (socket.io-client's `io(url, options)`). With
/// `auto_connect` (the default) it is joining already; else await
/// [`Socket::connect`]. Natively it must be called on a tokio runtime; in
/// the browser anywhere (it spawns on the page's event loop).
pub fn connect(url: &str, options: ClientOptions) -> Socket {
    Manager::new(url, options).socket("/", None)
}

/// Client settings, with socket.io-client's defaults.
///
/// Set fields directly, or chain the setters, named as socket.io-client's
/// options are:
///
/// ```
/// use std::time::Duration;
/// use socketio_client::ClientOptions;
///
/// let options = ClientOptions::default()
///     .transports(["websocket"])
///     .reconnection(false)
///     .timeout(Duration::from_secs(5))
///     .retries(3)
///     .ack_timeout(Duration::from_secs(2))
///     .path("/realtime/")
///     .query("room", "lobby")
///     .extra_header("Authorization", "Bearer secret")
///     .auth(serde_json::json!({ "token": "secret" }));
/// assert_eq!(options.retries, Some(3));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The Engine.IO layer: transports, upgrade, path (default
    /// `/socket.io/`), query, headers, and with the `tls` feature the roots
    /// `https://` trusts (`engine.tls`). The setters
    /// [`transports`](Self::transports), [`upgrade`](Self::upgrade),
    /// [`path`](Self::path), [`query`](Self::query),
    /// [`extra_header`](Self::extra_header) and `tls` reach into it.
    pub engine: EngineOptions,
    /// Reconnect when the connection is lost. Default true.
    pub reconnection: bool,
    /// Attempts before giving up (`reconnect_failed`); `None`: forever.
    pub reconnection_attempts: Option<u32>,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// How long opening a connection may take (`timeout`): past it the
    /// attempt fails with [`ConnectError::Timeout`], given to the sockets'
    /// `on_connect_error` and the manager's `on_error`, and reconnection
    /// goes on. Default 20 s.
    pub timeout: Duration,
    /// Connect as soon as [`Manager::new`] and [`Manager::socket`] are
    /// called (`autoConnect`). Off: nothing happens until
    /// [`Socket::connect`], so listeners can be registered first. Default
    /// true.
    pub auto_connect: bool,
    /// The auth of sockets created without one (`auth`): sent in each
    /// CONNECT. Default none.
    pub auth: Option<serde_json::Value>,
    /// At-least-once delivery (`retries`): each non-volatile emit (with or
    /// without ack) goes through the socket's queue, sent one at a time
    /// with an ack id, again (with a new ack id) whenever a try is not
    /// acknowledged within its timeout or a disconnect cuts it, until the
    /// tries exceed `retries` (without an ack timeout, a try a disconnect
    /// cuts is sent again on the next connect whatever the count, as
    /// socket.io-client's); then it is dropped, and its
    /// `emit_with_ack` fails with [`AckError::RetriesExhausted`]. The
    /// server must acknowledge every event (Node: the listener's last
    /// argument is a callback it calls). Default `None`: no queue.
    pub retries: Option<u32>,
    /// How long each try waits for its ack with `retries` (`ackTimeout`);
    /// `emit_with_ack`'s own timeout wins for its emit. `None` (the
    /// default): until the ack or a disconnect.
    pub ack_timeout: Option<Duration>,
    /// Emits that may wait for a connection, plus those in the retry
    /// queues (and commands in flight to the manager). Past it, emits fail
    /// with `EmitError::BufferFull`. Default 1024.
    pub max_buffered: usize,
    /// Events a namespace may receive before the server's answer to its
    /// CONNECT, kept to be dispatched right after it (the official server
    /// sends the events a recovered session missed before that answer);
    /// past it, more are dropped. socket.io-client keeps any number; the
    /// bound keeps a server from filling memory. Default 10 000 (100 s of
    /// events at 100 per second).
    pub max_early_events: usize,
    /// Limits on binary attachments from the server.
    pub decoder: DecoderConfig,
    /// How packets go on the wire: [`Parser::Json`] (the default), or
    /// `Parser::MsgPack` (feature `msgpack`; the server must use it too,
    /// socket.io's `parser: require("socket.io-msgpack-parser")`).
    pub parser: Parser,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let mut engine = EngineOptions::default();
        engine.path = "/socket.io/".to_owned();
        ClientOptions {
            engine,
            reconnection: true,
            reconnection_attempts: None,
            backoff: Backoff::default(),
            timeout: Duration::from_secs(20),
            auto_connect: true,
            auth: None,
            retries: None,
            ack_timeout: None,
            max_buffered: 1024,
            max_early_events: 10_000,
            decoder: DecoderConfig::default(),
            parser: Parser::Json,
        }
    }
}

/// Chainable setters, one per option.
impl ClientOptions {
    /// The transports, as socket.io-client's `transports` list:
    /// `["polling", "websocket"]` (the default: polling first, then the
    /// upgrade), `["websocket"]` (WebSocket only), `["polling"]` (polling
    /// only). The first is the one opened; the upgrade happens only from
    /// polling with `"websocket"` listed.
    ///
    /// # Panics
    ///
    /// On an empty list or another name; [`try_transports`](Self::try_transports)
    /// returns the error instead.
    pub fn transports<I, S>(self, list: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match self.try_transports(list) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`transports`](Self::transports), an unknown name or an empty
    /// list an error.
    pub fn try_transports<I, S>(mut self, list: I) -> Result<Self, TransportsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = list.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let parsed: Option<Vec<Transport>> = names
            .iter()
            .map(|n| match n.as_str() {
                "polling" => Some(Transport::Polling),
                "websocket" => Some(Transport::WebSocket),
                _ => None,
            })
            .collect();
        let Some(first) = parsed.as_ref().and_then(|p| p.first().copied()) else {
            return Err(TransportsError(names));
        };
        let websocket = parsed.iter().flatten().any(|t| *t == Transport::WebSocket);
        self.engine.session.initial = first;
        self.engine.session.upgrade = first == Transport::Polling && websocket;
        Ok(self)
    }

    /// Whether to upgrade from polling to WebSocket (`upgrade`). Default
    /// true; [`transports`](Self::transports) sets it too.
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.engine.session.upgrade = upgrade;
        self
    }

    /// The server's path (`path`). Default `/socket.io/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.engine.path = path.into();
        self
    }

    /// Adds a query parameter to every request (`query`).
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.engine.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header to every request (`extraHeaders`).
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.engine.headers.push((name.into(), value.into()));
        self
    }

    /// The roots an `https://` server's certificate is checked against
    /// (with the `tls` feature; the default is the webpki roots).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: tls::ClientTls) -> Self {
        self.engine.tls = Some(tls);
        self
    }

    /// In the browser: polling requests send cookies and HTTP auth to
    /// another origin (`withCredentials`, `engine.with_credentials`).
    /// Default false.
    #[cfg(target_arch = "wasm32")]
    pub fn with_credentials(mut self, on: bool) -> Self {
        self.engine.with_credentials = on;
        self
    }

    /// [`reconnection`](Self::reconnection).
    pub fn reconnection(mut self, on: bool) -> Self {
        self.reconnection = on;
        self
    }

    /// [`reconnection_attempts`](Self::reconnection_attempts)
    /// (`reconnectionAttempts`).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.reconnection_attempts = Some(attempts);
        self
    }

    /// The first reconnection delay (`reconnectionDelay`), `backoff.min`.
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.backoff.min = delay;
        self
    }

    /// The largest reconnection delay (`reconnectionDelayMax`),
    /// `backoff.max`.
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.backoff.max = delay;
        self
    }

    /// How far a delay may stray (`randomizationFactor`), `backoff.jitter`.
    pub fn randomization_factor(mut self, jitter: f64) -> Self {
        self.backoff.jitter = jitter;
        self
    }

    /// [`backoff`](Self::backoff), whole.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// [`auto_connect`](Self::auto_connect).
    pub fn auto_connect(mut self, on: bool) -> Self {
        self.auto_connect = on;
        self
    }

    /// [`auth`](Self::auth).
    pub fn auth(mut self, auth: serde_json::Value) -> Self {
        self.auth = Some(auth);
        self
    }

    /// [`retries`](Self::retries).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// [`ack_timeout`](Self::ack_timeout).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// [`max_buffered`](Self::max_buffered).
    pub fn max_buffered(mut self, n: usize) -> Self {
        self.max_buffered = n;
        self
    }

    /// [`max_early_events`](Self::max_early_events).
    pub fn max_early_events(mut self, n: usize) -> Self {
        self.max_early_events = n;
        self
    }

    /// [`decoder`](Self::decoder).
    pub fn decoder(mut self, decoder: DecoderConfig) -> Self {
        self.decoder = decoder;
        self
    }

    /// [`parser`](Self::parser).
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_as_socket_io_client_lists_them() {
        let o = |l: &[&str]| ClientOptions::default().try_transports(l.iter().copied());
        let session = |o: ClientOptions| (o.engine.session.initial, o.engine.session.upgrade);
        let both = o(&["polling", "websocket"]).unwrap();
        assert_eq!(session(both), (Transport::Polling, true));
        assert_eq!(
            session(o(&["polling"]).unwrap()),
            (Transport::Polling, false)
        );
        assert_eq!(
            session(o(&["websocket"]).unwrap()),
            (Transport::WebSocket, false)
        );
        assert_eq!(
            session(o(&["websocket", "polling"]).unwrap()),
            (Transport::WebSocket, false)
        );
        assert!(o(&[]).is_err());
        assert_eq!(
            o(&["polling", "webtransport"]).unwrap_err(),
            TransportsError(vec!["polling".into(), "webtransport".into()])
        );
    }
}
