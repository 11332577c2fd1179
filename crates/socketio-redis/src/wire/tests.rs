//! The wire spec's classic vectors (§2.5, §2.6), from the real npm
//! packages, and the reading rules of §1.1 and §2.6.

use super::*;
use crate::packet::{packet_to_value, value_to_packet};
use socketio_proto::{Binary, Packet};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

fn cfg() -> DecodeConfig {
    DecodeConfig::default()
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|r| r.to_string()).collect()
}

fn selection(rooms: &[&str], except: &[&str]) -> WireOptions {
    WireOptions::selection(&owned(rooms), &owned(except))
}

fn broadcast(rooms: &[&str], except: &[&str]) -> WireOptions {
    WireOptions::broadcast(&owned(rooms), &owned(except), false, &Default::default())
}

#[test]
fn channels() {
    let c = Channels::new("socket.io", "/");
    assert_eq!(c.broadcast(), "socket.io#/#");
    assert_eq!(c.broadcast_to(&["r1".into()]), "socket.io#/#r1#");
    assert_eq!(c.broadcast_to(&[]), "socket.io#/#");
    assert_eq!(c.broadcast_to(&["a".into(), "b".into()]), "socket.io#/#");
    assert_eq!(c.request(), "socket.io-request#/#");
    assert_eq!(c.response(), "socket.io-response#/#");
    assert_eq!(c.node_response("kxFjvD"), "socket.io-response#/#kxFjvD#");
    assert_eq!(c.pattern(), "socket.io#/#*");
    assert_eq!(c.room_of("socket.io#/#"), Some(""));
    assert_eq!(c.room_of("socket.io#/#r1#"), Some("r1"));
    assert_eq!(c.room_of("socket.io#/admin#"), None);
    let odd = Channels::new("k*", "/a?[b]");
    assert_eq!(odd.pattern(), r"k\*#/a\?\[b\]#*");
}

/// §2.5: `{type:2, data:["hello", <Buffer 01 02>], nsp:"/"}` to room r1 from
/// uid "abc", byte for byte, and back.
#[test]
fn broadcast_vector() {
    let bytes = hex(
        "93 a3 61 62 63 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a2 72 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80",
    );
    let packet = Packet::event("/", "hello", &(Binary(Bytes::from_static(&[1, 2])),)).unwrap();
    let msg = BroadcastMessage {
        uid: "abc".into(),
        packet: packet_to_value(&packet, true).unwrap(),
        opts: broadcast(&["r1"], &[]),
    };
    assert_eq!(msg.encode(), bytes);
    let back = BroadcastMessage::decode(&Bytes::from(bytes), &cfg()).unwrap();
    assert_eq!(back, msg);
    assert_eq!(value_to_packet(&back.packet, "/").unwrap(), packet);
}

/// §2.5, second vector: `io.except("x").emit("hello", 1.5, {a:1})`.
#[test]
fn broadcast_vector_with_except() {
    let bytes = hex(
        "93 a6 6b 78 46 6a 76 44 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a5 68 65 6c 6c 6f cb 3f f8 00 00 00 00 00 00 81 a1 61 01 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 91 a1 78 a5 66 6c 61 67 73 80",
    );
    let packet = Packet::event("/", "hello", &(1.5, serde_json::json!({"a": 1}))).unwrap();
    let msg = BroadcastMessage {
        uid: "kxFjvD".into(),
        packet: packet_to_value(&packet, true).unwrap(),
        opts: broadcast(&[], &["x", "x"]),
    };
    assert_eq!(msg.encode(), bytes);
}

#[test]
fn broadcast_flags_and_emitter_order() {
    // The emitter writes opts as {rooms, flags, except}; numbers are rooms.
    let v = Value::Array(vec![
        Value::from("emitter"),
        Value::map([
            ("type", Value::Int(2)),
            ("data", Value::Array(vec!["hey".into()])),
        ]),
        Value::map([
            ("rooms", Value::Array(vec!["a".into(), Value::Int(123)])),
            (
                "flags",
                Value::map([
                    ("volatile", Value::Bool(true)),
                    ("compress", Value::Bool(false)),
                ]),
            ),
            ("except", Value::Array(vec!["c".into()])),
        ]),
    ]);
    let msg = BroadcastMessage::decode(&Bytes::from(msgpack::to_vec(&v)), &cfg()).unwrap();
    assert_eq!(msg.uid, "emitter");
    let o = &msg.opts;
    assert_eq!(o.rooms, ["a", "123"]);
    assert_eq!(o.except, ["c"]);
    assert!(o.volatile());
    let others = o.other_flags();
    assert_eq!(
        others.get("compress"),
        Some(&serde_json::Value::Bool(false))
    );
    assert!(!others.contains_key("volatile"));
    // And back: volatile first, then the other flags.
    let w = WireOptions::broadcast(&o.rooms, &o.except, o.volatile(), &others);
    assert_eq!(
        w.flags.unwrap(),
        vec![
            ("volatile".to_owned(), Value::Bool(true)),
            ("compress".to_owned(), Value::Bool(false))
        ]
    );
}

