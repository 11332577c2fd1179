//! Properties over generated values: MessagePack and JSON round trips,
//! packets through their Redis form and back, and decoding that never
//! panics on arbitrary or damaged bytes.

use bytes::Bytes;
use proptest::prelude::*;
use socketio_proto::RESERVED_EVENTS;
use socketio_redis::msgpack::{self, DecodeConfig, Timestamp, Value};
use socketio_redis::packet::{self, Format};

/// Object keys, unique, some of them integer-like.
fn entries(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(("[a-z0-9]{0,4}", inner), 0..12).prop_map(|mut e| {
        let mut seen = std::collections::HashSet::new();
        e.retain(|(k, _)| seen.insert(k.clone()));
        e
    })
}

/// Values JSON carries as they are: no bytes, dates, extensions or NaN.
fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("NaN equals nothing", |f| f.is_finite())
            .prop_map(Value::F64),
        (-1e6f64..1e6).prop_map(|f| Value::F64(f.round())),
        ".{0,40}".prop_map(Value::Str),
        "[a-z]{30,300}".prop_map(Value::Str),
    ]
    .boxed()
}

fn bin() -> impl Strategy<Value = Value> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Bin(b.into()))
}

/// Every kind of value, except NaN (it equals nothing).
fn any_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => json_leaf(),
        1 => bin(),
        1 => (any::<i64>(), any::<u32>()).prop_map(|(seconds, nanoseconds)| {
            Value::Timestamp(Timestamp { seconds, nanoseconds })
        }),
        // Type -1 of lengths 4, 8 and 12 reads back as a timestamp.
        1 => (any::<i8>().prop_filter("timestamp", |t| *t != -1), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(t, d)| Value::Ext(t, d.into())),
    ]
    .boxed()
}

fn tree(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(5, 64, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            entries(inner).prop_map(Value::Map),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    entries(tree(json_leaf())).prop_map(Value::Map)
}

fn contains_nan(v: &Value) -> bool {
    match v {
        Value::F64(f) => f.is_nan(),
        Value::Array(a) => a.iter().any(contains_nan),
        Value::Map(m) => m.iter().any(|(_, v)| contains_nan(v)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn msgpack_round_trip(v in tree(any_leaf())) {
        let bytes = msgpack::to_vec(&v);
        let back = msgpack::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(msgpack::to_vec(&back), bytes.clone(), "the encoding is stable");
        let shared = Bytes::from(bytes);
        prop_assert_eq!(msgpack::decode_bytes(&shared, &DecodeConfig::default()).unwrap(), v);
    }

    #[test]
    fn integral_numbers_encode_as_integers(i in any::<i64>()) {
        let f = i as f64;
        if f.abs() <= 9_007_199_254_740_992.0 {
            prop_assert_eq!(msgpack::to_vec(&Value::F64(f)), msgpack::to_vec(&Value::Int(i)));
        }
        prop_assert_eq!(msgpack::decode(&msgpack::to_vec(&Value::F64(f))).unwrap(), Value::F64(f));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_decoded(&bytes)?;
    }

    #[test]
    fn damaged_encodings_never_panic(
        v in tree(any_leaf()),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = msgpack::to_vec(&v);
        for (at, b) in damage {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        check_decoded(&bytes)?;
        bytes.truncate(cut.index(bytes.len() + 1));
        check_decoded(&bytes)?;
    }

    #[test]
    fn json_round_trip(v in json_object()) {
        let mut text = Vec::new();
        packet::encode_json(&v, &mut text);
        prop_assert_eq!(Format::of(&text), Format::Json);
        let parsed: serde_json::Value = serde_json::from_slice(&text).unwrap();
        prop_assert_eq!(packet::value_to_json(&v), parsed);
        let back = packet::decode_message(&Bytes::from(text), &DecodeConfig::default()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn packets_through_their_redis_form(
        name in "[a-z]{1,8}".prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str())),
        args in proptest::collection::vec(
            tree(prop_oneof![3 => json_leaf(), 1 => bin().boxed()].boxed()),
            0..4,
        ),
        nsp in "/[a-z]{0,5}",
    ) {
        let mut data = vec![Value::from(name.as_str())];
        data.extend(args);
        let v = Value::map([
            ("type", 2.into()),
            ("data", Value::Array(data)),
            ("nsp", nsp.as_str().into()),
        ]);
        let p = packet::value_to_packet(&v, &nsp).unwrap();
        prop_assert_eq!(p.event_name(), Some(name.as_str()));
        prop_assert_eq!(packet::packet_to_value(&p, true).unwrap(), v.clone());
        // And through MessagePack, as it crosses Redis.
        let wire = msgpack::decode(&msgpack::to_vec(&v)).unwrap();
        prop_assert_eq!(packet::value_to_packet(&wire, &nsp).unwrap(), p);
    }
}

/// Whatever decodes re-encodes to bytes that decode to an equal value
/// (NaN aside), and that encoding is stable.
fn check_decoded(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(v) = msgpack::decode(bytes) else {
        return Ok(());
    };
    let again = msgpack::to_vec(&v);
    let back = msgpack::decode(&again).unwrap();
    if !contains_nan(&v) {
        prop_assert_eq!(&back, &v);
    }
    prop_assert_eq!(msgpack::to_vec(&back), again);
    let _ = packet::value_to_packet(&v, "/");
    Ok(())
}
