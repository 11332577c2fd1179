//! Event arguments as the command line reads and prints them: JSON, with
//! binary values written `{"$binary":"<base64>"}`.
//!
//! On the wire Socket.IO carries bytes out of band (a placeholder in the
//! JSON and an attachment); [`Arg`] is a JSON value that may hold bytes, so
//! what the user types goes out as a real binary attachment and what
//! arrives prints with its bytes, in order, objects keeping their key order.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use socketio_client::Binary;

/// The key of the object that stands for bytes in printed and typed JSON.
pub(crate) const BINARY_KEY: &str = "$binary";

/// A JSON value that may hold bytes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Arg>),
    /// Keys in the order they came.
    Object(Vec<(String, Arg)>),
    Binary(Bytes),
}

/// One command-line argument: JSON if it parses as JSON; a bare word
/// (`hi`, `7up`) is the string it spells. What looks like JSON (it starts
/// with `{`, `[` or `"`) must be JSON: a typo in an object is reported,
/// not sent as a string.
pub(crate) fn parse_word(word: &str) -> Result<Arg, String> {
    match serde_json::from_str::<Arg>(word) {
        Ok(arg) => arg.with_binaries(),
        Err(e) if looks_like_json(word) => Err(format!("`{word}` is not valid JSON: {e}")),
        Err(_) => Ok(Arg::String(word.to_owned())),
    }
}

fn looks_like_json(word: &str) -> bool {
    matches!(word.trim_start().chars().next(), Some('{' | '[' | '"'))
}

/// The arguments typed after a command in the interactive session: JSON
/// values one after another (`"a b" 42 {"x": [1, 2]}`), a bare word
/// (up to the next space) standing for a string.
pub(crate) fn parse_line(mut rest: &str) -> Result<Vec<Arg>, String> {
    let mut args = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(args);
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Arg>();
        let parsed = match values.next() {
            Some(Ok(arg)) => {
                let end = values.byte_offset();
                // `42abc` is a word, not 42 then abc.
                let at_boundary = rest[end..].chars().next().is_none_or(char::is_whitespace);
                at_boundary.then_some((arg, end))
            }
            _ => None,
        };
        let (arg, end) = match parsed {
            Some((arg, end)) => (arg.with_binaries()?, end),
            None => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (parse_word(&rest[..end])?, end)
            }
        };
        args.push(arg);
        rest = &rest[end..];
    }
}

impl Arg {
    /// Turns each `{"$binary": "<base64>"}` into bytes.
    fn with_binaries(self) -> Result<Arg, String> {
        Ok(match self {
            Arg::Object(entries) => match <[_; 1]>::try_from(entries) {
                Ok([(key, Arg::String(b64))]) if key == BINARY_KEY => Arg::Binary(
                    BASE64
                        .decode(&b64)
                        .map_err(|e| format!("{BINARY_KEY}: not base64: {e}"))?
                        .into(),
                ),
                Ok([(key, value)]) => Arg::Object(vec![(key, value.with_binaries()?)]),
                Err(entries) => Arg::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| Ok((k, v.with_binaries()?)))
                        .collect::<Result<_, String>>()?,
                ),
            },
            Arg::Array(items) => Arg::Array(
                items
                    .into_iter()
                    .map(Arg::with_binaries)
                    .collect::<Result<_, _>>()?,
            ),
            other => other,
        })
    }

    /// For printing: JSON with `{"$binary": ...}` for bytes.
    pub(crate) fn shown(&self) -> Shown<'_> {
        Shown(std::slice::from_ref(self), false)
    }
}

/// Arguments printed as one JSON array (`["hi",42]`).
pub(crate) fn shown_list(args: &[Arg]) -> Shown<'_> {
    Shown(args, true)
}

/// [`Arg`]s as printed JSON: one value, or (`.1`) a list as an array.
pub(crate) struct Shown<'a>(&'a [Arg], bool);

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.1 {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for a in self.0 {
                seq.serialize_element(&a.shown())?;
            }
            return seq.end();
        }
        match &self.0[0] {
            Arg::Binary(b) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(BINARY_KEY, &BASE64.encode(b))?;
                map.end()
            }
            Arg::Array(items) => shown_list(items).serialize(s),
            Arg::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &v.shown())?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// As sent: bytes become Socket.IO attachments (inside a packet being
/// built; elsewhere an array of byte values).
impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Arg::Null => s.serialize_unit(),
            Arg::Bool(b) => s.serialize_bool(*b),
            Arg::Number(n) => n.serialize(s),
            Arg::String(t) => s.serialize_str(t),
            Arg::Array(items) => s.collect_seq(items),
            Arg::Object(entries) => s.collect_map(entries.iter().map(|(k, v)| (k, v))),
            Arg::Binary(b) => Binary(b.clone()).serialize(s),
        }
    }
}

