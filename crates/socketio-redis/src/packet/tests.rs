//! The wire spec's vectors, produced by the real npm packages: classic
//! broadcasts (§2.5), the broadcast-with-ack request and its ack (§2.6), a
//! sharded broadcast (§3.5), the emitter (§4.2), and the JSON lines of
//! §2.6 and §3.5.

use super::*;
use crate::msgpack::{decode, to_vec};
use socketio_proto::Binary;

/// Bytes from space-separated hex pairs.
fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn strs(items: &[&str]) -> Value {
    items.iter().map(|s| Value::from(*s)).collect()
}

fn opts(rooms: &[&str], except: &[&str], flags: Value) -> Value {
    Value::map([
        ("rooms", strs(rooms)),
        ("except", strs(except)),
        ("flags", flags),
    ])
}

fn empty() -> Value {
    Value::Map(Vec::new())
}

/// `{type: 2, data: ["hello", <Buffer 01 02>]}` as socket.io builds it.
fn hello_with_bytes() -> Packet {
    let bin = Binary(Bytes::from_static(&[1, 2]));
    Packet::event("/", "hello", &(&bin,)).unwrap()
}

fn json_packet(nsp: &str, data: &str) -> Packet {
    Packet::from_parts(
        Kind::Event,
        nsp,
        None,
        Some(Json::from_text(Utf8Bytes::from(data)).unwrap()),
        Vec::new(),
    )
    .unwrap()
}

/// The packet inside a decoded message, as the receiving server's packet.
fn received(message: &Value, path: &[&str], nsp: &str) -> Packet {
    let mut v = message;
    for key in path {
        v = v.get(key).unwrap();
    }
    value_to_packet(v, nsp).unwrap()
}

const CLASSIC_BINARY: &str = "93 a3 61 62 63 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a2 72 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80";

#[test]
fn classic_broadcast_with_bytes() {
    let message = Value::Array(vec![
        "abc".into(),
        packet_to_value(&hello_with_bytes(), true).unwrap(),
        opts(&["r1"], &[], empty()),
    ]);
    let bytes = to_vec(&message);
    assert_eq!(bytes, hex(CLASSIC_BINARY));
    assert_eq!(bytes.len(), 60);

    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded, message);
    let items = decoded.as_array().unwrap();
    assert_eq!(items[1].get("nsp").and_then(Value::as_str), Some("/"));
    let p = value_to_packet(&items[1], "/").unwrap();
    assert_eq!(p.encode(), r#"51-["hello",{"_placeholder":true,"num":0}]"#);
    assert_eq!(p.attachments(), [Bytes::from_static(&[1, 2])]);
    assert_eq!(p.id(), None);
}

