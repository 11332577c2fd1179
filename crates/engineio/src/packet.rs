//! Engine.IO v4 packets: a type digit and optional data.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes, BytesMut};
use ws_frame::Utf8Bytes;

use crate::error::DecodeError;

/// What a message carries: text, or bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message: raw bytes over WebSocket, `b` + base64 over polling.
    Binary(Bytes),
}

/// A message encoded once for many sessions (a broadcast): each session on
/// WebSocket sends the same bytes, without an allocation or a copy of its
/// own. Sessions on polling send its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared(ws_frame::Message);

impl Prepared {
    /// Prepares `payload`: text is copied once, after its type digit.
    pub fn new(payload: Payload) -> Prepared {
        Prepared(Packet::Message(payload).to_ws())
    }

    /// A text message written by `write` straight after its type digit, so
    /// that a caller encoding its own packet copies nothing.
    pub fn text_with(capacity: usize, write: impl FnOnce(&mut String)) -> Prepared {
        let mut text = String::with_capacity(1 + capacity);
        text.push('4');
        write(&mut text);
        Prepared(ws_frame::Message::Text(Utf8Bytes::from(text)))
    }

    /// The message, as a handler would have sent it.
    pub fn payload(&self) -> Payload {
        match &self.0 {
            // `4` is one byte: the rest starts on a character boundary.
            ws_frame::Message::Text(t) => Payload::Text(t.slice(1..t.len()).unwrap_or_default()),
            ws_frame::Message::Binary(b) => Payload::Binary(b.clone()),
            _ => Payload::Binary(Bytes::new()),
        }
    }

    /// Whether the message is text.
    pub(crate) fn is_text(&self) -> bool {
        matches!(self.0, ws_frame::Message::Text(_))
    }

    /// The WebSocket message: `4` + text, or the bytes as a binary frame.
    pub fn to_ws(&self) -> ws_frame::Message {
        self.0.clone()
    }
}

impl From<Payload> for Prepared {
    fn from(payload: Payload) -> Prepared {
        Prepared::new(payload)
    }
}

/// The handshake the server opens a session with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// The transports the client may upgrade to (`["websocket"]` over polling,
    /// `[]` over WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between the server's pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts in one HTTP request.
    pub max_payload: u64,
}

impl Handshake {
    /// The JSON in the official server's field order.
    fn to_json(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let upgrades: Vec<String> = self.upgrades.iter().map(|u| quote(u)).collect();
        format!(
            "{{\"sid\":{},\"upgrades\":[{}],\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
            quote(&self.sid),
            upgrades.join(","),
            self.ping_interval,
            self.ping_timeout,
            self.max_payload
        )
    }

    fn from_json(text: &str) -> Result<Handshake, DecodeError> {
        let bad = |what: &str| DecodeError::InvalidHandshake(what.to_owned());
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let num = |k: &str| v.get(k).and_then(|n| n.as_u64()).ok_or_else(|| bad(k));
        Ok(Handshake {
            sid: v
                .get("sid")
                .and_then(|s| s.as_str())
                .ok_or_else(|| bad("sid"))?
                .to_owned(),
            upgrades: v
                .get("upgrades")
                .and_then(|u| u.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            ping_interval: num("pingInterval")?,
            ping_timeout: num("pingTimeout")?,
            max_payload: num("maxPayload")?,
        })
    }
}

/// One Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the server's handshake.
    Open(Handshake),
    /// `1`: close the session.
    Close,
    /// `2`: a ping; `probe` during an upgrade.
    Ping(Utf8Bytes),
    /// `3`: the answer to a ping, with its data.
    Pong(Utf8Bytes),
    /// `4` (text), or a binary message.
    Message(Payload),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: nothing; releases a pending poll during an upgrade.
    Noop,
}

impl Packet {
    /// A text message.
    pub fn text(s: impl Into<Utf8Bytes>) -> Packet {
        Packet::Message(Payload::Text(s.into()))
    }

    /// A binary message.
    pub fn binary(b: impl Into<Bytes>) -> Packet {
        Packet::Message(Payload::Binary(b.into()))
    }

    /// Decodes a text packet (a WebSocket text frame, or a polling record
    /// that does not start with `b`). Data after types that carry none is
    /// ignored, as the official parser does.
    pub fn decode_text(text: Utf8Bytes) -> Result<Packet, DecodeError> {
        let (&t, _) = text.as_bytes().split_first().ok_or(DecodeError::Empty)?;
        let data = || text.slice(1..text.len()).unwrap_or_default();
        Ok(match t {
            b'0' => Packet::Open(Handshake::from_json(&text.as_str()[1..])?),
            b'1' => Packet::Close,
            b'2' => Packet::Ping(data()),
            b'3' => Packet::Pong(data()),
            b'4' => Packet::Message(Payload::Text(data())),
            b'5' => Packet::Upgrade,
            b'6' => Packet::Noop,
            _ => {
                let c = text.as_str().chars().next().unwrap_or('?');
                return Err(DecodeError::UnknownType(c));
            }
        })
    }

