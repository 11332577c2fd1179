//! Errors: what the peer sent wrong, apart from what the caller asked wrong.

/// A packet from the peer breaks the Socket.IO v5 format.
///
/// The reaction the protocol expects is to close the Engine.IO connection:
/// the official client closes with the reason `"parse error"`
/// ([`DecodeError::close_reason`]); the official server closes the
/// connection as if by `close()`, so its sockets see `"forced close"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A text packet is UTF-8 (Engine.IO v4: text packets are strings).
    #[error("text packet is not valid UTF-8")]
    InvalidUtf8,
    /// A packet must start with its type.
    #[error("empty packet")]
    Empty,
    /// The packet type is a digit from 0 to 6.
    #[error("unknown packet type {0:?}")]
    UnknownPacketType(char),
    /// A binary packet's type is followed by its attachment count (at least 1) and `-`.
    #[error("illegal attachment count")]
    IllegalAttachments,
    /// More attachments than `DecoderConfig::max_attachments`.
    #[error("{count} attachments exceed the limit of {max}")]
    TooManyAttachments {
        /// The announced count.
        count: u64,
        /// The configured limit.
        max: usize,
    },
    /// The ack id does not fit 64 bits.
    #[error("ack id out of range")]
    InvalidAckId,
    /// The payload is not valid JSON.
    #[error("payload is not valid JSON: {0}")]
    InvalidJson(String),
    /// The payload's shape does not fit the packet type (CONNECT: object,
    /// CONNECT_ERROR: string or object, EVENT: array headed by a name,
    /// ACK: array, DISCONNECT: none).
    #[error("payload does not fit the packet type")]
    InvalidPayload,
    /// Event names the protocol reserves (`connect`, `disconnect`, ...).
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// A `{"_placeholder":true}` without a `num` naming one of the attachments.
    #[error("placeholder does not name one of the attachments")]
    IllegalPlaceholder,
    /// A text packet arrived while attachments of a binary packet were due.
    #[error("text packet while attachments were expected")]
    UnexpectedText,
    /// An attachment arrived with no binary packet waiting for it.
    #[error("binary attachment without a binary packet")]
    UnexpectedBinary,
    /// The attachments of one packet add up past `DecoderConfig::max_attachment_bytes`.
    #[error("attachments of {size} bytes exceed the limit of {max}")]
    AttachmentsTooLarge {
        /// The size reached.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// MessagePack parser: a packet is one MessagePack value.
    #[cfg(feature = "msgpack")]
    #[error("not one MessagePack value: {0}")]
    MsgPack(#[from] crate::msgpack::DecodeError),
    /// MessagePack parser: every packet is a binary message.
    #[error("text message where the MessagePack parser takes only binary ones")]
    TextWithMsgPack,
    /// MessagePack parser: a packet is an object (a map).
    #[error("packet is not an object")]
    NotAnObject,
    /// MessagePack parser: `type` is an integer from 0 to 4.
    #[error("invalid packet type")]
    InvalidPacketType,
    /// MessagePack parser: `nsp` is a string starting with `/`.
    #[error("invalid namespace")]
    InvalidNamespace,
}

impl DecodeError {
    /// The Engine.IO close reason that answers this error.
    pub fn close_reason(&self) -> &'static str {
        "parse error"
    }
}

/// The caller asked for a packet the protocol cannot carry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The value could not be serialized.
    #[error("serialization failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The data's shape does not fit the packet type.
    #[error("data does not fit the packet type")]
    InvalidPayload,
    /// The event name is one the protocol reserves.
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// A namespace starts with `/`.
    #[error("namespace {0:?} does not start with '/'")]
    InvalidNamespace(String),
    /// MessagePack parser: the payload nests deeper than it can be read
    /// back (125 levels of arrays and objects).
    #[error("payload nests too deeply to encode")]
    TooDeep,
}
