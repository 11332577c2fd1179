//! Binary reassembly: an arbitrary sequence of text and binary messages.
//! Oracles: a finished packet has exactly the attachments it announced, and
//! it round-trips through encode and a fresh decoder, attachments included.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{Decoder, DecoderConfig, Packet};

fn roundtrip(p: &Packet) {
    let mut d = Decoder::default();
    d.handle_text(Bytes::from(p.encode())).expect("our encoding decodes");
    for a in p.attachments() {
        d.handle_binary(a.clone()).expect("attachment accepted");
    }
    assert_eq!(d.poll_packet().as_ref(), Some(p));
}

fuzz_target!(|data: &[u8]| {
    let mut config = DecoderConfig::default();
    config.max_attachment_bytes = 1 << 12;
    let mut d = Decoder::new(config);
    // Messages are separated by 0xFF; the first byte of each says its kind.
    for msg in data.split(|&b| b == 0xFF) {
        let Some((&kind, body)) = msg.split_first() else { continue };
        let announced = d.is_waiting_for_attachments();
        let r = if kind & 1 == 0 {
            d.handle_text(Bytes::copy_from_slice(body))
        } else {
            d.handle_binary(Bytes::copy_from_slice(body))
        };
        if r.is_err() {
            // The connection would be closed here; start over as a new one would.
            d = Decoder::default();
            continue;
        }
        if let Some(p) = d.poll_packet() {
            if announced {
                // The digits after `5`/`6` are the count the packet announced.
                let text = p.encode();
                let count: usize = text[1..].split('-').next().unwrap().parse().unwrap();
                assert_eq!(count, p.attachments().len());
            }
            roundtrip(&p);
        }
    }
});
