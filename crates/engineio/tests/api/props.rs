//! Round trips of packets and payloads, in text and WebSocket forms.

use bytes::{Bytes, BytesMut};
use engineio::{Handshake, Packet, payload};
use proptest::prelude::*;

/// Text that cannot hold the record separator (it never appears in a payload's text).
fn text() -> impl Strategy<Value = String> {
    "(?s)[^\u{1e}]{0,24}"
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (
            text(),
            proptest::collection::vec("[a-z]{1,9}", 0..3),
            any::<u32>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(sid, upgrades, pi, pt, mp)| Packet::Open(Handshake {
                sid,
                upgrades,
                ping_interval: pi.into(),
                ping_timeout: pt.into(),
                max_payload: mp.into(),
            })),
        Just(Packet::Close),
        text().prop_map(|t| Packet::Ping(t.into())),
        text().prop_map(|t| Packet::Pong(t.into())),
        text().prop_map(Packet::text),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Packet::binary),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

proptest! {
    #[test]
    fn payload_roundtrip(packets in proptest::collection::vec(packet(), 1..8)) {
        let mut out = BytesMut::new();
        payload::encode(&packets, &mut out);
        prop_assert_eq!(payload::decode(out.freeze(), 64).unwrap(), packets);
    }

    #[test]
    fn websocket_roundtrip(p in packet()) {
        prop_assert_eq!(Packet::from_ws(p.to_ws()), Some(Ok(p)));
    }

    /// A payload is the concatenation of its packets: decoding each record
    /// alone gives the same packets as decoding the whole.
    #[test]
    fn records_decode_alone_as_in_the_whole(packets in proptest::collection::vec(packet(), 1..8)) {
        let mut whole = BytesMut::new();
        payload::encode(&packets, &mut whole);
        let whole = whole.freeze();
        let alone: Vec<Packet> = whole
            .split(|&b| b == payload::SEPARATOR)
            .map(|r| payload::decode(Bytes::copy_from_slice(r), 1).unwrap().remove(0))
            .collect();
        prop_assert_eq!(alone, payload::decode(whole, 64).unwrap());
    }

    /// Anything at all: an error or packets, never a panic; what decodes
    /// re-encodes to something that decodes the same.
    #[test]
    fn arbitrary_payloads(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(packets) = payload::decode(Bytes::from(body), 64) {
            let mut out = BytesMut::new();
            payload::encode(&packets, &mut out);
            prop_assert_eq!(payload::decode(out.freeze(), 64).unwrap(), packets);
        }
    }
}
