//! The decoder: text packets and the binary attachments that follow them.

use bytes::Bytes;
use ws_frame::Utf8Bytes;

use crate::error::DecodeError;
use crate::packet::{Packet, parse_text};
use crate::parser::Parser;

/// Limits on what a peer may make the decoder hold.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// Attachments one packet may announce. Default 10, the official
    /// parser's default (`maxAttachments`).
    pub max_attachments: usize,
    /// Bytes the attachments of one packet may add up to. Default 10 MB:
    /// the most the official server takes by default, 10 attachments of
    /// at most its `maxHttpBufferSize` (1 MB) each. Each attachment is also
    /// bounded by the transport's message limit.
    pub max_attachment_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_attachments: 10,
            max_attachment_bytes: 10 * 1_000_000,
        }
    }
}

/// A text message, as [`Decoder::handle_text`] takes it: [`Utf8Bytes`] (what
/// the WebSocket and polling transports deliver, already checked) as is,
/// anything else checked for UTF-8 once, here.
pub trait TextMessage {
    /// The text, or why it is not UTF-8.
    fn into_utf8(self) -> Result<Utf8Bytes, std::str::Utf8Error>;
}

impl TextMessage for Utf8Bytes {
    fn into_utf8(self) -> Result<Utf8Bytes, std::str::Utf8Error> {
        Ok(self)
    }
}

impl TextMessage for String {
    fn into_utf8(self) -> Result<Utf8Bytes, std::str::Utf8Error> {
        Ok(self.into())
    }
}

impl TextMessage for Bytes {
    fn into_utf8(self) -> Result<Utf8Bytes, std::str::Utf8Error> {
        Utf8Bytes::try_from_bytes(self)
    }
}