/// From JSON; inside a received packet's arguments a placeholder
/// (`{"_placeholder":true,"num":0}`, the key first as every Socket.IO
/// encoder writes it) resolves to its attachment's bytes.
impl<'de> Deserialize<'de> for Arg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Arg, D::Error> {
        d.deserialize_any(ArgVisitor)
    }
}

struct ArgVisitor;

impl<'de> Visitor<'de> for ArgVisitor {
    type Value = Arg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Arg, E> {
        Ok(Arg::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Arg, E> {
        Ok(Arg::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Arg, E> {
        Ok(Arg::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Arg, E> {
        serde_json::Number::from_f64(v)
            .map(Arg::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Arg, E> {
        Ok(Arg::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Arg, E> {
        Ok(Arg::String(v))
    }

    fn visit_unit<E>(self) -> Result<Arg, E> {
        Ok(Arg::Null)
    }

    fn visit_none<E>(self) -> Result<Arg, E> {
        Ok(Arg::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Arg, D::Error> {
        Arg::deserialize(d)
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Arg, E> {
        Ok(Arg::Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Arg, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Arg::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Arg, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Arg::Object(Vec::new()));
        };
        if first == "_placeholder" {
            // socketio-proto's `Binary` resolves the attachment; hand it the
            // map with its first key put back.
            let replay = Replay {
                first: Some(first),
                rest: map,
            };
            let Binary(bytes) = Binary::deserialize(de::value::MapAccessDeserializer::new(replay))?;
            return Ok(Arg::Binary(bytes));
        }
        let mut entries = vec![(first, map.next_value()?)];
        while let Some((k, v)) = map.next_entry()? {
            entries.push((k, v));
        }
        Ok(Arg::Object(entries))
    }
}

/// A map whose first key was already read.
struct Replay<A> {
    first: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketio_client::Packet;

    fn s(x: &str) -> Arg {
        Arg::String(x.into())
    }

    #[test]
    fn words_are_json_or_strings() {
        assert_eq!(parse_word("42").unwrap(), Arg::Number(42.into()));
        assert_eq!(parse_word("\"hi\"").unwrap(), s("hi"));
        assert_eq!(parse_word("hi").unwrap(), s("hi"));
        assert_eq!(parse_word("true").unwrap(), Arg::Bool(true));
        assert!(parse_word("{oops").is_err(), "a broken object is reported");
        assert!(parse_word(r#"{"a":"#).is_err());
        assert!(parse_word("[1,2").is_err());
        assert_eq!(
            parse_word(r#"{"$binary":"AAL/"}"#).unwrap(),
            Arg::Binary(vec![0, 2, 255].into())
        );
        assert!(parse_word(r#"{"$binary":"!!"}"#).is_err());
    }

    #[test]
    fn lines_split_between_json_values() {
        let args = parse_line(r#" "a b" 42 {"x": [1, 2]} hi 7up  null"#).unwrap();
        assert_eq!(args.len(), 6);
        assert_eq!(args[0], s("a b"));
        assert_eq!(args[1], Arg::Number(42.into()));
        assert_eq!(args[2].shown().to_string(), r#"{"x":[1,2]}"#);
        assert_eq!(args[3], s("hi"));
        assert_eq!(args[4], s("7up"));
        assert_eq!(args[5], Arg::Null);
        assert_eq!(parse_line("   ").unwrap(), vec![]);
    }

    #[test]
    fn objects_keep_their_key_order() {
        let a = parse_word(r#"{"b":1,"a":{"$binary":""},"c":[{"$binary":"AQ=="}]}"#).unwrap();
        assert_eq!(
            shown_list(&[a]).to_string(),
            r#"[{"b":1,"a":{"$binary":""},"c":[{"$binary":"AQ=="}]}]"#
        );
    }

    #[test]
    fn bytes_travel_as_attachments_both_ways() {
        let args = parse_line(r#"{"$binary":"AAEC"} {"nested":{"$binary":"/w=="}} 1"#).unwrap();
        let packet = Packet::event("/", "up", &args).unwrap();
        assert_eq!(packet.attachments().len(), 2);
        assert_eq!(
            packet.encode(),
            r#"52-["up",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}},1]"#
        );
        let back: Vec<Arg> = packet.event_args().unwrap();
        assert_eq!(back, args);
        assert_eq!(
            shown_list(&back).to_string(),
            r#"[{"$binary":"AAEC"},{"nested":{"$binary":"/w=="}},1]"#
        );
    }
}
