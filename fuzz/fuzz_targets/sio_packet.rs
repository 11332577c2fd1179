//! One text packet. Oracle (round trip): whatever decodes, re-encoded,
//! decodes to the same packet, and its encoding is then stable; encode_into
//! after a prefix appends the same text, within encoded_len_hint.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{Decoder, Packet};

fn decode_text(text: Bytes) -> Option<(Packet, bool)> {
    let mut d = Decoder::default();
    d.handle_text(text).ok()?;
    let waiting = d.is_waiting_for_attachments();
    Some((d.poll_packet()?, waiting))
}

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::default();
    if d.handle_text(Bytes::copy_from_slice(data)).is_err() {
        return;
    }
    let Some(p) = d.poll_packet() else {
        // A binary packet: its placeholders were checked against the count.
        assert!(d.is_waiting_for_attachments());
        return;
    };
    let text = p.encode();
    assert!(text.len() <= p.encoded_len_hint());
    let mut prefixed = String::from("4");
    p.encode_into(&mut prefixed);
    assert_eq!(prefixed[1..], text, "encode_into appends what encode gives");
    let (again, waiting) = decode_text(Bytes::from(text.clone())).expect("re-encoding decodes");
    assert!(!waiting);
    assert_eq!(again, p);
    assert_eq!(again.encode(), text);
});
