//! Socket.IO v5 packets: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`.
//!
//! One file for one type: the packet, its constructors and accessors, and
//! its text codec (reassembly with binary attachments is in `decoder`).

use std::fmt::Write as _;

use bytes::Bytes;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::binary::with_attachments;
use crate::error::{BuildError, DecodeError};
use crate::json::{self, Head, Json, Top};
use ws_frame::Utf8Bytes;

/// Event names the protocol reserves for itself; a peer may not send them.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// What a packet does. `BINARY_EVENT` and `BINARY_ACK` are an [`Kind::Event`]
/// or [`Kind::Ack`] with attachments, as in the official parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `0`: join a namespace (client), or accept the join (server, `{"sid"}`).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2` (or `5` with attachments): an event, `["name", ...args]`.
    Event,
    /// `3` (or `6` with attachments): the answer to an event with an ack id.
    Ack,
    /// `4`: the server refused the join.
    ConnectError,
}

/// One Socket.IO packet, with its attachments.
///
/// Build packets with the constructors, which keep the payload in the shape
/// its kind requires; decode them with [`Decoder`](crate::Decoder). The
/// payload stays raw JSON until [`data`](Self::data) or
/// [`event_args`](Self::event_args) deserializes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    kind: Kind,
    nsp: String,
    id: Option<u64>,
    data: Option<Json>,
    /// The event name, taken from the payload when it was checked.
    event: Option<String>,
    attachments: Vec<Bytes>,
}

fn check_nsp(nsp: &str) -> Result<(), BuildError> {
    if nsp.starts_with('/') {
        Ok(())
    } else {
        Err(BuildError::InvalidNamespace(nsp.to_owned()))
    }
}

impl Packet {
    fn new(kind: Kind, nsp: &str, data: Option<Json>) -> Packet {
        Packet {
            kind,
            nsp: nsp.to_owned(),
            id: None,
            data,
            event: None,
            attachments: Vec::new(),
        }
    }

