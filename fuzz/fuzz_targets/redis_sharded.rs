//! A message on the sharded adapter's channels, as any publisher on the
//! Redis cluster may send it: read as a cluster message. Oracle: reading
//! never panics; what reads writes back to bytes that read as the same
//! message (values JSON cannot carry exactly, and nesting near serde_json's
//! limit, aside); the channel it would take is the main one or its one
//! room's.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_redis::cluster_message::{
    ClusterMessage, MessageBody, ShardedChannels, SubscriptionMode,
};
use socketio_redis::msgpack::{DecodeConfig, Value};
use socketio_redis::wire::WireOptions;

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

fn flags(opts: &WireOptions) -> impl Iterator<Item = &Value> {
    opts.flags.iter().flatten().map(|(_, v)| v)
}

fn values(m: &ClusterMessage) -> Vec<&Value> {
    match &m.body {
        MessageBody::Broadcast { packet, opts, .. } => {
            std::iter::once(packet).chain(flags(opts)).collect()
        }
        MessageBody::SocketsJoin { opts, .. }
        | MessageBody::SocketsLeave { opts, .. }
        | MessageBody::DisconnectSockets { opts, .. }
        | MessageBody::FetchSockets { opts, .. } => flags(opts).collect(),
        MessageBody::FetchSocketsResponse { sockets, .. } => sockets.iter().collect(),
        MessageBody::ServerSideEmit { data, .. } => data.iter().collect(),
        MessageBody::ServerSideEmitResponse { packet, .. }
        | MessageBody::BroadcastAck { packet, .. } => packet.iter().collect(),
        _ => Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig::default();
    let Ok(m) = ClusterMessage::decode(&Bytes::copy_from_slice(data), &config) else {
        return;
    };
    let again = ClusterMessage::decode(&Bytes::from(m.encode()), &config);
    if values(&m).into_iter().all(exact_in_json) {
        assert_eq!(again.expect("our message reads back"), m);
    }
    let channels = ShardedChannels::new("socket.io", &m.nsp);
    for mode in [
        SubscriptionMode::Static,
        SubscriptionMode::Dynamic,
        SubscriptionMode::DynamicPrivate,
    ] {
        let channel = channels.for_message(&m, mode);
        let room = match &m.body {
            MessageBody::Broadcast {
                request_id: None,
                opts,
                ..
            } if opts.rooms.len() == 1 => Some(channels.room(&opts.rooms[0])),
            _ => None,
        };
        assert!(
            channel == channels.main() || Some(&channel) == room.as_ref(),
            "{channel}"
        );
        if mode == SubscriptionMode::Static {
            assert_eq!(channel, channels.main());
        }
    }
});
