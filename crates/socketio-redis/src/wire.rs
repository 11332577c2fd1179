//! The classic adapter's messages (`@socket.io/redis-adapter` 8.x,
//! `createAdapter`): channel names, broadcasts, requests and responses,
//! each in the encoding and key order a Node server uses.
//!
//! Pure: no Redis, no clock. [`crate::classic`] moves these over Redis.
//!
//! Broadcasts are MessagePack `[uid, packet, opts]`. Requests and responses
//! are JSON, except the broadcast-with-ack request (7) and the client acks
//! (9), which are MessagePack; a receiver tells the two apart by the first
//! byte ([`Format::of`](crate::packet::Format::of)). Node's JSON has no
//! bytes, so where a JSON message would carry bytes this side writes
//! MessagePack instead: Node reads either, and the bytes stay bytes.

use bytes::Bytes;

use crate::msgpack::{self, DecodeConfig, Value};
use crate::packet::{MessageError, decode_message, encode_json, json_to_value, value_to_json};

/// The type numbers of requests and responses (the `type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestType {
    /// The ids of sockets in some rooms (legacy; 8.x never sends it).
    Sockets = 0,
    /// Every room of every node (`allRooms`).
    AllRooms = 1,
    /// Sockets join rooms (`socketsJoin`).
    RemoteJoin = 2,
    /// Sockets leave rooms (`socketsLeave`).
    RemoteLeave = 3,
    /// Sockets are disconnected (`disconnectSockets`).
    RemoteDisconnect = 4,
    /// Sockets are described (`fetchSockets`).
    RemoteFetch = 5,
    /// An event for the servers' own handlers (`serverSideEmit`), and its
    /// answer.
    ServerSideEmit = 6,
    /// A broadcast whose recipients answer (`timeout().emit(..., cb)`).
    Broadcast = 7,
    /// How many sockets a broadcast with acks reached on one node.
    BroadcastClientCount = 8,
    /// One socket's answer to a broadcast with acks.
    BroadcastAck = 9,
}

impl RequestType {
    fn from_number(n: i64) -> Option<RequestType> {
        Some(match n {
            0 => RequestType::Sockets,
            1 => RequestType::AllRooms,
            2 => RequestType::RemoteJoin,
            3 => RequestType::RemoteLeave,
            4 => RequestType::RemoteDisconnect,
            5 => RequestType::RemoteFetch,
            6 => RequestType::ServerSideEmit,
            7 => RequestType::Broadcast,
            8 => RequestType::BroadcastClientCount,
            9 => RequestType::BroadcastAck,
            _ => return None,
        })
    }

    fn value(self) -> Value {
        Value::Int(self as i64)
    }
}

/// A message from Redis that is not one of the classic adapter's.
///
/// The sender's fault (or a stranger publishing on our channels): the
/// receiver drops the message, as Node's adapter does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The bytes are neither JSON nor MessagePack, or break a decode limit.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// A broadcast is a MessagePack array `[uid, packet, opts]`.
    #[error("broadcast is not [uid, packet, opts]")]
    NotABroadcast,
    /// A request or response is an object.
    #[error("message is not an object")]
    NotAnObject,
    /// A request carries a known `type` (0 to 7).
    #[error("request type {0:?} is unknown")]
    UnknownType(Option<i64>),
    /// A field the message type requires is missing or of the wrong kind.
    #[error("field {0:?} is missing or malformed")]
    Field(&'static str),
}

/// The channels of one namespace, for a key prefix (`socket.io` by
/// default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channels {
    broadcast: String,
    request: String,
    response: String,
}

impl Channels {
    /// The channels of namespace `nsp` (`/`, `/admin`, ...) under `key`.
    pub fn new(key: &str, nsp: &str) -> Channels {
        Channels {
            broadcast: format!("{key}#{nsp}#"),
            request: format!("{key}-request#{nsp}#"),
            response: format!("{key}-response#{nsp}#"),
        }
    }

