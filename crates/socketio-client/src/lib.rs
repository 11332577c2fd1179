//! A Socket.IO v5 client on tokio.
//!
//! # Layer
//!
//! The top of the client side: [`engineio`]'s client carries the
//! connection, [`socketio_proto`] the packets. A [`Manager`] owns one
//! Engine.IO connection and the [`Socket`]s of every namespace on it, as
//! socket.io-client's Manager does; it reconnects with exponential backoff
//! and jitter, re-joins the namespaces, and sends what was emitted while it
//! was away, in order.
//!
//! # What it does not do (yet)
//!
//! TLS (`https://`, `wss://`); the upgrade and transports are engineio's.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_client::{ClientOptions, Manager};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = Manager::new("http://127.0.0.1:3000", ClientOptions::default());
//! let socket = manager.socket("/", Some(serde_json::json!({ "token": "secret" })));
//! socket.on("chat", |_socket, (from, text): (String, String), _ack| async move {
//!     println!("{from}: {text}");
//! });
//! socket.on_disconnect(|_, reason| eprintln!("disconnected: {reason}"));
//! // Sent as soon as the namespace is joined, even if that is later.
//! socket.emit("join", &("rust",))?;
//! let (members,): (usize,) = socket.emit_with_ack("count", &(), Duration::from_secs(5)).await?;
//! # let _ = members; Ok(()) }
//! ```

mod backoff;
mod manager;
mod socket;

pub use backoff::Backoff;
pub use manager::{ClientOptions, Manager};
pub use socket::{AckError, AckSender, EmitError, Socket};
pub use socketio_proto::Binary;

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
