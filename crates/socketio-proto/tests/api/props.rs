//! Round trips: any packet the constructors build decodes to itself, with
//! its attachments, and its payload reads back as the value it was built from.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use socketio_proto::{Binary, Decoder, Json, Kind, Packet, RESERVED_EVENTS};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(untagged)]
enum Arg {
    Bin(Binary),
    Json(Value),
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            // Keys that cannot be taken for a placeholder.
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        4 => value().prop_map(Arg::Json),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Arg::Bin(Binary(b.into()))),
    ]
}

fn nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_?=&-]{1,10}"]
}

fn packet() -> impl Strategy<Value = Packet> {
    let name = "(?s).{0,10}".prop_filter("reserved", |n: &String| {
        !RESERVED_EVENTS.contains(&n.as_str())
    });
    let args = || proptest::collection::vec(arg(), 0..4);
    prop_oneof![
        (nsp(), name, args(), any::<Option<u64>>()).prop_map(|(nsp, name, args, id)| {
            let p = Packet::event(&nsp, &name, &args).unwrap();
            match id {
                Some(id) => p.with_id(id),
                None => p,
            }
        }),
        (nsp(), any::<u64>(), args())
            .prop_map(|(nsp, id, args)| Packet::ack(&nsp, id, &args).unwrap()),
        (nsp(), proptest::option::of(value())).prop_map(|(nsp, auth)| {
            let auth = auth.map(|v| serde_json::json!({ "auth": v }));
            Packet::connect(&nsp, auth.map(|a| Json::from_value(&a).unwrap())).unwrap()
        }),
        nsp().prop_map(|nsp| Packet::disconnect(&nsp).unwrap()),
        (nsp(), ".{0,20}")
            .prop_map(|(nsp, msg)| Packet::connect_error_message(&nsp, &msg, None).unwrap()),
    ]
}

fn decode(p: &Packet) -> Packet {
    let mut d = Decoder::default();
    d.handle_text(Bytes::from(p.encode())).unwrap();
    for a in p.attachments() {
        assert!(d.poll_packet().is_none(), "complete before its attachments");
        d.handle_binary(a.clone()).unwrap();
    }
    d.poll_packet().expect("complete after its attachments")
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity(p in packet()) {
        let got = decode(&p);
        prop_assert_eq!(&got, &p);
        // And the encoding is stable.
        prop_assert_eq!(got.encode(), p.encode());
    }

    #[test]
    fn encode_into_appends_what_encode_gives_within_the_hint(p in packet(), prefix in "[0-9a-z]{0,3}") {
        let mut out = prefix.clone();
        p.encode_into(&mut out);
        let text = p.encode();
        prop_assert_eq!(&out[prefix.len()..], text.as_str());
        prop_assert!(text.len() <= p.encoded_len_hint());
    }

    #[test]
    fn event_arguments_come_back_as_sent(
        nsp in nsp(),
        args in proptest::collection::vec(arg(), 0..5),
    ) {
        let p = Packet::event(&nsp, "e", &args).unwrap();
        let binaries = args.iter().filter(|a| matches!(a, Arg::Bin(_))).count();
        prop_assert_eq!(p.attachments().len(), binaries);
        prop_assert_eq!(p.kind(), Kind::Event);
        let got: Vec<Arg> = decode(&p).event_args().unwrap();
        prop_assert_eq!(got, args);
    }
}
