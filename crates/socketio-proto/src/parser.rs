//! Which wire form packets take.

/// How packets are put on the wire. Both ends of a connection must use the
/// same one; a server or client takes it as an option.
///
/// - [`Json`](Self::Json) (the default): `socket.io-parser`'s, a text
///   message per packet, bytes as binary attachments that follow it.
/// - `MsgPack` (feature `msgpack`): `socket.io-msgpack-parser`'s, one
///   binary message per packet, the packet object `{type, data, nsp, id}`
///   as MessagePack, bytes inside it as MessagePack bin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// The default parser, `socket.io-parser` 4.x.
    #[default]
    Json,
    /// `socket.io-msgpack-parser` 3.x (Node: `parser: require("socket.io-msgpack-parser")`).
    #[cfg(feature = "msgpack")]
    MsgPack,
}

impl Parser {
    /// The packet as the one binary message a parser like `MsgPack` sends
    /// for it; `None` for [`Json`](Self::Json), whose packets go as
    /// [`Packet::encode`](crate::Packet::encode)'s text and then each
    /// attachment. A runtime branches on this, with no `cfg` of its own.
    ///
    /// Fails only for a payload the parser cannot carry
    /// ([`BuildError::TooDeep`](crate::BuildError::TooDeep)).
    pub fn encode_binary(
        self,
        packet: &crate::Packet,
    ) -> Option<Result<Vec<u8>, crate::BuildError>> {
        match self {
            Parser::Json => {
                let _ = packet;
                None
            }
            #[cfg(feature = "msgpack")]
            Parser::MsgPack => Some(packet.encode_msgpack()),
        }
    }
}
