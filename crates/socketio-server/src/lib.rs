//! A Socket.IO v5 server on tokio.
//!
//! # Layer
//!
//! The top of the server side: [`engineio`]'s server carries the sessions,
//! [`socketio_proto`] the packets. Socket.IO runs as an Engine.IO handler
//! on each session's own task, so an incoming event reaches its handler with
//! no channel in between, and a handler that never waits runs right there.
//!
//! - [`Server`]: binds the embedded HTTP/1.1 listener (TLS with the `tls`
//!   feature), path `/socket.io/`, or mounts in axum/hyper
//!   ([`Server::layer`], [`Server::service`], `hyper` feature, on by
//!   default); graceful [`shutdown`](Server::shutdown);
//! - [`Namespace`]: connect handler, middleware, rooms, broadcast;
//! - [`Socket`]: typed event handlers, acks both ways, emit, join/leave;
//! - [`Broadcast`]: to/except rooms, volatile; encoded once for all;
//! - `compress(false)` on an emit ([`Socket::compress`],
//!   [`Broadcast::compress`], [`Namespace::compress`], [`Server::compress`]):
//!   kept out of HTTP compression of polling responses (engine.io's rule: a
//!   response is compressed when any of its packets may be) and of
//!   permessage-deflate;
//! - connection state recovery ([`ServerOptions::connection_state_recovery`],
//!   [`RecoveryOptions`]): a socket whose connection dropped comes back with
//!   its id, rooms and data, and the events it missed, once, in order.
//!
//! # Features
//!
//! - `hyper` (default): the tower `Service`/`Layer` for hyper 1.x and
//!   axum 0.8;
//! - `axum`: the peer address from axum's `ConnectInfo<SocketAddr>`;
//! - `tls`: [`Server::bind_tls`] with rustls;
//! - `msgpack`: the MessagePack parser, `socket.io-msgpack-parser`'s wire
//!   form ([`ServerOptions::parser`]);
//! - `tracing` (default): diagnostics through `tracing`, see below;
//! - `http-compression` (default, as the official server's
//!   `httpCompression`): long-polling responses of 1024 bytes or more go
//!   gzip- or deflate-compressed to clients that accept it
//!   (`options.engine.http_compression`).
//!
//! # Tracing and metrics
//!
//! [`Server::metrics`] reads the server's counters ([`Metrics`]), always
//! on and cheap: traffic is counted per session and added to the shared
//! totals in batches, never with a shared atomic per message.
//!
//! With the `tracing` feature, each Engine.IO session runs in a `session`
//! span (`sid`, `transport`, `peer`; `transport` becomes `websocket` at
//! the upgrade) and each socket in a `socket` span inside it (`nsp`,
//! `id`). Event handlers, connect and disconnect handlers and packet
//! middleware run in their socket's span, even after they first wait, so
//! what they log carries the session and the socket. Events (targets
//! `engineio` and `socketio_server`): `socket connected` and `socket
//! disconnected` (`reason`) at debug, a namespace connection refused
//! (`nsp`, `refusal`) at info, limits hit at warn (connect, middleware and
//! attachment timeouts, too many waiting joins or checks, a slow client
//! disconnected); see `engineio::server` for the Engine.IO ones. No field
//! carries `auth` payloads, cookies or query strings. Try
//! `RUST_LOG=socketio_server=debug,engineio=debug` with the examples.
//!
//! # Several nodes
//!
//! Rooms and broadcasts live behind the [`Adapter`] seam: in memory by
//! default, or shared by a cluster through another adapter, such as the
//! `socketio-redis` crate's (wire-compatible with Node's
//! `@socket.io/redis-adapter`, so Rust and Node nodes mix). Broadcasts,
//! [`Broadcast::fetch_sockets`], `sockets_join`/`leave`, `disconnect`,
//! broadcasts with acks, [`Namespace::server_side_emit`] and
//! [`Namespace::all_rooms`] then reach every node.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_server::{Server, ServerOptions, ConnectError};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind("127.0.0.1:3000", ServerOptions::default()).await?;
//! let chat = server.of("/");
//! chat.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
//!     Some(auth) if auth["token"] == "secret" => Ok(()),
//!     _ => Err(ConnectError::new("not authorized")),
//! });
//! chat.on_connect(|socket| {
//!     socket.join("lobby");
//!     socket.on("chat", |socket, (text,): (String,), ack| async move {
//!         let _ = socket.to("lobby").emit("chat", &(&text,));
//!         if let Some(ack) = ack {
//!             let _ = ack.send(&("delivered",));
//!         }
//!     });
//!     socket.on_disconnect(|socket, reason| eprintln!("{} left: {reason}", socket.id()));
//! });
//! # Ok(()) }
//! ```

