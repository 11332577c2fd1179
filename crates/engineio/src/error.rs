//! Errors of the Engine.IO layer.

/// A packet or payload from the peer breaks the Engine.IO v4 format. The
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
    /// A payload holds more packets than `max_packets`.
    #[error("payload holds more than {0} packets")]
    TooManyPackets(usize),
}

impl DecodeError {
    /// The close reason Engine.IO reports for it.
    pub fn close_reason(&self) -> &'static str {
        "parse error"
    }
}

/// The session is closed: nothing more can be sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SessionClosed;
