//! The sharded adapter's messages (`@socket.io/redis-adapter` 8.x,
//! `createShardedAdapter`): socket.io-adapter's cluster messages `{type,
//! data, uid, nsp}`, the shard channels they travel on, and which channel a
//! message takes, each as a Node server writes it.
//!
//! Pure: no Redis, no clock. [`crate::sharded`] moves these over Redis
//! (`SPUBLISH`, `SSUBSCRIBE`).
//!
//! Every message of a namespace goes to its main channel `<prefix>#<nsp>#`,
//! responses to the requester's own `<prefix>#<nsp>#<uid>#`, and, in the
//! dynamic [`SubscriptionMode`]s, a broadcast to a single room without
//! acks to that room's `<prefix>#<nsp>#<room>#`
//! ([`ShardedChannels::for_message`]).
//!
//! A message is JSON, unless it carries bytes, which JSON cannot (then
//! MessagePack); a receiver tells the two apart by the first byte
//! ([`Format::of`](crate::packet::Format::of)). The type numbers are not
//! the classic adapter's: a broadcast is 3 here, 7 there. The packet of a
//! broadcast has no `nsp`: each receiver uses its own.

use bytes::Bytes;

use crate::msgpack::{DecodeConfig, Value};
use crate::packet::{MessageError, decode_message};
use crate::wire::{WireOptions, encode_json_or_msgpack, request_id, rooms, strings, truthy};

/// The type numbers of cluster messages (the `type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// A node announces itself (adapters with heartbeats only; the sharded
    /// adapter ignores it).
    InitialHeartbeat = 1,
    /// A node is alive (adapters with heartbeats only).
    Heartbeat = 2,
    /// A broadcast, with or without acks.
    Broadcast = 3,
    /// Sockets join rooms (`socketsJoin`).
    SocketsJoin = 4,
    /// Sockets leave rooms (`socketsLeave`).
    SocketsLeave = 5,
    /// Sockets are disconnected (`disconnectSockets`).
    DisconnectSockets = 6,
    /// Sockets are described (`fetchSockets`).
    FetchSockets = 7,
    /// One node's sockets, answering [`FetchSockets`](Self::FetchSockets).
    FetchSocketsResponse = 8,
    /// An event for the servers' own handlers (`serverSideEmit`).
    ServerSideEmit = 9,
    /// One node's answer to a server-side emit.
    ServerSideEmitResponse = 10,
    /// How many sockets a broadcast with acks reached on one node.
    BroadcastClientCount = 11,
    /// One socket's answer to a broadcast with acks.
    BroadcastAck = 12,
    /// A node leaves (adapters with heartbeats only).
    AdapterClose = 13,
}

impl MessageType {
    fn from_number(n: i64) -> Option<MessageType> {
        Some(match n {
            1 => MessageType::InitialHeartbeat,
            2 => MessageType::Heartbeat,
            3 => MessageType::Broadcast,
            4 => MessageType::SocketsJoin,
            5 => MessageType::SocketsLeave,
            6 => MessageType::DisconnectSockets,
            7 => MessageType::FetchSockets,
            8 => MessageType::FetchSocketsResponse,
            9 => MessageType::ServerSideEmit,
            10 => MessageType::ServerSideEmitResponse,
            11 => MessageType::BroadcastClientCount,
            12 => MessageType::BroadcastAck,
            13 => MessageType::AdapterClose,
            _ => return None,
        })
    }
}

/// A message from Redis that is not a cluster message.
///
/// The sender's fault (or a stranger publishing on our channels): the
/// receiver drops the message, as Node's adapter does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterMessageError {
    /// The bytes are neither JSON nor MessagePack, or break a decode limit.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// A cluster message is an object.
    #[error("message is not an object")]
    NotAnObject,
    /// A cluster message carries a known `type` (1 to 13).
    #[error("message type {0:?} is unknown")]
    UnknownType(Option<i64>),
    /// A field the message type requires is missing or of the wrong kind
    /// (`uid`, `nsp`, or one in `data`).
    #[error("field {0:?} is missing or malformed")]
    Field(&'static str),
}

/// A message on a namespace's shard channels.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterMessage {
    /// The sending node: 16 hex digits from Node, `"emitter"` from an
    /// emitter.
    pub uid: String,
    /// The namespace (`/`, `/admin`, ...).
    pub nsp: String,
    /// What it says.
    pub body: MessageBody,
}

