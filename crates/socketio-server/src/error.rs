//! Errors and reasons.

use std::fmt;

/// A middleware's refusal: sent to the client as CONNECT_ERROR
/// `{"message": ..., "data": ...}`, as the official server does.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message (`err.message` on the client).
    pub message: String,
    /// Optional details (`err.data` on the client).
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds details.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// A packet middleware's refusal (`next(err)` in socket.io's
/// `socket.use`): the event is dropped, and the socket's
/// [`on_error`](crate::Socket::on_error) listeners hear why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PacketError {
    /// What went wrong.
    pub message: String,
    /// Optional details.
    pub data: Option<serde_json::Value>,
}

impl PacketError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        PacketError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds details.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Why an emit did not go out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be serialized, or the event name is reserved.
    #[error(transparent)]
    Build(#[from] socketio_proto::BuildError),
    /// The socket is disconnected.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The client's queue was full: it is being disconnected as too slow.
    #[error("the client is too slow and is being disconnected")]
    SlowClient,
    /// The client's queue was full: the message was dropped
    /// (`SlowClient::Drop`, or a volatile emit).
    #[error("the client's queue is full; the message was dropped")]
    Dropped,
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
    /// The socket disconnected first.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The answer did not fit the requested type.
    #[error("the acknowledgement does not fit the requested type: {0}")]
    Deserialize(serde_json::Error),
}

/// Why a socket disconnected, with the official server's reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The client's connection closed (or its close packet came).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering the heartbeat.
    PingTimeout,
    /// The client sent something that is not Socket.IO.
    ParseError,
    /// The server closed the whole connection.
    ForcedClose,
    /// The server is shutting down ([`Server::shutdown`](crate::Server::shutdown),
    /// [`Server::close`](crate::Server::close)); the client sees its
    /// transport close and reconnects, to another node if there is one.
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason as socket.io reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }
}

impl socketio_runtime::TransportReason for DisconnectReason {
    const TRANSPORT_CLOSE: Self = DisconnectReason::TransportClose;
    const TRANSPORT_ERROR: Self = DisconnectReason::TransportError;
    const PING_TIMEOUT: Self = DisconnectReason::PingTimeout;
    const PARSE_ERROR: Self = DisconnectReason::ParseError;
    const CLOSED_HERE: Self = DisconnectReason::ForcedClose;
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
