//! The Engine.IO v3 wire forms (engine.io-parser 2.x, the protocol
//! `socket.io-client` 2.x speaks), for servers that accept v3 clients
//! ([`ServerConfig::allow_eio3`](crate::ServerConfig::allow_eio3)).
//!
//! Packets are the same as in v4; what differs is how they travel:
//!
//! - **string payload** (long-polling): each record is `<len>:<packet>`,
//!   where `len` counts the record in UTF-16 code units, as JavaScript's
//!   `String.length` does (`é` is 1, `😀` is 2). Binary messages are `b4` +
//!   base64. An empty payload is `0:`.
//! - **binary payload** (long-polling, for XHR clients that take binary;
//!   sent as `application/octet-stream`): each record is a marker byte (`0`
//!   string, `1` binary), the length as one byte per decimal digit, `255`,
//!   then the record: for a string its UTF-8 bytes (the length counts
//!   bytes), for a binary message the type byte `4` and the data.
//! - **WebSocket**: text packets as in v4; a binary message is a binary
//!   frame starting with the type byte `4` (or, for a client that asked for
//!   base64 with `b64=1`, the text frame `b4` + base64).
//!
//! A record whose stated length would cut a character in two (half of a
//! surrogate pair, where the JavaScript parser would go on with a broken
//! string) is refused as malformed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes, BytesMut};
use ws_frame::Utf8Bytes;

use crate::error::DecodeError;
use crate::packet::{Packet, Payload};

/// The marker byte before a string record of a binary payload.
const STRING_RECORD: u8 = 0;
/// The marker byte before a binary record of a binary payload.
const BINARY_RECORD: u8 = 1;
/// Ends the length digits of a binary payload's record.
const LENGTH_END: u8 = 255;
/// The type byte of a binary message.
const MESSAGE: u8 = 4;
/// The most length digits accepted: more than any body could hold (the
/// JavaScript parser allows 310).
const MAX_DIGITS: usize = 16;

/// Whether `body` is a binary payload rather than a string payload: a
/// string payload starts with a length digit, a binary one with its marker
/// byte `0` or `1` (what `application/octet-stream` says over HTTP).
pub fn is_binary(body: &[u8]) -> bool {
    matches!(body.first(), Some(&(STRING_RECORD | BINARY_RECORD)))
}

/// Appends `packets` as one payload, as the official server answers a GET:
/// a binary payload when the client takes binary (`supports_binary`, that
/// is without `b64=1`) and a packet is binary, else a string payload.
/// Returns whether the payload is binary (`application/octet-stream`).
pub fn encode<'a, I>(packets: I, supports_binary: bool, out: &mut BytesMut) -> bool
where
    I: IntoIterator<Item = &'a Packet>,
    I::IntoIter: Clone,
{
    let packets = packets.into_iter();
    let binary = supports_binary
        && packets
            .clone()
            .any(|p| matches!(p, Packet::Message(Payload::Binary(_))));
    if binary {
        for p in packets {
            encode_binary_record(p, out);
        }
        return true;
    }
    let start = out.len();
    for p in packets {
        let mut record = BytesMut::new();
        encode_record(p, &mut record);
        // Built from a packet's text form: UTF-8.
        let units: usize = std::str::from_utf8(&record)
            .map(|s| s.encode_utf16().count())
            .unwrap_or(record.len());
        out.put_slice(units.to_string().as_bytes());
        out.put_u8(b':');
        out.put_slice(&record);
    }
    if out.len() == start {
        out.put_slice(b"0:");
    }
    false
}

/// Appends one packet's v3 text form: as in v4, but a binary message is
/// `b4` + base64.
pub fn encode_record(packet: &Packet, out: &mut BytesMut) {
    match packet {
        Packet::Message(Payload::Binary(b)) => {
            out.put_slice(b"b4");
            out.put_slice(BASE64.encode(b).as_bytes());
        }
        p => p.encode_text(out),
    }
}

