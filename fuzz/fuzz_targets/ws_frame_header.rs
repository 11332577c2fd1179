//! Header decoder. Oracle: a decoded header re-encodes to exactly the bytes it
//! came from (lengths must be minimal, so the encoding is unique), and a
//! partial prefix of a valid header is never an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_frame::frame::{FrameHeader, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((h, n))) = FrameHeader::decode(data) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let m = h.encode(&mut buf);
        assert_eq!(&buf[..m], &data[..n]);
        for cut in 0..n {
            assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None));
        }
    }
});