// The crate docs link to the mount and TLS APIs; without their features
// those links have nothing to point at.
#![cfg_attr(
    not(all(feature = "hyper", feature = "tls")),
    allow(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)
)]

mod adapter;
mod cluster;
mod command;
mod conn;
mod error;
mod handshake;
mod metrics;
mod namespace;
mod recovery;
mod registry;
mod socket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engineio::server::{Listening, Service, SessionInfo};
use socketio_proto::DecoderConfig;
use tokio::net::ToSocketAddrs;

pub use adapter::{Adapter, AdapterFactory, BroadcastOptions, InMemoryAdapter};
pub use cluster::{
    AdapterError, BoxFuture, BroadcastAcks, LocalNamespace, RemoteAck, RemoteAcks, RemoteSocket,
    ServerSideAck, ServerSideAnswers, SocketData,
};
pub use error::{AckError, ConnectError, DisconnectReason, EmitError, PacketError};
pub use handshake::Handshake;
pub use metrics::Metrics;
pub use namespace::{Broadcast, Namespace};
pub use recovery::{RecoveryOptions, RestoredSession, SessionState, append_offset};
pub use socket::{AckSender, Socket, SocketFlags};
pub use socketio_proto::Binary;
pub use socketio_proto::Packet;
pub use socketio_proto::Parser;
pub use socketio_runtime::ListenerId;

/// TLS for [`Server::bind_tls`]: the rustls this crate uses, and a
/// server configuration from PEM files.
#[cfg(feature = "tls")]
pub mod tls {
    pub use ws_frame::tls::{rustls, server_config_from_pem};
}

use command::Command;
use conn::Conn;
use registry::Registry;

/// Server settings.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The Engine.IO layer: heartbeat, `max_payload`, CORS, `allow_request`,
    /// path (default `/socket.io/`), and `session.allow_eio3` (socket.io's
    /// `allowEIO3`, off by default): serve `socket.io-client` 2.x (Engine.IO
    /// v3, Socket.IO v4 protocol), joined to `/` at once, a namespace's
    /// query as its auth, refusals as a string.
    pub engine: engineio::server::ServerOptions,
    /// How long a new connection may take to join a namespace before it is
    /// closed. Default 45 s, as the official server.
    pub connect_timeout: Duration,
    /// Limits on binary attachments.
    pub decoder: DecoderConfig,
    /// How long a binary packet may wait for its attachments, from its
    /// header, before the connection is closed (as for a packet that does
    /// not decode). Default 30 s: the default 10 MB of attachments at about
    /// 3 Mbit/s. The official server has no such bound; without one a client
    /// that answers pings holds that memory for as long as it likes.
    pub attachment_timeout: Duration,
    /// Makes each namespace's [`Adapter`]. Default: [`InMemoryAdapter`].
    pub adapter: AdapterFactory,
    /// Connection state recovery (`connectionStateRecovery`): off by
    /// default, as in socket.io. On, a client whose connection dropped
    /// comes back within `max_disconnection_duration` with its socket id,
    /// rooms and data, and gets the events it missed, in order, once
    /// ([`Socket::recovered`]). Every event sent without an ack then ends
    /// with one more argument, its offset, as socket.io sends it.
    pub connection_state_recovery: Option<RecoveryOptions>,
    /// How long an ack asked without a timeout of its own is waited for
    /// ([`Socket::emit_with_ack`] and [`Broadcast::emit_with_ack`] with
    /// `None`). Default 30 s: socket.io waits forever, which lets a client
    /// that never answers hold the wait.
    pub ack_timeout: Duration,
    /// How many joins whose middleware waits ([`Namespace::use_middleware_async`])
    /// one connection may have at once; past it a join is refused
    /// ("Too many pending connections"). Default 16. A check still waiting
    /// at `connect_timeout` refuses its join ("Middleware timeout").
    pub max_waiting_joins: usize,
    /// How many events of one socket may wait on a packet middleware that
    /// waits ([`Socket::use_middleware`]) at once; past it an event is
    /// refused (its `on_error` listeners hear it). Default 256.
    pub max_waiting_checks: usize,
    /// What a non-volatile emit does to a client whose queue
    /// (`engine.command_queue`, default 1024 messages) is full. Default
    /// [`SlowClient::Disconnect`]. Either way nothing waits and nothing
    /// grows: the queue is the bound.
    pub slow_client: SlowClient,
    /// How packets go on the wire: [`Parser::Json`] (the default, as
    /// socket.io's), or `Parser::MsgPack` (feature `msgpack`, socket.io's
    /// `parser: require("socket.io-msgpack-parser")`). Every client must
    /// use the same; one that does not fails to join (its first packet is
    /// a parse error, which closes its connection).
    pub parser: Parser,
}

