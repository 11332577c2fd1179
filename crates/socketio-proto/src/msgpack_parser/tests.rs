//! Byte vectors from socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0),
//! and how MessagePack-only values read.

use super::*;
use crate::{Binary, Decoder, DecoderConfig, Parser};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn dec(bytes: &[u8]) -> Result<Packet, DecodeError> {
    let mut d = Decoder::with_parser(DecoderConfig::default(), Parser::MsgPack);
    d.handle_binary(Bytes::copy_from_slice(bytes))?;
    Ok(d.poll_packet().expect("one message, one packet"))
}

#[test]
fn encodes_as_the_npm_parser() {
    // new Encoder().encode({type: 2, data: ["hello", 1], nsp: "/"})
    let p = Packet::event("/", "hello", &(1,)).unwrap();
    assert_eq!(
        p.encode_msgpack().unwrap(),
        hex("83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f 01 a3 6e 73 70 a1 2f")
    );
    // {type: 0, nsp: "/"}
    let p = Packet::connect("/", None).unwrap();
    assert_eq!(
        p.encode_msgpack().unwrap(),
        hex("82 a4 74 79 70 65 00 a3 6e 73 70 a1 2f")
    );
    // {type: 3, data: [Buffer<01 02>], nsp: "/", id: 7}
    let p = Packet::ack("/", 7, &(Binary(Bytes::from_static(&[1, 2])),)).unwrap();
    assert_eq!(
        p.encode_msgpack().unwrap(),
        hex("84 a4 74 79 70 65 03 a4 64 61 74 61 91 c4 02 01 02 a3 6e 73 70 a1 2f a2 69 64 07")
    );
}

#[test]
fn decodes_what_it_encodes() {
    let bin = Binary(Bytes::from_static(b"\x00\xff"));
    let p = Packet::event("/chat", "up", &("x", &bin, 1.5, u64::MAX))
        .unwrap()
        .with_id(3);
    let back = dec(&p.encode_msgpack().unwrap()).unwrap();
    assert_eq!(
        (back.kind(), back.nsp(), back.id(), back.event_name()),
        (Kind::Event, "/chat", Some(3), Some("up"))
    );
    let (s, b, f): (String, Binary, f64) = back.event_args().unwrap();
    assert_eq!((s.as_str(), b, f), ("x", bin, 1.5));
    // Past 2^53 a number reads as the double Node holds (2^64 here).
    let args: Vec<serde_json::Value> = back.event_args().unwrap();
    assert_eq!(args[3].as_f64(), Some(18_446_744_073_709_551_616.0));
    let again = back.encode_msgpack().unwrap();
    assert_eq!(dec(&again).unwrap().encode_msgpack().unwrap(), again);
}

