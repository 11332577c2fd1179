//! The wire spec's vectors (§3.4, §3.5): Node's exact bytes, read and
//! written back, and the channel each takes.

use bytes::Bytes;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn decode(bytes: &[u8]) -> Result<ClusterMessage, ClusterMessageError> {
    ClusterMessage::decode(&Bytes::copy_from_slice(bytes), &DecodeConfig::default())
}

fn channels() -> ShardedChannels {
    ShardedChannels::new("socket.io", "/")
}

/// §3.5: a broadcast with bytes to room r1, MessagePack, on the room's
/// channel in the dynamic modes.
#[test]
fn binary_broadcast_vector() {
    let vector = hex(
        "84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 91 a2 72 31 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80 a3 75 69 64 b0 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 a3 6e 73 70 a1 2f",
    );
    assert_eq!(vector.len(), 101);
    let packet = Value::map([
        ("type", Value::Int(2)),
        (
            "data",
            Value::Array(vec![
                "hello".into(),
                Value::Bin(Bytes::from_static(&[1, 2])),
            ]),
        ),
    ]);
    let mut opts = WireOptions::selection(&["r1".to_owned()], &[]);
    opts.flags = Some(Vec::new());
    let message = ClusterMessage {
        uid: "0123456789abcdef".into(),
        nsp: "/".into(),
        body: MessageBody::Broadcast {
            packet,
            request_id: None,
            opts,
        },
    };
    assert_eq!(message.encode(), vector);
    assert_eq!(decode(&vector).unwrap(), message);
    let c = channels();
    assert_eq!(
        c.for_message(&message, SubscriptionMode::Dynamic),
        "socket.io#/#r1#"
    );
    assert_eq!(
        c.for_message(&message, SubscriptionMode::DynamicPrivate),
        "socket.io#/#r1#"
    );
    assert_eq!(
        c.for_message(&message, SubscriptionMode::Static),
        "socket.io#/#"
    );
}