/// What happens when a client cannot keep up with what is sent to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowClient {
    /// Disconnect it: its state stays consistent (it missed nothing and got
    /// a disconnect), as socket.io clients expect of non-volatile events.
    #[default]
    Disconnect,
    /// Drop the message and keep the client, as for volatile events. With
    /// connection state recovery on, the client is not told of the gap
    /// (it is replayed only if the connection drops later).
    Drop,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("engine", &self.engine)
            .field("connect_timeout", &self.connect_timeout)
            .field("decoder", &self.decoder)
            .field("slow_client", &self.slow_client)
            .field("connection_state_recovery", &self.connection_state_recovery)
            .field("ack_timeout", &self.ack_timeout)
            .field("max_waiting_joins", &self.max_waiting_joins)
            .field("max_waiting_checks", &self.max_waiting_checks)
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        let mut engine = engineio::server::ServerOptions::default();
        engine.path = "/socket.io/".to_owned();
        ServerOptions {
            engine,
            connect_timeout: Duration::from_secs(45),
            decoder: DecoderConfig::default(),
            attachment_timeout: Duration::from_secs(30),
            adapter: Arc::new(|_| Arc::new(InMemoryAdapter::default())),
            slow_client: SlowClient::Disconnect,
            connection_state_recovery: None,
            max_waiting_joins: 16,
            max_waiting_checks: 256,
            ack_timeout: Duration::from_secs(30),
            parser: Parser::Json,
        }
    }
}

/// A Socket.IO server, on its own listener ([`bind`](Self::bind)) or fed
/// connections by the caller ([`new`](Self::new) and
/// [`serve_io`](Self::serve_io)).
pub struct Server {
    registry: Arc<Registry>,
    service: Service,
    /// Taken by a shutdown, which may run beside other uses of the server.
    listening: std::sync::Mutex<Option<Listening>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server without a listener: give it connections with
    /// [`serve_io`](Self::serve_io). The main namespace `/` exists from the
    /// start.
    pub fn new(options: ServerOptions) -> Server {
        let engine = options.engine.clone();
        let registry = Arc::new(Registry::new(options));
        let make = {
            let registry = registry.clone();
            move |info: SessionInfo<Command>| Conn::new(registry.clone(), info)
        };
        let server = Server {
            service: Service::new(engine, make),
            registry,
            listening: std::sync::Mutex::new(None),
        };
        server.of("/");
        server
    }