#[test]
fn msgpack_only_values_read_as_node_sees_them() {
    // {type: 2, nsp: "/", data: ["e", undefined, {a: undefined, 1: true},
    //  Date(0) (notepack 2 form), ext 5 <aa>, ArrayBuffer <01>, 2^53 + 1, NaN]}
    let mut m = hex("83 a4 74 79 70 65 02 a3 6e 73 70 a1 2f a4 64 61 74 61 98 a1 65");
    m.extend(hex("d4 00 00"));
    m.extend(hex("82 a1 61 d4 00 00 01 c3"));
    m.extend(hex("d7 00 00 00 00 00 00 00 00 00"));
    m.extend(hex("d4 05 aa"));
    m.extend(hex("c7 01 00 01"));
    m.extend(hex("cf 00 20 00 00 00 00 00 01"));
    m.extend(hex("cb 7f f8 00 00 00 00 00 00"));
    let p = dec(&m).unwrap();
    assert_eq!(
        p.raw_data().unwrap().as_str(),
        r#"["e",null,{"1":true},"1970-01-01T00:00:00.000Z",[5,{"_placeholder":true,"num":0}],{"_placeholder":true,"num":1},9007199254740992,null]"#
    );
    assert_eq!(
        p.attachments(),
        [Bytes::from_static(&[0xaa]), Bytes::from_static(&[1])]
    );
    // Undefined data and id are absent: the Node server's CONNECT
    // {type: 0, data: {sid: "x", pid: undefined}, nsp: "/"}.
    let p = dec(&hex(
        "83 a4 74 79 70 65 00 a4 64 61 74 61 82 a3 73 69 64 a1 78 a3 70 69 64 d4 00 00 a3 6e 73 70 a1 2f",
    ))
    .unwrap();
    assert_eq!(p.raw_data().unwrap().as_str(), r#"{"sid":"x"}"#);
}

#[test]
fn refusals() {
    use DecodeError::*;
    let base = |fields: &str| {
        let n = fields.split(';').count();
        let mut m = vec![0x80 | n as u8];
        for f in fields.split(';') {
            m.extend(hex(f));
        }
        dec(&m)
    };
    let ty = "a4 74 79 70 65";
    let nsp = "a3 6e 73 70 a1 2f";
    let data = "a4 64 61 74 61";
    assert_eq!(dec(&hex("92 01 02")), Err(NotAnObject));
    assert_eq!(
        dec(&hex("c1")),
        Err(MsgPack(msgpack::DecodeError::NeverUsedByte { at: 0 }))
    );
    assert!(matches!(dec(&hex("81 a1")), Err(MsgPack(_))));
    assert_eq!(base(&format!("{ty} 05;{nsp}")), Err(InvalidPacketType));
    assert_eq!(
        base(&format!("{ty} cb 40 00 00 00 00 00 00 01;{nsp}")),
        Err(InvalidPacketType)
    );
    assert!(
        base(&format!(
            "{ty} cb 40 00 00 00 00 00 00 00;{nsp};{data} 91 a1 65"
        ))
        .is_ok()
    );
    assert_eq!(base(&format!("{ty} 00")), Err(InvalidNamespace));
    assert_eq!(
        base(&format!("{ty} 00;a3 6e 73 70 a1 78")),
        Err(InvalidNamespace)
    );
    assert_eq!(
        base(&format!("{ty} 00;{nsp};{data} c0")),
        Err(InvalidPayload)
    );
    assert_eq!(
        base(&format!("{ty} 01;{nsp};{data} 80")),
        Err(InvalidPayload)
    );
    assert_eq!(
        base(&format!("{ty} 02;{nsp};{data} 80")),
        Err(InvalidPayload)
    );
    assert_eq!(
        base(&format!("{ty} 02;{nsp};{data} 90")),
        Err(InvalidPayload)
    );
    assert_eq!(
        base(&format!("{ty} 04;{nsp};{data} 90")),
        Err(InvalidPayload)
    );
    assert_eq!(
        base(&format!("{ty} 02;{nsp};{data} 91 a7 63 6f 6e 6e 65 63 74")),
        Err(ReservedEventName("connect".into()))
    );
    assert_eq!(
        base(&format!("{ty} 03;{nsp};{data} 90;a2 69 64 ff")),
        Err(InvalidAckId)
    );
    assert_eq!(
        base(&format!("{ty} 03;{nsp};{data} 90;a2 69 64 c0")),
        Err(InvalidAckId)
    );
    assert_eq!(
        base(&format!(
            "{ty} 02;{nsp};{data} 92 a1 65 81 ac 5f 70 6c 61 63 65 68 6f 6c 64 65 72 c3"
        )),
        Err(IllegalPlaceholder)
    );
    assert_eq!(
        base(&format!(
            "{ty} 02;{nsp};{data} 91 cb 7f f8 00 00 00 00 00 00"
        )),
        Err(InvalidPayload)
    );
    assert!(
        base(&format!(
            "{ty} 02;{nsp};{data} 91 cb 3f f8 00 00 00 00 00 00"
        ))
        .is_ok()
    );
    let mut d = Decoder::with_parser(DecoderConfig::default(), Parser::MsgPack);
    assert_eq!(d.handle_text(String::from("0")), Err(TextWithMsgPack));
}

#[test]
fn nesting_is_bounded_so_that_the_payload_reads_back() {
    // {type: 2, nsp: "/", data: ["e", [[...[ext 5 <aa>]...]]]}: `levels`
    // arrays of payload, the innermost holding an extension, which reads as
    // `[5, <bytes>]`: an array more, and in JSON a placeholder object more.
    let packet = |levels: usize| {
        let mut m = hex("83 a4 74 79 70 65 02 a3 6e 73 70 a1 2f a4 64 61 74 61 92 a1 65");
        m.extend(std::iter::repeat_n(0x91, levels - 1));
        m.extend(hex("d4 05 aa"));
        m
    };
    let p = dec(&packet(124)).unwrap();
    let _: Vec<serde_json::Value> = p.event_args().unwrap();
    let again = p.encode_msgpack().unwrap();
    assert_eq!(dec(&again).unwrap(), p);
    // One more: the extension, an array once read, would be one too many.
    assert_eq!(
        dec(&packet(125)),
        Err(DecodeError::MsgPack(msgpack::DecodeError::TooDeep {
            max: 126
        }))
    );
}

#[test]
fn whatever_encodes_decodes() {
    // Payloads nesting up to and past the limits: a packet the encoder
    // writes is one the decoder reads back, or the encoder refuses it
    // (never one that the peer's decoder takes for a parse error, closing
    // the connection).
    for levels in 118..134 {
        for (innermost, extra) in [(serde_json::json!(1), 0), (serde_json::json!({"a": 1}), 1)] {
            let mut v = innermost;
            for _ in 0..levels {
                v = serde_json::Value::Array(vec![v]);
            }
            // `["e", v]`: the data array, then `v`.
            let depth = 1 + levels + extra;
            let p = Packet::event("/", "e", &(v,)).unwrap();
            match p.encode_msgpack() {
                Ok(m) => assert_eq!(dec(&m).as_ref(), Ok(&p), "{depth} levels"),
                Err(e) => assert!(matches!(e, BuildError::TooDeep), "{e}"),
            }
            assert_eq!(p.encode_msgpack().is_ok(), depth <= 125, "{depth} levels");
        }
    }
}
