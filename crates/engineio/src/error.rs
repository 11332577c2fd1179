//! Errors of the Engine.IO layer: what the peer broke ([`DecodeError`]),
//! why a request is refused ([`RequestError`]), why a session ended
//! ([`CloseReason`]), and the caller's [`SessionClosed`].

use std::fmt;

/// A packet or payload from the peer breaks the Engine.IO format (v4, or v3
/// on a v3 session). The
/// protocol's reaction is to close the session with the reason
/// `"parse error"` ([`DecodeError::close_reason`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A packet must start with its type, `0` to `6` (or `b` in a payload).
    #[error("empty packet")]
    Empty,
    /// The packet type is not one of `0` to `6`.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A polling payload must be UTF-8 text.
    #[error("payload is not UTF-8")]
    NotUtf8,
    /// A `b` record must hold base64.
    #[error("binary record is not valid base64")]
    InvalidBase64,
    /// The open packet must carry the handshake JSON.
    #[error("invalid handshake: {0}")]
    InvalidHandshake(String),
    /// A v3 payload record's length is not decimal digits, runs past the
    /// payload, or ends inside a character.
    #[error("invalid record length in a v3 payload")]
    InvalidLength,
    /// A payload holds more packets than `max_packets`.
    #[error("payload holds more than {0} packets")]
    TooManyPackets(usize),
}

impl DecodeError {
    /// The close reason Engine.IO reports for it.
    pub fn close_reason(&self) -> CloseReason {
        CloseReason::ParseError
    }
}

/// The session is closed: nothing more can be sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SessionClosed;

/// Why a session ended, with the reason strings the official server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the session (close packet) or its WebSocket.
    TransportClose,
    /// The transport failed: an overlapping poll, a poll dropped before its
    /// answer, or a client that stopped reading (buffer full).
    TransportError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The client sent something that is not Engine.IO.
    ParseError,
    /// The server closed the session.
    ForcedClose,
}

impl CloseReason {
    /// The reason as the official server reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request on a session is refused; the transport answers HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The session is not (or no longer) on long-polling.
    #[error("the session is not on long-polling")]
    NotPolling,
    /// A GET came while another was pending; the session is closed.
    #[error("overlapping poll requests")]
    OverlappingPoll,
    /// The POST body is not a valid payload; the session is closed.
    #[error("invalid payload")]
    InvalidPayload,
    /// A POST came while another was still unanswered; the session is
    /// closed, as the official server does ("data request overlap").
    #[error("overlapping POST requests")]
    OverlappingPost,
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// A WebSocket upgrade is not possible now (already on WebSocket, one
    /// probe at a time, or WebSocket not allowed).
    #[error("upgrade not possible")]
    UpgradeRefused,
}

/// Why one of the client's transport operations failed (a GET or POST, or
/// opening a WebSocket). The session reacts the same to each ("transport
/// error", or a failed probe); the cause is kept for whoever logs it.
#[cfg(feature = "client")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
// The browser client reports fewer causes (the browser parses HTTP).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) enum TransportError {
    /// Connecting, writing or reading failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered with another status than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The response was malformed, too large, or cut short.
    #[error("malformed or incomplete HTTP response")]
    Response,
    /// The WebSocket handshake or URL failed.
    #[error("WebSocket: {0}")]
    WebSocket(#[from] ws_frame::Error),
    /// A compressed poll response inflates past `max_response_body`, is
    /// not valid, or uses a coding the client did not ask for.
    #[error("compressed response: {0}")]
    #[cfg(feature = "client")]
    Compressed(&'static str),
}
