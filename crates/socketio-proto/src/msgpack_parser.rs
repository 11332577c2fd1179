//! The MessagePack parser: packets as `socket.io-msgpack-parser` 3.0 puts
//! them on the wire.
//!
//! A packet is one binary message: the packet object MessagePack-encoded by
//! notepack.io 2.2, with bytes left in place as bin. Decoding gives the same
//! [`Packet`] the JSON parser gives (payload as JSON text, bytes as
//! attachments behind placeholders), so the runtimes and handlers above do
//! not know which parser is in use.
//!
//! What a Node peer would see decides how MessagePack-only values read
//! (see [`Packet::encode_msgpack`] and the crate docs).

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{BuildError, DecodeError};
use crate::json::Json;
use crate::msgpack::{self, DecodeConfig, Value, dedup_keys, js_number_string};
use crate::packet::{Kind, Packet, RESERVED_EVENTS};
use ws_frame::Utf8Bytes;

/// JavaScript numbers hold integers exactly up to here.
const MAX_SAFE: u64 = 1 << 53;

impl Packet {
    /// Encodes the packet as `socket.io-msgpack-parser` does: one binary
    /// message, the map `{type, data, nsp, id}` in that order (`data` and
    /// `id` only when the packet has them), `type` 0 to 4 (no binary forms),
    /// attachments back in place as bin, numbers as notepack.io writes them
    /// (integral ones as the smallest integer, others as float64), object
    /// keys in the payload's order.
    ///
    /// Fails only for a payload nesting deeper than 125 levels of arrays
    /// and objects, which the decoder (this crate's, at the other end)
    /// would refuse: it reads at most 126 levels with the packet map, so
    /// that bytes, a placeholder object more in JSON, stay within what the
    /// JSON readers above take.
    pub fn encode_msgpack(&self) -> Result<Vec<u8>, BuildError> {
        let ty = match self.kind() {
            Kind::Connect => 0,
            Kind::Disconnect => 1,
            Kind::Event => 2,
            Kind::Ack => 3,
            Kind::ConnectError => 4,
        };
        let mut entries = Vec::with_capacity(4);
        entries.push(("type".to_owned(), Value::Int(ty)));
        if let Some(data) = self.raw_data() {
            let mut de = serde_json::Deserializer::from_str(data.as_str());
            let value = ToValue(self.attachments())
                .deserialize(&mut de)
                .and_then(|v| de.end().map(|()| v))
                .map_err(|_| BuildError::TooDeep)?;
            // What the receiving decoder would refuse is not sent.
            if 1 + depth_as_read(&value) > MAX_DEPTH {
                return Err(BuildError::TooDeep);
            }
            entries.push(("data".to_owned(), value));
        }
        entries.push(("nsp".to_owned(), Value::from(self.nsp())));
        if let Some(id) = self.id() {
            entries.push(("id".to_owned(), Value::from(id)));
        }
        Ok(msgpack::to_vec(&Value::Map(entries)))
    }
}

/// A JSON payload as a [`Value`], keys in order (the last of duplicates
/// winning, as `JSON.parse`), placeholders replaced by their attachments.
struct ToValue<'a>(&'a [Bytes]);

impl<'de> DeserializeSeed<'de> for ToValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ToValue<'_> {
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
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ToValue(self.0))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(ToValue(self.0))?;
            entries.push((key, v));
        }
        let entries = dedup_keys(entries);
        let get = |key: &str| entries.iter().find_map(|(k, v)| (k == key).then_some(v));
        if get("_placeholder").and_then(Value::as_bool) == Some(true) {
            let num = get("num").and_then(Value::as_u64);
            if let Some(b) = num.and_then(|n| self.0.get(usize::try_from(n).ok()?)) {
                return Ok(Value::Bin(b.clone()));
            }
        }
        Ok(Value::Map(entries))
    }
}

/// How deep a packet may nest: the packet map, then up to 125 levels of
/// payload, so that its JSON form (where bytes become a placeholder object)
/// stays within the 127 levels the JSON readers above take.
const MAX_DEPTH: usize = 126;

fn decode_config() -> DecodeConfig {
    DecodeConfig {
        max_depth: MAX_DEPTH,
        ..DecodeConfig::default()
    }
}

/// How deeply `v` nests once an extension is `[type, bytes]` (an array
/// more): what its re-encoding will nest. Counted without recursion.
fn depth_as_read(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                deepest = deepest.max(d);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Map(entries) => {
                deepest = deepest.max(d);
                stack.extend(entries.iter().map(|(_, v)| (v, d + 1)));
            }
            Value::Ext(..) => deepest = deepest.max(d),
            _ => {}
        }
    }
    deepest
}

/// `undefined`, as notepack.io 2.2 writes it (`fixext 1`, type 0).
fn is_undefined(v: &Value) -> bool {
    matches!(v, Value::Ext(0, b) if b.is_empty())
}

/// A number JavaScript's `Number.isInteger` accepts.
fn is_integer(v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::UInt(_) => true,
        Value::F64(f) => f.is_finite() && f.fract() == 0.0,
        _ => false,
    }
}

