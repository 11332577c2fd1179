//! Socket.IO packets as Node's adapters put them on Redis, and the JSON
//! half of the wire.
//!
//! Node does not send an encoded Socket.IO packet between servers: it sends
//! the packet *object*, `{type: 2, data: [event, ...args], nsp}`, with bytes
//! left in place as MessagePack bin (never type 5, never attachments, no ack
//! id: each receiving server encodes for its own sockets and numbers its own
//! acks). [`packet_to_value`] and [`value_to_packet`] convert between that
//! object and a [`Packet`], whose payload is JSON text with
//! `{"_placeholder":true,"num":i}` where attachment `i` goes.
//!
//! The classic adapter sends most requests and responses as JSON instead,
//! and receivers tell the two apart by the first byte ([`Format::of`]).
//! [`decode_message`] reads either into a [`Value`], keeping key order;
//! [`encode_json`] writes a value as Node's `JSON.stringify` does, so a
//! request looks the same whichever server sent it. Node's JSON has no
//! bytes: a `Buffer` becomes `{"type":"Buffer","data":[...]}` and a `Date`
//! its ISO string, and neither comes back.

use std::fmt::Write as _;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use socketio_proto::{BuildError, Json, Kind, Packet, RESERVED_EVENTS, Utf8Bytes};

use crate::msgpack::{self, DecodeConfig, DecodeError, Value, dedup_keys, js_number_string};

/// How a message on a request or response channel is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON text, always starting with `{` (no BOM, no whitespace).
    Json,
    /// MessagePack.
    MsgPack,
}

impl Format {
    /// The format of `payload`, decided as Node's receivers do: JSON if the
    /// first byte is `{`, MessagePack otherwise. (Broadcast channels carry
    /// MessagePack only; Node does not look there.)
    pub fn of(payload: &[u8]) -> Format {
        if payload.first() == Some(&b'{') {
            Format::Json
        } else {
            Format::MsgPack
        }
    }
}

/// A message from Redis could not be read.
///
/// Node's adapters drop such a message; so should a receiver, and carry on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// A message starting with `{` is JSON (`JSON.parse` would throw).
    #[error("invalid JSON message: {0}")]
    Json(#[source] serde_json::Error),
    /// Any other message is one MessagePack value.
    #[error("invalid MessagePack message: {0}")]
    MsgPack(#[source] DecodeError),
    /// Arrays and maps nest deeper than [`DecodeConfig::max_depth`].
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The configured limit.
        max: usize,
    },
    /// More values than [`DecodeConfig::max_values`].
    #[error("more than {max} values")]
    TooManyValues {
        /// The configured limit.
        max: usize,
    },
}

impl From<DecodeError> for MessageError {
    fn from(e: DecodeError) -> MessageError {
        match e {
            DecodeError::TooDeep { max } => MessageError::TooDeep { max },
            DecodeError::TooManyValues { max } => MessageError::TooManyValues { max },
            other => MessageError::MsgPack(other),
        }
    }
}

/// Reads a request or response message in either format ([`Format::of`]).
/// JSON is read as Node reads it: invalid UTF-8 becomes U+FFFD, keys keep
/// their order, the last of duplicate keys wins. MessagePack byte strings
/// are slices of `payload`.
pub fn decode_message(payload: &Bytes, config: &DecodeConfig) -> Result<Value, MessageError> {
    match Format::of(payload) {
        Format::Json => {
            let text = String::from_utf8_lossy(payload);
            parse_json(&text, config, None)
        }
        Format::MsgPack => Ok(msgpack::decode_bytes(payload, config)?),
    }
}

/// Parses JSON text into a value, bounded by `config`. With `attachments`,
/// Socket.IO placeholders become the attachments they name.
fn parse_json(
    text: &str,
    config: &DecodeConfig,
    attachments: Option<&[Bytes]>,
) -> Result<Value, MessageError> {
    let mut state = JsonState {
        config,
        values: 0,
        limit: None,
        attachments,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = JsonSeed {
        state: &mut state,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, state.limit) {
        (_, Some(limit)) => Err(limit),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(MessageError::Json(e)),
    }
}

struct JsonState<'a> {
    config: &'a DecodeConfig,
    values: usize,
    /// The limit that stopped the parse, if one did.
    limit: Option<MessageError>,
    attachments: Option<&'a [Bytes]>,
}

