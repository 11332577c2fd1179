//! A polling payload (POST body). Oracle (round trip): what decodes
//! re-encodes to a payload that decodes to the same packets.
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
});