fn encode_binary_record(packet: &Packet, out: &mut BytesMut) {
    let (marker, len) = match packet {
        Packet::Message(Payload::Binary(b)) => (BINARY_RECORD, 1 + b.len()),
        p => {
            let mut record = BytesMut::new();
            p.encode_text(&mut record);
            (STRING_RECORD, record.len())
        }
    };
    out.put_u8(marker);
    out.extend(len.to_string().bytes().map(|d| d - b'0'));
    out.put_u8(LENGTH_END);
    match packet {
        Packet::Message(Payload::Binary(b)) => {
            out.put_u8(MESSAGE);
            out.put_slice(b);
        }
        p => p.encode_text(out),
    }
}

/// Decodes a POST body, string or binary payload ([`is_binary`]). At most
/// `max_packets` records are accepted (empty records, which the official
/// parser skips, count too); the body's size is the transport's to bound.
pub fn decode(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    if is_binary(&body) {
        decode_binary(body, max_packets)
    } else {
        decode_string(body, max_packets)
    }
}

fn decode_string(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    let body = Utf8Bytes::try_from_bytes(body).map_err(|_| DecodeError::NotUtf8)?;
    let s = body.as_str();
    if s.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut packets = Vec::new();
    let mut records = 0;
    let mut i = 0;
    while i < s.len() {
        if records == max_packets {
            return Err(DecodeError::TooManyPackets(max_packets));
        }
        records += 1;
        let colon = s[i..]
            .find(':')
            .map(|p| i + p)
            .ok_or(DecodeError::InvalidLength)?;
        let units = parse_length(&s.as_bytes()[i..colon])?;
        // Walk `units` UTF-16 code units from after the colon.
        let start = colon + 1;
        let mut end = start;
        let mut counted = 0;
        let mut chars = s[start..].chars();
        while counted < units {
            let c = chars.next().ok_or(DecodeError::InvalidLength)?;
            counted += c.len_utf16();
            end += c.len_utf8();
        }
        if counted != units {
            // The length ends inside a surrogate pair.
            return Err(DecodeError::InvalidLength);
        }
        if end > start {
            // `start` follows ASCII `:`, `end` a whole character.
            let record = body.slice(start..end).ok_or(DecodeError::NotUtf8)?;
            packets.push(decode_record(record)?);
        }
        i = end;
    }
    Ok(packets)
}

fn decode_binary(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if packets.len() == max_packets {
            return Err(DecodeError::TooManyPackets(max_packets));
        }
        let marker = body[i];
        let digits_end = body[i + 1..]
            .iter()
            .position(|&b| b == LENGTH_END)
            .map(|p| i + 1 + p)
            .ok_or(DecodeError::InvalidLength)?;
        let digits = &body[i + 1..digits_end];
        if digits.is_empty() || digits.len() > MAX_DIGITS || digits.iter().any(|&d| d > 9) {
            return Err(DecodeError::InvalidLength);
        }
        let len = digits.iter().fold(0usize, |n, &d| {
            n.saturating_mul(10).saturating_add(d as usize)
        });
        let start = digits_end + 1;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= body.len())
            .ok_or(DecodeError::InvalidLength)?;
        let record = body.slice(start..end);
        packets.push(match marker {
            STRING_RECORD => {
                let text = Utf8Bytes::try_from_bytes(record).map_err(|_| DecodeError::NotUtf8)?;
                decode_record(text)?
            }
            BINARY_RECORD => decode_binary_packet(record)?,
            _ => return Err(DecodeError::InvalidLength),
        });
        i = end;
    }
    Ok(packets)
}

/// The length before a string record's `:`: decimal digits.
fn parse_length(digits: &[u8]) -> Result<usize, DecodeError> {
    if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::InvalidLength);
    }
    Ok(digits.iter().fold(0usize, |n, &d| {
        n.saturating_mul(10).saturating_add((d - b'0') as usize)
    }))
}