#[test]
fn broadcast_rejects() {
    for v in [
        Value::from("x"),
        Value::Array(vec![
            Value::from("u"),
            Value::map([("type", Value::Int(2))]),
        ]),
        Value::Array(vec![Value::from("u"), Value::from(1), Value::Nil]),
    ] {
        assert!(BroadcastMessage::decode(&Bytes::from(msgpack::to_vec(&v)), &cfg()).is_err());
    }
    assert!(BroadcastMessage::decode(&Bytes::from_static(b"\xc1"), &cfg()).is_err());
    assert!(BroadcastMessage::decode(&Bytes::from_static(b"{\"a\":1}"), &cfg()).is_err());
}

/// §2.6: the requests a Node sender publishes, byte for byte.
#[test]
fn request_vectors() {
    let uid = Some("kxFjvD".to_owned());
    let sel = selection(&["r1"], &[]);
    let cases: Vec<(Request, &str)> = vec![
        (
            Request {
                uid: uid.clone(),
                request_id: None,
                body: RequestBody::ServerSideEmit {
                    data: vec!["ping".into(), Value::Int(1)],
                },
            },
            r#"{"uid":"kxFjvD","type":6,"data":["ping",1]}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: Some("H-Ubsj".into()),
                body: RequestBody::ServerSideEmit {
                    data: vec!["ping".into(), Value::Int(2)],
                },
            },
            r#"{"uid":"kxFjvD","requestId":"H-Ubsj","type":6,"data":["ping",2]}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: None,
                body: RequestBody::Join {
                    opts: sel.clone(),
                    rooms: vec!["r2".into(), "r3".into()],
                },
            },
            r#"{"uid":"kxFjvD","type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2","r3"]}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: None,
                body: RequestBody::Leave {
                    opts: sel.clone(),
                    rooms: vec!["r2".into()],
                },
            },
            r#"{"uid":"kxFjvD","type":3,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2"]}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: None,
                body: RequestBody::Disconnect {
                    opts: sel.clone(),
                    close: true,
                },
            },
            r#"{"uid":"kxFjvD","type":4,"opts":{"rooms":["r1"],"except":[]},"close":true}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: Some("tiq9Jy".into()),
                body: RequestBody::Fetch { opts: sel.clone() },
            },
            r#"{"uid":"kxFjvD","requestId":"tiq9Jy","type":5,"opts":{"rooms":["r1"],"except":[]}}"#,
        ),
        (
            Request {
                uid: uid.clone(),
                request_id: Some("lKORp1".into()),
                body: RequestBody::AllRooms,
            },
            r#"{"uid":"kxFjvD","requestId":"lKORp1","type":1}"#,
        ),
    ];
    for (req, json) in cases {
        assert_eq!(text(&req.encode()), json);
        assert_eq!(Request::decode(&Bytes::from(json), &cfg()).unwrap(), req);
    }
}

/// §2.6: `io.timeout(1000).emit("x","y",cb)` as a MessagePack request.
#[test]
fn broadcast_request_vector() {
    let bytes = hex(
        "85 a3 75 69 64 a6 6b 78 46 6a 76 44 a9 72 65 71 75 65 73 74 49 64 a6 59 77 67 43 65 31 a4 74 79 70 65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a1 78 a1 79 a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 81 a7 74 69 6d 65 6f 75 74 cd 03 e8",
    );
    let packet = Packet::event("/", "x", &("y",)).unwrap();
    let mut o = broadcast(&[], &[]);
    o.set_flag("timeout", Value::from(1000u64));
    let req = Request {
        uid: Some("kxFjvD".into()),
        request_id: Some("YwgCe1".into()),
        body: RequestBody::Broadcast {
            packet: packet_to_value(&packet, true).unwrap(),
            opts: o,
        },
    };
    assert_eq!(req.encode(), bytes);
    let back = Request::decode(&Bytes::from(bytes), &cfg()).unwrap();
    assert_eq!(back, req);
    let RequestBody::Broadcast { opts, .. } = back.body else {
        panic!("not a broadcast")
    };
    assert_eq!(opts.flag("timeout").and_then(Value::as_u64), Some(1000));
}