    /// CONNECT to `nsp`, with the client's `auth` object (or, from a server,
    /// the `{"sid": ...}` that accepts the join).
    pub fn connect(nsp: &str, auth: Option<Json>) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        if let Some(a) = &auth {
            let s = json::scan(a.as_str(), 0)?;
            if s.top != Top::Object {
                return Err(BuildError::InvalidPayload);
            }
        }
        Ok(Packet::new(Kind::Connect, nsp, auth))
    }

    /// DISCONNECT from `nsp`.
    pub fn disconnect(nsp: &str) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        Ok(Packet::new(Kind::Disconnect, nsp, None))
    }

    /// CONNECT_ERROR for `nsp`: a string or an object (`{"message", "data"}`).
    pub fn connect_error(nsp: &str, data: Json) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        let s = json::scan(data.as_str(), 0)?;
        if !matches!(s.top, Top::Object | Top::String) {
            return Err(BuildError::InvalidPayload);
        }
        Ok(Packet::new(Kind::ConnectError, nsp, Some(data)))
    }

    /// The CONNECT_ERROR the official server sends: `{"message": ..., "data": ...}`.
    pub fn connect_error_message(
        nsp: &str,
        message: &str,
        data: Option<&serde_json::Value>,
    ) -> Result<Packet, BuildError> {
        let body = match data {
            Some(d) => serde_json::json!({ "message": message, "data": d }),
            None => serde_json::json!({ "message": message }),
        };
        Packet::connect_error(nsp, Json::from_value(&body)?)
    }

    /// An EVENT `name` with `args`, a tuple, array or `Vec` of serializable
    /// values (a single non-sequence value is one argument). Every
    /// [`Binary`](crate::Binary) inside becomes an attachment.
    pub fn event<T: serde::Serialize + ?Sized>(
        nsp: &str,
        name: &str,
        args: &T,
    ) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        if RESERVED_EVENTS.contains(&name) {
            return Err(BuildError::ReservedEventName(name.to_owned()));
        }
        let (args, attachments) = with_attachments(Vec::new(), || serde_json::to_vec(args));
        let args = args?;
        let mut data = Vec::with_capacity(name.len() + args.len() + 4);
        data.push(b'[');
        serde_json::to_writer(&mut data, name)?;
        match args.as_slice() {
            // `()` serializes as `null`: no arguments.
            b"[]" | b"null" => {}
            [b'[', rest @ ..] => {
                data.push(b',');
                data.extend_from_slice(rest);
                data.pop();
            }
            one => {
                data.push(b',');
                data.extend_from_slice(one);
            }
        }
        data.push(b']');
        Ok(Packet {
            event: Some(name.to_owned()),
            attachments,
            ..Packet::new(Kind::Event, nsp, Some(Json::from_serialized(data)))
        })
    }

    /// An ACK answering ack id `id` with `args` (as for [`event`](Self::event):
    /// a sequence, or one value).
    pub fn ack<T: serde::Serialize + ?Sized>(
        nsp: &str,
        id: u64,
        args: &T,
    ) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        let (data, attachments) = with_attachments(Vec::new(), || serde_json::to_vec(args));
        let mut data = data?;
        if data == b"null" {
            data = b"[]".to_vec();
        } else if data.first() != Some(&b'[') {
            data.insert(0, b'[');
            data.push(b']');
        }
        Ok(Packet {
            id: Some(id),
            attachments,
            ..Packet::new(Kind::Ack, nsp, Some(Json::from_serialized(data)))
        })
    }

    /// An event or ack from raw parts: `data` must fit `kind` (an array headed
    /// by a non-reserved name for events), and placeholders in it must name
    /// `attachments`.
    pub fn from_parts(
        kind: Kind,
        nsp: &str,
        id: Option<u64>,
        data: Option<Json>,
        attachments: Vec<Bytes>,
    ) -> Result<Packet, BuildError> {
        check_nsp(nsp)?;
        let event = match &data {
            Some(d) => check_payload(kind, d.as_str(), attachments.len()).map_err(|e| match e {
                DecodeError::ReservedEventName(n) => BuildError::ReservedEventName(n),
                _ => BuildError::InvalidPayload,
            })?,
            None => None,
        };
        if !attachments.is_empty() && !matches!(kind, Kind::Event | Kind::Ack) {
            return Err(BuildError::InvalidPayload);
        }
        Ok(Packet {
            id,
            event,
            attachments,
            ..Packet::new(kind, nsp, data)
        })
    }

    /// Sets the ack id: the receiver of an event with an id answers with an ACK.
    pub fn with_id(mut self, id: u64) -> Packet {
        self.id = Some(id);
        self
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The namespace (`/` by default).
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// The ack id.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The event name, for an event. A numeric name is given as its JSON text.
    pub fn event_name(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The payload as raw JSON, placeholders included.
    pub fn raw_data(&self) -> Option<&Json> {
        self.data.as_ref()
    }

    /// The binary attachments, in order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The wire type digit: `5`/`6` for an event/ack with attachments.
    pub fn type_digit(&self) -> u8 {
        let binary = !self.attachments.is_empty();
        match self.kind {
            Kind::Connect => b'0',
            Kind::Disconnect => b'1',
            Kind::Event if binary => b'5',
            Kind::Event => b'2',
            Kind::Ack if binary => b'6',
            Kind::Ack => b'3',
            Kind::ConnectError => b'4',
        }
    }

    /// Deserializes the whole payload, resolving [`Binary`](crate::Binary)
    /// placeholders to their attachments.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let text = self.data.as_ref().map_or("null", |d| d.as_str());
        with_attachments(self.attachments.clone(), || serde_json::from_str(text)).0
    }

    /// Deserializes an event's arguments (the payload without the name): a
    /// tuple, array or `Vec` takes them all, `()` none, any other type the
    /// first one (`Option`: `None` when there is none). Arguments past what
    /// `T` takes are ignored.
    pub fn event_args<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args_after(1)
    }

    /// Deserializes an ack's arguments, by the same rules as
    /// [`event_args`](Self::event_args).
    pub fn ack_args<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args_after(0)
    }

    fn args_after<T: DeserializeOwned>(&self, skip: usize) -> Result<T, serde_json::Error> {
        let text = self.data.as_ref().map_or("[]", |d| d.as_str());
        with_attachments(self.attachments.clone(), || {
            let mut de = serde_json::Deserializer::from_str(text);
            let t = (&mut de).deserialize_seq(Args::<T> {
                skip,
                out: std::marker::PhantomData,
            })?;
            de.end()?;
            Ok(t)
        })
        .0
    }

    /// Encodes the packet's text part. Attachments follow it, one binary
    /// message each, in order.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len_hint());
        self.encode_into(&mut out);
        out
    }

    /// An upper bound on the length of [`encode`](Self::encode)'s output,
    /// to size a buffer for [`encode_into`](Self::encode_into).
    pub fn encoded_len_hint(&self) -> usize {
        let data_len = self.data.as_ref().map_or(0, |d| d.as_bytes().len());
        // Type digit, two u64 numbers (attachments, ack id) with their `-`,
        // and the namespace's `,`.
        1 + 21 + 20 + self.nsp.len() + 1 + data_len
    }

    /// Appends the packet's text part to `out` (after an Engine.IO type
    /// digit, say, so the message is built in one buffer).
    pub fn encode_into(&self, out: &mut String) {
        out.reserve(self.encoded_len_hint());
        out.push(self.type_digit() as char);
        if !self.attachments.is_empty() {
            let _ = write!(out, "{}-", self.attachments.len());
        }
        if self.nsp != "/" {
            out.push_str(&self.nsp);
            out.push(',');
        }
        if let Some(id) = self.id {
            let _ = write!(out, "{id}");
        }
        if let Some(d) = &self.data {
            out.push_str(d.as_str());
        }
    }
}