/// Decodes one v3 text record: `b` + type + base64 is a binary message.
pub fn decode_record(record: Utf8Bytes) -> Result<Packet, DecodeError> {
    match &record.as_bytes()[..] {
        [b'b', b'4', rest @ ..] => BASE64
            .decode(rest)
            .map(Packet::binary)
            .map_err(|_| DecodeError::InvalidBase64),
        [b'b', ..] => Err(DecodeError::InvalidBase64),
        _ => Packet::decode_text(record),
    }
}

/// A binary record or frame: the type byte, then the data. Only a message
/// carries binary data.
fn decode_binary_packet(data: Bytes) -> Result<Packet, DecodeError> {
    match data.first() {
        Some(&MESSAGE) => Ok(Packet::binary(data.slice(1..))),
        Some(&t) => Err(DecodeError::UnknownType(char::from(t))),
        None => Err(DecodeError::Empty),
    }
}

/// Encodes a packet as a v3 WebSocket message: a binary message as a
/// binary frame after its type byte (or `b4` + base64 text with `base64`).
pub fn to_ws(packet: &Packet, base64: bool) -> ws_frame::Message {
    match packet {
        Packet::Message(Payload::Binary(_)) if base64 => {
            let mut out = BytesMut::new();
            encode_record(packet, &mut out);
            // `b4` and base64: ASCII.
            let text = String::from_utf8(out.to_vec()).unwrap_or_default();
            ws_frame::Message::Text(Utf8Bytes::from(text))
        }
        Packet::Message(Payload::Binary(b)) => {
            let mut out = BytesMut::with_capacity(1 + b.len());
            out.put_u8(MESSAGE);
            out.put_slice(b);
            ws_frame::Message::Binary(out.freeze())
        }
        p => p.to_ws(),
    }
}