    /// `<key>#<nsp>#`: broadcasts to no room or to several.
    pub fn broadcast(&self) -> &str {
        &self.broadcast
    }

    /// Where a broadcast to `rooms` goes: `<key>#<nsp>#<room>#` for exactly
    /// one room, [`broadcast`](Self::broadcast) otherwise.
    pub fn broadcast_to(&self, rooms: &[String]) -> String {
        match rooms {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }

    /// The glob pattern that covers every broadcast channel of the
    /// namespace. The key and namespace are escaped, so a `*`, `?` or `[`
    /// in them matches only itself (Node inserts them raw).
    pub fn pattern(&self) -> String {
        let mut p = String::with_capacity(self.broadcast.len() + 4);
        for c in self.broadcast.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('*');
        p
    }

    /// The room a broadcast channel names: `Some("")` for the namespace-wide
    /// channel, `None` for a channel of another namespace. The room is the
    /// channel minus the prefix and its last character, as Node reads it.
    pub fn room_of<'c>(&self, channel: &'c str) -> Option<&'c str> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        Some(rest.get(..rest.len().saturating_sub(1)).unwrap_or(""))
    }

    /// `<key>-request#<nsp>#`: every request.
    pub fn request(&self) -> &str {
        &self.request
    }

    /// `<key>-response#<nsp>#`: responses shared by every node.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// `<key>-response#<nsp>#<uid>#`: responses for node `uid` alone.
    pub fn node_response(&self, uid: &str) -> String {
        format!("{}{uid}#", self.response)
    }
}

/// Which sockets a message is for, as it travels: `{rooms, except,
/// flags}` (management requests leave `flags` out).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WireOptions {
    /// The sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms.
    pub except: Vec<String>,
    /// The broadcast flags (`volatile`, `compress`, `timeout`, ...), in
    /// order; `None` leaves the key out.
    pub flags: Option<Vec<(String, Value)>>,
}

impl WireOptions {
    /// A broadcast's options: `except` without duplicates, `volatile`
    /// first among the flags, then the others in their order (`local`
    /// never: it is not for the wire).
    pub fn broadcast(
        rooms: &[String],
        except: &[String],
        volatile: bool,
        flags: &serde_json::Map<String, serde_json::Value>,
    ) -> WireOptions {
        let mut all = Vec::with_capacity(flags.len() + 1);
        if volatile {
            all.push(("volatile".to_owned(), Value::Bool(true)));
        }
        for (k, v) in flags {
            if k != "volatile" && k != "local" {
                all.push((k.clone(), json_to_value(v)));
            }
        }
        WireOptions {
            flags: Some(all),
            ..WireOptions::selection(rooms, except)
        }
    }

    /// A management request's options: rooms and except (without
    /// duplicates), no flags.
    pub fn selection(rooms: &[String], except: &[String]) -> WireOptions {
        let mut unique: Vec<String> = Vec::with_capacity(except.len());
        for r in except {
            if !unique.contains(r) {
                unique.push(r.clone());
            }
        }
        WireOptions {
            rooms: rooms.to_vec(),
            except: unique,
            flags: None,
        }
    }

