//! permessage-deflate (RFC 7692) between two in-memory peers: negotiation
//! through the handshake types, RSV1 rules, fragmented compressed messages,
//! the inflated-size bound and context takeover.

use bytes::Bytes;
use ws_frame::deflate::DeflateConfig;
use ws_frame::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use ws_frame::handshake::{
    ClientRequest, HandshakeConfig, UpgradeRequest, encode_response, parse_request,
};
use ws_frame::mask::apply_mask_reference;
use ws_frame::{
    Config, Connection, DeflateParams, EncodedFrame, Error, HandshakeError, Message, ProtocolError,
    State,
};

use crate::peers::*;

fn config(deflate: DeflateConfig) -> Config {
    let mut c = Config::default();
    c.deflate = Some(deflate);
    c
}

/// Runs the opening handshake between our two sides and returns both
/// connections with whatever deflate they agreed on, and the response's
/// extension header.
fn pair(client_cfg: DeflateConfig, server_cfg: DeflateConfig) -> (Connection, Connection, String) {
    let req = ClientRequest::new("ws://x/", [9; 16])
        .unwrap()
        .deflate(client_cfg.clone());
    let (http, _) = parse_request(&req.encode(), &HandshakeConfig::default())
        .unwrap()
        .unwrap();
    let up = UpgradeRequest::check(http).unwrap();
    let (resp, params) = up.accept_deflate(None, &server_cfg);
    let mut head = Vec::new();
    encode_response(&resp, &mut head);
    let (resp, _) = req
        .parse_response(&head, &HandshakeConfig::default())
        .unwrap()
        .unwrap();
    let client_params = req.deflate_response(&resp).unwrap().unwrap();
    let server = Connection::server(config(server_cfg)).with_deflate(params.unwrap());
    let client = Connection::client(config(client_cfg), || [0; 4]).with_deflate(client_params);
    let ext = resp.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap()
        .to_owned();
    (client, server, ext)
}

fn json(n: usize) -> String {
    let mut s = String::from("[");
    for i in 0..n {
        s.push_str(&format!(
            "{{\"id\":{i},\"name\":\"user{}\",\"ok\":true}},",
            i % 97
        ));
    }
    s.push(']');
    s
}

/// RSV bits of each frame on `wire` (unmasked or zero-masked frames).
fn frames(wire: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let (h, n) = FrameHeader::decode_with_rsv(&wire[at..], 0b100)
            .unwrap()
            .unwrap();
        let body = wire[at + n..at + n + h.payload_len as usize].to_vec();
        at += n + h.payload_len as usize;
        out.push((h, body));
    }
    out
}

fn frame_rsv(fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        ..FrameHeader::new(opcode, payload.len() as u64, Some(KEY))
    };
    let mut h = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut h);
    let mut body = payload.to_vec();
    apply_mask_reference(&mut body, KEY, 0);
    [&h[..n], &body[..]].concat()
}

/// The compressed payload (no trailer) a fresh compressor makes for `data`.
fn compressed(data: &[u8]) -> Vec<u8> {
    let (mut c, _, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    c.send(Message::binary(data.to_vec())).unwrap();
    let (h, body) = frames(&drain(&mut c)).remove(0);
    assert_eq!(h.rsv, 0b100);
    body
}

#[test]
fn negotiated_messages_flow_compressed_both_ways() {
    let (mut c, mut s, ext) = pair(DeflateConfig::default(), DeflateConfig::default());
    assert_eq!(ext, "permessage-deflate");
    let big = json(200);
    for _ in 0..3 {
        c.send(Message::text(big.as_str())).unwrap();
        c.send(Message::text("small")).unwrap();
        c.send_uncompressed(Message::text(big.as_str())).unwrap();
        c.send(Message::Ping(Bytes::from_static(b"p"))).unwrap();
        let wire = drain(&mut c);
        let rsv: Vec<u8> = frames(&wire).iter().map(|(h, _)| h.rsv).collect();
        // Over the threshold: compressed; under it, forced plain, control: not.
        assert_eq!(rsv, [0b100, 0, 0, 0]);
        let (got, err) = feed(&mut s, &wire);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            got,
            [
                Message::text(big.as_str()),
                Message::text("small"),
                Message::text(big.as_str()),
                Message::Ping(Bytes::from_static(b"p"))
            ]
        );
        let _pong = drain(&mut s);
        s.send(Message::binary(big.clone().into_bytes())).unwrap();
        let wire = drain(&mut s);
        assert!(wire.len() < big.len() / 3, "{}", wire.len());
        let (got, _) = feed(&mut c, &wire);
        assert!(got[0] == Message::binary(big.clone().into_bytes()));
    }
    // Context takeover: both keep their state between messages.
    assert!(c.holds_deflate_state() && s.holds_deflate_state());
}