/// Skips `skip` elements of a sequence, gives the rest to `T` (see
/// [`Rest`]), ignores what `T` did not take.
struct Args<T> {
    skip: usize,
    out: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Args<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..self.skip {
            seq.next_element::<IgnoredAny>()?;
        }
        let t = T::deserialize(Rest(&mut seq))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(t)
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Args<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_seq(self)
    }
}

/// The remaining arguments of an event or ack, as a deserializer: a
/// sequence type (tuple, `Vec`, array) takes them all, `()` takes none (and
/// ignores any), any other type takes the first (`Option` is `None` when
/// there is none).
struct Rest<A>(A);

enum How {
    Any,
    Option,
    NewtypeStruct(&'static str),
    Enum(&'static str, &'static [&'static str]),
}

/// Deserializes one element with the method the target type asked for. The
/// visitor stays in `slot` if there is no element, so the caller can still
/// use it.
struct First<'a, V> {
    slot: &'a mut Option<V>,
    how: How,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for First<'_, V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        use serde::de::Error as _;
        let visitor = self
            .slot
            .take()
            .ok_or_else(|| D::Error::custom("argument read twice"))?;
        match self.how {
            How::Any => d.deserialize_any(visitor),
            How::Option => d.deserialize_option(visitor),
            How::NewtypeStruct(name) => d.deserialize_newtype_struct(name, visitor),
            How::Enum(name, variants) => d.deserialize_enum(name, variants, visitor),
        }
    }
}

impl<'de, A: SeqAccess<'de>> Rest<A> {
    fn first<V: Visitor<'de>>(mut self, visitor: V, how: How) -> Result<V::Value, A::Error> {
        use serde::de::Error as _;
        let optional = matches!(how, How::Option);
        let mut slot = Some(visitor);
        if let Some(v) = self.0.next_element_seed(First {
            slot: &mut slot,
            how,
        })? {
            return Ok(v);
        }
        match slot.take() {
            Some(visitor) if optional => visitor.visit_none(),
            _ => Err(A::Error::invalid_length(0, &"at least one argument")),
        }
    }
}

