//! Raw JSON payloads, and the one pass that checks them.
//!
//! A payload stays as the bytes it arrived in until the user asks for a typed
//! value. Decoding still has to know it is valid JSON of the right shape, the
//! event name, and where the binary placeholders point, so [`scan`] walks it
//! once with serde_json, allocating nothing but the event name.
//!
//! UTF-8 is checked before that pass, never by it: serde_json does not look
//! inside the strings it skips, and the scan skips some (a placeholder's
//! malformed flag or index). Text comes in as `&str` or [`Utf8Bytes`].

use std::fmt;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use ws_frame::Utf8Bytes;

/// A JSON value kept as text. Always valid JSON, always UTF-8.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Bytes);

impl Json {
    /// Checks `text` (UTF-8, then JSON) and wraps it without a copy.
    pub fn from_bytes(text: Bytes) -> Result<Json, serde_json::Error> {
        let utf8 = Utf8Bytes::try_from_bytes(text).map_err(serde::de::Error::custom)?;
        Json::from_text(utf8)
    }

    /// Checks that `text` is JSON and wraps it without a copy.
    pub fn from_text(text: Utf8Bytes) -> Result<Json, serde_json::Error> {
        serde_json::from_str::<IgnoredAny>(text.as_str())?;
        Ok(Json(text.into_bytes()))
    }

    /// Serializes `value`.
    pub fn from_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Json, serde_json::Error> {
        Ok(Json::from_serialized(serde_json::to_vec(value)?))
    }

    /// Wraps text already known to be valid JSON (it was [`scan`]ned).
    pub(crate) fn from_scanned(text: Utf8Bytes) -> Json {
        Json(text.into_bytes())
    }

    /// Wraps serde_json's output, or pieces of it joined by ASCII
    /// punctuation: UTF-8 by construction, so not checked again.
    pub(crate) fn from_serialized(text: Vec<u8>) -> Json {
        debug_assert!(std::str::from_utf8(&text).is_ok());
        Json(text.into())
    }

    /// The JSON text.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The JSON text as a string.
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are UTF-8, as every constructor ensures:
        // `from_bytes` checks them with `str::from_utf8`; `from_text` and
        // `from_scanned` take a `Utf8Bytes`; `from_value` and
        // `from_serialized` take serde_json's output (it writes only UTF-8),
        // whole or joined with ASCII. None relies on serde_json to check
        // UTF-8: it does not, inside strings it skips. A check here would
        // cost a pass on every encode (about 4% of a Socket.IO echo).
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }

    /// Deserializes the value. Placeholders for binary attachments are not
    /// resolved here; see [`Packet::data`](crate::Packet::data).
    pub fn parse<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", self.as_str())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The top-level shape of a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Top {
    Object,
    Array,
    String,
    Other,
}

/// The first element of a top-level array, when it is a scalar an event may
/// be named by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    None,
    String(String),
    Number(String),
}

/// What one pass over a payload found.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) top: Top,
    pub(crate) head: Head,
    /// Every placeholder was well formed and named an index below the limit.
    pub(crate) placeholders_ok: bool,
}