/// §4.3: the emitter's requests carry no uid; legacy ones no opts.
#[test]
fn emitter_and_legacy_requests() {
    let r = Request::decode(
        &Bytes::from_static(br#"{"type":4,"opts":{"rooms":["a"],"except":[]},"close":false}"#),
        &cfg(),
    )
    .unwrap();
    assert_eq!(r.uid, None);
    assert_eq!(
        r.body,
        RequestBody::Disconnect {
            opts: selection(&["a"], &[]),
            close: false
        }
    );
    let r = Request::decode(
        &Bytes::from_static(br#"{"requestId":"q","type":2,"sid":"abc","room":"r"}"#),
        &cfg(),
    )
    .unwrap();
    assert_eq!(
        r.body,
        RequestBody::JoinSocket {
            sid: "abc".into(),
            room: "r".into()
        }
    );
    let r = Request::decode(
        &Bytes::from_static(br#"{"uid":"emitter","type":6,"data":["e",{"a":1}]}"#),
        &cfg(),
    )
    .unwrap();
    assert_eq!(r.uid.as_deref(), Some("emitter"));
    for bad in [
        &br#"{"type":99}"#[..],
        br#"{"type":8,"requestId":"x"}"#,
        br#"{"uid":"a"}"#,
        br#"[1,2]"#,
        br#"{"type":6,"data":"x"}"#,
        br#"{"type":7,"requestId":"x"}"#,
        br#"{"type":2}"#,
        b"{not json",
        b"\xc1",
    ] {
        assert!(
            Request::decode(&Bytes::from(bad.to_vec()), &cfg()).is_err(),
            "{bad:?}"
        );
    }
}

/// A server-side emit with bytes goes as MessagePack, and keeps them.
#[test]
fn binary_request_is_msgpack() {
    let req = Request {
        uid: Some("abcdef".into()),
        request_id: None,
        body: RequestBody::ServerSideEmit {
            data: vec!["bin".into(), Value::Bin(Bytes::from_static(&[0, 255]))],
        },
    };
    let bytes = req.encode();
    assert_ne!(bytes[0], b'{');
    assert_eq!(Request::decode(&Bytes::from(bytes), &cfg()).unwrap(), req);
}

/// §2.6: the responses a Node node publishes.
#[test]
fn response_vectors() {
    let cases: Vec<(Response, &str)> = vec![
        (
            Response {
                request_id: "REQ002".into(),
                body: ResponseBody::Answer {
                    rooms: Some(vec![]),
                    sockets: None,
                },
            },
            r#"{"requestId":"REQ002","rooms":[]}"#,
        ),
        (
            Response {
                request_id: "REQ004".into(),
                body: ResponseBody::ClientCount(1),
            },
            r#"{"type":8,"requestId":"REQ004","clientCount":1}"#,
        ),
        (
            Response {
                request_id: "REQ005".into(),
                body: ResponseBody::ServerSideEmit(Some(Value::map([("pong", Value::Int(7))]))),
            },
            r#"{"type":6,"requestId":"REQ005","data":{"pong":7}}"#,
        ),
    ];
    for (resp, json) in cases {
        assert_eq!(text(&resp.encode()), json);
        assert_eq!(Response::decode(&Bytes::from(json), &cfg()).unwrap(), resp);
    }
    let ack = hex(
        "83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 52 45 51 30 30 34 a6 70 61 63 6b 65 74 b1 61 63 6b 2d 66 72 6f 6d 2d 63 6c 69 65 6e 74 3a 79",
    );
    let resp = Response {
        request_id: "REQ004".into(),
        body: ResponseBody::Ack(Some("ack-from-client:y".into())),
    };
    assert_eq!(resp.encode(), ack);
    assert_eq!(Response::decode(&Bytes::from(ack), &cfg()).unwrap(), resp);
}

/// §2.6: a fetch answer from Node.
#[test]
fn fetch_response() {
    let r = Response::decode(&Bytes::from(FETCH_ANSWER), &cfg()).unwrap();
    assert_eq!(r.request_id, "REQ001");
    let ResponseBody::Answer {
        sockets: Some(s),
        rooms: None,
    } = r.body
    else {
        panic!("no sockets")
    };
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].get("id").and_then(Value::as_str),
        Some("Ns_mzPXDB5QfWwi0AAAA")
    );
}

/// A Node node's answer to REMOTE_FETCH (spec §2.6).
pub(crate) const FETCH_ANSWER: &str = r#"{"requestId":"REQ001","sockets":[{"id":"Ns_mzPXDB5QfWwi0AAAA","handshake":{"headers":{"host":"x"},"time":"Mon Nov 30 2026","address":"::ffff:127.0.0.1","xdomain":false,"secure":false,"issued":1796040370123,"url":"/socket.io/?q=1","query":{"q":"1"},"auth":{"token":"t"}},"rooms":["Ns_mzPXDB5QfWwi0AAAA","r1"],"data":{"user":"bob"}}]}"#;

#[test]
fn response_rejects() {
    for bad in [
        &br#"{"rooms":[]}"#[..],
        br#"{"type":8,"requestId":"x","clientCount":"many"}"#,
        br#"[]"#,
        b"{",
    ] {
        assert!(
            Response::decode(&Bytes::from(bad.to_vec()), &cfg()).is_err(),
            "{bad:?}"
        );
    }
    // A malformed answer still answers (Node counts it, then ignores it).
    let r = Response::decode(
        &Bytes::from_static(br#"{"requestId":"x","sockets":5}"#),
        &cfg(),
    )
    .unwrap();
    assert_eq!(
        r.body,
        ResponseBody::Answer {
            rooms: None,
            sockets: None
        }
    );
}