/// What a [`ClusterMessage`] says, by type; fields in the order Node
/// writes them in `data`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum MessageBody {
    /// 1: a node announces itself (no `data`).
    InitialHeartbeat,
    /// 2: a node is alive (no `data`).
    Heartbeat,
    /// 3: a broadcast; with a request id, its recipients answer.
    Broadcast {
        /// The packet object `{type: 2, data: [event, ...args]}`, without
        /// `nsp` ([`packet_to_value`](crate::packet::packet_to_value)).
        packet: Value,
        /// Set for a broadcast with acks.
        request_id: Option<String>,
        /// Rooms, except and flags (`timeout` among them, with acks).
        opts: WireOptions,
    },
    /// 4: the sockets `opts` selects join `rooms`.
    SocketsJoin {
        /// The selection.
        opts: WireOptions,
        /// The rooms to join.
        rooms: Vec<String>,
    },
    /// 5: the sockets `opts` selects leave `rooms`.
    SocketsLeave {
        /// The selection.
        opts: WireOptions,
        /// The rooms to leave.
        rooms: Vec<String>,
    },
    /// 6: the sockets `opts` selects are disconnected.
    DisconnectSockets {
        /// The selection.
        opts: WireOptions,
        /// Whether their whole connections are closed.
        close: bool,
    },
    /// 7: the sockets `opts` selects, described.
    FetchSockets {
        /// The selection.
        opts: WireOptions,
        /// The request.
        request_id: String,
    },
    /// 8: one node's sockets: `{id, handshake, rooms, data}` each.
    FetchSocketsResponse {
        /// The request it answers.
        request_id: String,
        /// The sockets.
        sockets: Vec<Value>,
    },
    /// 9: `[event, ...args]` for the servers' handlers (`packet` on the
    /// wire); with a request id, each node answers.
    ServerSideEmit {
        /// Set when the sender waits for answers.
        request_id: Option<String>,
        /// The event name and its arguments.
        data: Vec<Value>,
    },
    /// 10: one node's answer to a server-side emit.
    ServerSideEmitResponse {
        /// The request it answers.
        request_id: String,
        /// The first argument of the handler's ack (`None`: it had none).
        packet: Option<Value>,
    },
    /// 11: how many sockets a broadcast with acks reached on one node.
    BroadcastClientCount {
        /// The broadcast.
        request_id: String,
        /// The count.
        client_count: u64,
    },
    /// 12: one socket's answer to a broadcast with acks.
    BroadcastAck {
        /// The broadcast.
        request_id: String,
        /// The first argument of the socket's ack (`None`: it had none).
        packet: Option<Value>,
    },
    /// 13: a node leaves (no `data`).
    AdapterClose,
}

impl ClusterMessage {
    /// The message's type number.
    pub fn message_type(&self) -> MessageType {
        match &self.body {
            MessageBody::InitialHeartbeat => MessageType::InitialHeartbeat,
            MessageBody::Heartbeat => MessageType::Heartbeat,
            MessageBody::Broadcast { .. } => MessageType::Broadcast,
            MessageBody::SocketsJoin { .. } => MessageType::SocketsJoin,
            MessageBody::SocketsLeave { .. } => MessageType::SocketsLeave,
            MessageBody::DisconnectSockets { .. } => MessageType::DisconnectSockets,
            MessageBody::FetchSockets { .. } => MessageType::FetchSockets,
            MessageBody::FetchSocketsResponse { .. } => MessageType::FetchSocketsResponse,
            MessageBody::ServerSideEmit { .. } => MessageType::ServerSideEmit,
            MessageBody::ServerSideEmitResponse { .. } => MessageType::ServerSideEmitResponse,
            MessageBody::BroadcastClientCount { .. } => MessageType::BroadcastClientCount,
            MessageBody::BroadcastAck { .. } => MessageType::BroadcastAck,
            MessageBody::AdapterClose => MessageType::AdapterClose,
        }
    }

    /// Whether it answers a request (8, 10, 11, 12): a requester reads
    /// these wherever they arrive.
    pub fn is_response(&self) -> bool {
        matches!(
            self.body,
            MessageBody::FetchSocketsResponse { .. }
                | MessageBody::ServerSideEmitResponse { .. }
                | MessageBody::BroadcastClientCount { .. }
                | MessageBody::BroadcastAck { .. }
        )
    }