impl<'de, A: SeqAccess<'de>> Deserializer<'de> for Rest<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        self.first(v, How::Any)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        v.visit_seq(self.0)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, A::Error> {
        v.visit_seq(self.0)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, A::Error> {
        v.visit_seq(self.0)
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, A::Error> {
        while self.0.next_element::<IgnoredAny>()?.is_some() {}
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.deserialize_unit(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        self.first(v, How::Option)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.first(v, How::NewtypeStruct(name))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.first(v, How::Enum(name, variants))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf map struct identifier ignored_any
    }
}

/// Checks a payload against its kind, as the official decoder does; returns
/// the event name for an event.
fn check_payload(
    kind: Kind,
    data: &str,
    attachments: usize,
) -> Result<Option<String>, DecodeError> {
    let s = json::scan(data, attachments).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    if !s.placeholders_ok {
        return Err(DecodeError::IllegalPlaceholder);
    }
    let fits = match kind {
        Kind::Connect => s.top == Top::Object,
        Kind::Disconnect => false,
        Kind::ConnectError => matches!(s.top, Top::Object | Top::String),
        Kind::Ack => s.top == Top::Array,
        Kind::Event => s.top == Top::Array && s.head != Head::None,
    };
    if !fits {
        return Err(DecodeError::InvalidPayload);
    }
    Ok(match s.head {
        Head::String(name) if kind == Kind::Event => {
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(DecodeError::ReservedEventName(name));
            }
            Some(name)
        }
        Head::Number(n) if kind == Kind::Event => Some(n),
        _ => None,
    })
}

/// Parses a text packet; returns it and how many attachments must follow.
pub(crate) fn parse_text(
    text: &Utf8Bytes,
    max_attachments: usize,
) -> Result<(Packet, usize), DecodeError> {
    let s = text.as_str();
    // Every index `s` is cut at below follows an ASCII byte (type digit,
    // count, `-`, `,`, ack id) or is its end: a character boundary.
    let b = s.as_bytes();
    let (&t, _) = b.split_first().ok_or(DecodeError::Empty)?;
    let (kind, binary) = match t {
        b'0' => (Kind::Connect, false),
        b'1' => (Kind::Disconnect, false),
        b'2' => (Kind::Event, false),
        b'3' => (Kind::Ack, false),
        b'4' => (Kind::ConnectError, false),
        b'5' => (Kind::Event, true),
        b'6' => (Kind::Ack, true),
        _ => {
            let c = s.chars().next().unwrap_or('?');
            return Err(DecodeError::UnknownPacketType(c));
        }
    };
    let mut i = 1;
    let mut attachments = 0;
    if binary {
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || b.get(i + digits) != Some(&b'-') {
            return Err(DecodeError::IllegalAttachments);
        }
        let n = parse_u64(&b[i..i + digits]).ok_or(DecodeError::IllegalAttachments)?;
        if n == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        if n > max_attachments as u64 {
            return Err(DecodeError::TooManyAttachments {
                count: n,
                max: max_attachments,
            });
        }
        attachments = n as usize;
        i += digits + 1;
    }
    let nsp = if b.get(i) == Some(&b'/') {
        let end = b[i..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |p| i + p);
        let nsp = s.get(i..end).ok_or(DecodeError::InvalidUtf8)?;
        i = (end + 1).min(b.len());
        nsp
    } else {
        "/"
    };
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let id = if digits > 0 {
        let id = parse_u64(&b[i..i + digits]).ok_or(DecodeError::InvalidAckId)?;
        i += digits;
        Some(id)
    } else {
        None
    };
    let (data, event) = if i < b.len() {
        let data = text.slice(i..b.len()).ok_or(DecodeError::InvalidUtf8)?;
        let event = check_payload(kind, data.as_str(), attachments)?;
        (Some(Json::from_scanned(data)), event)
    } else {
        (None, None)
    };
    let packet = Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data,
        event,
        attachments: Vec::with_capacity(attachments),
    };
    Ok((packet, attachments))
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

impl Packet {
    /// A packet another decoder checked: `data` is valid JSON fitting
    /// `kind`, `event` its name, `attachments` what its placeholders name.
    #[cfg(feature = "msgpack")]
    pub(crate) fn from_decoded(
        kind: Kind,
        nsp: String,
        id: Option<u64>,
        data: Option<Json>,
        event: Option<String>,
        attachments: Vec<Bytes>,
    ) -> Packet {
        Packet {
            kind,
            nsp,
            id,
            data,
            event,
            attachments,
        }
    }