/// Decodes the packets of one connection, in order.
///
/// Feed each Engine.IO message as it arrives: text to
/// [`handle_text`](Self::handle_text), binary to
/// [`handle_binary`](Self::handle_binary); then take finished packets from
/// [`poll_packet`](Self::poll_packet). A binary event is finished once its
/// last attachment arrived; until then [`is_pending`](Self::is_pending) is
/// true, and the caller bounds how long that may last (this type reads no
/// clock). Errors are the peer's; the protocol's answer is to close the
/// connection ([`DecodeError::close_reason`]).
#[derive(Debug, Default)]
pub struct Decoder {
    config: DecoderConfig,
    parser: Parser,
    /// A binary packet waiting for attachments, how many, and their bytes so far.
    partial: Option<(Packet, usize, usize)>,
    ready: Option<Packet>,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder::with_parser(config, Parser::Json)
    }

    /// A decoder for `parser`'s wire form. With [`Parser::MsgPack`] every
    /// packet is one binary message and a text message is a peer error
    /// ([`DecodeError::TextWithMsgPack`]); the attachment limits do not
    /// apply (bytes travel inside the packet, bounded by the transport's
    /// message limit).
    pub fn with_parser(config: DecoderConfig, parser: Parser) -> Self {
        Decoder {
            config,
            parser,
            partial: None,
            ready: None,
        }
    }

    /// The parser this decoder reads.
    pub fn parser(&self) -> Parser {
        self.parser
    }

    /// A text message. It is copied nowhere: the payload is a slice of it.
    pub fn handle_text(&mut self, text: impl TextMessage) -> Result<(), DecodeError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::MsgPack {
            return Err(DecodeError::TextWithMsgPack);
        }
        if self.partial.is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let text = text.into_utf8().map_err(|_| DecodeError::InvalidUtf8)?;
        let (packet, attachments) = parse_text(&text, self.config.max_attachments)?;
        if attachments == 0 {
            self.ready = Some(packet);
        } else {
            self.partial = Some((packet, attachments, 0));
        }
        Ok(())
    }

    /// A binary message: the next attachment of the waiting packet.
    pub fn handle_binary(&mut self, data: Bytes) -> Result<(), DecodeError> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::MsgPack {
            self.ready = Some(crate::msgpack_parser::decode(&data)?);
            return Ok(());
        }
        let Some((packet, expected, size)) = &mut self.partial else {
            return Err(DecodeError::UnexpectedBinary);
        };
        *size = size.saturating_add(data.len());
        if *size > self.config.max_attachment_bytes {
            let size = *size;
            self.partial = None;
            return Err(DecodeError::AttachmentsTooLarge {
                size,
                max: self.config.max_attachment_bytes,
            });
        }
        packet.push_attachment(data);
        if packet.attachments().len() == *expected {
            self.ready = self.partial.take().map(|(p, _, _)| p);
        }
        Ok(())
    }

    /// The packet the last message finished, if any.
    #[must_use]
    pub fn poll_packet(&mut self) -> Option<Packet> {
        self.ready.take()
    }

    /// Whether a binary packet is waiting for attachments: the decoder holds
    /// it (and the attachments so far) until they come. A runtime gives this
    /// a deadline.
    pub fn is_pending(&self) -> bool {
        self.partial.is_some()
    }

    /// Whether attachments are still due; the same as
    /// [`is_pending`](Self::is_pending).
    pub fn is_waiting_for_attachments(&self) -> bool {
        self.is_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn binary_event_waits_for_its_attachments() {
        let mut d = Decoder::default();
        let text = r#"52-/files,9["up",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]"#;
        d.handle_text(Bytes::from_static(text.as_bytes())).unwrap();
        assert!(d.poll_packet().is_none());
        assert_eq!(
            d.handle_text(Bytes::from_static(b"2[\"x\"]")),
            Err(DecodeError::UnexpectedText)
        );
        d.handle_binary(Bytes::from_static(b"one")).unwrap();
        assert!(d.poll_packet().is_none());
        d.handle_binary(Bytes::from_static(b"two")).unwrap();
        let p = d.poll_packet().unwrap();
        assert_eq!(
            (p.kind(), p.nsp(), p.id(), p.attachments().len()),
            (Kind::Event, "/files", Some(9), 2)
        );
        assert_eq!(
            d.handle_binary(Bytes::new()),
            Err(DecodeError::UnexpectedBinary)
        );
    }

    #[test]
    fn attachment_bytes_are_bounded() {
        let mut d = Decoder::new(DecoderConfig {
            max_attachment_bytes: 4,
            ..Default::default()
        });
        d.handle_text(Bytes::from_static(
            b"51-[\"a\",{\"_placeholder\":true,\"num\":0}]",
        ))
        .unwrap();
        assert!(d.is_pending());
        assert_eq!(
            d.handle_binary(Bytes::from_static(b"12345")),
            Err(DecodeError::AttachmentsTooLarge { size: 5, max: 4 })
        );
        assert!(!d.is_pending(), "the packet is dropped");
    }

    #[test]
    fn the_default_takes_what_the_official_server_takes_and_no_more() {
        // 10 attachments of 1 MB (maxAttachments x maxHttpBufferSize).
        let over = Bytes::from(vec![0u8; 1_000_001]);
        let mb = over.slice(..1_000_000);
        let header = |n: usize| {
            let args: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
                .collect();
            format!(r#"5{n}-["e",{}]"#, args.join(","))
        };
        let mut d = Decoder::default();
        d.handle_text(header(10)).unwrap();
        for _ in 0..10 {
            assert!(d.is_pending());
            d.handle_binary(mb.clone()).unwrap();
        }
        assert!(!d.is_pending());
        assert_eq!(d.poll_packet().unwrap().attachments().len(), 10);
        d.handle_text(header(10)).unwrap();
        for _ in 0..9 {
            d.handle_binary(mb.clone()).unwrap();
        }
        assert_eq!(
            d.handle_binary(over),
            Err(DecodeError::AttachmentsTooLarge {
                size: 10_000_001,
                max: 10_000_000
            })
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_a_peer_error() {
        for text in [
            &b"2[\"e\",\"\xff\"]"[..],
            b"2[\"e\",{\"_placeholder\":[\"\xff\"]}]",
            b"51-[\"e\",{\"_placeholder\":true,\"num\":0},{\"num\":{\"a\":\"\xc3\"}}]",
            b"0/\xff,{}",
            b"\xff",
        ] {
            let mut d = Decoder::default();
            let r = d.handle_text(Bytes::from_static(text));
            assert_eq!(r, Err(DecodeError::InvalidUtf8), "{text:x?}");
            assert!(d.poll_packet().is_none() && !d.is_pending());
        }
    }
}