    /// The bytes Node would publish: `{type, data, uid, nsp}` in that
    /// order, JSON unless bytes are in it (then MessagePack, which keeps
    /// them; Node does the same for the types that can carry bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut data: Vec<(String, Value)> = Vec::with_capacity(3);
        let mut put = |k: &str, v: Value| data.push((k.to_owned(), v));
        let id = |id: &str| Value::from(id);
        match &self.body {
            MessageBody::InitialHeartbeat | MessageBody::Heartbeat | MessageBody::AdapterClose => {}
            MessageBody::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                put("packet", packet.clone());
                if let Some(r) = request_id {
                    put("requestId", id(r));
                }
                put("opts", opts.to_value());
            }
            MessageBody::SocketsJoin { opts, rooms }
            | MessageBody::SocketsLeave { opts, rooms } => {
                put("opts", opts.to_value());
                put("rooms", strings(rooms));
            }
            MessageBody::DisconnectSockets { opts, close } => {
                put("opts", opts.to_value());
                put("close", Value::Bool(*close));
            }
            MessageBody::FetchSockets { opts, request_id } => {
                put("opts", opts.to_value());
                put("requestId", id(request_id));
            }
            MessageBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => {
                put("requestId", id(request_id));
                put("sockets", Value::Array(sockets.clone()));
            }
            MessageBody::ServerSideEmit { request_id, data } => {
                if let Some(r) = request_id {
                    put("requestId", id(r));
                }
                put("packet", Value::Array(data.clone()));
            }
            MessageBody::ServerSideEmitResponse { request_id, packet }
            | MessageBody::BroadcastAck { request_id, packet } => {
                put("requestId", id(request_id));
                if let Some(p) = packet {
                    put("packet", p.clone());
                }
            }
            MessageBody::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                put("requestId", id(request_id));
                put("clientCount", Value::from(*client_count));
            }
        }
        let mut message = vec![("type".to_owned(), Value::Int(self.message_type() as i64))];
        if !matches!(
            self.body,
            MessageBody::InitialHeartbeat | MessageBody::Heartbeat | MessageBody::AdapterClose
        ) {
            message.push(("data".to_owned(), Value::Map(data)));
        }
        message.push(("uid".to_owned(), Value::from(self.uid.as_str())));
        message.push(("nsp".to_owned(), Value::from(self.nsp.as_str())));
        encode_json_or_msgpack(&Value::Map(message))
    }

    /// Reads a message in either format.
    pub fn decode(
        payload: &Bytes,
        config: &DecodeConfig,
    ) -> Result<ClusterMessage, ClusterMessageError> {
        use ClusterMessageError::Field;
        let v = decode_message(payload, config)?;
        if v.as_map().is_none() {
            return Err(ClusterMessageError::NotAnObject);
        }
        let ty = v.get("type").and_then(Value::as_i64);
        let kind = ty
            .and_then(MessageType::from_number)
            .ok_or(ClusterMessageError::UnknownType(ty))?;
        // A number is a string to Node, where these are compared or used as
        // map keys.
        let uid = v.get("uid").and_then(request_id).ok_or(Field("uid"))?;
        let nsp = v
            .get("nsp")
            .and_then(Value::as_str)
            .ok_or(Field("nsp"))?
            .to_owned();
        let data = v.get("data").filter(|d| d.as_map().is_some());
        let field = |k: &'static str| data.and_then(|d| d.get(k));
        let id = || field("requestId").and_then(request_id);
        let required_id = || id().ok_or(Field("requestId"));
        let opts = || {
            field("opts")
                .filter(|o| o.as_map().is_some())
                .map(WireOptions::from_value)
                .ok_or(Field("opts"))
        };
        let body = match kind {
            MessageType::InitialHeartbeat => MessageBody::InitialHeartbeat,
            MessageType::Heartbeat => MessageBody::Heartbeat,
            MessageType::AdapterClose => MessageBody::AdapterClose,
            MessageType::Broadcast => MessageBody::Broadcast {
                packet: field("packet")
                    .filter(|p| p.as_map().is_some())
                    .ok_or(Field("packet"))?
                    .clone(),
                request_id: id(),
                opts: opts()?,
            },
            MessageType::SocketsJoin => MessageBody::SocketsJoin {
                opts: opts()?,
                rooms: rooms(field("rooms")),
            },
            MessageType::SocketsLeave => MessageBody::SocketsLeave {
                opts: opts()?,
                rooms: rooms(field("rooms")),
            },
            MessageType::DisconnectSockets => MessageBody::DisconnectSockets {
                opts: opts()?,
                close: field("close").is_some_and(truthy),
            },
            MessageType::FetchSockets => MessageBody::FetchSockets {
                opts: opts()?,
                request_id: required_id()?,
            },
            MessageType::FetchSocketsResponse => MessageBody::FetchSocketsResponse {
                request_id: required_id()?,
                sockets: field("sockets")
                    .and_then(Value::as_array)
                    .ok_or(Field("sockets"))?
                    .to_vec(),
            },
            MessageType::ServerSideEmit => MessageBody::ServerSideEmit {
                request_id: id(),
                data: field("packet")
                    .and_then(Value::as_array)
                    .ok_or(Field("packet"))?
                    .to_vec(),
            },
            MessageType::ServerSideEmitResponse => MessageBody::ServerSideEmitResponse {
                request_id: required_id()?,
                packet: field("packet").cloned(),
            },
            MessageType::BroadcastClientCount => MessageBody::BroadcastClientCount {
                request_id: required_id()?,
                client_count: field("clientCount")
                    .and_then(Value::as_u64)
                    .ok_or(Field("clientCount"))?,
            },
            MessageType::BroadcastAck => MessageBody::BroadcastAck {
                request_id: required_id()?,
                packet: field("packet").cloned(),
            },
        };
        Ok(ClusterMessage { uid, nsp, body })
    }
}