    /// Sets flag `key`, replacing it where it is.
    pub fn set_flag(&mut self, key: &str, value: Value) {
        let flags = self.flags.get_or_insert_with(Vec::new);
        match flags.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => flags.push((key.to_owned(), value)),
        }
    }

    /// Flag `key`, if set.
    pub fn flag(&self, key: &str) -> Option<&Value> {
        self.flags
            .as_ref()?
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// Whether the `volatile` flag is set (truthy, as JavaScript reads it).
    pub fn volatile(&self) -> bool {
        self.flag("volatile").is_some_and(truthy)
    }

    /// The flags other than `volatile` and `local`, as JSON.
    pub fn other_flags(&self) -> serde_json::Map<String, serde_json::Value> {
        self.flags
            .iter()
            .flatten()
            .filter(|(k, _)| k != "volatile" && k != "local")
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect()
    }

    pub(crate) fn to_value(&self) -> Value {
        let mut entries = vec![
            ("rooms".to_owned(), strings(&self.rooms)),
            ("except".to_owned(), strings(&self.except)),
        ];
        if let Some(flags) = &self.flags {
            entries.push(("flags".to_owned(), Value::Map(flags.clone())));
        }
        Value::Map(entries)
    }

    /// Reads options as Node does: a missing or malformed list is empty,
    /// numbers in lists are rooms too (`io.to(123)`).
    pub(crate) fn from_value(v: &Value) -> WireOptions {
        WireOptions {
            rooms: rooms(v.get("rooms")),
            except: rooms(v.get("except")),
            flags: v.get("flags").and_then(Value::as_map).map(<[_]>::to_vec),
        }
    }
}

/// JavaScript truthiness, for flags.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Str(s) => !s.is_empty(),
        n if n.is_number() => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        _ => true,
    }
}

pub(crate) fn strings(items: &[String]) -> Value {
    items.iter().map(|s| Value::from(s.as_str())).collect()
}

/// Room names from a list: strings, and numbers as JavaScript prints them.
pub(crate) fn rooms(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(room)
        .collect()
}

fn room(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        n if n.is_number() => Some(n.to_js_string()),
        _ => None,
    }
}

/// A broadcast on a broadcast channel: MessagePack `[uid, packet, opts]`.
#[derive(Clone, Debug, PartialEq)]
pub struct BroadcastMessage {
    /// The sending node (`"emitter"` from an emitter).
    pub uid: String,
    /// The packet object `{type: 2, data: [event, ...args], nsp}`
    /// ([`packet_to_value`](crate::packet::packet_to_value)).
    pub packet: Value,
    /// Rooms, except and flags.
    pub opts: WireOptions,
}

impl BroadcastMessage {
    /// The MessagePack bytes.
    pub fn encode(&self) -> Vec<u8> {
        msgpack::to_vec(&Value::Array(vec![
            Value::from(self.uid.as_str()),
            self.packet.clone(),
            self.opts.to_value(),
        ]))
    }

    /// Reads a broadcast (always MessagePack, as Node reads it).
    pub fn decode(payload: &Bytes, config: &DecodeConfig) -> Result<BroadcastMessage, WireError> {
        let v = msgpack::decode_bytes(payload, config).map_err(MessageError::from)?;
        let Value::Array(mut items) = v else {
            return Err(WireError::NotABroadcast);
        };
        if items.len() < 3 {
            return Err(WireError::NotABroadcast);
        }
        items.truncate(3);
        let opts = items.pop().unwrap_or_default();
        let packet = items.pop().unwrap_or_default();
        let uid = items.pop().unwrap_or_default().to_js_string();
        if packet.as_map().is_none() {
            return Err(WireError::Field("packet"));
        }
        Ok(BroadcastMessage {
            uid,
            packet,
            opts: WireOptions::from_value(&opts),
        })
    }
}

/// A request on `<key>-request#<nsp>#`.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The requesting node; emitters leave it out of joins, leaves and
    /// disconnects.
    pub uid: Option<String>,
    /// Set when the requester waits for responses.
    pub request_id: Option<String>,
    /// What is asked.
    pub body: RequestBody,
}

