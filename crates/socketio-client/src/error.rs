//! Errors and reasons.

use socketio_proto::BuildError;

/// Why an emit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized, or the event name is reserved.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The manager is closed.
    #[error("the manager is closed")]
    Closed,
    /// More emits are waiting than `ClientOptions::max_buffered`.
    #[error("too many emits are waiting to be sent")]
    BufferFull,
}

/// Why an acknowledgement did not come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout.
    #[error("no acknowledgement within the timeout")]
    Timeout,
    /// The manager closed first.
    #[error("the connection closed before the acknowledgement")]
    Closed,
    /// The answer did not fit the requested type.
    #[error("the acknowledgement does not fit the requested type: {0}")]
    Deserialize(serde_json::Error),
}

/// Why a socket disconnected, with socket.io-client's reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected this socket; it is not re-joined.
    IoServerDisconnect,
    /// This side disconnected it (or closed the manager).
    IoClientDisconnect,
    /// The server stopped answering the heartbeat.
    PingTimeout,
    /// The connection closed.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent something that is not Socket.IO.
    ParseError,
}

impl DisconnectReason {
    /// The reason as socket.io-client reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
        }
    }
}

impl socketio_runtime::TransportReason for DisconnectReason {
    const TRANSPORT_CLOSE: Self = DisconnectReason::TransportClose;
    const TRANSPORT_ERROR: Self = DisconnectReason::TransportError;
    const PING_TIMEOUT: Self = DisconnectReason::PingTimeout;
    const PARSE_ERROR: Self = DisconnectReason::ParseError;
    const CLOSED_HERE: Self = DisconnectReason::IoClientDisconnect;
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
