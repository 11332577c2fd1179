//! Errors, split by whose fault they are.
//!
//! - [`ProtocolError`]: the peer broke a rule of RFC 6455. Each variant names the
//!   rule and carries its wire reaction, [`ProtocolError::close_code`]; the
//!   [`Connection`](crate::Connection) has already queued that close frame.
//! - [`HandshakeError`]: the opening handshake broke a rule; on the server side
//!   it carries the HTTP status to answer with.
//! - [`UserError`]: the caller misused the API. Nothing went on the wire.
//! - [`Error`]: the union the connection and the tokio adapter return, with
//!   the transport's and TLS's failures.

use crate::message::CloseCode;

/// The peer violated RFC 6455. The connection is failed and a close frame with
/// [`close_code`](Self::close_code) is queued for transmission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// §5.2: RSV bits must be 0 unless an extension defines them.
    #[error("reserved bits {0:#05b} set without a negotiated extension")]
    ReservedBitsSet(u8),
    /// §5.5: control frames must not be fragmented.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// §5.5: control frames carry at most 125 bytes of payload.
    #[error("control frame payload longer than 125 bytes")]
    ControlFrameTooLong,
    /// §5.2: the minimal number of bytes must be used to encode the length.
    #[error("payload length not in its minimal encoding")]
    NonMinimalLength,
    /// §5.2: the most significant bit of a 64-bit length must be 0.
    #[error("64-bit payload length with the high bit set")]
    LengthHighBitSet,
    /// §5.1: a server must close the connection on an unmasked client frame.
    #[error("unmasked frame from a client")]
    UnmaskedFrameFromClient,
    /// §5.1: a client must close the connection on a masked server frame.
    #[error("masked frame from a server")]
    MaskedFrameFromServer,
    /// §5.4: a continuation frame needs a fragmented message in progress.
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// §5.4: fragments of one message must not interleave with another message.
    #[error("new data frame while a fragmented message is in progress")]
    ExpectedContinuation,
    /// §8.1: a text message must be valid UTF-8.
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
    /// §5.5.1: a close frame body is empty or at least 2 bytes (a status code).
    #[error("close frame with a 1-byte body")]
    CloseFrameTooShort,
    /// §7.4: the close status code is not one a peer may send.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// §5.5.1: the close reason must be valid UTF-8.
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// RFC 7692 §6.1: RSV1 marks a compressed message on its first frame
    /// only; control frames are never compressed.
    #[error("RSV1 set on a control frame")]
    CompressedControlFrame,
    /// RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
    #[error("RSV1 set on a continuation frame")]
    CompressedContinuation,
    /// RFC 7692 §7.2.2: a compressed message must be a valid deflate
    /// stream. Answered with 1007, as Node's `ws` does.
    #[error("compressed message is not valid deflate data")]
    InvalidCompressedData,
    /// A frame declared a payload over `Config::max_frame_size` (§10.4).
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The declared payload length.
        size: u64,
        /// The configured limit.
        max: usize,
    },
    /// A message grew past `Config::max_message_size` (§10.4).
    #[error("message of at least {size} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The size the message would reach.
        size: u64,
        /// The configured limit.
        max: usize,
    },
}

impl ProtocolError {
    /// The close code that answers this violation (§7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => CloseCode::INVALID_DATA,
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::TOO_BIG
            }
            _ => CloseCode::PROTOCOL,
        }
    }
}