/// What a [`Request`] asks, by type.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RequestBody {
    /// 0: the ids of the sockets in `rooms` (legacy).
    Sockets {
        /// The rooms.
        rooms: Vec<String>,
    },
    /// 1: every room.
    AllRooms,
    /// 2: the sockets `opts` selects join `rooms`.
    Join {
        /// The selection.
        opts: WireOptions,
        /// The rooms to join.
        rooms: Vec<String>,
    },
    /// 3: the sockets `opts` selects leave `rooms`.
    Leave {
        /// The selection.
        opts: WireOptions,
        /// The rooms to leave.
        rooms: Vec<String>,
    },
    /// 4: the sockets `opts` selects are disconnected.
    Disconnect {
        /// The selection.
        opts: WireOptions,
        /// Whether their whole connections are closed.
        close: bool,
    },
    /// 2 without `opts` (legacy): socket `sid` joins `room`; its node
    /// answers.
    JoinSocket {
        /// The socket.
        sid: String,
        /// The room.
        room: String,
    },
    /// 3 without `opts` (legacy): socket `sid` leaves `room`.
    LeaveSocket {
        /// The socket.
        sid: String,
        /// The room.
        room: String,
    },
    /// 4 without `opts` (legacy): socket `sid` is disconnected.
    DisconnectSocket {
        /// The socket.
        sid: String,
        /// Whether its whole connection is closed.
        close: bool,
    },
    /// 5: the sockets `opts` selects, described.
    Fetch {
        /// The selection.
        opts: WireOptions,
    },
    /// 6: `[event, ...args]` for the servers' handlers.
    ServerSideEmit {
        /// The event name and its arguments.
        data: Vec<Value>,
    },
    /// 7: a broadcast whose recipients answer.
    Broadcast {
        /// The packet object, as in a [`BroadcastMessage`].
        packet: Value,
        /// Rooms, except and flags (`timeout` among them).
        opts: WireOptions,
    },
}

impl Request {
    /// The request's type number.
    pub fn request_type(&self) -> RequestType {
        match &self.body {
            RequestBody::Sockets { .. } => RequestType::Sockets,
            RequestBody::AllRooms => RequestType::AllRooms,
            RequestBody::Join { .. } | RequestBody::JoinSocket { .. } => RequestType::RemoteJoin,
            RequestBody::Leave { .. } | RequestBody::LeaveSocket { .. } => RequestType::RemoteLeave,
            RequestBody::Disconnect { .. } | RequestBody::DisconnectSocket { .. } => {
                RequestType::RemoteDisconnect
            }
            RequestBody::Fetch { .. } => RequestType::RemoteFetch,
            RequestBody::ServerSideEmit { .. } => RequestType::ServerSideEmit,
            RequestBody::Broadcast { .. } => RequestType::Broadcast,
        }
    }

    /// The bytes Node would publish: `{uid, requestId, type, ...}` in that
    /// order; JSON, except a broadcast (MessagePack) and a request with
    /// bytes in it (MessagePack, which keeps them).
    pub fn encode(&self) -> Vec<u8> {
        let mut e: Vec<(String, Value)> = Vec::with_capacity(5);
        let mut put = |k: &str, v: Value| e.push((k.to_owned(), v));
        if let Some(uid) = &self.uid {
            put("uid", Value::from(uid.as_str()));
        }
        if let Some(id) = &self.request_id {
            put("requestId", Value::from(id.as_str()));
        }
        put("type", self.request_type().value());
        match &self.body {
            RequestBody::Sockets { rooms } => put("rooms", strings(rooms)),
            RequestBody::AllRooms => {}
            RequestBody::Join { opts, rooms } | RequestBody::Leave { opts, rooms } => {
                put("opts", opts.to_value());
                put("rooms", strings(rooms));
            }
            RequestBody::Disconnect { opts, close } => {
                put("opts", opts.to_value());
                put("close", Value::Bool(*close));
            }
            RequestBody::JoinSocket { sid, room } | RequestBody::LeaveSocket { sid, room } => {
                put("sid", Value::from(sid.as_str()));
                put("room", Value::from(room.as_str()));
            }
            RequestBody::DisconnectSocket { sid, close } => {
                put("sid", Value::from(sid.as_str()));
                put("close", Value::Bool(*close));
            }
            RequestBody::Fetch { opts } => put("opts", opts.to_value()),
            RequestBody::ServerSideEmit { data } => put("data", Value::Array(data.clone())),
            RequestBody::Broadcast { packet, opts } => {
                put("packet", packet.clone());
                put("opts", opts.to_value());
            }
        }
        let v = Value::Map(e);
        if matches!(self.body, RequestBody::Broadcast { .. }) {
            msgpack::to_vec(&v)
        } else {
            encode_json_or_msgpack(&v)
        }
    }

