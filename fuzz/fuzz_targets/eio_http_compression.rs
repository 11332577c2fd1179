//! HTTP compression of polling responses: `Accept-Encoding` negotiation
//! and hostile compressed bodies. Oracles: a coding is picked only when the
//! header names it or `*`; inflating never yields more than the limit;
//! what is compressed inflates back to itself.
#![no_main]

use engineio::compression::ContentEncoding;
use libfuzzer_sys::fuzz_target;

const MAX: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let negotiated = std::str::from_utf8(data)
        .ok()
        .and_then(|a| ContentEncoding::negotiate(a).map(|c| (a, c)));
    if let Some((accept, c)) = negotiated {
        let lower = accept.to_ascii_lowercase();
        assert!(
            lower.contains(c.as_str()) || accept.contains('*'),
            "{accept:?}"
        );
    }
    for c in [ContentEncoding::Gzip, ContentEncoding::Deflate] {
        if let Ok(out) = c.decode(data, MAX) {
            assert!(out.len() <= MAX);
        }
        let z = c.encode(data, 6).expect("compressing into memory");
        assert_eq!(c.decode(&z, data.len()).as_deref(), Ok(data));
    }
});
