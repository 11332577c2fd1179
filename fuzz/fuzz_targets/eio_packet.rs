//! One Engine.IO packet, as a WebSocket text frame. Oracle (round trip):
//! what decodes re-encodes to a frame that decodes to the same packet.
#![no_main]

use engineio::Packet;
use libfuzzer_sys::fuzz_target;
use ws_frame::Utf8Bytes;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = Utf8Bytes::try_from_bytes(bytes::Bytes::copy_from_slice(data)) else { return };
    if let Ok(p) = Packet::decode_text(text) {
        assert_eq!(Packet::from_ws(p.to_ws()), Some(Ok(p)));
    }
});
