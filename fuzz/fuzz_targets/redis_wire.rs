//! A message on the classic adapter's channels, as any publisher on the
//! Redis cluster may send it: read as a broadcast, a request and a
//! response. Oracle: reading never panics; what reads writes back to bytes
//! that read as the same message (values JSON cannot carry exactly, and
//! nesting near serde_json's limit, aside).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_redis::msgpack::{DecodeConfig, Value};
use socketio_redis::wire::{BroadcastMessage, Request, RequestBody, Response, ResponseBody};

/// Values whose JSON form reads back as another value: NaN and the
/// infinities become `null`. Deep values are left out too: serde_json
/// reads 127 levels of JSON, MessagePack is decoded to 128.
fn exact_in_json(v: &Value) -> bool {
    if v.depth() > 100 {
        return false;
    }
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::F64(f) if !f.is_finite() => return false,
            Value::Array(a) => stack.extend(a),
            Value::Map(m) => stack.extend(m.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    true
}

fn request_values(r: &Request) -> Vec<&Value> {
    match &r.body {
        RequestBody::ServerSideEmit { data } => data.iter().collect(),
        RequestBody::Broadcast { packet, opts } => {
            let mut v = vec![packet];
            v.extend(opts.flags.iter().flatten().map(|(_, v)| v));
            v
        }
        RequestBody::Join { opts, .. }
        | RequestBody::Leave { opts, .. }
        | RequestBody::Disconnect { opts, .. }
        | RequestBody::Fetch { opts } => opts.flags.iter().flatten().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

fn response_values(r: &Response) -> Vec<&Value> {
    match &r.body {
        ResponseBody::Answer { sockets, .. } => sockets.iter().flatten().collect(),
        ResponseBody::ServerSideEmit(v) | ResponseBody::Ack(v) => v.iter().collect(),
        _ => Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig::default();
    let bytes = Bytes::copy_from_slice(data);

    if let Ok(m) = BroadcastMessage::decode(&bytes, &config) {
        let again = BroadcastMessage::decode(&Bytes::from(m.encode()), &config)
            .expect("our broadcast reads back");
        assert_eq!(again.uid, m.uid);
        assert_eq!(again.opts.rooms, m.opts.rooms);
        assert_eq!(again.opts.except, m.opts.except);
        // Equality is JavaScript's: NaN equals nothing.
        let flags = m.opts.flags.iter().flatten().map(|(_, v)| v);
        if std::iter::once(&m.packet).chain(flags).all(exact_in_json) {
            assert_eq!(again, m);
        }
    }

    if let Ok(r) = Request::decode(&bytes, &config) {
        let encoded = r.encode();
        let again = Request::decode(&Bytes::from(encoded), &config);
        if request_values(&r).into_iter().all(exact_in_json) {
            assert_eq!(again.expect("our request reads back"), r);
        }
    }

    if let Ok(r) = Response::decode(&bytes, &config) {
        let again = Response::decode(&Bytes::from(r.encode()), &config);
        if response_values(&r).into_iter().all(exact_in_json) {
            assert_eq!(again.expect("our response reads back"), r);
        }
    }
});