    /// Decodes a WebSocket message: text frames are packets, binary frames
    /// are binary messages.
    pub fn from_ws(msg: ws_frame::Message) -> Option<Result<Packet, DecodeError>> {
        match msg {
            ws_frame::Message::Text(t) => Some(Packet::decode_text(t)),
            ws_frame::Message::Binary(b) => Some(Ok(Packet::binary(b))),
            _ => None,
        }
    }

    /// Encodes the packet as a WebSocket message: binary messages go as
    /// binary frames without a copy, everything else as text.
    pub fn to_ws(&self) -> ws_frame::Message {
        match self.text_form() {
            None => match self {
                Packet::Message(Payload::Binary(b)) => ws_frame::Message::Binary(b.clone()),
                _ => ws_frame::Message::Binary(Bytes::new()),
            },
            // Built as a String: valid UTF-8 by construction, so no second
            // check of what was just encoded.
            Some((digit, data)) => {
                let mut text = String::with_capacity(1 + data.len());
                text.push(digit as char);
                text.push_str(&data);
                ws_frame::Message::Text(Utf8Bytes::from(text))
            }
        }
    }

    /// The type digit and the data of a packet sent as text; `None` for a
    /// binary message (raw bytes, or `b` + base64 over polling).
    fn text_form(&self) -> Option<(u8, std::borrow::Cow<'_, str>)> {
        Some(match self {
            Packet::Open(h) => (b'0', h.to_json().into()),
            Packet::Close => (b'1', "".into()),
            Packet::Ping(d) => (b'2', d.as_str().into()),
            Packet::Pong(d) => (b'3', d.as_str().into()),
            Packet::Message(Payload::Text(t)) => (b'4', t.as_str().into()),
            Packet::Message(Payload::Binary(_)) => return None,
            Packet::Upgrade => (b'5', "".into()),
            Packet::Noop => (b'6', "".into()),
        })
    }

    /// Appends the text form of the packet: the type digit and its data, or
    /// for a binary message `b` and base64 (the polling form).
    pub fn encode_text(&self, out: &mut BytesMut) {
        let Some((digit, data)) = self.text_form() else {
            if let Packet::Message(Payload::Binary(b)) = self {
                out.put_u8(b'b');
                let start = out.len();
                out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
                let n = BASE64.encode_slice(b, &mut out[start..]).unwrap_or(0);
                out.truncate(start + n);
            }
            return;
        };
        out.reserve(1 + data.len());
        out.put_u8(digit);
        out.put_slice(data.as_bytes());
    }

    /// Decodes one polling record: `b` + base64 is a binary message.
    pub(crate) fn decode_record(record: Utf8Bytes) -> Result<Packet, DecodeError> {
        match record.as_bytes().first() {
            Some(b'b') => BASE64
                .decode(&record.as_bytes()[1..])
                .map(Packet::binary)
                .map_err(|_| DecodeError::InvalidBase64),
            _ => Packet::decode_text(record),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &Packet) -> String {
        let mut out = BytesMut::new();
        p.encode_text(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn spec_examples() {
        assert_eq!(text(&Packet::text("hello")), "4hello");
        assert_eq!(text(&Packet::binary(vec![1u8, 2, 3, 4])), "bAQIDBA==");
        assert_eq!(text(&Packet::Ping("probe".into())), "2probe");
        assert_eq!(text(&Packet::Noop), "6");
        let h = Handshake {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
        };
        let open = text(&Packet::Open(h.clone()));
        assert_eq!(
            open,
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(Packet::decode_text(open.into()), Ok(Packet::Open(h)));
        assert_eq!(Packet::decode_text("4".into()), Ok(Packet::text("")));
        assert_eq!(Packet::decode_text("1ignored".into()), Ok(Packet::Close));
        assert_eq!(
            Packet::decode_text("7".into()),
            Err(DecodeError::UnknownType('7'))
        );
        assert_eq!(Packet::decode_text("".into()), Err(DecodeError::Empty));
        assert!(matches!(
            Packet::decode_text("0{}".into()),
            Err(DecodeError::InvalidHandshake(_))
        ));
    }

    #[test]
    fn websocket_forms() {
        assert_eq!(Packet::text("hi").to_ws(), ws_frame::Message::text("4hi"));
        let bin = Packet::binary(vec![0u8, 255]);
        assert_eq!(bin.to_ws(), ws_frame::Message::binary(vec![0u8, 255]));
        assert_eq!(Packet::from_ws(bin.to_ws()), Some(Ok(bin)));
        assert_eq!(Packet::from_ws(ws_frame::Message::Pong(Bytes::new())), None);
    }

    #[test]
    fn prepared_is_the_packet_encoded_once() {
        for payload in [
            Payload::Text("héllo".into()),
            Payload::Text("".into()),
            Payload::Binary(Bytes::from_static(&[0, 255])),
        ] {
            let p = Prepared::new(payload.clone());
            assert_eq!(p.to_ws(), Packet::Message(payload.clone()).to_ws());
            assert_eq!(p.payload(), payload);
        }
        let p = Prepared::text_with(3, |s| s.push_str("2[\"a\"]"));
        assert_eq!(p, Prepared::new(Payload::Text("2[\"a\"]".into())));
    }
}