/// §3.5: what a Node sharded node publishes, as JSON; each reads and is
/// written back byte for byte, and goes to the main channel in every mode.
#[test]
fn node_json_messages() {
    let lines = [
        r#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1.5,{"a":1}]},"opts":{"rooms":[],"except":["x"],"flags":{}}},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":3,"data":{"packet":{"type":2,"data":["hi"]},"opts":{"rooms":["abcdefghijklmnopqrst"],"except":[],"flags":{}}},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":3,"data":{"packet":{"type":2,"data":["x","y"]},"requestId":"d17609e153b66d15","opts":{"rooms":[],"except":[],"flags":{"timeout":1000}}},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":9,"data":{"packet":["ping",1]},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":9,"data":{"requestId":"33687033382884dd","packet":["ping",2]},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":4,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r2","r3"]},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":5,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r2"]},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":6,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"close":true},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":7,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"requestId":"acc78a057a614f06"},"uid":"2795d79fcac5c2e1","nsp":"/"}"#,
        r#"{"type":11,"data":{"requestId":"REQ004","clientCount":1},"uid":"8c50033d26f4e540","nsp":"/"}"#,
        r#"{"type":12,"data":{"requestId":"REQ004","packet":"ack-from-client:y"},"uid":"8c50033d26f4e540","nsp":"/"}"#,
        r#"{"type":8,"data":{"requestId":"REQ001","sockets":[{"id":"E4L-LF4m6-bzauPuAAAA","handshake":{"address":"::ffff:127.0.0.1","issued":1796040370123,"query":{"EIO":"4"}},"rooms":["E4L-LF4m6-bzauPuAAAA","r1"],"data":{"user":"bob"}}]},"uid":"8c50033d26f4e540","nsp":"/"}"#,
        r#"{"type":10,"data":{"requestId":"REQ005","packet":{"pong":7}},"uid":"8c50033d26f4e540","nsp":"/"}"#,
    ];
    let c = channels();
    for line in lines {
        let m = decode(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(String::from_utf8(m.encode()).unwrap(), line);
        for mode in [
            SubscriptionMode::Static,
            SubscriptionMode::Dynamic,
            SubscriptionMode::DynamicPrivate,
        ] {
            // Only the 20-character room would go elsewhere, and only in
            // dynamic-private mode.
            let want = if line.contains("abcdefghijklmnopqrst")
                && mode == SubscriptionMode::DynamicPrivate
            {
                "socket.io#/#abcdefghijklmnopqrst#"
            } else {
                "socket.io#/#"
            };
            assert_eq!(c.for_message(&m, mode), want, "{line}");
        }
    }
    let m = decode(lines[4].as_bytes()).unwrap();
    assert_eq!(m.message_type(), MessageType::ServerSideEmit);
    assert_eq!(
        m.body,
        MessageBody::ServerSideEmit {
            request_id: Some("33687033382884dd".into()),
            data: vec!["ping".into(), Value::Int(2)],
        }
    );
    assert!(!m.is_response());
    let m = decode(lines[9].as_bytes()).unwrap();
    assert!(m.is_response());
    assert_eq!(
        m.body,
        MessageBody::BroadcastClientCount {
            request_id: "REQ004".into(),
            client_count: 1
        }
    );
    let m = decode(lines[7].as_bytes()).unwrap();
    let MessageBody::DisconnectSockets { opts, close: true } = m.body else {
        panic!("{m:?}")
    };
    assert_eq!(opts.rooms, ["r1"]);
}

/// Bytes in a response travel as MessagePack: Node's JSON would turn them
/// into `{"type":"Buffer",...}`.
#[test]
fn bytes_switch_to_msgpack() {
    let m = ClusterMessage {
        uid: "u".into(),
        nsp: "/admin".into(),
        body: MessageBody::BroadcastAck {
            request_id: "r".into(),
            packet: Some(Value::Bin(Bytes::from_static(b"\x00\xff"))),
        },
    };
    let bytes = m.encode();
    assert_eq!(bytes[0], 0x84);
    assert_eq!(decode(&bytes).unwrap(), m);
    // An ack without an argument leaves `packet` out, as `undefined` is.
    let m = ClusterMessage {
        body: MessageBody::BroadcastAck {
            request_id: "r".into(),
            packet: None,
        },
        ..m
    };
    assert_eq!(
        m.encode(),
        br#"{"type":12,"data":{"requestId":"r"},"uid":"u","nsp":"/admin"}"#
    );
}

#[test]
fn heartbeats_have_no_data() {
    for (ty, body) in [
        (1, MessageBody::InitialHeartbeat),
        (2, MessageBody::Heartbeat),
        (13, MessageBody::AdapterClose),
    ] {
        let line = format!(r#"{{"type":{ty},"uid":"a","nsp":"/"}}"#);
        let m = decode(line.as_bytes()).unwrap();
        assert_eq!(m.body, body);
        assert_eq!(m.encode(), line.as_bytes());
    }
}

#[test]
fn what_is_not_a_cluster_message() {
    use ClusterMessageError as E;
    type Check = fn(&E) -> bool;
    let cases: [(&str, Check); 10] = [
        ("[1]", |e| matches!(e, E::Message(_))),
        ("{", |e| matches!(e, E::Message(_))),
        (r#"{"type":1}"#, |e| matches!(e, E::Field("uid"))),
        (r#"{"type":1,"uid":"a"}"#, |e| matches!(e, E::Field("nsp"))),
        (r#"{"type":14,"uid":"a","nsp":"/"}"#, |e| {
            matches!(e, E::UnknownType(Some(14)))
        }),
        (r#"{"type":"3","uid":"a","nsp":"/"}"#, |e| {
            matches!(e, E::UnknownType(None))
        }),
        (
            r#"{"type":3,"uid":"a","nsp":"/","data":{"packet":{}}}"#,
            |e| matches!(e, E::Field("opts")),
        ),
        (
            r#"{"type":7,"uid":"a","nsp":"/","data":{"opts":{}}}"#,
            |e| matches!(e, E::Field("requestId")),
        ),
        (
            r#"{"type":11,"uid":"a","nsp":"/","data":{"requestId":"r","clientCount":-1}}"#,
            |e| matches!(e, E::Field("clientCount")),
        ),
        (
            r#"{"type":9,"uid":"a","nsp":"/","data":{"packet":{}}}"#,
            |e| matches!(e, E::Field("packet")),
        ),
    ];
    for (bytes, expected) in cases {
        let e = decode(bytes.as_bytes()).unwrap_err();
        assert!(expected(&e), "{bytes}: {e:?}");
    }
    assert!(matches!(decode(&[0x90]), Err(E::NotAnObject)));
    // Numbers where strings go are their JavaScript strings, as Node keys
    // and compares them.
    let m = decode(br#"{"type":11,"uid":7,"nsp":"/","data":{"requestId":1.5,"clientCount":2}}"#)
        .unwrap();
    assert_eq!(m.uid, "7");
    assert_eq!(
        m.body,
        MessageBody::BroadcastClientCount {
            request_id: "1.5".into(),
            client_count: 2
        }
    );
}

#[test]
fn modes_and_socket_ids() {
    let sid = "Ns_mzPXDB5QfWwi0AAAA";
    assert!(looks_like_socket_id(sid));
    assert!(!looks_like_socket_id("r1"));
    // JavaScript counts UTF-16 code units: é is one, 😀 is two.
    assert!(looks_like_socket_id("ééééééééééééééééééé1"));
    assert!(looks_like_socket_id("😀😀😀😀😀😀😀😀😀😀"));
    use SubscriptionMode::*;
    assert_eq!(SubscriptionMode::default(), Dynamic);
    assert!(!Static.listens_to("r1", false));
    assert!(Dynamic.listens_to("r1", false));
    assert!(!Dynamic.listens_to(sid, true));
    // A socket id a publisher would not recognise: listened on.
    assert!(Dynamic.listens_to("short-id", true));
    // A room that only looks like a socket id is listened on; publishers
    // send it to the main channel, which every node hears anyway.
    assert!(Dynamic.listens_to(sid, false));
    assert!(DynamicPrivate.listens_to(sid, true));
    assert!(!Dynamic.publishes_to(sid));
    assert!(DynamicPrivate.publishes_to(sid));
    let c = ShardedChannels::new("p", "/admin");
    assert_eq!(c.main(), "p#/admin#");
    assert_eq!(c.node("0123"), "p#/admin#0123#");
    assert_eq!(c.room("r"), "p#/admin#r#");
    // With acks or to several rooms: the main channel.
    let mut opts = WireOptions::selection(&["r".to_owned()], &[]);
    let mut m = ClusterMessage {
        uid: "u".into(),
        nsp: "/admin".into(),
        body: MessageBody::Broadcast {
            packet: Value::map::<&str>([]),
            request_id: Some("q".into()),
            opts: opts.clone(),
        },
    };
    assert_eq!(c.for_message(&m, DynamicPrivate), "p#/admin#");
    opts.rooms.push("s".into());
    m.body = MessageBody::Broadcast {
        packet: Value::map::<&str>([]),
        request_id: None,
        opts,
    };
    assert_eq!(c.for_message(&m, DynamicPrivate), "p#/admin#");
}
