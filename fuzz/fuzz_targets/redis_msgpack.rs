//! A message from Redis, as any publisher on the cluster may send it.
//! Oracle: decoding never panics, and the copying and slicing decoders
//! agree; what decodes re-encodes to bytes that decode to an equal value
//! (NaN aside) and encode the same again; its JSON text reads back as
//! serde_json reads it; JSON messages survive a write and a read; every
//! packet object inside converts to a packet that a Socket.IO decoder reads
//! back whole, and converts back to an object giving the same packet.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{Decoder, DecoderConfig, Packet};
use socketio_redis::msgpack::{self, DecodeConfig, Value};
use socketio_redis::packet::{self, Format};

/// serde_json reads 127 levels of nesting.
const JSON_DEPTH: usize = 127;

fn contains_nan(v: &Value) -> bool {
    match v {
        Value::F64(f) => f.is_nan(),
        Value::Array(a) => a.iter().any(contains_nan),
        Value::Map(m) => m.iter().any(|(_, v)| contains_nan(v)),
        _ => false,
    }
}

/// The first few maps in `v`, outermost first.
fn maps(v: &Value, out: &mut Vec<Value>) {
    if out.len() >= 8 {
        return;
    }
    match v {
        Value::Map(m) => {
            out.push(v.clone());
            m.iter().for_each(|(_, v)| maps(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| maps(v, out)),
        _ => {}
    }
}

fn json_text(v: &Value) -> Vec<u8> {
    let mut text = Vec::new();
    packet::encode_json(v, &mut text);
    text
}

/// A packet's text and attachments read back by a Socket.IO decoder.
fn reread(p: &Packet) -> Packet {
    let mut config = DecoderConfig::default();
    config.max_attachments = usize::MAX;
    config.max_attachment_bytes = usize::MAX;
    let mut d = Decoder::new(config);
    d.handle_text(p.encode()).expect("our packet text decodes");
    for a in p.attachments() {
        d.handle_binary(a.clone()).expect("attachment accepted");
    }
    d.poll_packet().expect("packet complete")
}

fn check_packets(v: &Value) {
    let mut found = Vec::new();
    maps(v, &mut found);
    for m in found {
        let Ok(p) = packet::value_to_packet(&m, "/") else {
            continue;
        };
        assert_eq!(reread(&p), p);
        let back = packet::packet_to_value(&p, true).expect("not too deep");
        assert_eq!(
            packet::value_to_packet(&back, "/").expect("converts again"),
            p
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig::default();
    let shared = Bytes::copy_from_slice(data);
    let copied = msgpack::decode(data);
    let sliced = msgpack::decode_bytes(&shared, &config);
    match (&copied, &sliced) {
        (Ok(a), Ok(b)) => assert_eq!(msgpack::to_vec(a), msgpack::to_vec(b)),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("decoders disagree: {copied:?} / {sliced:?}"),
    }

    if Format::of(data) == Format::Json
        && let Ok(v) = packet::decode_message(&shared, &config)
    {
        let text = json_text(&v);
        let again = packet::decode_message(&Bytes::from(text.clone()), &config)
            .expect("our JSON reads back");
        assert_eq!(again, v);
        assert_eq!(json_text(&again), text);
        check_packets(&v);
    }

    let Ok(v) = copied else { return };
    let bytes = msgpack::to_vec(&v);
    let back = msgpack::decode(&bytes).expect("re-encoding decodes");
    if !contains_nan(&v) {
        assert_eq!(back, v);
    }
    assert_eq!(msgpack::to_vec(&back), bytes, "the encoding is stable");

    if v.depth() <= JSON_DEPTH {
        let text = json_text(&v);
        let parsed: serde_json::Value = serde_json::from_slice(&text).expect("valid JSON");
        assert_eq!(packet::value_to_json(&v), parsed);
    }
    check_packets(&v);
});
