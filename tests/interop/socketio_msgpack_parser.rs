//! socketio-proto's MessagePack parser against the official
//! `socket.io-msgpack-parser` 3.0.2, both directions: the same packets
//! encode to the same bytes, each side decodes what the other encoded to the
//! same packet, both refuse the same bad input, and where ours is stricter
//! (or reads a MessagePack-only value) it is on purpose and pinned here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::{Value, json};
use socketio_proto::{DecodeError, Decoder, DecoderConfig, Json, Packet, Parser};

use crate::node::NodePeer;
use crate::socketio_parser::{cases, join_binary, kind, split_binary, ty};

fn bin(b: &[u8]) -> Value {
    json!({ "$bin": B64.encode(b) })
}

/// Shapes the JSON parser's cases do not cover: every length ladder of
/// MessagePack, numbers at its integer boundaries, floats.
fn msgpack_cases() -> Vec<Value> {
    let ev = |data: Value| json!({"type": 2, "nsp": "/", "id": null, "data": data});
    let long = |n: usize| "é".repeat(n / 2);
    let many: Vec<Value> = (0..70_000).map(|i| json!(i % 300)).collect();
    let map16: serde_json::Map<String, Value> =
        (0..20).map(|i| (format!("k{i}"), json!(i))).collect();
    vec![
        ev(json!([
            "ints",
            0,
            127,
            128,
            255,
            256,
            65535,
            65536,
            4294967295u64,
            4294967296u64,
            9007199254740991u64,
            -1,
            -32,
            -33,
            -128,
            -129,
            -32768,
            -32769,
            -2147483648i64,
            -2147483649i64,
            -9007199254740991i64
        ])),
        ev(json!([
            "floats", 0.5, -0.25, 123456.789, -2.5e-300, 0.1, 3.0, -0.0, 4.5e15
        ])),
        ev(json!([
            "strings",
            long(31),
            long(32),
            long(300),
            long(70_000),
            "",
            "😀"
        ])),
        ev(json!(["arrays", [], many, (0..16).collect::<Vec<_>>()])),
        ev(json!(["maps", {}, map16, {"nested": {"deeper": {"deepest": [null, true, false]}}}])),
        ev(json!([
            "bins",
            bin(&[]),
            bin(&[0; 255]),
            bin(&[1; 256]),
            bin(&[2; 65536])
        ])),
        json!({"type": 3, "nsp": "/a/b", "id": 4294967296u64, "data": []}),
        json!({"type": 2, "nsp": "/", "id": 9007199254740991u64, "data": ["max safe id"]}),
        json!({"type": 0, "nsp": "/", "id": null, "data": {"sid": "x", "pid": "y", "offset": "z"}}),
    ]
}

/// A deterministic generator of packets (xorshift): values of every JSON
/// kind nested a few levels, with bytes; numbers JavaScript holds exactly
/// (integers up to 2^53) and notepack.io writes right (integral ones below
/// 2^63 in magnitude: past it, it writes wrong bits); keys that are not
/// array indices (JavaScript would move those first).
/// With `bytes` off no bytes are made (a CONNECT carries none).
struct Gen(u64, bool);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self) -> String {
        const CHARS: [char; 8] = ['a', 'Z', ' ', '"', '\\', 'é', '✓', '😀'];
        let n = self.below(40);
        (0..n).map(|_| CHARS[self.below(8) as usize]).collect()
    }

    fn number(&mut self) -> Value {
        match self.below(4) {
            // JavaScript holds integers exactly up to 2^53.
            0 => json!(self.next() as i64 >> (10 + self.below(54))),
            1 => json!(self.next() >> (11 + self.below(53))),
            _ => {
                let f = f64::from_bits(self.next());
                if !f.is_finite() || (f.fract() == 0.0 && f.abs() >= 9.2e18) {
                    json!(0.5)
                } else {
                    json!(f)
                }
            }
        }
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth == 0 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => self.number(),
            3 => json!(self.string()),
            4 if self.1 => {
                let n = self.below(300) as usize;
                bin(&(0..n).map(|i| i as u8).collect::<Vec<_>>())
            }
            4 => json!("no bytes here"),
            5 | 6 => {
                let n = self.below(18);
                Value::Array((0..n).map(|_| self.value(depth - 1)).collect())
            }
            _ => {
                let n = self.below(18);
                Value::Object(
                    (0..n)
                        .map(|_| (format!("k{}", self.string()), self.value(depth - 1)))
                        .collect(),
                )
            }
        }
    }

    fn packet(&mut self) -> Value {
        let nsp = ["/", "/admin", "/é/✓"][self.below(3) as usize];
        let id = (self.below(2) == 0).then(|| self.next() >> (11 + self.below(53)));
        let args: Vec<Value> = (0..self.below(5)).map(|_| self.value(3)).collect();
        match self.below(5) {
            0 => {
                self.1 = false;
                let auth: serde_json::Map<_, _> = (0..self.below(4))
                    .map(|_| (format!("k{}", self.string()), self.value(2)))
                    .collect();
                self.1 = true;
                let data = (self.below(2) == 0).then_some(Value::Object(auth));
                json!({"type": 0, "nsp": nsp, "id": null, "data": data})
            }
            1 => json!({"type": 1, "nsp": nsp, "id": null, "data": null}),
            2 => {
                let mut data = vec![json!(format!("e{}", self.string()))];
                data.extend(args);
                json!({"type": 2, "nsp": nsp, "id": id, "data": data})
            }
            3 => json!({"type": 3, "nsp": nsp, "id": id.unwrap_or(1), "data": args}),
            _ => json!({"type": 4, "nsp": nsp, "id": null, "data": {"message": self.string()}}),
        }
    }
}

