//! permessage-deflate: the `Sec-WebSocket-Extensions` parser and negotiation,
//! the inflate path on arbitrary compressed frames, and compression round
//! trips. The first byte picks the part and the parameters.
//!
//! Oracles: nothing panics; an offer the server accepts gives a response our
//! client accepts with the same parameters; no message delivered is larger
//! than `max_message_size` (however much the input inflates to); the same
//! frames in any split give the same messages and verdict; what one side
//! compresses, the other inflates back unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ws_frame::deflate::{DeflateConfig, parse_extensions};
use ws_frame::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use ws_frame::handshake::{
    ClientRequest, HandshakeConfig, UpgradeRequest, encode_response, parse_request,
};
use ws_frame::mask::apply_mask;
use ws_frame::{Config, Connection, DeflateParams, Message};

const MAX_MESSAGE: usize = 1 << 16;

fn deflate_config(bits: u8) -> DeflateConfig {
    let mut d = DeflateConfig::default();
    d.no_context_takeover = bits & 1 != 0;
    d.max_window_bits = 9 + (bits >> 1) % 7;
    d.threshold = 0;
    d
}

fn params(bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: bits & 1 != 0,
        client_no_context_takeover: bits & 2 != 0,
        server_max_window_bits: 8 + (bits >> 2) % 8,
        client_max_window_bits: 8 + (bits >> 5) % 8,
    }
}

fn config(bits: u8) -> Config {
    let mut c = Config::default();
    c.max_frame_size = 1 << 15;
    c.max_message_size = MAX_MESSAGE;
    c.deflate = Some(deflate_config(bits));
    c
}

/// The header parser, and negotiation from a request carrying `value`.
fn negotiate(bits: u8, value: &[u8]) {
    let _ = parse_extensions(value);
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: "
        .to_vec();
    raw.extend_from_slice(value);
    raw.extend_from_slice(b"\r\n\r\n");
    let Ok(Some((req, _))) = parse_request(&raw, &HandshakeConfig::default()) else {
        return;
    };
    let Ok(up) = UpgradeRequest::check(req) else {
        return;
    };
    let (resp, agreed) = up.accept_deflate(None, &deflate_config(bits));
    let Some(server) = agreed else {
        assert!(!resp.headers().contains_key("sec-websocket-extensions"));
        return;
    };
    let mut head = Vec::new();
    encode_response(&resp, &mut head);
    let client_req = ClientRequest::new("ws://x/", *b"the sample nonce")
        .unwrap()
        .deflate(DeflateConfig::default());
    let (resp, _) = client_req
        .parse_response(&head, &HandshakeConfig::default())
        .expect("our client accepts what our server answers")
        .unwrap();
    let client = client_req.deflate_response(&resp).unwrap().unwrap();
    assert_eq!(
        client.server_no_context_takeover,
        server.server_no_context_takeover
    );
    assert_eq!(
        client.client_no_context_takeover,
        server.client_no_context_takeover
    );
    assert_eq!(client.server_max_window_bits, server.server_max_window_bits);
    // The window the server inflates with is the one the client was told.
    assert_eq!(client.client_max_window_bits, server.client_max_window_bits);
}

/// Frames cut from `data`: `[control, len, payload...]` each, masked as a
/// client sends them; control picks FIN, RSV1 and the opcode.
fn frames(data: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut rest = data;
    while let [ctl, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (payload, after) = tail.split_at(n);
        rest = after;
        let opcode = match ctl & 3 {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            _ => OpCode::Ping,
        };
        let header = FrameHeader {
            fin: ctl & 4 != 0,
            rsv: if ctl & 8 != 0 { 0b100 } else { 0 },
            ..FrameHeader::new(opcode, n as u64, Some([9, 8, 7, 6]))
        };
        let mut h = [0u8; MAX_HEADER_LEN];
        let hl = header.encode(&mut h);
        wire.extend_from_slice(&h[..hl]);
        let at = wire.len();
        wire.extend_from_slice(payload);
        apply_mask(&mut wire[at..], [9, 8, 7, 6], 0);
    }
    wire
}

fn read(bits: u8, wire: &[u8], piece: usize) -> (Vec<Message>, Option<String>) {
    let mut conn = Connection::server(config(bits)).with_deflate(params(bits));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in wire.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            if let Err(e) = conn.handle_read(&mut buf) {
                got.extend(std::iter::from_fn(|| conn.poll_message()));
                return (got, Some(format!("{e:?}")));
            }
            while conn.poll_transmit().is_some() {}
            match conn.poll_message() {
                Some(m) => got.push(m),
                None => break,
            }
        }
    }
    (got, None)
}

fn inflate(bits: u8, data: &[u8]) {
    let wire = frames(data);
    let whole = read(bits, &wire, wire.len());
    for m in &whole.0 {
        assert!(m.payload().len() <= MAX_MESSAGE);
    }
    let piece = data.first().copied().unwrap_or(1) as usize;
    assert_eq!(read(bits, &wire, piece), whole);
}

fn roundtrip(bits: u8, data: &[u8]) {
    let p = params(bits);
    let mut client = Connection::client(config(bits), || [1, 2, 3, 4]).with_deflate(p);
    let mut server = Connection::server(config(bits)).with_deflate(p);
    let mut sent = vec![
        Message::binary(data.to_vec()),
        Message::binary(data.to_vec()),
    ];
    if let Ok(s) = std::str::from_utf8(data) {
        sent.push(Message::text(s));
    }
    let mut wire = BytesMut::new();
    for m in &sent {
        client.send(m.clone()).unwrap();
    }
    while let Some(b) = client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    let mut got = Vec::new();
    loop {
        server
            .handle_read(&mut wire)
            .expect("our own frames are valid");
        match server.poll_message() {
            Some(m) => got.push(m),
            None => break,
        }
    }
    assert_eq!(got, sent);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let bits = mode >> 2;
    match mode & 3 {
        0 => negotiate(bits, data),
        1 | 2 => inflate(bits, data),
        _ => roundtrip(bits, &data[..data.len().min(1 << 15)]),
    }
});