    /// Listens on `addr`.
    pub async fn bind(addr: impl ToSocketAddrs, options: ServerOptions) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let server = Server::new(options);
        let listening = engineio::server::listen(listener, server.service.clone())?;
        *server.listening() = Some(listening);
        Ok(server)
    }

    /// Listens on `addr` with TLS (https and wss). Make `tls` from PEM files
    /// with [`tls::server_config_from_pem`], or build your own
    /// `rustls::ServerConfig` (offering ALPN `http/1.1` only).
    #[cfg(feature = "tls")]
    pub async fn bind_tls(
        addr: impl ToSocketAddrs,
        options: ServerOptions,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let server = Server::new(options);
        let listening = engineio::server::listen_tls(listener, server.service.clone(), tls)?;
        *server.listening() = Some(listening);
        Ok(server)
    }

    /// A tower `Layer` that serves Socket.IO on its path
    /// (`options.engine.path`, default `/socket.io/`) in front of another
    /// service, e.g. an axum `Router`:
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use axum::{Router, routing::get};
    /// use socketio_server::{Server, ServerOptions};
    ///
    /// let io = Server::new(ServerOptions::default());
    /// io.of("/").on_connect(|socket| {
    ///     socket.on("ping", |socket, (): (), _ack| async move {
    ///         let _ = socket.emit("pong", &());
    ///     });
    /// });
    /// let app = Router::new()
    ///     .route("/health", get(|| async { "ok" }))
    ///     .layer(io.layer());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    #[cfg(feature = "hyper")]
    pub fn layer(&self) -> engineio::server::EngineIoLayer {
        engineio::server::EngineIoLayer::new(self.service.clone())
    }

    /// A tower `Service` that serves Socket.IO on its path and answers 404
    /// elsewhere: for axum's `fallback_service` or `route_service`, or a
    /// hyper server by itself.
    #[cfg(feature = "hyper")]
    pub fn service(&self) -> engineio::server::EngineIoService {
        engineio::server::EngineIoService::new(self.service.clone())
    }

    /// Serves one connection (a TLS stream, an in-memory pipe, ...).
    pub fn serve_io(&self, io: impl engineio::server::Io, remote: SocketAddr) {
        self.service.serve_io(io, remote)
    }

    fn listening(&self) -> std::sync::MutexGuard<'_, Option<Listening>> {
        self.listening.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The address it listens on (`0.0.0.0:0` without a listener).
    pub fn local_addr(&self) -> SocketAddr {
        self.listening()
            .as_ref()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), Listening::local_addr)
    }

    /// How many Engine.IO connections are open now.
    pub fn connection_count(&self) -> usize {
        self.service.session_count()
    }

    /// The server's counters now: the Engine.IO server's
    /// ([`engineio::server::Service::metrics`]: connections, sessions by
    /// transport, upgrades, messages and bytes, drops, refused requests)
    /// and Socket.IO's (sockets, refused joins, slow-client disconnects).
    /// Cheap: a few atomic loads; see [`Metrics`] for how current each is.
    pub fn metrics(&self) -> Metrics {
        self.registry.counters.snapshot(self.service.metrics())
    }

    /// Stops listening and closes every connection at once (`io.close()`):
    /// sockets disconnect with "server shutting down", and clients see
    /// their transport close (and reconnect, as after Node's `io.close()`,
    /// to another node: new sessions are refused with 503 from now on).
    pub fn close(self) {
        self.registry.begin_shutdown();
        *self.listening() = None;
        self.service.begin_shutdown();
        self.registry.close_adapters();
    }

    /// A graceful shutdown, for the embedded listener and a hyper/axum mount
    /// alike: stops accepting connections (the listener; a mount refuses
    /// new sessions with 503), disconnects every socket with "server
    /// shutting down", sends each client its close (a close packet or a
    /// WebSocket close frame: it reconnects, elsewhere if there is a
    /// cluster), and waits for that to be flushed, at most `grace`; what is
    /// still open then is dropped. Returns how many connections had to be
    /// dropped so. Then each namespace's adapter leaves the cluster. Under
    /// axum, await it inside `with_graceful_shutdown`'s signal: hyper does
    /// not wait for upgraded connections.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.registry.begin_shutdown();
        let listening = self.listening().take();
        let dropped = match listening {
            Some(l) => l.shutdown(grace).await,
            None => self.service.shutdown(grace).await,
        };
        self.registry.close_adapters();
        dropped
    }

    /// The namespace `name`, created on first use.
    pub fn of(&self, name: &str) -> Namespace {
        self.registry.of(name)
    }

    /// Dynamic namespaces: a client may connect to any name `matches`
    /// accepts (`io.of(/^\/room-\d+$/)` in socket.io). Returns the template:
    /// give it a connect handler and middleware, and each namespace made from
    /// it (on its first connection) gets them as they are then.
    pub fn of_dynamic<F>(&self, matches: F) -> Namespace
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.registry.of_dynamic(Arc::new(matches))
    }

    /// A namespace that exists now (static, or made dynamically).
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.registry.get(name)
    }

    /// Emits to every socket of the main namespace (`io.emit`).
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<usize, EmitError> {
        self.of("/").emit(event, args)
    }

    /// Emits a `message` event to every socket of the main namespace
    /// (`io.send`).
    pub fn send<T: serde::Serialize + ?Sized>(&self, args: &T) -> Result<usize, EmitError> {
        self.of("/").send(args)
    }

    /// A broadcast to `room` of the main namespace (`io.to(room)`).
    pub fn to(&self, room: &str) -> Broadcast {
        self.of("/").to(room)
    }

    /// A broadcast to the main namespace with socket.io's `compress` flag
    /// (`io.compress(false).emit(...)`; see [`Broadcast::compress`]).
    pub fn compress(&self, compress: bool) -> Broadcast {
        self.of("/").compress(compress)
    }
}
