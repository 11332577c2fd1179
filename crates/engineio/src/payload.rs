//! The HTTP long-polling payload: packets joined by the record separator
//! `\x1e`, binary messages as `b` + base64.

use bytes::{BufMut, Bytes, BytesMut};
use ws_frame::Utf8Bytes;

use crate::error::DecodeError;
use crate::packet::Packet;

pub mod v3;

/// The record separator between packets.
pub const SEPARATOR: u8 = 0x1e;

/// Appends `packets` as one payload.
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    for (i, p) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        p.encode_text(out);
    }
}

/// Decodes a payload (a POST body). Text records are slices of `body`, not
/// copies. At most `max_packets` records are accepted; the body's size is
/// the transport's to bound (`maxPayload`).
pub fn decode(body: Bytes, max_packets: usize) -> Result<Vec<Packet>, DecodeError> {
    let body = Utf8Bytes::try_from_bytes(body).map_err(|_| DecodeError::NotUtf8)?;
    let bytes = body.as_bytes().clone();
    let mut packets = Vec::new();
    let mut start = 0;
    for end in memchr_all(&bytes).chain(std::iter::once(bytes.len())) {
        if packets.len() == max_packets {
            return Err(DecodeError::TooManyPackets(max_packets));
        }
        // The separator is ASCII, so both ends are character boundaries.
        let record = body.slice(start..end).ok_or(DecodeError::NotUtf8)?;
        packets.push(Packet::decode_record(record)?);
        start = end + 1;
    }
    Ok(packets)
}

fn memchr_all(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == SEPARATOR)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_payloads() {
        let packets = decode(Bytes::from_static(b"4hello\x1ebAQIDBA==\x1e2probe"), 16).unwrap();
        assert_eq!(
            packets,
            [
                Packet::text("hello"),
                Packet::binary(vec![1u8, 2, 3, 4]),
                Packet::Ping("probe".into())
            ]
        );
        let mut out = BytesMut::new();
        encode(&packets, &mut out);
        assert_eq!(&out[..], b"4hello\x1ebAQIDBA==\x1e2probe");
        assert_eq!(
            decode(Bytes::from_static(b"4a\x1e"), 16),
            Err(DecodeError::Empty)
        );
        assert_eq!(
            decode(Bytes::from_static(b"abc"), 16),
            Err(DecodeError::UnknownType('a'))
        );
        assert_eq!(
            decode(Bytes::from_static(b"b!!"), 16),
            Err(DecodeError::InvalidBase64)
        );
        assert_eq!(
            decode(Bytes::from_static(b"4\xff"), 16),
            Err(DecodeError::NotUtf8)
        );
        assert_eq!(
            decode(Bytes::from_static(b"6\x1e6\x1e6"), 2),
            Err(DecodeError::TooManyPackets(2))
        );
    }
}
