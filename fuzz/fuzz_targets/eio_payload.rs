//! A polling payload (POST body), as v4 and as v3 (string or binary
//! payload). Oracle (round trip): what decodes re-encodes to a payload that
//! decodes to the same packets (v3: both as a string and as a binary
//! payload).
#![no_main]

use bytes::{Bytes, BytesMut};
use engineio::payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = payload::decode(Bytes::copy_from_slice(data), 256) {
        let mut out = BytesMut::new();
        payload::encode(&packets, &mut out);
        assert_eq!(payload::decode(out.freeze(), 256), Ok(packets));
    }
    if let Ok(packets) = payload::v3::decode(Bytes::copy_from_slice(data), 256) {
        for supports_binary in [false, true] {
            let mut out = BytesMut::new();
            payload::v3::encode(&packets, supports_binary, &mut out);
            // `0:` stands for no packets; it decodes to none.
            assert_eq!(payload::v3::decode(out.freeze(), 256), Ok(packets.clone()));
        }
    }
});