#[test]
fn no_context_takeover_keeps_no_state_between_messages() {
    let mut forced = DeflateConfig::default();
    forced.no_context_takeover = true;
    // The server imposes it on a client that did not ask.
    let (mut c, mut s, ext) = pair(DeflateConfig::default(), forced);
    assert_eq!(
        ext,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    assert_eq!(
        s.deflate_params(),
        Some(DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateParams::default()
        })
    );
    let big = json(100);
    for _ in 0..3 {
        c.send(Message::text(big.as_str())).unwrap();
        let (got, _) = feed(&mut s, &drain(&mut c));
        assert_eq!(got, [Message::text(big.as_str())]);
        s.send(Message::text(big.as_str())).unwrap();
        let (got, _) = feed(&mut c, &drain(&mut s));
        assert_eq!(got, [Message::text(big.as_str())]);
        assert!(!c.holds_deflate_state() && !s.holds_deflate_state());
    }
}

#[test]
fn fragmented_compressed_message_reassembles() {
    let data = json(300);
    let z = compressed(data.as_bytes());
    let (_, mut s, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    let third = z.len() / 3;
    let mut wire = frame_rsv(false, 0b100, OpCode::Text, &z[..third]);
    wire.extend(frame_rsv(true, 0, OpCode::Ping, b"between"));
    wire.extend(frame_rsv(
        false,
        0,
        OpCode::Continuation,
        &z[third..2 * third],
    ));
    wire.extend(frame_rsv(true, 0, OpCode::Continuation, &z[2 * third..]));
    // Any split of the bytes gives the same messages.
    for cut in [1, 7, 100, wire.len() - 1] {
        let (mut s2, _) = (
            pair(DeflateConfig::default(), DeflateConfig::default()).1,
            (),
        );
        let (got, err) = feed_chunks(&mut s2, &[&wire[..cut], &wire[cut..]]);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], Message::text(data.as_str()));
    }
    let (got, _) = feed(&mut s, &wire);
    assert_eq!(got[1], Message::text(data.as_str()));
}

#[test]
fn rsv1_rules() {
    let z = compressed(json(100).as_bytes());
    // Without negotiation, RSV1 is a protocol error (1002).
    let mut plain = server();
    let (_, err) = feed(&mut plain, &frame_rsv(true, 0b100, OpCode::Binary, &z));
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::ReservedBitsSet(4)))
    ));
    assert_eq!(queued_close_code(&mut plain), Some(1002));

    let cases = [
        (
            frame_rsv(true, 0b100, OpCode::Ping, b"x"),
            ProtocolError::CompressedControlFrame,
        ),
        (
            [
                frame_rsv(false, 0b100, OpCode::Binary, &z[..4]),
                frame_rsv(true, 0b100, OpCode::Continuation, &z[4..]),
            ]
            .concat(),
            ProtocolError::CompressedContinuation,
        ),
        (
            frame_rsv(true, 0b010, OpCode::Binary, b"x"),
            ProtocolError::ReservedBitsSet(2),
        ),
        (
            frame_rsv(true, 0b100, OpCode::Binary, &[0xff; 16]),
            ProtocolError::InvalidCompressedData,
        ),
    ];
    for (wire, want) in cases {
        let (_, mut s, _) = pair(DeflateConfig::default(), DeflateConfig::default());
        let (_, err) = feed(&mut s, &wire);
        match err {
            Some(Error::Protocol(e)) => assert_eq!(e, want),
            other => panic!("expected {want:?}, got {other:?}"),
        }
        let code = if want == ProtocolError::InvalidCompressedData {
            1007
        } else {
            1002
        };
        assert_eq!(queued_close_code(&mut s), Some(code), "{want:?}");
        assert_eq!(s.state(), State::Closed);
    }
}

#[test]
fn compressed_invalid_utf8_fails_as_text() {
    let z = compressed(&[b'a', 0xff, b'b'].repeat(1000));
    let (_, mut s, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    let (_, err) = feed(&mut s, &frame_rsv(true, 0b100, OpCode::Text, &z));
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    ));
    assert_eq!(queued_close_code(&mut s), Some(1007));
}

