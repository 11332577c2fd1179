//! Why a socket disconnected, when its connection decided it.

use engineio::CloseReason;

/// A runtime's disconnect reasons for the end of the Engine.IO connection
/// under its sockets. The official server and client word their reasons
/// apart; how a connection's end maps onto them is the same, and written
/// once in [`from_engine`](Self::from_engine).
pub trait TransportReason: Copy {
    /// The connection closed.
    const TRANSPORT_CLOSE: Self;
    /// The connection failed.
    const TRANSPORT_ERROR: Self;
    /// The peer stopped answering the heartbeat.
    const PING_TIMEOUT: Self;
    /// The peer sent something that is not Engine.IO or Socket.IO.
    const PARSE_ERROR: Self;
    /// This side closed the connection.
    const CLOSED_HERE: Self;

    /// The reason each socket gets when the connection ends with `reason`.
    fn from_engine(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TRANSPORT_CLOSE,
            CloseReason::PingTimeout => Self::PING_TIMEOUT,
            CloseReason::ParseError => Self::PARSE_ERROR,
            CloseReason::ForcedClose => Self::CLOSED_HERE,
            _ => Self::TRANSPORT_ERROR,
        }
    }
}