    pub(crate) fn push_attachment(&mut self, b: Bytes) {
        self.attachments.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Packet, DecodeError> {
        parse_text(&Utf8Bytes::from(s), 10).map(|(p, _)| p)
    }

    #[test]
    fn protocol_examples() {
        // From the Socket.IO v5 protocol description.
        let p = parse("0").unwrap();
        assert_eq!(
            (p.kind(), p.nsp(), p.raw_data()),
            (Kind::Connect, "/", None)
        );
        let p = parse("0/admin,{\"token\":\"123\"}").unwrap();
        assert_eq!(
            (p.nsp(), p.raw_data().unwrap().as_str()),
            ("/admin", "{\"token\":\"123\"}")
        );
        let p = parse("2[\"hello\",1]").unwrap();
        assert_eq!((p.kind(), p.event_name()), (Kind::Event, Some("hello")));
        let p = parse("2/admin,456[\"project:delete\",123]").unwrap();
        assert_eq!(
            (p.nsp(), p.id(), p.event_name()),
            ("/admin", Some(456), Some("project:delete"))
        );
        let p = parse("3/admin,456[]").unwrap();
        assert_eq!((p.kind(), p.id()), (Kind::Ack, Some(456)));
        let p = parse("4{\"message\":\"Not authorized\"}").unwrap();
        assert_eq!(p.kind(), Kind::ConnectError);
        let (p, n) = parse_text(
            &Utf8Bytes::from_static("51-[\"hello\",{\"_placeholder\":true,\"num\":0}]"),
            10,
        )
        .unwrap();
        assert_eq!((p.kind(), n), (Kind::Event, 1));
        let p = parse("0/admin").unwrap();
        assert_eq!(p.nsp(), "/admin");
    }

    #[test]
    fn rejections() {
        use DecodeError::*;
        assert_eq!(parse(""), Err(Empty));
        assert_eq!(parse("7"), Err(UnknownPacketType('7')));
        assert_eq!(parse("5[\"a\"]"), Err(IllegalAttachments));
        assert_eq!(parse("50-[\"a\"]"), Err(IllegalAttachments));
        assert_eq!(
            parse("511-[\"a\"]"),
            Err(TooManyAttachments { count: 11, max: 10 })
        );
        assert_eq!(
            parse("2[\"connect\"]"),
            Err(ReservedEventName("connect".into()))
        );
        assert_eq!(parse("2{}"), Err(InvalidPayload));
        assert_eq!(parse("2[]"), Err(InvalidPayload));
        assert_eq!(parse("2[null]"), Err(InvalidPayload));
        assert_eq!(parse("0[]"), Err(InvalidPayload));
        assert_eq!(parse("1{}"), Err(InvalidPayload));
        assert_eq!(parse("3{}"), Err(InvalidPayload));
        assert!(matches!(parse("2[\"a\""), Err(InvalidJson(_))));
        assert_eq!(parse("299999999999999999999[\"a\"]"), Err(InvalidAckId));
        assert_eq!(
            parse("51-[\"a\",{\"_placeholder\":true,\"num\":1}]"),
            Err(IllegalPlaceholder)
        );
    }

    #[test]
    fn encodes_like_the_official_parser() {
        let p = Packet::event("/", "hello", &(1, "two")).unwrap();
        assert_eq!(p.encode(), "2[\"hello\",1,\"two\"]");
        let p = Packet::event("/chat", "ping", &()).unwrap().with_id(0);
        assert_eq!(p.encode(), "2/chat,0[\"ping\"]");
        let p = Packet::ack("/", 7, &("ok",)).unwrap();
        assert_eq!(p.encode(), "37[\"ok\"]");
        let p = Packet::connect("/", None).unwrap();
        assert_eq!(p.encode(), "0");
        let bin = crate::Binary(Bytes::from_static(b"\x01\x02"));
        let p = Packet::event("/", "file", &(&bin, "name")).unwrap();
        assert_eq!(
            p.encode(),
            "51-[\"file\",{\"_placeholder\":true,\"num\":0},\"name\"]"
        );
        assert_eq!(p.attachments(), [Bytes::from_static(b"\x01\x02")]);
        let (got, name): (crate::Binary, String) = p.event_args().unwrap();
        assert_eq!((got, name.as_str()), (bin, "name"));
        assert!(matches!(
            Packet::event("/", "disconnect", &()),
            Err(BuildError::ReservedEventName(_))
        ));
        assert!(matches!(
            Packet::event("x", "a", &()),
            Err(BuildError::InvalidNamespace(_))
        ));
    }
}
