//! Binary values inside JSON payloads.
//!
//! Socket.IO carries bytes out of band: each one is replaced in the JSON by
//! `{"_placeholder":true,"num":n}` and sent as attachment `n`. [`Binary`] is a
//! serde type that does this split when a packet is built
//! ([`Packet::event`](crate::Packet::event)) and the reverse when a payload is
//! read ([`Packet::data`](crate::Packet::data)), at any depth in the value.
//! The attachments travel through a thread-local for the length of that one
//! (synchronous) serde call.
//!
//! Outside those calls `Binary` serializes as an array of byte values and
//! deserializes from one; inside them it accepts only placeholders.

use std::cell::RefCell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};

thread_local! {
    /// Attachments being collected (encoding) or resolved (decoding).
    static ATTACHMENTS: RefCell<Option<Vec<Bytes>>> = const { RefCell::new(None) };
}

/// Runs `f` with `attachments` available to `Binary`; returns what `f`
/// returned and the attachments as they are at the end (new ones appended
/// when encoding).
pub(crate) fn with_attachments<R>(
    attachments: Vec<Bytes>,
    f: impl FnOnce() -> R,
) -> (R, Vec<Bytes>) {
    let outer = ATTACHMENTS.with(|a| a.borrow_mut().replace(attachments));
    let r = f();
    let attachments = ATTACHMENTS.with(|a| std::mem::replace(&mut *a.borrow_mut(), outer));
    (r, attachments.unwrap_or_default())
}

/// Bytes inside a Socket.IO payload, sent as a binary attachment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Bytes);

impl From<Bytes> for Binary {
    fn from(b: Bytes) -> Self {
        Binary(b)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(b: Vec<u8>) -> Self {
        Binary(b.into())
    }
}

impl serde::Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let num = ATTACHMENTS.with(|a| {
            a.borrow_mut().as_mut().map(|list| {
                list.push(self.0.clone());
                list.len() - 1
            })
        });
        match num {
            Some(num) => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("_placeholder", &true)?;
                map.serialize_entry("num", &num)?;
                map.end()
            }
            None => s.collect_seq(self.0.iter()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a binary placeholder or an array of bytes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Binary, A::Error> {
        let (mut flag, mut num) = (false, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "_placeholder" => flag = map.next_value()?,
                "num" => num = Some(map.next_value::<usize>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let num = num
            .filter(|_| flag)
            .ok_or_else(|| de::Error::custom("not a placeholder"))?;
        ATTACHMENTS
            .with(|a| a.borrow().as_ref().and_then(|list| list.get(num).cloned()))
            .map(Binary)
            .ok_or_else(|| de::Error::custom(format!("no attachment {num}")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        // Inside a packet, bytes travel only as placeholders; an array there
        // is data, not bytes (it may be another variant of an untagged enum).
        if ATTACHMENTS.with(|a| a.borrow().is_some()) {
            return Err(de::Error::custom("expected a binary placeholder"));
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(Binary(out.into()))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(v)))
    }
}
