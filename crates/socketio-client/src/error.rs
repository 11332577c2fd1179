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
    /// With `ClientOptions::retries`: every try went unanswered (each
    /// within its ack timeout, or cut by a disconnect); `tries` is how many
    /// were sent, `retries + 1`, as socket.io-client's `tryCount`.
    #[error("no acknowledgement after {tries} tries")]
    RetriesExhausted {
        /// How many times the packet was sent.
        tries: u32,
    },
}

/// Why a namespace could not be joined: given to `on_connect_error`, to the
/// manager's `on_error` (for the connection's failures), and as the error
/// of [`Socket::connect`](crate::Socket::connect).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server refused the namespace (CONNECT_ERROR): a middleware's
    /// error, or a namespace that does not exist. The socket is not
    /// re-joined until [`connect`](crate::Socket::connect) is called again.
    #[error("refused by the server: {message}")]
    Refused {
        /// The error's message (`err.message` in Node).
        message: String,
        /// The error's `data`, when the server set one (`err.data`).
        data: Option<serde_json::Value>,
    },
    /// No Engine.IO connection within `ClientOptions::timeout`. The manager
    /// goes on reconnecting, as socket.io-client does.
    #[error("no connection within the connect timeout")]
    Timeout,
    /// The connection could not be opened: refused, reset, a TLS failure,
    /// an unsupported URL. The text is the transport's reason.
    #[error("{0}")]
    Transport(String),
    /// The manager was closed, or the socket disconnected, before the
    /// namespace was joined.
    #[error("closed before the namespace was joined")]
    Closed,
}

impl ConnectError {
    /// A CONNECT_ERROR's payload: `{"message", "data"}` from the official
    /// server (or a bare string, from older ones).
    pub(crate) fn refused(payload: Option<serde_json::Value>) -> ConnectError {
        match payload {
            Some(serde_json::Value::Object(mut o)) => ConnectError::Refused {
                message: match o.remove("message") {
                    Some(serde_json::Value::String(m)) => m,
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                data: o.remove("data"),
            },
            Some(serde_json::Value::String(m)) => ConnectError::Refused {
                message: m,
                data: None,
            },
            other => ConnectError::Refused {
                message: other.map(|v| v.to_string()).unwrap_or_default(),
                data: None,
            },
        }
    }
}

/// A transports list [`ClientOptions::try_transports`](crate::ClientOptions::try_transports)
/// does not take: empty, or a name other than `"polling"` and `"websocket"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported transports list {0:?}: use \"polling\" and/or \"websocket\"")]
pub struct TransportsError(pub Vec<String>);

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