/// Which room channels the nodes of a cluster listen on
/// (`subscriptionMode`). Every node of a cluster must use the same: a node
/// that does not listen on a room's channel misses what others publish
/// there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Only the main channel: every broadcast reaches every node, which
    /// keeps what is for its sockets. Fewest subscriptions, most traffic.
    Static,
    /// A channel per room too, except a socket's own room (`"dynamic"`,
    /// Node's default): a broadcast to one room reaches only the nodes
    /// with a socket in it.
    #[default]
    Dynamic,
    /// A channel per room, a socket's own room included
    /// (`"dynamic-private"`): also a message to one socket reaches only
    /// its node, at the cost of a subscription per socket.
    DynamicPrivate,
}

impl SubscriptionMode {
    /// Whether a node in this mode listens on the channel of `room`, which
    /// is the id of one of its sockets or not (`socket_id`).
    ///
    /// Node's `dynamic` nodes skip every socket id; a publisher, though,
    /// sends to a room's channel every room that does not *look* like one
    /// ([`looks_like_socket_id`]). A socket id of another length is
    /// listened on here, so a message for it is not lost.
    pub fn listens_to(self, room: &str, socket_id: bool) -> bool {
        match self {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !(socket_id && looks_like_socket_id(room)),
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// Whether a publisher in this mode sends a broadcast to `room` alone
    /// on the room's channel (rather than the main one).
    pub fn publishes_to(self, room: &str) -> bool {
        match self {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !looks_like_socket_id(room),
            SubscriptionMode::DynamicPrivate => true,
        }
    }
}

/// Whether `room` has the length of a Socket.IO socket id: 20 UTF-16 code
/// units, as JavaScript counts a string's length. It is all a publisher
/// checks.
pub fn looks_like_socket_id(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

/// The shard channels of one namespace, for a channel prefix (`socket.io`
/// by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardedChannels {
    main: String,
}

impl ShardedChannels {
    /// The channels of namespace `nsp` (`/`, `/admin`, ...) under `prefix`.
    pub fn new(prefix: &str, nsp: &str) -> ShardedChannels {
        ShardedChannels {
            main: format!("{prefix}#{nsp}#"),
        }
    }

    /// `<prefix>#<nsp>#`: every message but responses and room
    /// broadcasts. Its subscribers are the namespace's nodes (`PUBSUB
    /// SHARDNUMSUB`).
    pub fn main(&self) -> &str {
        &self.main
    }

    /// `<prefix>#<nsp>#<uid>#`: responses for node `uid`.
    pub fn node(&self, uid: &str) -> String {
        format!("{}{uid}#", self.main)
    }

    /// `<prefix>#<nsp>#<room>#`: broadcasts to `room` alone, in the
    /// dynamic modes.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.main)
    }

    /// Where a publisher in `mode` sends `message` (Node's
    /// `computeChannel`): a broadcast without acks to exactly one room
    /// that the mode gives a channel goes to that room's channel;
    /// everything else to the main one. Responses go to the requester's
    /// channel instead ([`node`](Self::node)).
    pub fn for_message(&self, message: &ClusterMessage, mode: SubscriptionMode) -> String {
        match &message.body {
            MessageBody::Broadcast {
                request_id: None,
                opts,
                ..
            } => match opts.rooms.as_slice() {
                [room] if mode.publishes_to(room) => self.room(room),
                _ => self.main.clone(),
            },
            _ => self.main.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
