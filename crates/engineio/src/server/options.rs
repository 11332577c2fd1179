//! What the server can be told: [`ServerOptions`], with the official
//! server's defaults.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ws_frame::handshake::HandshakeConfig;

use crate::ServerConfig;

/// What [`AllowRequest`] returns: a future, so a check may await a database
/// or a token service.
pub type AllowFuture = Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send>>;

/// A check on every new session's first request (auth, Origin, rate
/// limits), as Node's `allowRequest`. It sees the request's method, URI,
/// headers and, when mounted in hyper/axum, the extensions a middleware put
/// there. Build one with [`ServerOptions::allow_request`].
pub type AllowRequest = Arc<dyn Fn(&::http::Request<()>) -> AllowFuture + Send + Sync>;

/// Why [`AllowRequest`] refused a session: the client gets `status` and
/// `{"code":4,"message":message}` (the official server always answers
/// 403 with that body). A `status` outside 400-599 is sent as 403.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status. The official server uses 403.
    pub status: u16,
    /// The `message` of the JSON body.
    pub message: String,
}

impl Refusal {
    /// 403 with `message`, as the official server refuses.
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::new(403, message)
    }

    /// `status` with `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// A hook on the headers of the engine's responses, as Node's
/// `initial_headers` and `headers` events: it sees the request and a map that
/// starts empty; what it inserts goes into the response. Set one with
/// [`ServerOptions::on_initial_headers`] or [`ServerOptions::on_headers`].
pub type HeadersHook = Arc<dyn Fn(&::http::Request<()>, &mut ::http::HeaderMap) + Send + Sync>;

/// A hook on every request the engine refuses, as Node's `connection_error`
/// event. Set it with [`ServerOptions::on_connection_error`].
pub type ConnectionErrorHook = Arc<dyn Fn(&ConnectionError) + Send + Sync>;

/// A request the engine refused, as Node's `connection_error` event gives
/// it: the request, the official error code and message the client got,
/// and what exactly was wrong. For logs and metrics: a client that keeps
/// sending a stale sid, an auth check refusing, an old client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionError {
    request: ::http::Request<()>,
    code: u8,
    message: &'static str,
    context: ErrorContext,
}

impl ConnectionError {
    pub(super) fn new(
        request: ::http::Request<()>,
        code: u8,
        message: &'static str,
        context: ErrorContext,
    ) -> ConnectionError {
        ConnectionError {
            request,
            code,
            message,
            context,
        }
    }

    /// The refused request's head (method, URI, headers, extensions); its
    /// body is not kept.
    pub fn request(&self) -> &::http::Request<()> {
        &self.request
    }

    /// The official error code, as in the response's JSON body: 0
    /// "Transport unknown", 1 "Session ID unknown", 2 "Bad handshake
    /// method", 3 "Bad request", 4 "Forbidden", 5 "Unsupported protocol
    /// version".
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The official message for [`code`](Self::code) (Node's
    /// `errorMessages`); a refusing `allow_request`'s own message is in
    /// the [`context`](Self::context).
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// What exactly was wrong (Node's `context`).
    pub fn context(&self) -> &ErrorContext {
        &self.context
    }
}

/// What exactly was wrong with a refused request: the part of Node's
/// `connection_error` context that applies here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorContext {
    /// Code 0: the `transport` asked for, as sent (empty when missing), not
    /// one the server serves.
    Transport(String),
    /// Code 1: the `sid` asked for, of no open session.
    Sid(String),
    /// Code 2: the method of a request that would open a session but is no
    /// GET (a CORS preflight too, when [`ServerOptions::cors`] is `None`).
    Method(::http::Method),
    /// Code 3: which check failed: `TRANSPORT_HANDSHAKE_ERROR` (Node's
    /// name: a WebSocket request that is no valid upgrade), or
    /// `UNEXPECTED_METHOD` (neither GET nor POST on a polling session, which
    /// Node answers with a bare 500 outside its codes).
    BadRequest(&'static str),
    /// Code 4: [`ServerOptions::allow_request`]'s refusal, with its status
    /// and message.
    Refused(Refusal),
    /// Code 5: the `EIO` version asked for, as sent (empty when missing).
    Protocol(String),
}

/// Which origins [`Cors`] lets in.
#[derive(Clone)]
#[non_exhaustive]
pub enum CorsOrigin {
    /// Any origin: `Access-Control-Allow-Origin: *`, or the request's own
    /// origin when [`Cors::credentials`] is on (browsers refuse `*` with
    /// credentials).
    Any,
    /// These origins exactly (`https://app.example.com`), echoed back when
    /// the request's `Origin` is one of them.
    List(Vec<String>),
    /// Origins the function accepts, echoed back.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl std::fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOrigin::Any => f.write_str("Any"),
            CorsOrigin::List(l) => f.debug_tuple("List").field(l).finish(),
            CorsOrigin::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// Cross-origin settings for browsers, as the `cors` options of the
/// official server: which origins, credentials, allowed and exposed headers,
/// how long a preflight may be cached. Every Engine.IO answer to an allowed
/// origin carries them; preflights (`OPTIONS`) get 204.
///
/// Mounted in axum/hyper you may instead leave this `None` and put
/// tower-http's `CorsLayer` around the router: the layer answers the
/// preflights and adds the headers itself.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Cors {
    /// Which origins are allowed.
    pub origin: CorsOrigin,
    /// `Access-Control-Allow-Credentials: true` (cookies, auth headers).
    pub credentials: bool,
    /// `Access-Control-Allow-Headers` in preflights. `None` (default):
    /// whatever the preflight asks for (`Access-Control-Request-Headers`).
    pub allowed_headers: Option<Vec<String>>,
    /// `Access-Control-Expose-Headers`. Default none.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Max-Age` in preflights. Default none.
    pub max_age: Option<Duration>,
}

impl Cors {
    /// Any origin, no credentials.
    pub fn any() -> Cors {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
            allowed_headers: None,
            exposed_headers: Vec::new(),
            max_age: None,
        }
    }