    /// Reads a request in either format.
    pub fn decode(payload: &Bytes, config: &DecodeConfig) -> Result<Request, WireError> {
        let v = decode_message(payload, config)?;
        if v.as_map().is_none() {
            return Err(WireError::NotAnObject);
        }
        let ty = v.get("type").and_then(Value::as_i64);
        let kind = ty
            .and_then(RequestType::from_number)
            .ok_or(WireError::UnknownType(ty))?;
        let opts = v.get("opts").filter(|o| o.as_map().is_some());
        let sid = || v.get("sid").and_then(room).ok_or(WireError::Field("sid"));
        let close = truthy(v.get("close").unwrap_or(&Value::Nil));
        let body = match kind {
            RequestType::Sockets => RequestBody::Sockets {
                rooms: rooms(v.get("rooms")),
            },
            RequestType::AllRooms => RequestBody::AllRooms,
            RequestType::RemoteJoin | RequestType::RemoteLeave => match opts {
                Some(o) => {
                    let (opts, rooms) = (WireOptions::from_value(o), rooms(v.get("rooms")));
                    if kind == RequestType::RemoteJoin {
                        RequestBody::Join { opts, rooms }
                    } else {
                        RequestBody::Leave { opts, rooms }
                    }
                }
                None => {
                    let sid = sid()?;
                    let room = v
                        .get("room")
                        .and_then(room)
                        .ok_or(WireError::Field("room"))?;
                    if kind == RequestType::RemoteJoin {
                        RequestBody::JoinSocket { sid, room }
                    } else {
                        RequestBody::LeaveSocket { sid, room }
                    }
                }
            },
            RequestType::RemoteDisconnect => match opts {
                Some(o) => RequestBody::Disconnect {
                    opts: WireOptions::from_value(o),
                    close,
                },
                None => RequestBody::DisconnectSocket { sid: sid()?, close },
            },
            RequestType::RemoteFetch => RequestBody::Fetch {
                opts: opts.map(WireOptions::from_value).unwrap_or_default(),
            },
            RequestType::ServerSideEmit => RequestBody::ServerSideEmit {
                data: v
                    .get("data")
                    .and_then(Value::as_array)
                    .ok_or(WireError::Field("data"))?
                    .to_vec(),
            },
            RequestType::Broadcast => RequestBody::Broadcast {
                packet: v
                    .get("packet")
                    .filter(|p| p.as_map().is_some())
                    .ok_or(WireError::Field("packet"))?
                    .clone(),
                opts: opts.map(WireOptions::from_value).unwrap_or_default(),
            },
            RequestType::BroadcastClientCount | RequestType::BroadcastAck => {
                return Err(WireError::UnknownType(ty));
            }
        };
        Ok(Request {
            uid: v.get("uid").and_then(Value::as_str).map(str::to_owned),
            request_id: v.get("requestId").and_then(request_id),
            body,
        })
    }
}

/// A request id: Node uses whatever was sent as a map key, so a number
/// works as its string.
pub(crate) fn request_id(v: &Value) -> Option<String> {
    room(v)
}

/// A response on `<key>-response#<nsp>#` or a node's own response channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The request it answers.
    pub request_id: String,
    /// The answer.
    pub body: ResponseBody,
}