/// Decodes one binary message as `socket.io-msgpack-parser` does, with its
/// checks, then those the JSON parser adds for events (see the crate docs).
pub(crate) fn decode(message: &Bytes) -> Result<Packet, DecodeError> {
    let value = msgpack::decode_notepack2(message, &decode_config())?;
    let Value::Map(entries) = value else {
        return Err(DecodeError::NotAnObject);
    };
    let get = |key: &str| {
        entries
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
            .filter(|v| !is_undefined(v))
    };
    let kind = match get("type") {
        Some(t) if is_integer(t) => match t.as_i64() {
            Some(0) => Kind::Connect,
            Some(1) => Kind::Disconnect,
            Some(2) => Kind::Event,
            Some(3) => Kind::Ack,
            Some(4) => Kind::ConnectError,
            _ => return Err(DecodeError::InvalidPacketType),
        },
        _ => return Err(DecodeError::InvalidPacketType),
    };
    let nsp = match get("nsp") {
        Some(Value::Str(s)) if s.starts_with('/') => s.clone(),
        _ => return Err(DecodeError::InvalidNamespace),
    };
    let data = get("data");
    if data.is_some_and(|d| 1 + depth_as_read(d) > MAX_DEPTH) {
        return Err(msgpack::DecodeError::TooDeep { max: MAX_DEPTH }.into());
    }
    let fits = match (kind, data) {
        (Kind::Connect, None | Some(Value::Map(_))) => true,
        (Kind::Disconnect, None) => true,
        (Kind::ConnectError, Some(Value::Str(_) | Value::Map(_))) => true,
        // An extension reads as `[type, Buffer]`: an array.
        (Kind::Event | Kind::Ack, Some(Value::Array(_) | Value::Ext(..))) => true,
        _ => false,
    };
    if !fits {
        return Err(DecodeError::InvalidPayload);
    }
    let id = match get("id") {
        None => None,
        Some(id) if is_integer(id) => Some(id.as_u64().ok_or(DecodeError::InvalidAckId)?),
        Some(_) => return Err(DecodeError::InvalidAckId),
    };
    let mut event = None;
    if kind == Kind::Event {
        let first = match data {
            Some(Value::Array(items)) => items.first(),
            // `[type, Buffer]`: the type is the name.
            Some(Value::Ext(ty, _)) => {
                event = Some(ty.to_string());
                None
            }
            _ => None,
        };
        event = Some(match first {
            None if event.is_some() => event.unwrap_or_default(),
            Some(Value::Str(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                return Err(DecodeError::ReservedEventName(name.clone()));
            }
            Some(Value::Str(name)) => name.clone(),
            // JSON has no `NaN` or infinity to name an event with.
            Some(n) if n.as_f64().is_some_and(f64::is_finite) => {
                let mut s = String::new();
                write_number(n, &mut s);
                s
            }
            _ => return Err(DecodeError::InvalidPayload),
        });
    }
    let (data, attachments) = match data {
        Some(d) => {
            let mut text = String::new();
            let mut attachments = Vec::new();
            write_json(d, &mut text, &mut attachments)?;
            (Some(Json::from_scanned(Utf8Bytes::from(text))), attachments)
        }
        None => (None, Vec::new()),
    };
    Ok(Packet::from_decoded(
        kind,
        nsp,
        id,
        data,
        event,
        attachments,
    ))
}

/// Writes `v` as JSON the way JavaScript sees what notepack.io 2.2 decoded,
/// bytes as placeholders for the attachments collected in `attachments`.
fn write_json(
    v: &Value,
    out: &mut String,
    attachments: &mut Vec<Bytes>,
) -> Result<(), DecodeError> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(_) | Value::UInt(_) | Value::F64(_) => write_number(v, out),
        Value::Str(s) => write_str(s, out),
        Value::Bin(b) => {
            use std::fmt::Write as _;
            let _ = write!(
                out,
                "{{\"_placeholder\":true,\"num\":{}}}",
                attachments.len()
            );
            attachments.push(b.clone());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // `undefined` in an array: `JSON.stringify` writes `null`.
                if is_undefined(item) {
                    out.push_str("null");
                } else {
                    write_json(item, out, attachments)?;
                }
            }
            out.push(']');
        }
        Value::Map(entries) => {
            // An object a reader would take for an attachment: refused, not
            // passed on as bytes it never was.
            if v.get("_placeholder").and_then(Value::as_bool) == Some(true) {
                return Err(DecodeError::IllegalPlaceholder);
            }
            out.push('{');
            let mut first = true;
            // A key whose value is `undefined` is left out, as by `JSON.stringify`.
            for (k, v) in entries.iter().filter(|(_, v)| !is_undefined(v)) {
                if !first {
                    out.push(',');
                }
                first = false;
                write_str(k, out);
                out.push(':');
                write_json(v, out, attachments)?;
            }
            out.push('}');
        }
        // A `Date`, as `JSON.stringify` writes it.
        Value::Timestamp(t) => match t.to_iso_string() {
            Some(s) => write_str(&s, out),
            None => out.push_str("null"),
        },
        // Any other extension: notepack.io 2.2 gives `[type, Buffer]`.
        Value::Ext(ty, data) => {
            use std::fmt::Write as _;
            let _ = write!(out, "[{ty},");
            write_json(&Value::Bin(data.clone()), out, attachments)?;
            out.push(']');
        }
    }
    Ok(())
}

/// A number as the JavaScript number it decodes to: integers past 2^53
/// rounded to the nearest double (what Node holds), integral values written
/// as integers, `NaN` and infinities as `null` (as `JSON.stringify`).
fn write_number(v: &Value, out: &mut String) {
    use std::fmt::Write as _;
    let f = match *v {
        Value::Int(i) if i.unsigned_abs() <= MAX_SAFE => {
            let _ = write!(out, "{i}");
            return;
        }
        Value::UInt(u) if u <= MAX_SAFE => {
            let _ = write!(out, "{u}");
            return;
        }
        _ => v.as_f64().unwrap_or(f64::NAN),
    };
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        let _ = write!(out, "{}", f as i128);
    } else if f.is_finite() {
        out.push_str(&js_number_string(f));
    } else {
        out.push_str("null");
    }
}

fn write_str(s: &str, out: &mut String) {
    // serde_json's escaping writes valid JSON for any string.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests;