#[test]
fn a_decompression_bomb_gets_1009_within_the_limit() {
    // 64 MiB of zeros in about 64 KiB; the limit is 1 MiB of inflated data.
    let z = compressed(&vec![0u8; 64 << 20]);
    assert!(z.len() < 100 << 10, "{}", z.len());
    let (_, s, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    let mut cfg = config(DeflateConfig::default());
    cfg.max_message_size = 1 << 20;
    let mut s = Connection::server(cfg).with_deflate(s.deflate_params().unwrap());
    // In fragments too: the inflated total counts, not each frame.
    let quarter = z.len() / 4;
    let wire = [
        frame_rsv(false, 0b100, OpCode::Binary, &z[..quarter]),
        frame_rsv(false, 0, OpCode::Continuation, &z[quarter..2 * quarter]),
        frame_rsv(true, 0, OpCode::Continuation, &z[2 * quarter..]),
    ]
    .concat();
    let (got, err) = feed(&mut s, &wire);
    assert!(got.is_empty());
    match err {
        Some(Error::Protocol(ProtocolError::MessageTooLarge { size, max })) => {
            assert_eq!(max, 1 << 20);
            assert_eq!(size, (1 << 20) + 1, "stops one byte past the limit");
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    assert_eq!(queued_close_code(&mut s), Some(1009));
    // Just under the limit passes.
    let (_, s2, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    let mut cfg = config(DeflateConfig::default());
    cfg.max_message_size = 1 << 20;
    let mut s2 = Connection::server(cfg).with_deflate(s2.deflate_params().unwrap());
    let z = compressed(&vec![0u8; 1 << 20]);
    let (got, err) = feed(&mut s2, &frame_rsv(true, 0b100, OpCode::Binary, &z));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].payload().len(), 1 << 20);
}

#[test]
fn encoded_frames_are_compressed_per_connection() {
    let (mut c, mut s, _) = pair(DeflateConfig::default(), DeflateConfig::default());
    let big = json(100);
    let shared = EncodedFrame::data(&Message::text(big.as_str())).unwrap();
    let small = EncodedFrame::data(&Message::text("hi")).unwrap();
    for _ in 0..2 {
        s.send_encoded(&shared).unwrap();
        s.send_encoded(&small).unwrap();
    }
    let wire = drain(&mut s);
    let rsv: Vec<u8> = frames(&wire).iter().map(|(h, _)| h.rsv).collect();
    assert_eq!(rsv, [0b100, 0, 0b100, 0]);
    let (got, err) = feed(&mut c, &wire);
    assert!(err.is_none());
    assert_eq!(got[2], Message::text(big.as_str()));
    assert_eq!(got[3], Message::text("hi"));
}

#[test]
fn client_refuses_what_it_cannot_accept() {
    let req = ClientRequest::new("ws://x/", [9; 16])
        .unwrap()
        .deflate(DeflateConfig::default());
    let raw = String::from_utf8(req.encode()).unwrap();
    assert!(
        raw.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        )
    );
    let (http, _) = parse_request(raw.as_bytes(), &HandshakeConfig::default())
        .unwrap()
        .unwrap();
    let up = UpgradeRequest::check(http).unwrap();
    let mut head = Vec::new();
    encode_response(&up.accept(None), &mut head);
    let head = String::from_utf8(head).unwrap();
    let with = |ext: &str| {
        head.replace(
            "\r\n\r\n",
            &format!("\r\nsec-websocket-extensions: {ext}\r\n\r\n"),
        )
    };
    for bad in [
        "permessage-deflate; foo=1",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits",
        "x-webkit-deflate-frame",
        "permessage-deflate;;",
    ] {
        let err = req
            .parse_response(with(bad).as_bytes(), &HandshakeConfig::default())
            .unwrap_err();
        assert!(
            matches!(err, HandshakeError::InvalidExtensionResponse(_)),
            "{bad}: {err:?}"
        );
    }
    // A request that offered nothing accepts no extension.
    let plain = ClientRequest::new("ws://x/", [9; 16]).unwrap();
    let mut head2 = Vec::new();
    let (http, _) = parse_request(&plain.encode(), &HandshakeConfig::default())
        .unwrap()
        .unwrap();
    encode_response(
        &UpgradeRequest::check(http).unwrap().accept(None),
        &mut head2,
    );
    let head2 = String::from_utf8(head2).unwrap().replace(
        "\r\n\r\n",
        "\r\nsec-websocket-extensions: permessage-deflate\r\n\r\n",
    );
    assert_eq!(
        plain
            .parse_response(head2.as_bytes(), &HandshakeConfig::default())
            .unwrap_err(),
        HandshakeError::UnofferedExtension
    );
}