/// What a [`Response`] says. Answers without a `type` are read by the
/// request they answer (a requester matches by `requestId` only).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResponseBody {
    /// An answer to ALL_ROOMS (`rooms`), REMOTE_FETCH or SOCKETS
    /// (`sockets`), or a legacy join, leave or disconnect (neither). A
    /// field that is missing or not a list is `None`.
    Answer {
        /// The node's rooms.
        rooms: Option<Vec<String>>,
        /// The node's sockets: ids (SOCKETS) or descriptions (REMOTE_FETCH:
        /// `{id, handshake, rooms, data}`).
        sockets: Option<Vec<Value>>,
    },
    /// 6: a server's answer to a server-side emit (the first argument of
    /// its ack; `None` when it had none).
    ServerSideEmit(Option<Value>),
    /// 8: how many sockets a broadcast with acks reached on one node.
    ClientCount(u64),
    /// 9: one socket's answer (the first argument of its ack).
    Ack(Option<Value>),
}

impl Response {
    /// The bytes Node would publish: `{requestId, ...}` for answers,
    /// `{type, requestId, ...}` for the typed ones. JSON, except an ack
    /// (MessagePack) and an answer with bytes in it.
    pub fn encode(&self) -> Vec<u8> {
        let id = (
            "requestId".to_owned(),
            Value::from(self.request_id.as_str()),
        );
        let typed = |ty: RequestType, key: &str, v: Option<&Value>| {
            let mut e = vec![("type".to_owned(), ty.value()), id.clone()];
            if let Some(v) = v {
                e.push((key.to_owned(), v.clone()));
            }
            Value::Map(e)
        };
        match &self.body {
            ResponseBody::Answer { rooms, sockets } => {
                let mut e = vec![id.clone()];
                if let Some(r) = rooms {
                    e.push(("rooms".to_owned(), strings(r)));
                }
                if let Some(s) = sockets {
                    e.push(("sockets".to_owned(), Value::Array(s.clone())));
                }
                encode_json_or_msgpack(&Value::Map(e))
            }
            ResponseBody::ServerSideEmit(data) => {
                encode_json_or_msgpack(&typed(RequestType::ServerSideEmit, "data", data.as_ref()))
            }
            ResponseBody::ClientCount(n) => encode_json_or_msgpack(&typed(
                RequestType::BroadcastClientCount,
                "clientCount",
                Some(&Value::from(*n)),
            )),
            ResponseBody::Ack(packet) => {
                msgpack::to_vec(&typed(RequestType::BroadcastAck, "packet", packet.as_ref()))
            }
        }
    }

    /// Reads a response in either format.
    pub fn decode(payload: &Bytes, config: &DecodeConfig) -> Result<Response, WireError> {
        let v = decode_message(payload, config)?;
        if v.as_map().is_none() {
            return Err(WireError::NotAnObject);
        }
        let request_id = v
            .get("requestId")
            .and_then(request_id)
            .ok_or(WireError::Field("requestId"))?;
        let ty = v.get("type").and_then(Value::as_i64);
        let body = match ty.and_then(RequestType::from_number) {
            Some(RequestType::ServerSideEmit) => {
                ResponseBody::ServerSideEmit(v.get("data").cloned())
            }
            Some(RequestType::BroadcastClientCount) => ResponseBody::ClientCount(
                v.get("clientCount")
                    .and_then(Value::as_u64)
                    .ok_or(WireError::Field("clientCount"))?,
            ),
            Some(RequestType::BroadcastAck) => ResponseBody::Ack(v.get("packet").cloned()),
            _ => ResponseBody::Answer {
                rooms: v
                    .get("rooms")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(room).collect()),
                sockets: v
                    .get("sockets")
                    .and_then(Value::as_array)
                    .map(<[_]>::to_vec),
            },
        };
        Ok(Response { request_id, body })
    }
}

/// JSON as Node writes it, or MessagePack when `v` holds what JSON cannot
/// (bytes, dates, extensions).
pub(crate) fn encode_json_or_msgpack(v: &Value) -> Vec<u8> {
    if needs_msgpack(v) {
        return msgpack::to_vec(v);
    }
    let mut out = Vec::new();
    encode_json(v, &mut out);
    out
}

fn needs_msgpack(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Bin(_) | Value::Timestamp(_) | Value::Ext(..) => return true,
            Value::Array(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests;
