//! One binary message to the MessagePack parser. Oracle (round trip, the
//! encoder against the decoder): whatever decodes re-encodes, decodes to the
//! same packet, and its encoding is then stable; its payload is JSON the
//! JSON readers take.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{Decoder, DecoderConfig, Packet, Parser};

fn decode(message: Bytes) -> Option<Packet> {
    let mut d = Decoder::with_parser(DecoderConfig::default(), Parser::MsgPack);
    d.handle_binary(message).ok()?;
    assert!(!d.is_pending(), "a MessagePack packet is one message");
    d.poll_packet()
}

fuzz_target!(|data: &[u8]| {
    let Some(p) = decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    if let Some(json) = p.raw_data() {
        let _: serde_json::Value = json.parse().expect("the payload is JSON");
    }
    let bytes = p.encode_msgpack().expect("what decodes encodes");
    let again = decode(Bytes::from(bytes.clone())).expect("re-encoding decodes");
    assert_eq!(again, p);
    assert_eq!(
        again.encode_msgpack().unwrap(),
        bytes,
        "the encoding is stable"
    );
});
