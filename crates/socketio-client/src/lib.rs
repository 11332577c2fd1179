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
//! # TLS
//!
//! With the `tls` feature, `https://` (and `wss://`) URLs work: every
//! connection speaks TLS through rustls, with the URL's host as the server
//! name. The server's certificate is checked against the webpki roots, or
//! only against the roots set in `ClientOptions::engine.tls` (a private
//! CA, or a server's self-signed certificate), built with
//! [`tls::ClientTls`]. Without the feature such a URL fails to connect, and
//! the error (given to `on_connect_error` and `on_reconnect_error`) says to
//! enable it. A refused certificate fails the same way, with rustls's
//! reason, at once.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_client::tls::ClientTls;
//! use socketio_client::{ClientOptions, Manager};
//!
//! let mut options = ClientOptions::default();
//! options.engine.tls = Some(ClientTls::with_root_pem(&std::fs::read("ca.pem")?)?);
//! let manager = Manager::new("https://chat.internal:8443", options);
//! # let _ = manager; Ok(()) }
//! ```
//!
//! # What it does not do
//!
//! The upgrade and transports are engineio's; this crate adds none.
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

// The TLS docs link to the re-exported module, there only with its feature.
#![cfg_attr(not(feature = "tls"), allow(rustdoc::broken_intra_doc_links))]

mod backoff;
mod command;
mod conn;
mod error;
mod manager;
mod socket;

use socketio_proto::DecoderConfig;

pub use backoff::Backoff;
/// TLS settings (with the `tls` feature): [`tls::ClientTls`] for
/// `ClientOptions::engine.tls`, and the rustls it is built on.
#[cfg(feature = "tls")]
pub use engineio::client::tls;
pub use error::{AckError, DisconnectReason, EmitError};
pub use manager::Manager;
pub use socket::{AckSender, Socket};
pub use socketio_proto::Binary;

/// Client settings, with socket.io-client's defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The Engine.IO layer: transports, upgrade, path (default `/socket.io/`),
    /// query, headers, and with the `tls` feature the roots `https://`
    /// trusts (`engine.tls`).
    pub engine: engineio::client::ClientOptions,
    /// Reconnect when the connection is lost. Default true.
    pub reconnection: bool,
    /// Attempts before giving up (`reconnect_failed`); `None`: forever.
    pub reconnection_attempts: Option<u32>,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Emits that may wait for a connection (and commands in flight to the
    /// manager). Past it, emits fail with `EmitError::BufferFull`. Default 1024.
    pub max_buffered: usize,
    /// Limits on binary attachments from the server.
    pub decoder: DecoderConfig,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let mut engine = engineio::client::ClientOptions::default();
        engine.path = "/socket.io/".to_owned();
        ClientOptions {
            engine,
            reconnection: true,
            reconnection_attempts: None,
            backoff: Backoff::default(),
            max_buffered: 1024,
            decoder: DecoderConfig::default(),
        }
    }
}