impl JsonState<'_> {
    fn count<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.values += 1;
        if self.values > self.config.max_values {
            return self.stop(MessageError::TooManyValues {
                max: self.config.max_values,
            });
        }
        Ok(())
    }

    fn enter<E: serde::de::Error>(&mut self, depth: usize) -> Result<(), E> {
        if depth >= self.config.max_depth {
            return self.stop(MessageError::TooDeep {
                max: self.config.max_depth,
            });
        }
        Ok(())
    }

    fn stop<E: serde::de::Error>(&mut self, limit: MessageError) -> Result<(), E> {
        let e = E::custom(&limit);
        self.limit = Some(limit);
        Err(e)
    }

    /// The attachment a finished map stands for, if it is a placeholder.
    fn placeholder(&self, entries: &[(String, Value)]) -> Option<Value> {
        let attachments = self.attachments?;
        let get = |key: &str| entries.iter().find_map(|(k, v)| (k == key).then_some(v));
        if get("_placeholder")?.as_bool() != Some(true) {
            return None;
        }
        let num = usize::try_from(get("num")?.as_u64()?).ok()?;
        attachments.get(num).cloned().map(Value::Bin)
    }
}

/// One JSON value; `depth` counts the containers around it.
struct JsonSeed<'s, 'a> {
    state: &'s mut JsonState<'a>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for JsonSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.state.count()?;
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::F64(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.state.enter(self.depth)?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(JsonSeed {
            state: &mut *self.state,
            depth: self.depth + 1,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.state.enter(self.depth)?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            self.state.count()?;
            let v = map.next_value_seed(JsonSeed {
                state: &mut *self.state,
                depth: self.depth + 1,
            })?;
            entries.push((key, v));
        }
        let entries = dedup_keys(entries);
        Ok(self
            .state
            .placeholder(&entries)
            .unwrap_or(Value::Map(entries)))
    }
}

/// Appends `value` as JSON, as Node's `JSON.stringify` writes the value
/// notepack decodes it into: keys in order, numbers as JavaScript prints
/// them (`NaN` and infinities as `null`), a [`Value::Bin`] as
/// `{"type":"Buffer","data":[...]}`, a [`Value::Timestamp`] as its ISO
/// string (`null` if out of a `Date`'s range), a [`Value::Ext`] as
/// `[type, <Buffer>]`. Integers past 2^53 are written with their exact
/// digits: Node reads the number it would have written, a Rust reader reads
/// it exactly.
pub fn encode_json(value: &Value, out: &mut Vec<u8>) {
    let mut s = String::new();
    write_json(value, &mut s, &mut None);
    out.extend_from_slice(s.as_bytes());
}

/// Writes `value` as JSON; with `attachments`, bytes become Socket.IO
/// placeholders and are appended there.
fn write_json(value: &Value, out: &mut String, attachments: &mut Option<&mut Vec<Bytes>>) {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        // Exact digits for an integral number, where JavaScript writes the
        // shortest ones that read back the same (`...2000` past 2^53): Node
        // reads the same number, and so does a Rust reader, exactly.
        Value::F64(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
            let _ = write!(out, "{}", *f as i128);
        }
        Value::F64(f) if f.is_finite() => out.push_str(&js_number_string(*f)),
        Value::F64(_) => out.push_str("null"),
        Value::Str(s) => write_json_str(s, out),
        Value::Bin(b) => write_json_bin(b, out, attachments),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, attachments);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                write_json(v, out, attachments);
            }
            out.push('}');
        }
        Value::Timestamp(t) => match t.to_iso_string() {
            Some(iso) => write_json_str(&iso, out),
            None => out.push_str("null"),
        },
        Value::Ext(ty, data) => {
            let _ = write!(out, "[{ty},");
            write_json_bin(data, out, attachments);
            out.push(']');
        }
    }
}