    /// These origins only.
    pub fn origins<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Cors {
        Cors {
            origin: CorsOrigin::List(origins.into_iter().map(Into::into).collect()),
            ..Cors::any()
        }
    }

    /// The origins `allow` accepts.
    pub fn predicate(allow: impl Fn(&str) -> bool + Send + Sync + 'static) -> Cors {
        Cors {
            origin: CorsOrigin::Predicate(Arc::new(allow)),
            ..Cors::any()
        }
    }

    /// With credentials allowed.
    pub fn with_credentials(mut self) -> Cors {
        self.credentials = true;
        self
    }

    /// With these allowed headers instead of what preflights ask for.
    pub fn with_allowed_headers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        headers: I,
    ) -> Cors {
        self.allowed_headers = Some(headers.into_iter().map(Into::into).collect());
        self
    }

    /// With these exposed headers.
    pub fn with_exposed_headers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        headers: I,
    ) -> Cors {
        self.exposed_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// With a preflight cache lifetime.
    pub fn with_max_age(mut self, max_age: Duration) -> Cors {
        self.max_age = Some(max_age);
        self
    }

    /// Whether the answer depends on the request's `Origin` (caches must
    /// then keep one copy per origin: `Vary: Origin`).
    pub(super) fn varies(&self) -> bool {
        !matches!(self.origin, CorsOrigin::Any) || self.credentials
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`,
    /// or `None` when that origin is not allowed.
    pub(super) fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        match (&self.origin, origin) {
            (CorsOrigin::Any, Some(o)) if self.credentials => Some(o.to_owned()),
            // No Origin: not a cross-origin request; `*` with credentials
            // would be refused by browsers anyway.
            (CorsOrigin::Any, None) if self.credentials => None,
            (CorsOrigin::Any, _) => Some("*".to_owned()),
            (CorsOrigin::List(l), Some(o)) if l.iter().any(|a| a == o) => Some(o.to_owned()),
            (CorsOrigin::Predicate(f), Some(o)) if f(o) => Some(o.to_owned()),
            _ => None,
        }
    }
}

/// Everything the server can be told. `Default` gives the official server's
/// defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Session settings: heartbeat, `max_payload`, upgrade timeout, buffers.
    pub session: ServerConfig,
    /// The path Engine.IO answers on. Default `/engine.io/`.
    pub path: String,
    /// Cross-origin settings for browsers. Default `None`: no CORS headers
    /// (same-origin pages and non-browser clients need none).
    pub cors: Option<Cors>,
    /// Checked before a new session opens; set it with
    /// [`allow_request`](Self::allow_request).
    pub allow_request: Option<AllowRequest>,
    /// Called for the response that opens a session, before
    /// [`headers`](Self::headers); set it with
    /// [`on_initial_headers`](Self::on_initial_headers).
    pub initial_headers: Option<HeadersHook>,
    /// Called for every response a session gives; set it with
    /// [`on_headers`](Self::on_headers).
    pub headers: Option<HeadersHook>,
    /// Called for every refused request; set it with
    /// [`on_connection_error`](Self::on_connection_error).
    pub connection_error: Option<ConnectionErrorHook>,

    /// Limits on HTTP request heads: 16 KiB, 64 headers, and `timeout`,
    /// how long a head may take to arrive in full, counted from when the
    /// server starts waiting for it (a new connection, or the previous
    /// response on a kept-alive one). Past it the connection is closed,
    /// with 408 if part of a head came. Default 10 s: a client that dribbles
    /// its head holds a connection no longer than that.
    pub http: HandshakeConfig,
    /// WebSocket limits. Default: frames and messages up to `max_payload`,
    /// as the official server's `maxHttpBufferSize` applies to both.
    pub websocket: Option<ws_frame::Config>,
    /// permessage-deflate on the WebSocket transport (RFC 7692), the
    /// official server's `perMessageDeflate`: `None` (the default, as the
    /// official server since engine.io 4) answers no client's offer; `Some`
    /// accepts it with that configuration, whose default threshold is 1024
    /// bytes as Node's. Received messages stay bounded by `max_payload` on
    /// their inflated size. Taken from `websocket`'s `deflate` when unset.
    #[cfg(feature = "deflate")]
    pub per_message_deflate: Option<ws_frame::DeflateConfig>,
    /// How long one write to a client's WebSocket may take before the
    /// session ends with "transport error": a client that stops reading is
    /// let go instead of holding its buffers forever. Default 30 s.
    pub write_timeout: std::time::Duration,
    /// Commands a session's queue holds (requests, messages from other
    /// tasks) before senders wait or `try_send` fails. Default 1024; the
    /// queue's memory is allocated as it fills, not up front.
    pub command_queue: usize,
    /// How long a whole request (head and body) may take. Past it: 408 and
    /// close. Default 30 s: a 1 MB POST needs ~35 KB/s.
    pub request_timeout: std::time::Duration,
    /// How long one handler call may take, and how long an event may wait
    /// for a handler that is not ready ([`Handler::poll_ready`](super::Handler::poll_ready)), before the
    /// session gives up on it: the call is dropped, undelivered messages are
    /// discarded and the session closes ("forced close"). Default 45 s, the
    /// default heartbeat's span (ping interval + ping timeout), after which
    /// the client has given up anyway. While input is held the heartbeat
    /// goes on and the client's pong waits unread, so a hold past the pong's
    /// deadline ends the session with "ping timeout" first.
    pub handler_timeout: std::time::Duration,
    /// Compression of long-polling responses (Node's `httpCompression`):
    /// a response of at least `threshold` bytes, with a packet that may be
    /// compressed (not every one sent with `compress: false`), goes gzip-
    /// or deflate-compressed to a request whose `Accept-Encoding` takes it,
    /// with `Content-Encoding` set (no `Vary`, as Node). Default on,
    /// threshold 1024 bytes, as the official server; `None` turns it off.
    /// The cost is CPU: about 15 ms per MB at level 6 (2 ms at level 1),
    /// spent by the request's task (payloads over 64 KiB on tokio's
    /// blocking pool), never by the session's.
    #[cfg(feature = "http-compression")]
    pub http_compression: Option<crate::compression::HttpCompression>,
    /// Whether sessions take turns when the runtime is saturated (see
    /// "Taking turns" in the [module docs](super)): a session that has just
    /// written an answer while tasks wait in tokio's global queue steps
    /// aside until they have run. Default on: at 1000 busy connections on
    /// one core the slowest answers come within ~2x the median instead of
    /// ~90x, for ~15% fewer messages a second (serving every connection in
    /// turn keeps fewer of them in cache). Off serves whoever is at hand.
    pub take_turns: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            session: ServerConfig::default(),
            path: "/engine.io/".to_owned(),
            cors: None,
            allow_request: None,
            initial_headers: None,
            headers: None,
            connection_error: None,

            http: HandshakeConfig::default(),
            websocket: None,
            #[cfg(feature = "deflate")]
            per_message_deflate: None,
            write_timeout: std::time::Duration::from_secs(30),
            command_queue: 1024,
            request_timeout: std::time::Duration::from_secs(30),
            handler_timeout: std::time::Duration::from_secs(45),
            #[cfg(feature = "http-compression")]
            http_compression: Some(Default::default()),
            take_turns: true,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("session", &self.session)
            .field("path", &self.path)
            .field("cors", &self.cors)
            .field("allow_request", &self.allow_request.is_some())
            .field("initial_headers", &self.initial_headers.is_some())
            .field("headers", &self.headers.is_some())
            .field("connection_error", &self.connection_error.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Sets the check run on each new session's first request (Node's
    /// `allowRequest`). The future owns what it needs of the request:
    ///
    /// ```
    /// use engineio::server::{Refusal, ServerOptions};
    ///
    /// let mut options = ServerOptions::default();
    /// options.allow_request(|req| {
    ///     let token = req.headers().get("authorization").cloned();
    ///     async move {
    ///         // e.g. look the token up in a database here
    ///         match token {
    ///             Some(t) if t == "Bearer ok" => Ok(()),
    ///             _ => Err(Refusal::forbidden("not authorized")),
    ///         }
    ///     }
    /// });
    /// ```
    pub fn allow_request<F, Fut>(&mut self, check: F) -> &mut Self
    where
        F: Fn(&::http::Request<()>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |req| Box::pin(check(req))));
        self
    }

    /// Sets the hook on the response that opens a session (Node's
    /// `initial_headers` event): the polling handshake, and the 101 of a
    /// WebSocket opened without a polling session before it. What it
    /// inserts is added to that response only, replacing a header of the
    /// same name the engine set; the typical use is a cookie, for sticky
    /// sessions behind a load balancer or to tag the client:
    ///
    /// ```
    /// use engineio::server::ServerOptions;
    /// use http::HeaderValue;
    ///
    /// let mut options = ServerOptions::default();
    /// options.on_initial_headers(|_req, headers| {
    ///     headers.insert("set-cookie", HeaderValue::from_static("io=abc; Path=/"));
    /// });
    /// ```
    ///
    /// The framing headers (`Content-Length`, `Transfer-Encoding`,
    /// `Connection`, `Upgrade`, `Sec-WebSocket-Accept`) are the server's: a
    /// hook's are ignored. A hook that panics has the headers of that call
    /// dropped; the response goes out without them. Hooks run on the
    /// connection's task: keep them quick.
    pub fn on_initial_headers<F>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(&::http::Request<()>, &mut ::http::HeaderMap) + Send + Sync + 'static,
    {
        self.initial_headers = Some(Arc::new(hook));
        self
    }

    /// Sets the hook on every response a session gives (Node's `headers`
    /// event): each polling GET and POST answered by its session, the
    /// handshake included, and every WebSocket 101 (a direct one, or an
    /// upgrade's). For the response that opens a session it runs after
    /// [`on_initial_headers`](Self::on_initial_headers)' hook, on the same
    /// map. Refusals (see [`on_connection_error`](Self::on_connection_error))
    /// and CORS preflights do not reach it, as in Node, where they are
    /// answered before any transport sees the request; neither does a poll
    /// the session refuses (a 400 after an overlapping GET, say). The same
    /// rules as for `on_initial_headers` apply to what it inserts.
    pub fn on_headers<F>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(&::http::Request<()>, &mut ::http::HeaderMap) + Send + Sync + 'static,
    {
        self.headers = Some(Arc::new(hook));
        self
    }

    /// Sets the hook on every request the engine refuses with one of the
    /// official error answers (Node's `connection_error` event): an unknown
    /// transport, sid or protocol version, a bad handshake method, a bad
    /// request, or `allow_request`'s refusal. Answers that carry no
    /// Engine.IO code do not reach it: 404 off the Engine.IO path, 503
    /// while shutting down, and the HTTP layer's own 400/408/413 for a
    /// request that could not be read. A hook that panics does not stop
    /// the refusal from going out.
    ///
    /// ```
    /// use engineio::server::{ConnectionError, ServerOptions};
    ///
    /// let mut options = ServerOptions::default();
    /// options.on_connection_error(|err: &ConnectionError| {
    ///     eprintln!("{} {}: {:?}", err.code(), err.message(), err.context());
    /// });
    /// ```
    pub fn on_connection_error<F>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(&ConnectionError) + Send + Sync + 'static,
    {
        self.connection_error = Some(Arc::new(hook));
        self
    }

    pub(super) fn ws_config(&self) -> ws_frame::Config {
        #[allow(unused_mut)]
        let mut config = self.websocket.clone().unwrap_or_else(|| {
            let mut c = ws_frame::Config::default();
            c.max_frame_size = self.session.max_payload;
            c.max_message_size = self.session.max_payload;
            c
        });
        #[cfg(feature = "deflate")]
        if self.per_message_deflate.is_some() {
            config.deflate = self.per_message_deflate.clone();
        }
        config
    }
}