fn build(case: &Value) -> Packet {
    let mut atts = Vec::new();
    let data = (!case["data"].is_null())
        .then(|| Json::from_value(&split_binary(&case["data"], &mut atts)).unwrap());
    Packet::from_parts(
        kind(case["type"].as_u64().unwrap()),
        case["nsp"].as_str().unwrap(),
        case["id"].as_u64(),
        data,
        atts,
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// Our decoder over one binary message: the packet as the test describes it.
fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder::with_parser(DecoderConfig::default(), Parser::MsgPack);
    d.handle_binary(Bytes::copy_from_slice(bytes))?;
    let p = d.poll_packet().expect("a packet per message");
    let data = p
        .raw_data()
        .map(|j| join_binary(&j.parse().unwrap(), p.attachments()));
    Ok(json!({"type": ty(p.kind()), "nsp": p.nsp(), "id": p.id(), "data": data}))
}

async fn theirs_encoded(js: &mut NodePeer, case: &Value) -> Vec<u8> {
    let answer: Value = serde_json::from_str(
        &js.ask(&json!({"op": "encode", "packet": case}).to_string())
            .await,
    )
    .unwrap();
    B64.decode(answer["bytes"].as_str().unwrap()).unwrap()
}

async fn theirs_decoded(js: &mut NodePeer, bytes: &[u8]) -> Value {
    serde_json::from_str(
        &js.ask(&json!({"op": "decode", "bytes": B64.encode(bytes)}).to_string())
            .await,
    )
    .unwrap()
}

/// Numbers compare by value: `3.0` and `3` are one JavaScript number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

async fn check_case(js: &mut NodePeer, case: &Value) {
    let theirs = theirs_encoded(js, case).await;
    let ours = build(case).encode_msgpack().unwrap();
    assert!(ours == theirs, "encoding of {case}");
    let got = decode(&theirs).unwrap();
    assert!(same(&got, case), "our decoding of theirs: {got} for {case}");
    let answer = theirs_decoded(js, &ours).await;
    assert_eq!(answer["ok"], true, "{case}: {answer}");
    assert!(
        same(&answer["packet"], case),
        "their decoding of ours: {answer} for {case}"
    );
}

#[tokio::test]
async fn same_bytes_and_same_packets_as_socket_io_msgpack_parser() {
    let mut js = NodePeer::spawn("sio_msgpack_parser.js", &[]);
    for case in cases().iter().chain(&msgpack_cases()) {
        check_case(&mut js, case).await;
    }
}

#[tokio::test]
async fn generated_packets_agree_with_socket_io_msgpack_parser() {
    let mut js = NodePeer::spawn("sio_msgpack_parser.js", &[]);
    let mut g = Gen(0x9e37_79b9_7f4a_7c15, true);
    for _ in 0..300 {
        let case = g.packet();
        check_case(&mut js, &case).await;
    }
}

/// Bytes from space-separated hex pairs.
fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// A packet map from `key value` hex fields, each `;`-separated.
fn map(fields: &[&str]) -> Vec<u8> {
    let mut m = vec![0x80 | fields.len() as u8];
    for f in fields {
        m.extend(hex(f));
    }
    m
}

/// Whether our error is the one expected.
type Refusal = fn(&DecodeError) -> bool;

const TYPE: &str = "a4 74 79 70 65";
const NSP: &str = "a3 6e 73 70 a1 2f";
const DATA: &str = "a4 64 61 74 61";
const ID: &str = "a2 69 64";

#[tokio::test]
async fn both_refuse_the_same_bad_input() {
    use DecodeError::*;
    let mut js = NodePeer::spawn("sio_msgpack_parser.js", &[]);
    let t = |b: &str| format!("{TYPE} {b}");
    let d = |b: &str| format!("{DATA} {b}");
    let i = |b: &str| format!("{ID} {b}");
    let cases: Vec<(Vec<u8>, &str, Refusal)> = vec![
        (hex("92 01 02"), "invalid packet type", |e| {
            *e == NotAnObject
        }),
        (hex("a1 78"), "invalid packet type", |e| *e == NotAnObject),
        (
            hex("c0"),
            "Cannot read properties of null (reading 'type')",
            |e| *e == NotAnObject,
        ),
        (hex("c1"), "Could not parse", |e| matches!(e, MsgPack(_))),
        (hex("82 a4 74 79 70 65 00"), "", |e| matches!(e, MsgPack(_))),
        (hex("80 00"), "1 trailing bytes", |e| {
            matches!(e, MsgPack(_))
        }),
        (map(&[&t("05"), NSP]), "invalid packet type", |e| {
            *e == InvalidPacketType
        }),
        (map(&[&t("ff"), NSP]), "invalid packet type", |e| {
            *e == InvalidPacketType
        }),
        (map(&[&t("a1 32"), NSP]), "invalid packet type", |e| {
            *e == InvalidPacketType
        }),
        (
            map(&[&t("cb 3f f8 00 00 00 00 00 00"), NSP]),
            "invalid packet type",
            |e| *e == InvalidPacketType,
        ),
        (map(&[NSP]), "invalid packet type", |e| {
            *e == InvalidPacketType
        }),
        (map(&[&t("00")]), "invalid namespace", |e| {
            *e == InvalidNamespace
        }),
        (
            map(&[&t("00"), "a3 6e 73 70 01"]),
            "invalid namespace",
            |e| *e == InvalidNamespace,
        ),
        (map(&[&t("00"), NSP, &d("c0")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("00"), NSP, &d("90")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("00"), NSP, &d("c4 00")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("01"), NSP, &d("80")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("02"), NSP, &d("80")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("02"), NSP]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("03"), NSP, &d("a1 78")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("04"), NSP, &d("90")]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (map(&[&t("04"), NSP]), "invalid payload", |e| {
            *e == InvalidPayload
        }),
        (
            map(&[&t("03"), NSP, &d("90"), &i("a1 31")]),
            "invalid packet id",
            |e| *e == InvalidAckId,
        ),
        (
            map(&[&t("03"), NSP, &d("90"), &i("c0")]),
            "invalid packet id",
            |e| *e == InvalidAckId,
        ),
        (
            map(&[&t("03"), NSP, &d("90"), &i("cb 3f f8 00 00 00 00 00 00")]),
            "invalid packet id",
            |e| *e == InvalidAckId,
        ),
    ];
    for (bytes, theirs, ours) in cases {
        let answer = theirs_decoded(&mut js, &bytes).await;
        assert_eq!(
            answer["ok"], false,
            "socket.io-msgpack-parser on {bytes:02x?}"
        );
        if !theirs.is_empty() {
            assert_eq!(
                answer["error"], theirs,
                "socket.io-msgpack-parser on {bytes:02x?}"
            );
        }
        let got = decode(&bytes);
        assert!(
            got.as_ref().is_err_and(ours),
            "ours on {bytes:02x?}: {got:?}"
        );
    }
}

/// Where socket.io-msgpack-parser passes a packet on and ours refuses it,
/// on purpose: what the JSON parser refuses (reserved or missing event
/// names), namespaces the runtimes cannot name, ack ids that are no
/// `u64`, objects a reader would take for attachment placeholders.
#[tokio::test]
async fn stricter_than_socket_io_msgpack_parser_on_purpose() {
    use DecodeError::*;
    let mut js = NodePeer::spawn("sio_msgpack_parser.js", &[]);
    let t = |b: &str| format!("{TYPE} {b}");
    let d = |b: &str| format!("{DATA} {b}");
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (map(&[&t("02"), NSP, &d("90")]), InvalidPayload),
        (map(&[&t("02"), NSP, &d("91 c0")]), InvalidPayload),
        (map(&[&t("02"), NSP, &d("91 80")]), InvalidPayload),
        (
            map(&[&t("02"), NSP, &d("91 aa 64 69 73 63 6f 6e 6e 65 63 74")]),
            ReservedEventName("disconnect".into()),
        ),
        (map(&[&t("00"), "a3 6e 73 70 a0"]), InvalidNamespace),
        (map(&[&t("00"), "a3 6e 73 70 a1 78"]), InvalidNamespace),
        (
            map(&[&t("03"), NSP, &d("90"), &format!("{ID} ff")]),
            InvalidAckId,
        ),
        (
            map(&[
                &t("02"),
                NSP,
                &d("92 a1 65 82 ac 5f 70 6c 61 63 65 68 6f 6c 64 65 72 c3 a3 6e 75 6d 00"),
            ]),
            IllegalPlaceholder,
        ),
    ];
    for (bytes, want) in cases {
        let answer = theirs_decoded(&mut js, &bytes).await;
        assert_eq!(
            answer["ok"], true,
            "socket.io-msgpack-parser on {bytes:02x?}"
        );
        assert_eq!(decode(&bytes), Err(want), "ours on {bytes:02x?}");
    }
}

/// MessagePack-only values read as the Node side sees them, in
/// `JSON.stringify`'s terms: `undefined` dropped from objects and `null` in
/// arrays, a `Date` as its ISO string, `NaN` as `null`, an extension as
/// `[type, bytes]`, an `ArrayBuffer` as bytes, an integer past 2^53 as the
/// double Node holds, a non-string key as its property name.
#[tokio::test]
async fn msgpack_only_values_read_as_node_sees_them() {
    let mut js = NodePeer::spawn("sio_msgpack_parser.js", &[]);
    let t = |b: &str| format!("{TYPE} {b}");
    let d = |b: &str| format!("{DATA} {b}");
    for data in [
        "92 a1 65 d4 00 00",
        "92 a1 65 82 a1 61 d4 00 00 a1 62 01",
        "92 a1 65 d7 00 00 00 01 8b cf e5 68 00",
        "92 a1 65 d7 00 7f ff ff ff 00 00 00 00",
        "92 a1 65 cb 7f f8 00 00 00 00 00 00",
        "92 a1 65 cb 7f f0 00 00 00 00 00 00",
        "92 a1 65 d5 07 01 02",
        "92 a1 65 c7 03 00 01 02 03",
        "92 a1 65 c8 00 01 00 09",
        "92 a1 65 cf 00 20 00 00 00 00 00 01",
        "92 a1 65 cf ff ff ff ff ff ff ff ff",
        "92 a1 65 d3 80 00 00 00 00 00 00 01",
        "92 a1 65 ca 3f c0 00 00",
        "92 a1 65 83 01 c3 c0 c2 c3 01",
        "92 a1 65 82 a1 61 01 a1 61 02",
        "92 a1 65 d6 ff 00 00 00 01",
        "d4 09 ee",
    ] {
        let bytes = map(&[&t("02"), NSP, &d(data)]);
        let answer = theirs_decoded(&mut js, &bytes).await;
        assert_eq!(answer["ok"], true, "socket.io-msgpack-parser on {data}");
        let ours = decode(&bytes).unwrap();
        assert!(
            same(&ours, &answer["packet"]),
            "{data}: ours {ours}, theirs {}",
            answer["packet"]
        );
    }
    // `undefined` as the data or the id is no data, no id.
    let bytes = map(&[&t("00"), NSP, &d("d4 00 00"), &format!("{ID} d4 00 00")]);
    let answer = theirs_decoded(&mut js, &bytes).await;
    assert_eq!(decode(&bytes).unwrap(), answer["packet"]);
}