/// The opening handshake (RFC 6455 §4) broke a rule, or could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The HTTP message is malformed.
    #[error("malformed HTTP: {0}")]
    Http(httparse::Error),
    /// The head grew past `HandshakeConfig::max_head_size` without ending.
    #[error("HTTP head larger than {0} bytes")]
    HeadTooLarge(usize),
    /// §4.2.1: the request method must be GET.
    #[error("request method is not GET")]
    MethodNotGet,
    /// §4.2.1 / §4.1: HTTP/1.1 or later is required.
    #[error("HTTP version older than 1.1")]
    HttpVersionTooOld,
    /// §4.2.1: the request needs a `Host` header.
    #[error("missing Host header")]
    MissingHost,
    /// §4.2.1 / §4.2.2: `Upgrade` must contain `websocket`.
    #[error("Upgrade header does not contain \"websocket\"")]
    MissingUpgradeWebSocket,
    /// §4.2.1 / §4.2.2: `Connection` must contain `Upgrade`.
    #[error("Connection header does not contain \"Upgrade\"")]
    MissingConnectionUpgrade,
    /// §4.2.1: the request needs a `Sec-WebSocket-Key`.
    #[error("missing Sec-WebSocket-Key header")]
    MissingSecWebSocketKey,
    /// §4.2.1, §11.3.1: `Sec-WebSocket-Key` must not appear more than once.
    #[error("Sec-WebSocket-Key header appears more than once")]
    DuplicateSecWebSocketKey,
    /// §4.2.1: the key must be 16 bytes, base64-encoded.
    #[error("Sec-WebSocket-Key is not 16 base64-encoded bytes")]
    InvalidSecWebSocketKey,
    /// §4.2.1: only `Sec-WebSocket-Version: 13` is spoken; answered with 426.
    #[error("unsupported Sec-WebSocket-Version (only 13 is supported)")]
    UnsupportedVersion,
    /// §4.2.1, §11.3.5: `Sec-WebSocket-Version` must not appear more than once.
    #[error("Sec-WebSocket-Version header appears more than once")]
    DuplicateSecWebSocketVersion,
    /// §4.1: the server must answer 101 to accept.
    #[error("server answered {0} instead of 101")]
    UnexpectedStatus(u16),
    /// §4.1: `Sec-WebSocket-Accept` must match the key sent.
    #[error("Sec-WebSocket-Accept does not match the key")]
    WrongAccept,
    /// §4.1, §11.3.3: `Sec-WebSocket-Accept` must not appear more than once.
    #[error("Sec-WebSocket-Accept header appears more than once")]
    DuplicateSecWebSocketAccept,
    /// §4.1: the server may only select a subprotocol the client offered.
    #[error("server selected subprotocol {0:?}, which was not offered")]
    UnofferedSubprotocol(String),
    /// §4.1: the server may not use an extension the client did not offer.
    #[error("server selected an extension, none was offered")]
    UnofferedExtension,
    /// RFC 7692 §7: the server's `Sec-WebSocket-Extensions` response is not
    /// one the client can accept for what it offered (unknown or duplicate
    /// parameters, invalid values, a parameter it did not offer). The client
    /// fails the connection (close code 1010 where a close frame can go).
    #[error("unacceptable extension response: {0}")]
    InvalidExtensionResponse(String),
    /// The handshake did not finish within `HandshakeConfig::timeout`; a
    /// server answers 408 (RFC 9110 §15.5.9) if the request head was incomplete.
    #[error("handshake not done within {0:?}")]
    Timeout(std::time::Duration),
    /// The request was refused by the server's own check (Origin, auth, ...).
    #[error("rejected with status {0}")]
    Rejected(u16),
    /// The URL given to the client is not a `ws://` or `wss://` URL.
    #[error("invalid WebSocket URL: {0}")]
    InvalidUrl(String),
}

impl HandshakeError {
    /// The HTTP status a server answers this failure with.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::HeadTooLarge(_) => 431,
            HandshakeError::MethodNotGet => 405,
            HandshakeError::Timeout(_) => 408,
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::Rejected(s) => *s,
            _ => 400,
        }
    }
}

/// The caller misused the API; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The connection is closing or closed; no more data can be sent.
    #[error("the connection is closing or closed")]
    SendAfterClose,
    /// A ping, pong or close payload is limited to 125 bytes.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlPayloadTooLong(usize),
    /// Codes 1005, 1006, 1015 and unassigned ones must not be sent.
    #[error("close code {0} must not be sent")]
    InvalidCloseCode(u16),
    /// Pre-encoded frames are unmasked, so only a server may send them.
    #[error("pre-encoded (unmasked) frames can only be sent by a server")]
    EncodedFrameOnClient,
    /// A page cannot set the headers of its WebSocket request (the browser
    /// client); the header named was given.
    #[error("a browser WebSocket cannot send the header {0:?}")]
    HeaderInBrowser(String),
}

/// Every error `ws-frame` returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke a framing rule; a close frame is queued.
    #[error("protocol violation by the peer: {0}")]
    Protocol(#[from] ProtocolError),
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The caller misused the API.
    #[error("usage error: {0}")]
    User(#[from] UserError),
    /// The transport ended before the close handshake (close code 1006).
    #[error("connection reset without a closing handshake")]
    AbnormalClosure,
    /// The browser client's receive buffer would pass its limit
    /// (`ConnectOptions::max_buffered_messages` or `max_buffered_bytes`):
    /// the peer sent faster than the application read, and the browser
    /// cannot hold the peer back. The connection was closed (1008).
    #[error("receive buffer full: {messages} messages, {bytes} bytes unread")]
    ReceiveBufferFull {
        /// The messages that would have waited.
        messages: usize,
        /// The bytes that would have waited.
        bytes: usize,
    },
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A `wss://` URL was given to [`connect_url`](crate::connect_url), and
    /// this build has no TLS: enable ws-frame's `tls` feature.
    #[error("wss:// needs ws-frame's `tls` feature, which is not enabled")]
    TlsNotEnabled,
    /// TLS failed: the server's certificate was refused, the handshake
    /// failed, or the URL's host cannot be a TLS server name.
    #[cfg(feature = "tls")]
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

impl Error {
    /// The close code this error closed the connection with, where it
    /// did: a protocol violation's, or 1008 for a full receive buffer.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(e) => Some(e.close_code()),
            Error::ReceiveBufferFull { .. } => Some(CloseCode::POLICY),
            _ => None,
        }
    }
}
