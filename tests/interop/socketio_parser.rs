//! socketio-proto against the official `socket.io-parser`, both directions:
//! the same packets encode to the same bytes, each side decodes what the
//! other encoded to the same packet, and both refuse the same bad input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use socketio_proto::{DecodeError, Decoder, Json, Kind, Packet};

use crate::node::NodePeer;

/// A packet as JSON: `type` is the official parser's (0-4; binary forms
/// are chosen by the encoders), bytes are `{"$bin": base64}`.
pub(crate) fn cases() -> Vec<Value> {
    let bin = |b: &[u8]| json!({ "$bin": B64.encode(b) });
    let ev = |nsp: &str, id: Option<u64>, data: Value| json!({"type": 2, "nsp": nsp, "id": id, "data": data});
    vec![
        json!({"type": 0, "nsp": "/", "id": null, "data": null}),
        json!({"type": 0, "nsp": "/", "id": null, "data": {"token": "abc"}}),
        json!({"type": 0, "nsp": "/admin", "id": null, "data": {"token": "123", "n": 1.5}}),
        json!({"type": 0, "nsp": "/admin?role=x", "id": null, "data": {}}),
        json!({"type": 0, "nsp": "/", "id": null, "data": {"sid": "oSO0OpakMV_3jnilAAAA"}}),
        json!({"type": 1, "nsp": "/", "id": null, "data": null}),
        json!({"type": 1, "nsp": "/admin", "id": null, "data": null}),
        ev("/", None, json!(["hello"])),
        ev(
            "/",
            None,
            json!(["hello", 1, "two", {"a": [true, null, -3, 0.25]}]),
        ),
        ev("/", Some(0), json!(["with ack id 0"])),
        ev("/admin", Some(456), json!(["project:delete", 123])),
        ev("/", Some(9_007_199_254_740_991), json!(["largest safe id"])),
        ev(
            "/",
            None,
            json!(["héllo ✓ 😀", "line\nbreak \"quoted\" \u{1} tab\t"]),
        ),
        ev("/", None, json!([42, "numeric event name"])),
        ev("/", None, json!([""])),
        ev("/", None, json!(["empty args", [], {}])),
        json!({"type": 3, "nsp": "/", "id": 0, "data": []}),
        json!({"type": 3, "nsp": "/admin", "id": 7, "data": ["ok", {"n": 1}]}),
        json!({"type": 4, "nsp": "/", "id": null, "data": "Not authorized"}),
        json!({"type": 4, "nsp": "/admin", "id": null, "data": {"message": "refused", "data": {"code": 401}}}),
        ev("/", None, json!(["file", bin(b"\x00\x01\x02\xff")])),
        ev(
            "/uploads",
            Some(12),
            json!(["up", {"meta": {"x": 1, "blob": bin(b"one")}, "list": [bin(b"two"), bin(b"")]}]),
        ),
        ev(
            "/",
            None,
            json!(["many", bin(&[7; 70_000]), bin(b"b"), bin(b"c")]),
        ),
        json!({"type": 3, "nsp": "/", "id": 3, "data": [bin(b"answer"), "text"]}),
    ]
}

/// Input the official parser refuses (as parts: text, or `{"$bin"}`), with
/// its error message and the error ours must give. For JSON that does not
/// parse, only the variant is compared: its text is serde_json's.
fn invalid() -> Vec<(Value, &'static str, DecodeError)> {
    use DecodeError::*;
    let ph = |n: i64| format!(r#"51-["a",{{"_placeholder":true,"num":{n}}}]"#);
    let payload = "invalid payload";
    let placeholder = "illegal attachments";
    vec![
        (
            json!(["7"]),
            "unknown packet type 7",
            UnknownPacketType('7'),
        ),
        (
            json!(["a"]),
            "unknown packet type NaN",
            UnknownPacketType('a'),
        ),
        (json!(["2{}"]), payload, InvalidPayload),
        (json!(["2[]"]), payload, InvalidPayload),
        (json!(["2[null]"]), payload, InvalidPayload),
        (
            json!(["2[\"connect\"]"]),
            payload,
            ReservedEventName("connect".into()),
        ),
        (
            json!(["2[\"disconnecting\",1]"]),
            payload,
            ReservedEventName("disconnecting".into()),
        ),
        (json!(["0[]"]), payload, InvalidPayload),
        (json!(["0\"auth\""]), payload, InvalidPayload),
        (json!(["1{}"]), payload, InvalidPayload),
        (json!(["3{}"]), payload, InvalidPayload),
        (json!(["4[]"]), payload, InvalidPayload),
        (json!(["2[\"a\""]), payload, InvalidJson(String::new())),
        (json!(["2[\"a\"]x"]), payload, InvalidJson(String::new())),
        (
            json!(["5[\"a\"]"]),
            "Illegal attachments",
            IllegalAttachments,
        ),
        (
            json!(["50-[\"a\"]"]),
            "Illegal attachments",
            IllegalAttachments,
        ),
        (
            json!(["5-[\"a\"]"]),
            "Illegal attachments",
            IllegalAttachments,
        ),
        (
            json!(["511-[\"a\"]"]),
            "too many attachments",
            TooManyAttachments { count: 11, max: 10 },
        ),
        (
            json!([ph(1), {"$bin": ""}]),
            placeholder,
            IllegalPlaceholder,
        ),
        (
            json!([ph(-1), {"$bin": ""}]),
            placeholder,
            IllegalPlaceholder,
        ),
        (
            json!([r#"51-["a",{"_placeholder":true}]"#, {"$bin": ""}]),
            placeholder,
            IllegalPlaceholder,
        ),
        (
            json!([{"$bin": "AAE="}]),
            "got binary data when not reconstructing a packet",
            UnexpectedBinary,
        ),
        (
            json!([ph(0), "2[\"x\"]"]),
            "got plaintext data when reconstructing a packet",
            UnexpectedText,
        ),
    ]
}

/// Replaces `{"$bin"}` by placeholders, collecting the bytes depth first.
pub(crate) fn split_binary(v: &Value, out: &mut Vec<Bytes>) -> Value {
    match v {
        Value::Object(m) if m.contains_key("$bin") => {
            out.push(B64.decode(m["$bin"].as_str().unwrap()).unwrap().into());
            json!({"_placeholder": true, "num": out.len() - 1})
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), split_binary(v, out)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| split_binary(v, out)).collect()),
        v => v.clone(),
    }
}

/// The reverse: placeholders become `{"$bin"}` again.
pub(crate) fn join_binary(v: &Value, atts: &[Bytes]) -> Value {
    match v {
        Value::Object(m) if m.get("_placeholder") == Some(&Value::Bool(true)) => {
            json!({"$bin": B64.encode(&atts[m["num"].as_u64().unwrap() as usize])})
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), join_binary(v, atts)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| join_binary(v, atts)).collect()),
        v => v.clone(),
    }
}