/// Walks `text` once: syntax, top-level shape, the first array element, and
/// every `{"_placeholder":true,"num":n}` checked against `attachments`.
pub(crate) fn scan(text: &str, attachments: usize) -> Result<Scan, serde_json::Error> {
    let mut found = Found {
        head: Head::None,
        placeholders_ok: true,
        attachments,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Walk {
        found: &mut found,
        depth: 0,
        capture: false,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Scan {
        top,
        head: found.head,
        placeholders_ok: found.placeholders_ok,
    })
}

struct Found {
    head: Head,
    placeholders_ok: bool,
    attachments: usize,
}

/// One value. `capture` marks the first element of the top-level array.
struct Walk<'a> {
    found: &'a mut Found,
    depth: usize,
    capture: bool,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_i64<E>(self, v: i64) -> Result<Top, E> {
        self.number(v.to_string())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Top, E> {
        self.number(v.to_string())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Top, E> {
        self.number(v.to_string())
    }

    fn visit_str<E>(self, v: &str) -> Result<Top, E> {
        if self.capture {
            self.found.head = Head::String(v.to_owned());
        }
        Ok(Top::String)
    }

    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        let mut first = self.depth == 0;
        while seq
            .next_element_seed(Walk {
                found: &mut *self.found,
                depth: self.depth + 1,
                capture: first,
            })?
            .is_some()
        {
            first = false;
        }
        Ok(Top::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let (mut flag, mut num) = (false, None::<Option<u64>>);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Placeholder => flag = map.next_value_seed(IsTrue)?,
                Key::Num => num = Some(map.next_value_seed(AsIndex)?),
                Key::Other => {
                    map.next_value_seed(Walk {
                        found: &mut *self.found,
                        depth: self.depth + 1,
                        capture: false,
                    })?;
                }
            }
        }
        // Like the official parser: an object with `_placeholder: true` is a
        // placeholder, and its `num` must name one of the attachments.
        if flag {
            let ok = matches!(num, Some(Some(n)) if n < self.found.attachments as u64);
            self.found.placeholders_ok &= ok;
        }
        Ok(Top::Object)
    }
}

impl Walk<'_> {
    fn number<E>(self, text: String) -> Result<Top, E> {
        if self.capture {
            self.found.head = Head::Number(text);
        }
        Ok(Top::Other)
    }
}

enum Key {
    Placeholder,
    Num,
    Other,
}

/// Recognizes the two keys a placeholder has, without allocating.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "_placeholder" => Key::Placeholder,
            "num" => Key::Num,
            _ => Key::Other,
        })
    }
}

/// `true` exactly; any other value is walked and is not `true`.
struct IsTrue;

impl<'de> DeserializeSeed<'de> for IsTrue {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsTrue {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| false)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        IgnoredAny.visit_map(map).map(|_| false)
    }
}

/// A non-negative integer index; `None` for any other value.
struct AsIndex;

impl<'de> DeserializeSeed<'de> for AsIndex {
    type Value = Option<u64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AsIndex {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(Some(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Option<u64>, E> {
        Ok(u64::try_from(v).ok())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<u64>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<u64>, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_shape_head_and_placeholders() {
        let s = scan(r#"["chat",{"a":[1,{"_placeholder":true,"num":0}]}]"#, 1).unwrap();
        assert_eq!(
            (s.top, s.head, s.placeholders_ok),
            (Top::Array, Head::String("chat".into()), true)
        );
        let s = scan(r#"[{"_placeholder":true,"num":1}]"#, 1).unwrap();
        assert!(!s.placeholders_ok, "index out of range");
        let s = scan(r#"[{"_placeholder":true}]"#, 1).unwrap();
        assert!(!s.placeholders_ok, "no num");
        let s = scan(r#"[{"_placeholder":false,"num":9}]"#, 0).unwrap();
        assert!(s.placeholders_ok, "not a placeholder");
        assert_eq!(
            scan("[42,\"x\"]", 0).unwrap().head,
            Head::Number("42".into())
        );
        assert_eq!(scan("\"oops\"", 0).unwrap().top, Top::String);
        assert_eq!(scan(r#"{"token":"abc"}"#, 0).unwrap().top, Top::Object);
        assert!(scan("[1,2", 0).is_err());
        assert!(scan("[1] x", 0).is_err());
        assert!(
            scan(&"[".repeat(1000), 0).is_err(),
            "nesting is bounded, not a stack overflow"
        );
    }

    #[test]
    fn from_bytes_rejects_invalid_utf8_anywhere() {
        for text in [
            &b"\"\xff\xfe\""[..],
            b"[\"\xc3\"]",
            b"{\"\xe2\x82\":1}",
            b"{\"_placeholder\":[\"\xff\"]}",
            b"{\"num\":{\"a\":\"\xed\xa0\x80\"}}",
        ] {
            let r = Json::from_bytes(Bytes::from_static(text));
            assert!(r.is_err(), "{text:x?} accepted as {r:?}");
        }
        let ok = Json::from_bytes(Bytes::from_static("[\"κόσμε\"]".as_bytes())).unwrap();
        assert_eq!(ok.as_str(), "[\"κόσμε\"]");
    }
}
