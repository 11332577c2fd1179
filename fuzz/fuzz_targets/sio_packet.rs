//! One text packet. Oracle (round trip): whatever decodes, re-encoded,
//! decodes to the same packet, and its encoding is then stable.
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
    let (again, waiting) = decode_text(Bytes::from(text.clone())).expect("re-encoding decodes");
    assert!(!waiting);
    assert_eq!(again, p);
    assert_eq!(again.encode(), text);
});
