//! What the server can be told: [`ServerOptions`], with the official
//! server's defaults.

use std::sync::Arc;

use ws_frame::handshake::HandshakeConfig;

use crate::ServerConfig;

/// A check on every new session's first request (auth, Origin, rate
/// limits): return `Err(status)` to refuse it with 403 or another status.
pub type AllowRequest = Arc<dyn Fn(&::http::Request<()>) -> Result<(), u16> + Send + Sync>;

/// Everything the server can be told. `Default` gives the official server's
/// defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Session settings: heartbeat, `max_payload`, upgrade timeout, buffers.
    pub session: ServerConfig,
    /// The path Engine.IO answers on. Default `/engine.io/`.
    pub path: String,
    /// `Access-Control-Allow-Origin` for cross-origin browsers: `"*"`, or
    /// one origin (echoed only when the request's Origin matches). Default
    /// `None`: no CORS headers.
    pub cors_origin: Option<String>,
    /// Checked before a new session opens.
    pub allow_request: Option<AllowRequest>,
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
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            session: ServerConfig::default(),
            path: "/engine.io/".to_owned(),
            cors_origin: None,
            allow_request: None,
            http: HandshakeConfig::default(),
            websocket: None,
            write_timeout: std::time::Duration::from_secs(30),
            command_queue: 1024,
            request_timeout: std::time::Duration::from_secs(30),
            handler_timeout: std::time::Duration::from_secs(45),
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("session", &self.session)
            .field("path", &self.path)
            .field("cors_origin", &self.cors_origin)
            .field("allow_request", &self.allow_request.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    pub(super) fn ws_config(&self) -> ws_frame::Config {
        self.websocket.clone().unwrap_or_else(|| {
            let mut c = ws_frame::Config::default();
            c.max_frame_size = self.session.max_payload;
            c.max_message_size = self.session.max_payload;
            c
        })
    }
}