pub(crate) fn kind(ty: u64) -> Kind {
    [
        Kind::Connect,
        Kind::Disconnect,
        Kind::Event,
        Kind::Ack,
        Kind::ConnectError,
    ][ty as usize]
}

pub(crate) fn ty(kind: Kind) -> u64 {
    match kind {
        Kind::Connect => 0,
        Kind::Disconnect => 1,
        Kind::Event => 2,
        Kind::Ack => 3,
        Kind::ConnectError => 4,
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
    .unwrap()
}

fn parts(p: &Packet) -> Value {
    let mut parts = vec![Value::String(p.encode())];
    parts.extend(
        p.attachments()
            .iter()
            .map(|a| json!({"$bin": B64.encode(a)})),
    );
    Value::Array(parts)
}

/// Our decoder over the parts: the packets as the official parser reports them.
fn decode(parts: &Value) -> Result<Vec<Value>, DecodeError> {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    for p in parts.as_array().unwrap() {
        match p {
            Value::String(s) => d.handle_text(Bytes::from(s.clone()))?,
            bin => d.handle_binary(B64.decode(bin["$bin"].as_str().unwrap()).unwrap().into())?,
        }
        if let Some(p) = d.poll_packet() {
            let data = p
                .raw_data()
                .map(|j| join_binary(&j.parse().unwrap(), p.attachments()));
            out.push(json!({"type": ty(p.kind()), "nsp": p.nsp(), "id": p.id(), "data": data}));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn same_bytes_and_same_packets_as_socket_io_parser() {
    let mut js = NodePeer::spawn("sio_parser.js", &[]);
    for case in cases() {
        let theirs: Value = serde_json::from_str(
            &js.ask(&json!({"op": "encode", "packet": case}).to_string())
                .await,
        )
        .unwrap();
        let ours = parts(&build(&case));
        assert_eq!(ours, theirs["parts"], "encoding of {case}");

        // Each side decodes the other's bytes to the packet we started from.
        assert_eq!(
            decode(&theirs["parts"]).unwrap(),
            std::slice::from_ref(&case),
            "our decoding of theirs"
        );
        let answer: Value = serde_json::from_str(
            &js.ask(&json!({"op": "decode", "parts": ours}).to_string())
                .await,
        )
        .unwrap();
        assert_eq!(answer["ok"], true, "{case}: {answer}");
        assert_eq!(answer["packets"], json!([case]), "their decoding of ours");
    }
}

#[tokio::test]
async fn both_refuse_the_same_bad_input() {
    let mut js = NodePeer::spawn("sio_parser.js", &[]);
    for (parts, theirs, want) in invalid() {
        let answer: Value = serde_json::from_str(
            &js.ask(&json!({"op": "decode", "parts": parts}).to_string())
                .await,
        )
        .unwrap();
        assert_eq!(
            answer,
            json!({"ok": false, "error": theirs}),
            "socket.io-parser on {parts}"
        );
        match (decode(&parts), &want) {
            (Err(DecodeError::InvalidJson(_)), DecodeError::InvalidJson(_)) => {}
            (ours, want) => assert_eq!(ours, Err(want.clone()), "ours on {parts}"),
        }
    }
}
