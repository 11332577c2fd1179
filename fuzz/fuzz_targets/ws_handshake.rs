//! Both handshake parsers. Oracles: the response built for an accepted request
//! carries the accept key of that request's key; one byte short of a complete
//! head is "need more", not complete and not an error; and the request our
//! client sends is always accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_frame::handshake::{
    ClientRequest, HandshakeConfig, UpgradeRequest, accept_key, parse_request,
};

fuzz_target!(|data: &[u8]| {
    let cfg = HandshakeConfig::default();
    if let Ok(Some((req, n))) = parse_request(data, &cfg) {
        assert!(n <= data.len());
        assert!(matches!(parse_request(&data[..n - 1], &cfg), Ok(None)));
        if let Ok(up) = UpgradeRequest::check(req) {
            let key = up.request().headers()["sec-websocket-key"].as_bytes().to_vec();
            let resp = up.accept(up.protocols().first().map(String::as_str));
            assert_eq!(resp.status(), 101);
            assert_eq!(resp.headers()["sec-websocket-accept"], accept_key(&key).as_str());
        }
    }
    let client = ClientRequest::new("ws://127.0.0.1:9/x", [0x55; 16]).expect("valid URL");
    if let Ok(Some((_, n))) = client.parse_response(data, &cfg) {
        assert!(matches!(client.parse_response(&data[..n - 1], &cfg), Ok(None)));
    }
});
