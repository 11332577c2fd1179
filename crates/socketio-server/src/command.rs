//! What other tasks send a connection's task: packets already encoded
//! ([`Wire`]), and disconnects.

use std::sync::Arc;

use engineio::server::Context;
use engineio::{Payload, Prepared};
use socketio_proto::{BuildError, Packet, Parser};

/// What other tasks ask of a connection.
pub(crate) enum Command {
    /// Send an encoded packet (text, then attachments).
    Send(Wire),
    /// Disconnect the socket of this namespace.
    Disconnect(String),
    /// Disconnect every socket of the connection, then close it.
    CloseConnection,
    /// A join whose middleware (or session restore) waited is decided.
    Connect(Box<crate::conn::PendingConnect>),
    /// A join's checks did not answer within `connect_timeout`.
    JoinTimedOut(String),
}

/// A packet's wire form, encoded once however many sockets it goes to: its
/// text, then its attachments (JSON parser), or its one binary message
/// (MessagePack parser).
#[derive(Clone, Debug)]
pub(crate) struct Wire {
    text: Prepared,
    attachments: Option<Arc<[Prepared]>>,
    /// False for an emit with `compress(false)`: the transport does not
    /// compress it (socket.io's `flags.compress`).
    compress: bool,
}

impl Wire {
    /// Fails only with the MessagePack parser, for a payload nesting
    /// deeper than it reads back ([`BuildError::TooDeep`]).
    pub(crate) fn new(p: &Packet, parser: Parser) -> Result<Wire, BuildError> {
        match parser.encode_binary(p) {
            None => Ok(Wire::json(p)),
            Some(message) => Ok(Wire {
                text: Prepared::new(Payload::Binary(message?.into())),
                attachments: None,
                compress: true,
            }),
        }
    }

    fn json(p: &Packet) -> Wire {
        let attachments = p.attachments();
        Wire {
            // Written straight after the Engine.IO digit: one buffer.
            text: Prepared::text_with(p.encoded_len_hint(), |s| p.encode_into(s)),
            attachments: (!attachments.is_empty()).then(|| {
                attachments
                    .iter()
                    .map(|a| Prepared::new(Payload::Binary(a.clone())))
                    .collect()
            }),
            compress: true,
        }
    }

    /// With socket.io's `compress` flag.
    pub(crate) fn compress(mut self, compress: bool) -> Wire {
        self.compress = compress;
        self
    }

    /// How many Engine.IO packets it is: its text and each attachment.
    pub(crate) fn packets(&self) -> usize {
        1 + self.attachments.as_ref().map_or(0, |a| a.len())
    }

    /// Queues it on the connection it is for.
    pub(crate) fn send(&self, ctx: &mut Context<'_>) {
        ctx.send_prepared_with(&self.text, self.compress);
        for a in self.attachments.iter().flat_map(|a| a.iter()) {
            ctx.send_prepared_with(a, self.compress);
        }
    }
}