#[test]
fn classic_broadcast_with_a_float_and_an_object() {
    // io.except("x").emit("hello", 1.5, {a: 1}) from uid kxFjvD.
    let want = hex(
        "93 a6 6b 78 46 6a 76 44 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a5 68 65 6c 6c 6f cb 3f f8 00 00 00 00 00 00 81 a1 61 01 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 91 a1 78 a5 66 6c 61 67 73 80",
    );
    let packet = json_packet("/", r#"["hello",1.5,{"a":1}]"#);
    let message = Value::Array(vec![
        "kxFjvD".into(),
        packet_to_value(&packet, true).unwrap(),
        opts(&[], &["x"], empty()),
    ]);
    assert_eq!(to_vec(&message), want);
    let decoded = decode(&want).unwrap();
    let p = value_to_packet(&decoded.as_array().unwrap()[1], "/").unwrap();
    assert_eq!(p.encode(), r#"2["hello",1.5,{"a":1}]"#);
    assert_eq!(p, packet);
}

#[test]
fn broadcast_with_ack_request_and_ack() {
    // io.timeout(1000).emit("x", "y", cb) from uid kxFjvD.
    let want = hex(
        "85 a3 75 69 64 a6 6b 78 46 6a 76 44 a9 72 65 71 75 65 73 74 49 64 a6 59 77 67 43 65 31 a4 74 79 70 65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 78 a1 79 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 81 a7 74 69 6d 65 6f 75 74 cd 03 e8",
    );
    // The packet carries no id even though the sender waits for acks.
    let packet = Packet::event("/", "x", &("y",)).unwrap().with_id(4);
    let request = Value::map([
        ("uid", "kxFjvD".into()),
        ("requestId", "YwgCe1".into()),
        ("type", 7.into()),
        ("packet", packet_to_value(&packet, true).unwrap()),
        (
            "opts",
            opts(&[], &[], Value::map([("timeout", 1000.into())])),
        ),
    ]);
    assert_eq!(to_vec(&request), want);
    let p = received(&decode(&want).unwrap(), &["packet"], "/");
    assert_eq!((p.encode(), p.id()), (r#"2["x","y"]"#.to_owned(), None));
    // The receiving server numbers the ack itself.
    assert_eq!(p.with_id(0).encode(), r#"20["x","y"]"#);

    // {type: 9, requestId, packet: <first ack argument>}
    let ack = hex(
        "83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 52 45 51 30 30 34 a6 70 61 63 6b 65 74 b1 61 63 6b 2d 66 72 6f 6d 2d 63 6c 69 65 6e 74 3a 79",
    );
    let response = Value::map([
        ("type", 9.into()),
        ("requestId", "REQ004".into()),
        ("packet", "ack-from-client:y".into()),
    ]);
    assert_eq!(to_vec(&response), ack);
    assert_eq!(decode(&ack).unwrap(), response);
    assert_eq!(Format::of(&ack), Format::MsgPack);
}

#[test]
fn sharded_broadcast_has_no_nsp_in_its_packet() {
    let want = hex(
        "84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 91 a2 72 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80 a3 75 69 64 b0 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 a3 6e 73 70 a1 2f",
    );
    let message = Value::map([
        ("type", 3.into()),
        (
            "data",
            Value::map([
                (
                    "packet",
                    packet_to_value(&hello_with_bytes(), false).unwrap(),
                ),
                ("opts", opts(&["r1"], &[], empty())),
            ]),
        ),
        ("uid", "0123456789abcdef".into()),
        ("nsp", "/".into()),
    ]);
    let bytes = to_vec(&message);
    assert_eq!(bytes, want);
    assert_eq!(bytes.len(), 101);
    let p = received(&decode(&want).unwrap(), &["data", "packet"], "/");
    assert_eq!(p, hello_with_bytes());
}

#[test]
fn emitter_broadcasts() {
    // em.to("r1").emit("hello", Buffer.from([1, 2])): opts keys in the
    // emitter's order, rooms, flags, except.
    let want = hex(
        "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a2 72 31 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90",
    );
    let message = Value::Array(vec![
        "emitter".into(),
        packet_to_value(&hello_with_bytes(), true).unwrap(),
        Value::map([
            ("rooms", strs(&["r1"])),
            ("flags", empty()),
            ("except", strs(&[])),
        ]),
    ]);
    assert_eq!(to_vec(&message), want);
    let p = received(&decode(&want).unwrap().as_array().unwrap()[1], &[], "/");
    assert_eq!(p, hello_with_bytes());

    // em.of("admin").to(["a", "b"]).except("c").volatile.emit("hey")
    let want = hex(
        "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 91 a3 68 65 79 a3 6e 73 70 a6 2f 61 64 6d 69 6e 83 a5 72 6f 6f 6d 73 92 a1 61 a1 62 a5 66 6c 61 67 73 81 a8 76 6f 6c 61 74 69 6c 65 c3 a6 65 78 63 65 70 74 91 a1 63",
    );
    let hey = Packet::event("/admin", "hey", &()).unwrap();
    let message = Value::Array(vec![
        "emitter".into(),
        packet_to_value(&hey, true).unwrap(),
        Value::map([
            ("rooms", strs(&["a", "b"])),
            ("flags", Value::map([("volatile", true.into())])),
            ("except", strs(&["c"])),
        ]),
    ]);
    assert_eq!(to_vec(&message), want);
    let decoded = decode(&want).unwrap();
    let packet = &decoded.as_array().unwrap()[1];
    assert_eq!(packet.get("nsp").and_then(Value::as_str), Some("/admin"));
    let p = value_to_packet(packet, "/admin").unwrap();
    assert_eq!(p.encode(), r#"2/admin,["hey"]"#);
}

/// Requests and responses as Node's classic adapter publishes them.
const CLASSIC_JSON: [&str; 12] = [
    r#"{"uid":"kxFjvD","type":6,"data":["ping",1]}"#,
    r#"{"uid":"kxFjvD","requestId":"H-Ubsj","type":6,"data":["ping",2]}"#,
    r#"{"uid":"kxFjvD","type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2","r3"]}"#,
    r#"{"uid":"kxFjvD","type":3,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2"]}"#,
    r#"{"uid":"kxFjvD","type":4,"opts":{"rooms":["r1"],"except":[]},"close":true}"#,
    r#"{"uid":"kxFjvD","requestId":"tiq9Jy","type":5,"opts":{"rooms":["r1"],"except":[]}}"#,
    r#"{"uid":"kxFjvD","requestId":"lKORp1","type":1}"#,
    r#"{"requestId":"REQ001","sockets":[{"id":"Ns_mzPXDB5QfWwi0AAAA","handshake":{"headers":{"host":"127.0.0.1"},"time":"Mon Nov 30 2026 12:06:10 GMT+0000 (Coordinated Universal Time)","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1796040370123,"url":"/socket.io/?q=1&EIO=4&transport=websocket","query":{"q":"1","EIO":"4","transport":"websocket"},"auth":{"token":"t"}},"rooms":["Ns_mzPXDB5QfWwi0AAAA","r1"],"data":{"user":"bob"}}]}"#,
    r#"{"requestId":"REQ002","rooms":[]}"#,
    r#"{"type":8,"requestId":"REQ004","clientCount":1}"#,
    r#"{"type":6,"requestId":"REQ005","data":{"pong":7}}"#,
    r#"{"type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2"]}"#,
];

/// Messages as Node's sharded adapter publishes them (JSON, no bytes).
const SHARDED_JSON: [&str; 5] = [
    r#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1.5,{"a":1}]},"opts":{"rooms":[],"except":["x"],"flags":{}}},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
    r#"{"type":3,"data":{"packet":{"type":2,"data":["x","y"]},"requestId":"d17609e153b66d15","opts":{"rooms":[],"except":[],"flags":{"timeout":1000}}},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
    r#"{"type":9,"data":{"requestId":"33687033382884dd","packet":["ping",2]},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
    r#"{"type":7,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"requestId":"acc78a057a614f06"},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
    r#"{"type":12,"data":{"requestId":"REQ004","packet":"ack-from-client:y"},"uid":"8c50033d26f4e540","nsp":"/"}"#,
];

fn json_text(v: &Value) -> String {
    let mut out = Vec::new();
    encode_json(v, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn json_messages_read_and_write_as_node_does() {
    for line in CLASSIC_JSON.iter().chain(&SHARDED_JSON) {
        let payload = Bytes::from_static(line.as_bytes());
        assert_eq!(Format::of(&payload), Format::Json);
        let v = decode_message(&payload, &DecodeConfig::default()).unwrap();
        assert_eq!(json_text(&v), *line, "key order and numbers kept");
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value_to_json(&v), parsed);
    }
    // Built from values, a request is Node's text.
    let request = Value::map([
        ("uid", "kxFjvD".into()),
        ("type", 6.into()),
        ("data", Value::Array(vec!["ping".into(), 1.into()])),
    ]);
    assert_eq!(json_text(&request), CLASSIC_JSON[0]);
    // `issued` is past 2^32: as MessagePack it would be a uint64.
    let fetch = decode_message(
        &Bytes::from_static(CLASSIC_JSON[7].as_bytes()),
        &DecodeConfig::default(),
    )
    .unwrap();
    let issued = &fetch.get("sockets").unwrap().as_array().unwrap()[0]
        .get("handshake")
        .unwrap()
        .get("issued")
        .unwrap();
    assert_eq!(issued.as_u64(), Some(1_796_040_370_123));
    assert_eq!(to_vec(issued)[0], 0xcf);
}

#[test]
fn sharded_json_packets_become_packets() {
    let payload = Bytes::from_static(SHARDED_JSON[0].as_bytes());
    let v = decode_message(&payload, &DecodeConfig::default()).unwrap();
    let p = received(&v, &["data", "packet"], "/");
    assert_eq!(p.encode(), r#"2["hello",1.5,{"a":1}]"#);
    // And back: the packet object without nsp is what the sender wrote.
    let back = packet_to_value(&p, false).unwrap();
    assert_eq!(
        json_text(&back),
        r#"{"type":2,"data":["hello",1.5,{"a":1}]}"#
    );
    assert_eq!(&back, v.get("data").unwrap().get("packet").unwrap());
}

#[test]
fn bytes_in_json_are_node_buffers() {
    let v = Value::Array(vec![
        Value::Bin(Bytes::from_static(&[1, 2])),
        Value::Bin(Bytes::new()),
    ]);
    assert_eq!(
        json_text(&v),
        r#"[{"type":"Buffer","data":[1,2]},{"type":"Buffer","data":[]}]"#
    );
    assert_eq!(
        value_to_json(&v),
        serde_json::json!([{"type": "Buffer", "data": [1, 2]}, {"type": "Buffer", "data": []}])
    );
    let ts = Value::Timestamp(crate::msgpack::Timestamp::from_millis(1_700_000_000_123));
    assert_eq!(json_text(&ts), r#""2023-11-14T22:13:20.123Z""#);
    assert_eq!(value_to_json(&ts), "2023-11-14T22:13:20.123Z");
    let ext = Value::Ext(5, Bytes::from_static(&[9]));
    assert_eq!(json_text(&ext), r#"[5,{"type":"Buffer","data":[9]}]"#);
}

#[test]
fn json_numbers_and_strings_as_javascript_writes_them() {
    let v: Value = [
        1.0.into(),
        (-0.0).into(),
        1.5.into(),
        1e21.into(),
        1e-7.into(),
        f64::NAN.into(),
        f64::INFINITY.into(),
        Value::UInt(u64::MAX),
        Value::Int(i64::MIN),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        json_text(&v),
        "[1,0,1.5,1e+21,1e-7,null,null,18446744073709551615,-9223372036854775808]"
    );
    assert_eq!(
        value_to_json(&v),
        serde_json::json!([1, 0, 1.5, 1e21, 1e-7, null, null, u64::MAX, i64::MIN])
    );
    assert!(value_to_json(&Value::F64(1.0)).is_i64());
    // Past 2^53, exact digits (JavaScript would print 6779507620132042000,
    // the same double).
    let big = Value::F64(6_779_507_620_132_041_728.0);
    assert_eq!(json_text(&big), "6779507620132041728");
    assert_eq!(
        value_to_json(&big),
        serde_json::json!(6_779_507_620_132_041_728u64)
    );
    let s = Value::from("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é\u{2028}😀");
    let text = json_text(&s);
    assert_eq!(
        text,
        "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é\u{2028}😀\""
    );
    assert_eq!(
        serde_json::from_str::<String>(&text).unwrap(),
        s.as_str().unwrap()
    );
    assert_eq!(
        json_to_value(&serde_json::json!({"a": [1, -2, 2.5, u64::MAX, null, true, "s"]})),
        Value::map([(
            "a",
            [
                1.into(),
                (-2).into(),
                2.5.into(),
                u64::MAX.into(),
                Value::Nil,
                true.into(),
                "s".into()
            ]
            .into_iter()
            .collect()
        )])
    );
}

#[test]
fn json_is_read_as_node_reads_it() {
    let read = |s: &[u8]| decode_message(&Bytes::copy_from_slice(s), &DecodeConfig::default());
    // Invalid UTF-8 becomes U+FFFD, as Buffer.toString() makes it.
    assert_eq!(
        read(b"{\"a\":\"\xff\"}").unwrap(),
        Value::map([("a", "\u{fffd}".into())])
    );
    // The last of duplicate keys wins, in the place of the first.
    assert_eq!(
        read(br#"{"a":1,"b":2,"a":3}"#).unwrap(),
        Value::map([("a", 3.into()), ("b", 2.into())])
    );
    // JSON.parse makes 1.0 the number 1: MessagePack 01.
    let v = read(br#"{"n":1.0}"#).unwrap();
    assert_eq!(to_vec(v.get("n").unwrap()), [0x01]);
    assert!(matches!(read(b"{"), Err(MessageError::Json(_))));
    assert!(matches!(read(b"{} x"), Err(MessageError::Json(_))));
    assert!(matches!(read(b"{}  "), Ok(Value::Map(_))));
    // A message not starting with `{` is MessagePack, whitespace or not.
    assert!(matches!(
        read(b" {}"),
        Err(MessageError::MsgPack(DecodeError::TrailingBytes {
            count: 2
        }))
    ));
    assert!(matches!(
        read(&[0xc1]),
        Err(MessageError::MsgPack(DecodeError::NeverUsedByte { at: 0 }))
    ));
}

#[test]
fn json_and_msgpack_limits_read_the_same() {
    let config = DecodeConfig {
        max_depth: 3,
        max_values: 6,
    };
    let read = |s: &[u8]| decode_message(&Bytes::copy_from_slice(s), &config);
    assert!(read(br#"{"a":{"b":[1]}}"#).is_ok());
    assert!(matches!(
        read(br#"{"a":{"b":[[1]]}}"#),
        Err(MessageError::TooDeep { max: 3 })
    ));
    assert!(matches!(
        read(&hex("81 a1 61 81 a1 62 91 91 01")),
        Err(MessageError::TooDeep { max: 3 })
    ));
    assert!(read(br#"{"a":[1,2,3]}"#).is_ok());
    assert!(matches!(
        read(br#"{"a":[1,2,3,4]}"#),
        Err(MessageError::TooManyValues { max: 6 })
    ));
    assert!(matches!(
        read(&hex("81 a1 61 94 01 02 03 04")),
        Err(MessageError::TooManyValues { max: 6 })
    ));
    // serde_json's own limit is 128, whatever the configuration.
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    assert!(decode_message(&Bytes::from(deep), &DecodeConfig::default()).is_err());
}

#[test]
fn acks_and_odd_values_in_packets() {
    // An ack with bytes: type 3 (never 6), its id after data.
    let bin = Binary(Bytes::from_static(&[7]));
    let ack = Packet::ack("/chat", 7, &("ok", &bin)).unwrap();
    let v = packet_to_value(&ack, true).unwrap();
    assert_eq!(
        v,
        Value::map([
            ("type", 3.into()),
            (
                "data",
                Value::Array(vec!["ok".into(), Value::Bin(Bytes::from_static(&[7]))])
            ),
            ("id", 7.into()),
            ("nsp", "/chat".into()),
        ])
    );
    let p = value_to_packet(&v, "/chat").unwrap();
    assert_eq!(
        p.encode(),
        r#"61-/chat,7["ok",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(p, ack);

    // A Date becomes its ISO string, another extension [type, bytes], as
    // Node's encoder writes them after notepack decoded them.
    let v = Value::map([
        ("type", 2.into()),
        (
            "data",
            Value::Array(vec![
                "t".into(),
                crate::msgpack::Timestamp::from_millis(0).into(),
                Value::Ext(3, Bytes::from_static(&[1])),
                Value::map([("b", 1.into()), ("a", Value::Nil)]),
                1.0.into(),
                Value::Bin(Bytes::from_static(&[2])),
            ]),
        ),
    ]);
    let p = value_to_packet(&v, "/").unwrap();
    assert_eq!(
        p.encode(),
        r#"52-["t","1970-01-01T00:00:00.000Z",[3,{"_placeholder":true,"num":0}],{"b":1,"a":null},1,{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        p.attachments(),
        [Bytes::from_static(&[1]), Bytes::from_static(&[2])]
    );

    // A numeric event name is allowed, as in the Socket.IO parser.
    let v = Value::map([("type", 2.into()), ("data", Value::Array(vec![42.into()]))]);
    assert_eq!(value_to_packet(&v, "/").unwrap().encode(), "2[42]");
    // The type may arrive as a JSON float.
    let v = Value::map([("type", 2.0.into()), ("data", strs(&["e"]))]);
    assert_eq!(value_to_packet(&v, "/").unwrap().encode(), r#"2["e"]"#);
}

#[test]
fn packet_objects_that_break_the_rules() {
    let packet = |ty: Value, data: Value| Value::map([("type", ty), ("data", data)]);
    let err = |v: &Value| value_to_packet(v, "/").unwrap_err();
    assert!(matches!(err(&strs(&["a"])), PacketError::NotAnObject));
    assert!(matches!(
        err(&packet(5.into(), strs(&["a"]))),
        PacketError::UnsupportedType(Some(5))
    ));
    assert!(matches!(
        err(&Value::map([("data", strs(&["a"]))])),
        PacketError::UnsupportedType(None)
    ));
    assert!(matches!(
        err(&packet("2".into(), strs(&["a"]))),
        PacketError::UnsupportedType(None)
    ));
    assert!(matches!(
        err(&packet(2.into(), "a".into())),
        PacketError::DataNotAnArray
    ));
    assert!(matches!(
        err(&Value::map([("type", 2.into())])),
        PacketError::DataNotAnArray
    ));
    assert!(matches!(
        err(&packet(2.into(), strs(&[]))),
        PacketError::MissingEventName
    ));
    assert!(matches!(
        err(&packet(2.into(), Value::Array(vec![Value::Nil]))),
        PacketError::MissingEventName
    ));
    assert!(matches!(
        err(&packet(2.into(), strs(&["disconnect", "x"]))),
        PacketError::ReservedEventName(n) if n == "disconnect"
    ));
    assert!(matches!(
        err(&packet(3.into(), strs(&["a"]))),
        PacketError::MissingAckId
    ));
    // Objects shaped like placeholders, whether or not they name one of
    // the attachments.
    let literal = |num: i32| Value::map([("_placeholder", true.into()), ("num", num.into())]);
    assert!(matches!(
        err(&packet(
            2.into(),
            Value::Array(vec!["a".into(), literal(3)])
        )),
        PacketError::IllegalPlaceholder
    ));
    let aliasing = Value::Array(vec![
        "a".into(),
        Value::Bin(Bytes::from_static(&[1])),
        Value::map([("x", Value::Array(vec![literal(0)]))]),
    ]);
    assert!(matches!(
        err(&packet(2.into(), aliasing)),
        PacketError::IllegalPlaceholder
    ));
    let not_one = Value::map([("_placeholder", false.into()), ("num", 0.into())]);
    assert!(
        value_to_packet(
            &packet(2.into(), Value::Array(vec!["a".into(), not_one])),
            "/"
        )
        .is_ok()
    );
    assert!(matches!(
        value_to_packet(&packet(2.into(), strs(&["a"])), "chat"),
        Err(PacketError::InvalidNamespace(n)) if n == "chat"
    ));
    // Deeper than JSON parsing goes: serde_json reads 127 levels.
    let nested = |depth: usize| {
        let mut v = Value::Nil;
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        packet(2.into(), Value::Array(vec!["a".into(), v]))
    };
    assert!(value_to_packet(&nested(126), "/").is_ok());
    assert!(matches!(err(&nested(127)), PacketError::TooDeep));
    // Deeper than writing JSON by recursion should go (dropping the value
    // recurses too, so not much deeper).
    assert!(matches!(err(&nested(3_000)), PacketError::TooDeep));
}