fn write_json_bin(b: &Bytes, out: &mut String, attachments: &mut Option<&mut Vec<Bytes>>) {
    match attachments {
        Some(list) => {
            let _ = write!(out, "{{\"_placeholder\":true,\"num\":{}}}", list.len());
            list.push(b.clone());
        }
        None => {
            out.push_str("{\"type\":\"Buffer\",\"data\":[");
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{byte}");
            }
            out.push_str("]}");
        }
    }
}

/// A JSON string as `JSON.stringify` escapes it: `"`, `\`, and control
/// characters (short forms where JSON has them, else `\u00xx`).
fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A serde_json value as a [`Value`]: objects in serde_json's key order.
pub fn json_to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// A [`Value`] as serde_json holds it, with the same mapping as
/// [`encode_json`]: bytes as `{"type":"Buffer","data":[...]}`, timestamps as
/// ISO strings, non-finite numbers as `null`. Integral numbers become JSON
/// integers where JavaScript would print them without an exponent.
pub fn value_to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    fn buffer(b: &[u8]) -> J {
        serde_json::json!({ "type": "Buffer", "data": b })
    }
    match value {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::F64(f) => {
            let integral = f.fract() == 0.0 && f.abs() < 1e21;
            match (value.as_i64(), value.as_u64()) {
                (Some(i), _) if integral => J::from(i),
                (_, Some(u)) if integral => J::from(u),
                _ => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            }
        }
        Value::Str(s) => J::String(s.clone()),
        Value::Bin(b) => buffer(b),
        Value::Array(a) => J::Array(a.iter().map(value_to_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
        Value::Timestamp(t) => t.to_iso_string().map_or(J::Null, J::String),
        Value::Ext(ty, data) => J::Array(vec![J::from(*ty), buffer(data)]),
    }
}

/// The most arrays and objects serde_json reads nested in one another, in
/// this crate and in `socketio-proto`.
const JSON_MAX_DEPTH: usize = 127;

/// A packet's data nests deeper than JSON parsing allows (127 levels), so
/// it cannot be turned into a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet data nests deeper than 127 levels")]
pub struct DataTooDeep;

/// The packet object Node puts on Redis for `packet`: `{type, data, nsp}`,
/// keys in that order, `nsp` only `with_nsp` (classic broadcasts carry it,
/// sharded ones do not). Attachments are back in place as bytes, and the
/// type is the plain one (an event is `2`, with bytes or without). An
/// event's ack id is left out (each receiving server numbers its own); an
/// ack's follows `data` as `id`.
pub fn packet_to_value(packet: &Packet, with_nsp: bool) -> Result<Value, DataTooDeep> {
    let ty = match packet.kind() {
        Kind::Connect => 0,
        Kind::Disconnect => 1,
        Kind::Event => 2,
        Kind::Ack => 3,
        Kind::ConnectError => 4,
    };
    let mut entries = Vec::with_capacity(4);
    entries.push(("type".to_owned(), Value::Int(ty)));
    if let Some(json) = packet.raw_data() {
        // The packet's own data: no limits beyond serde_json's nesting.
        let unbounded = DecodeConfig {
            max_depth: usize::MAX,
            max_values: usize::MAX,
        };
        let data = parse_json(json.as_str(), &unbounded, Some(packet.attachments()))
            .map_err(|_| DataTooDeep)?;
        entries.push(("data".to_owned(), data));
    }
    if let (Kind::Ack, Some(id)) = (packet.kind(), packet.id()) {
        entries.push(("id".to_owned(), Value::from(id)));
    }
    if with_nsp {
        entries.push(("nsp".to_owned(), Value::from(packet.nsp())));
    }
    Ok(Value::Map(entries))
}

/// A packet object from Redis breaks a rule of the Socket.IO packet shape.
///
/// These are the sending server's faults, except
/// [`InvalidNamespace`](Self::InvalidNamespace): the receiver drops the
/// message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// A packet is an object (a MessagePack map).
    #[error("packet is not an object")]
    NotAnObject,
    /// Only events (`type: 2`) and acks (`type: 3`) travel between servers.
    #[error("packet type {0:?} is neither an event (2) nor an ack (3)")]
    UnsupportedType(Option<i64>),
    /// An event's or ack's `data` is an array.
    #[error("packet data is not an array")]
    DataNotAnArray,
    /// An event's `data` starts with its name, a string or a number.
    #[error("event has no name")]
    MissingEventName,
    /// Event names the protocol reserves (`connect`, `disconnect`, ...).
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// An ack carries the id it answers.
    #[error("ack has no id")]
    MissingAckId,
    /// An object in the data has `_placeholder: true`: a Socket.IO client
    /// would take it for an attachment (or refuse the packet). Node passes
    /// it on as it is; bytes travel as MessagePack bin between servers.
    #[error("an object in the data looks like an attachment placeholder")]
    IllegalPlaceholder,
    /// The data nests deeper than JSON parsing allows (127 levels).
    #[error("packet data nests deeper than 127 levels")]
    TooDeep,
    /// The caller's namespace does not start with `/`.
    #[error("namespace {0:?} does not start with '/'")]
    InvalidNamespace(String),
    /// The packet builder refused the packet for another reason.
    #[error("packet refused: {0}")]
    Rejected(#[source] BuildError),
}

/// The [`Packet`] for a packet object received from Redis, in the receiving
/// server's namespace `nsp` (the object's own `nsp` is the caller's to
/// check: classic receivers drop a packet for another namespace).
///
/// Bytes in `data` become attachments, in order, with placeholders in their
/// place. An event keeps no ack id (the receiving server assigns its own).
pub fn value_to_packet(value: &Value, nsp: &str) -> Result<Packet, PacketError> {
    if value.as_map().is_none() {
        return Err(PacketError::NotAnObject);
    }
    let ty = value.get("type").and_then(Value::as_i64);
    let kind = match ty {
        Some(2) => Kind::Event,
        Some(3) => Kind::Ack,
        _ => return Err(PacketError::UnsupportedType(ty)),
    };
    let data = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or(PacketError::DataNotAnArray)?;
    let id = match kind {
        Kind::Event => {
            match data.first() {
                Some(Value::Str(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    return Err(PacketError::ReservedEventName(name.clone()));
                }
                Some(Value::Str(_)) => {}
                Some(n) if n.is_number() => {}
                _ => return Err(PacketError::MissingEventName),
            }
            None
        }
        _ => Some(
            value
                .get("id")
                .and_then(Value::as_u64)
                .ok_or(PacketError::MissingAckId)?,
        ),
    };
    let data = value.get("data").unwrap_or(&Value::Nil);
    check_data(data)?;
    let mut attachments = Vec::new();
    let mut text = String::new();
    write_json(data, &mut text, &mut Some(&mut attachments));
    let json = Json::from_text(Utf8Bytes::from(text)).map_err(|_| PacketError::TooDeep)?;
    Packet::from_parts(kind, nsp, id, Some(json), attachments).map_err(|e| match e {
        BuildError::InvalidNamespace(n) => PacketError::InvalidNamespace(n),
        BuildError::ReservedEventName(n) => PacketError::ReservedEventName(n),
        BuildError::InvalidPayload => PacketError::IllegalPlaceholder,
        other => PacketError::Rejected(other),
    })
}

/// What the data must be before it is written as JSON, checked without
/// recursion (writing recurses): no deeper than Socket.IO's JSON readers
/// go, and no object a client would take for a placeholder.
fn check_data(data: &Value) -> Result<(), PacketError> {
    if data.depth() > JSON_MAX_DEPTH {
        return Err(PacketError::TooDeep);
    }
    let mut stack = vec![data];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Map(entries) => {
                if v.get("_placeholder").and_then(Value::as_bool) == Some(true) {
                    return Err(PacketError::IllegalPlaceholder);
                }
                stack.extend(entries.iter().map(|(_, v)| v));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