/// Decodes a v3 WebSocket message; `None` for control frames.
pub fn from_ws(msg: ws_frame::Message) -> Option<Result<Packet, DecodeError>> {
    match msg {
        ws_frame::Message::Text(t) => Some(decode_record(t)),
        ws_frame::Message::Binary(b) => Some(decode_binary_packet(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(packets: &[Packet], supports_binary: bool) -> (Vec<u8>, bool) {
        let mut out = BytesMut::new();
        let binary = encode(packets, supports_binary, &mut out);
        (out.to_vec(), binary)
    }

    fn dec(body: &[u8]) -> Result<Vec<Packet>, DecodeError> {
        decode(Bytes::copy_from_slice(body), 64)
    }

    #[test]
    fn string_payloads_as_the_official_parser_writes_them() {
        let packets = [
            Packet::Open(crate::Handshake {
                sid: "abc".into(),
                upgrades: vec!["websocket".into()],
                ping_interval: 25000,
                ping_timeout: 5000,
                max_payload: 1_000_000,
            }),
            Packet::text("40"),
        ];
        let (body, binary) = enc(&packets, true);
        assert!(!binary);
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"100:0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}3:440"#
        );
        assert_eq!(dec(&body).unwrap(), packets);
        assert_eq!(enc(&[], false).0, b"0:");
        assert_eq!(dec(b"0:").unwrap(), []);
        assert_eq!(dec(b"1:2").unwrap(), [Packet::Ping("".into())]);
        assert_eq!(
            dec(b"1:21:6").unwrap(),
            [Packet::Ping("".into()), Packet::Noop]
        );
    }

    #[test]
    fn lengths_count_utf16_code_units() {
        // `é` is one unit (two bytes), `😀` two units (four bytes).
        let packets = [Packet::text("é😀x"), Packet::text("€")];
        let (body, _) = enc(&packets, false);
        assert_eq!(String::from_utf8(body.clone()).unwrap(), "5:4é😀x2:4€");
        assert_eq!(dec(&body).unwrap(), packets);
        assert_eq!(dec("2:4😀".as_bytes()), Err(DecodeError::InvalidLength));
        assert_eq!(dec("3:4😀".as_bytes()).unwrap(), [Packet::text("😀")]);
        assert_eq!(dec("4:4😀".as_bytes()), Err(DecodeError::InvalidLength));
        // The byte count is not the length.
        assert_eq!(dec("6:4😀".as_bytes()), Err(DecodeError::InvalidLength));
    }

    #[test]
    fn binary_as_base64_in_string_payloads() {
        let packets = [Packet::binary(vec![1u8, 2, 3]), Packet::text("hi")];
        let (body, binary) = enc(&packets, false);
        assert!(!binary);
        assert_eq!(body, b"6:b4AQID3:4hi");
        assert_eq!(dec(&body).unwrap(), packets);
        assert_eq!(dec(b"4:b4!!"), Err(DecodeError::InvalidBase64));
        assert_eq!(dec(b"6:b2AQID"), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn binary_payloads() {
        let packets = [
            Packet::text("é"),
            Packet::binary(vec![0u8, 255, 7]),
            Packet::binary(Vec::<u8>::new()),
        ];
        let (body, binary) = enc(&packets, true);
        assert!(binary);
        assert_eq!(
            body,
            [
                &[0u8, 3, 255, b'4', 0xc3, 0xa9][..],
                &[1, 4, 255, 4, 0, 255, 7],
                &[1, 1, 255, 4],
            ]
            .concat()
        );
        assert!(is_binary(&body));
        assert_eq!(dec(&body).unwrap(), packets);
        // A length past the end, bad digits, no end mark, a bad marker.
        for bad in [
            &[0u8, 9, 255, b'4'][..],
            &[0, 1, 2][..],
            &[0, 255, b'4'][..],
            &[1, 10, 255, 4][..],
            &[0, 1, 255, 0xff][..],
            &[1, 2, 255, 2, 0][..],
            &[1, 0, 255][..],
        ] {
            assert!(dec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn malformed_lengths_are_refused() {
        for bad in [
            &b""[..],
            b"4",
            b":4",
            b"a:4",
            b"2:4",
            b"1:41",
            b"-1:4",
            b" 1:4",
            b"99999999999999999999:4",
            b"18446744073709551616:4",
        ] {
            assert!(dec(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            decode(Bytes::from_static(b"1:61:61:6"), 2),
            Err(DecodeError::TooManyPackets(2))
        );
        assert_eq!(
            decode(Bytes::from_static(b"0:0:0:"), 2),
            Err(DecodeError::TooManyPackets(2))
        );
    }

    #[test]
    fn websocket_forms() {
        let bin = Packet::binary(vec![9u8, 8]);
        assert_eq!(
            to_ws(&bin, false),
            ws_frame::Message::binary(vec![4u8, 9, 8])
        );
        assert_eq!(to_ws(&bin, true), ws_frame::Message::text("b4CQg="));
        assert_eq!(from_ws(to_ws(&bin, false)), Some(Ok(bin.clone())));
        assert_eq!(from_ws(to_ws(&bin, true)), Some(Ok(bin)));
        assert_eq!(
            to_ws(&Packet::text("x"), false),
            ws_frame::Message::text("4x")
        );
        assert_eq!(
            from_ws(ws_frame::Message::binary(Vec::<u8>::new())),
            Some(Err(DecodeError::Empty))
        );
    }

    #[test]
    fn round_trips_through_both_payloads() {
        let texts = [
            "",
            "a",
            "é",
            "😀😀",
            "日本語",
            "\u{1e}",
            "9:",
            "x".repeat(300).leak(),
        ];
        for supports_binary in [false, true] {
            let mut packets: Vec<Packet> = texts.iter().map(|t| Packet::text(*t)).collect();
            packets.push(Packet::binary(vec![0u8; 5]));
            packets.push(Packet::Pong("".into()));
            let mut out = BytesMut::new();
            encode(&packets, supports_binary, &mut out);
            assert_eq!(decode(out.freeze(), 64).unwrap(), packets);
        }
    }
}
