//! permessage-deflate (RFC 7692): the `Sec-WebSocket-Extensions` grammar,
//! negotiation for both roles, and the compressor and decompressor of one
//! connection.
//!
//! Negotiation lives here and in [`handshake`](crate::handshake); what a
//! compressed frame means for the connection (RSV1 on the first frame only,
//! never on control frames, the inflated size against
//! [`Config::max_message_size`](crate::Config::max_message_size)) is the
//! [`Connection`](crate::Connection)'s.
//!
//! # Memory
//!
//! The backend is zlib-rs (pure Rust, through flate2). Measured with a
//! counting allocator (`cargo run --release -p realtime-ws-frame --features
//! deflate --example deflate_memory`), what a connection holds between
//! messages once it has received and sent a compressed one:
//!
//! | | held |
//! |---|---|
//! | context takeover, 15-bit window | ~420 KiB (compressor ~373 KiB, decompressor ~47 KiB) |
//! | context takeover, 9-bit window | ~294 KiB (the compressor's hash tables do not shrink) |
//! | no context takeover | no compressor or decompressor (~2 KiB of buffers) |
//!
//! With context takeover both live as long as the connection. Without it
//! (`*_no_context_takeover`, or [`DeflateConfig::no_context_takeover`],
//! which a server may impose on every client) each is made for one message
//! and freed after it, so an idle connection holds neither.

use std::fmt;

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::connection::Role;
use crate::error::ProtocolError;

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The empty stored block that ends each compressed message, removed by the
/// sender and appended by the receiver (§7.2.1, §7.2.2).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflated bytes are produced at most this many at a time, so the size
/// limit is checked before more is allocated.
const INFLATE_CHUNK: usize = 32 << 10;

/// How permessage-deflate is offered (client) or accepted (server).
///
/// Off unless set in [`Config::deflate`](crate::Config::deflate): Node's `ws`
/// has it off by default on servers, since the compressor of each connection
/// costs memory and CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Messages smaller than this many bytes are sent uncompressed. Default
    /// 1024, Node `ws`'s default: compressing small messages costs more CPU
    /// than it saves bytes.
    pub threshold: usize,
    /// The zlib compression level, 0-9. Default 6 (zlib's and Node's).
    pub level: u32,
    /// Ask for no context takeover in both directions, so neither end keeps a
    /// compressor or decompressor between messages: a server answers with
    /// `server_no_context_takeover; client_no_context_takeover` whatever the
    /// offer said, a client offers both. Default `false` (Node's default):
    /// context takeover compresses a stream of similar messages much better,
    /// at the cost of the state each connection keeps (see the module docs).
    pub no_context_takeover: bool,
    /// The largest LZ77 window, as a power of two, 9-15, we compress with
    /// (either role) and ask the peer to compress with. Default 15. A server
    /// below 15 answers `server_max_window_bits` with it (and
    /// `client_max_window_bits` when the client offered that); a client
    /// offers `server_max_window_bits` with it.
    pub max_window_bits: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            threshold: 1024,
            level: 6,
            no_context_takeover: false,
            max_window_bits: 15,
        }
    }
}

/// The parameters both ends agreed on (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server starts each message with a fresh compressor.
    pub server_no_context_takeover: bool,
    /// The client starts each message with a fresh compressor.
    pub client_no_context_takeover: bool,
    /// The server's compression window is at most 2^this bytes (8-15).
    pub server_max_window_bits: u8,
    /// The client's compression window is at most 2^this bytes (8-15).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// One extension in a `Sec-WebSocket-Extensions` list: its name and its
/// parameters, values unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// `(name, value)`; `None` for a parameter without `=`.
    pub params: Vec<(String, Option<String>)>,
}

/// A `Sec-WebSocket-Extensions` value that does not follow RFC 6455 §9.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionSyntaxError;

impl fmt::Display for ExtensionSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed Sec-WebSocket-Extensions header")
    }
}

impl std::error::Error for ExtensionSyntaxError {}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one `Sec-WebSocket-Extensions` header value (RFC 6455 §9.1):
/// `extension *( "," extension )`, `extension = token *( ";" param )`,
/// `param = token [ "=" ( token / quoted-string ) ]`, where a quoted value
/// must be a token once unquoted. Empty list elements are skipped (RFC 9110
/// §5.6.1). Lists from several header lines are concatenated by the caller.
pub fn parse_extensions(value: &[u8]) -> Result<Vec<Extension>, ExtensionSyntaxError> {
    let mut p = Parser { s: value, at: 0 };
    let mut out = Vec::new();
    loop {
        p.ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => {
                p.at += 1;
                continue;
            }
            _ => {}
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.ows();
            match p.peek() {
                None | Some(b',') => break,
                Some(b';') => {
                    p.at += 1;
                    p.ows();
                    let pname = p.token()?;
                    p.ows();
                    let value = if p.peek() == Some(b'=') {
                        p.at += 1;
                        p.ows();
                        Some(if p.peek() == Some(b'"') {
                            p.quoted()?
                        } else {
                            p.token()?
                        })
                    } else {
                        None
                    };
                    params.push((pname, value));
                }
                Some(_) => return Err(ExtensionSyntaxError),
            }
        }
        out.push(Extension { name, params });
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Result<String, ExtensionSyntaxError> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        if self.at == start {
            return Err(ExtensionSyntaxError);
        }
        // tchars are ASCII.
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, ExtensionSyntaxError> {
        self.at += 1; // the opening quote
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ExtensionSyntaxError),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = self.s.get(self.at + 1).ok_or(ExtensionSyntaxError)?;
                    v.push(*c);
                    self.at += 2;
                }
                Some(c) => {
                    v.push(c);
                    self.at += 1;
                }
            }
        }
        // §9.1: the unquoted value must itself be a token.
        if v.is_empty() || !v.iter().all(|&b| is_tchar(b)) {
            return Err(ExtensionSyntaxError);
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
}

/// One permessage-deflate offer or response, its parameters checked for the
/// rules that hold for both (§7.1): known names, no duplicates, valid values.
#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// A window-bits value: 8-15, decimal, no leading zero (§7.1.2).
fn window_bits(v: &str) -> Option<u8> {
    match v.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

impl Offer {
    fn parse(ext: &Extension) -> Result<Offer, String> {
        let mut o = Offer::default();
        let mut seen = [false; 4];
        for (name, value) in &ext.params {
            let i = match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => 0,
                "client_no_context_takeover" => 1,
                "server_max_window_bits" => 2,
                "client_max_window_bits" => 3,
                _ => return Err(format!("unknown parameter {name}")),
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("{name} appears twice"));
            }
            let bits = || {
                value
                    .as_deref()
                    .map(|v| window_bits(v).ok_or_else(|| format!("{name}={v} is not 8-15")))
                    .transpose()
            };
            match i {
                0 | 1 if value.is_some() => return Err(format!("{name} takes no value")),
                0 => o.server_no_context_takeover = true,
                1 => o.client_no_context_takeover = true,
                2 => {
                    o.server_max_window_bits =
                        Some(bits()?.ok_or_else(|| format!("{name} needs a value"))?)
                }
                _ => o.client_max_window_bits = Some(bits()?),
            }
        }
        Ok(o)
    }
}

/// The extensions of every `Sec-WebSocket-Extensions` line, in order; a line
/// that breaks the grammar makes the whole header invalid.
pub(crate) fn parse_header_lines<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<Extension>, ExtensionSyntaxError> {
    let mut all = Vec::new();
    for line in lines {
        all.extend(parse_extensions(line)?);
    }
    Ok(all)
}

/// Server: the first permessage-deflate offer we can honour (§7: a server
/// declines an offer with unknown or duplicate parameters or invalid values,
/// and may decline any offer), with the response value that accepts it.
pub(crate) fn negotiate(
    offers: &[Extension],
    cfg: &DeflateConfig,
) -> Option<(DeflateParams, String)> {
    let own = cfg.max_window_bits.clamp(9, 15);
    for ext in offers {
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            continue;
        }
        let Ok(offer) = Offer::parse(ext) else {
            continue;
        };
        let mut p = DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover || cfg.no_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover || cfg.no_context_takeover,
            ..DeflateParams::default()
        };
        let mut resp = String::from(EXTENSION_NAME);
        if p.server_no_context_takeover {
            resp.push_str("; server_no_context_takeover");
        }
        if p.client_no_context_takeover {
            resp.push_str("; client_no_context_takeover");
        }
        // We compress with at most what the client allows and what we chose;
        // a window of 8 the backend cannot make: then we send uncompressed.
        let server_bits = offer.server_max_window_bits.unwrap_or(15).min(own);
        if offer.server_max_window_bits.is_some() || server_bits < 15 {
            p.server_max_window_bits = server_bits;
            resp.push_str(&format!("; server_max_window_bits={server_bits}"));
        }
        match offer.client_max_window_bits {
            Some(v) if own < v.unwrap_or(15) => {
                p.client_max_window_bits = own;
                resp.push_str(&format!("; client_max_window_bits={own}"));
            }
            // Echoed, so the client is bound to it: without the parameter
            // in the response it may use a 15-bit window (§7.1.2.2), which
            // a smaller decompressor could not follow.
            Some(Some(v)) => {
                p.client_max_window_bits = v;
                resp.push_str(&format!("; client_max_window_bits={v}"));
            }
            _ => {}
        }
        return Some((p, resp));
    }
    None
}

/// Client: the offer we send.
pub(crate) fn offer(cfg: &DeflateConfig) -> String {
    let mut s = format!("{EXTENSION_NAME}; client_max_window_bits");
    if cfg.no_context_takeover {
        s.push_str("; server_no_context_takeover; client_no_context_takeover");
    }
    if cfg.max_window_bits < 15 {
        s.push_str(&format!(
            "; server_max_window_bits={}",
            cfg.max_window_bits.clamp(9, 15)
        ));
    }
    s
}

/// Client: checks the server's response to [`offer`] (§7.1): one
/// permessage-deflate, valid parameters that answer what we offered.
pub(crate) fn accept_response(
    exts: &[Extension],
    cfg: &DeflateConfig,
) -> Result<Option<DeflateParams>, String> {
    let ext = match exts {
        [] => return Ok(None),
        [one] => one,
        _ => return Err("more than one extension in the response".into()),
    };
    if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME) {
        return Err(format!("extension {} was not offered", ext.name));
    }
    let r = Offer::parse(ext)?;
    let client_bits = match r.client_max_window_bits {
        None => 15,
        Some(Some(v)) => v,
        Some(None) => return Err("client_max_window_bits needs a value".into()),
    };
    let own = cfg.max_window_bits.clamp(9, 15);
    let server_bits = r.server_max_window_bits.unwrap_or(15);
    if cfg.max_window_bits < 15 && server_bits > own {
        return Err(format!(
            "server_max_window_bits={server_bits} exceeds what we offered"
        ));
    }
    if cfg.no_context_takeover && !r.server_no_context_takeover {
        return Err("server_no_context_takeover was requested and not accepted".into());
    }
    Ok(Some(DeflateParams {
        server_no_context_takeover: r.server_no_context_takeover,
        client_no_context_takeover: r.client_no_context_takeover || cfg.no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }))
}

/// The compression state of one connection.
pub(crate) struct Deflate {
    params: DeflateParams,
    threshold: usize,
    level: Compression,
    /// Our window, 8-15; 8 means we never compress (the backend's smallest
    /// raw window is 9).
    send_bits: u8,
    send_reset: bool,
    recv_bits: u8,
    recv_reset: bool,
    compress: Option<Compress>,
    decompress: Option<Decompress>,
    /// The message being inflated reached the end of a final block: the rest
    /// of it is ignored, and the next message starts a fresh stream.
    ended: bool,
}

impl fmt::Debug for Deflate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflate")
            .field("threshold", &self.threshold)
            .field("send_bits", &self.send_bits)
            .field("recv_bits", &self.recv_bits)
            .finish_non_exhaustive()
    }
}

impl Deflate {
    pub(crate) fn new(role: Role, params: DeflateParams, cfg: &DeflateConfig) -> Deflate {
        let (send_bits, send_reset, recv_bits, recv_reset) = match role {
            Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_max_window_bits,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_max_window_bits,
                params.server_no_context_takeover,
            ),
        };
        Deflate {
            params,
            threshold: cfg.threshold,
            level: Compression::new(cfg.level.min(9)),
            // A smaller window than agreed is always valid (§7.1.2); a
            // client's is not otherwise bounded by its own setting.
            send_bits: send_bits.min(cfg.max_window_bits.clamp(9, 15)),
            send_reset,
            recv_bits,
            recv_reset,
            compress: None,
            decompress: None,
            ended: false,
        }
    }

    pub(crate) fn params(&self) -> DeflateParams {
        self.params
    }

    /// Whether a message of `len` bytes goes out compressed.
    pub(crate) fn wants(&self, len: usize) -> bool {
        self.send_bits >= 9 && len >= self.threshold
    }

    /// Whether a compressor or decompressor is held between messages.
    pub(crate) fn holds_state(&self) -> bool {
        self.compress.is_some() || self.decompress.is_some()
    }

    /// Compresses one whole message (§7.2.1): the deflate stream after a sync
    /// flush, without its trailing empty block. `None` if the backend
    /// failed: the message then goes uncompressed, and the next one starts
    /// a fresh compressor, which never refers back to what the peer has.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Option<Bytes> {
        let (level, bits) = (self.level, self.send_bits);
        let c = self
            .compress
            .get_or_insert_with(|| Compress::new_with_window_bits(level, false, bits));
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start_in = c.total_in();
        let mut ok = loop {
            let done = (c.total_in() - start_in) as usize;
            if c.compress_vec(&data[done..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                break false;
            }
            // A sync flush is complete once it left room in the output.
            if (c.total_in() - start_in) as usize == data.len() && out.len() < out.capacity() {
                break true;
            }
            out.reserve(out.capacity().max(256));
        };
        if out.ends_with(&TRAILER) {
            out.truncate(out.len() - TRAILER.len());
        } else if out.is_empty() {
            // Nothing new since the last flush (an empty message): the
            // backend writes no block at all, so the receiver's appended
            // trailer would be read out of place. One byte, an empty stored
            // block's header, makes it whole (§7.2.3.6).
            out.push(0x00);
        } else {
            ok = false;
        }
        if !ok || self.send_reset {
            self.compress = None;
        }
        ok.then(|| Bytes::from(out))
    }

    /// Inflates one frame's payload of a compressed message onto `out`, and
    /// at the message's end (`fin`) its removed trailer too (§7.2.2).
    ///
    /// `out` never holds more than `max` bytes, nor a capacity past it:
    /// output is made in chunks of at most [`INFLATE_CHUNK`] within the
    /// room left, and at the limit one more byte into a probe tells whether
    /// the message goes past it, so a small input that inflates without end
    /// (a decompression bomb) fails with [`ProtocolError::MessageTooLarge`]
    /// after `max` bytes. `check` sees each new piece (the UTF-8 validator
    /// for text) and may fail early.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max: usize,
        check: &mut dyn FnMut(&[u8]) -> Result<(), ProtocolError>,
    ) -> Result<(), ProtocolError> {
        let bits = self.recv_bits.max(9);
        if !self.ended {
            let d = self
                .decompress
                .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
            self.ended = inflate_into(d, input, out, max, check)?;
            if fin && !self.ended {
                self.ended = inflate_into(d, &TRAILER, out, max, check)?;
            }
        }
        if fin {
            if self.recv_reset || self.ended {
                self.decompress = None;
            }
            self.ended = false;
        }
        Ok(())
    }

    /// Drops what is held between messages (the connection failed or closed).
    pub(crate) fn release(&mut self) {
        self.compress = None;
        self.decompress = None;
        self.ended = false;
    }
}

/// Grows `out` so it has room for `n` more bytes, never past `cap` bytes of
/// capacity where it can help it (a `BytesMut` would double).
fn reserve_bounded(out: &mut BytesMut, n: usize, cap: usize) {
    let need = out.len() + n;
    if out.capacity() >= need {
        return;
    }
    let new_cap = (out.capacity() * 2).clamp(need, cap.max(need));
    let mut grown = BytesMut::with_capacity(new_cap);
    grown.extend_from_slice(out);
    *out = grown;
}

/// Feeds `input` through `d` onto `out`, bounded by `max`. Returns whether
/// the deflate stream ended (a final block).
fn inflate_into(
    d: &mut Decompress,
    mut input: &[u8],
    out: &mut BytesMut,
    max: usize,
    check: &mut dyn FnMut(&[u8]) -> Result<(), ProtocolError>,
) -> Result<bool, ProtocolError> {
    // The first piece is sized to the input (deflate expands at most 1032:1,
    // but a frame usually far less): the room is zeroed before inflating into
    // it, and a peer sending many tiny frames must not cost a chunk each.
    let mut chunk = input.len().saturating_mul(4).clamp(256, INFLATE_CHUNK);
    loop {
        let len = out.len();
        let room = max.saturating_sub(len).min(chunk);
        chunk = INFLATE_CHUNK;
        let (in0, out0) = (d.total_in(), d.total_out());
        let status = if room == 0 {
            // At the limit: one byte more, into a probe, says whether the
            // message goes past it.
            d.decompress(input, &mut [0u8; 1], FlushDecompress::Sync)
        } else {
            reserve_bounded(out, room, max);
            out.resize(len + room, 0);
            let status = d.decompress(input, &mut out[len..], FlushDecompress::Sync);
            out.truncate(len + (d.total_out() - out0) as usize);
            status
        };
        let consumed = (d.total_in() - in0) as usize;
        let produced = (d.total_out() - out0) as usize;
        let status = status.map_err(|_| ProtocolError::InvalidCompressedData)?;
        if room == 0 && produced > 0 {
            return Err(ProtocolError::MessageTooLarge {
                size: len as u64 + 1,
                max,
            });
        }
        check(&out[len..])?;
        input = &input[consumed..];
        if status == Status::StreamEnd {
            return Ok(true);
        }
        if input.is_empty() && (room == 0 || produced < room) {
            return Ok(false);
        }
        if consumed == 0 && produced == 0 {
            // No progress with input left and room to write: not deflate.
            return Err(ProtocolError::InvalidCompressedData);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts(s: &str) -> Vec<Extension> {
        parse_extensions(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_lists_params_and_quotes() {
        let e = exts(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", , x-foo ;a=b,permessage-deflate",
        );
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "permessage-deflate");
        assert_eq!(
            e[0].params,
            [
                ("client_max_window_bits".to_owned(), None),
                ("server_max_window_bits".to_owned(), Some("10".to_owned()))
            ]
        );
        assert_eq!(e[1].name, "x-foo");
        assert_eq!(e[1].params, [("a".to_owned(), Some("b".to_owned()))]);
        for bad in [
            "permessage-deflate;",
            "permessage-deflate; a=",
            "permessage-deflate; a=\"x y\"",
            "permessage-deflate; a=\"unterminated",
            "permessage deflate",
            "permessage-deflate; =1",
            "\"quoted\"",
        ] {
            assert_eq!(
                parse_extensions(bad.as_bytes()),
                Err(ExtensionSyntaxError),
                "{bad}"
            );
        }
        assert_eq!(exts(""), []);
    }

    #[test]
    fn server_picks_the_first_acceptable_offer() {
        let cfg = DeflateConfig::default();
        let pick = |s: &str| negotiate(&exts(s), &cfg).map(|(_, r)| r);
        assert_eq!(
            pick("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            pick("permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
        // Unknown, duplicate, invalid: declined, the next offer is taken.
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_no_context_takeover=1",
        ] {
            assert_eq!(pick(bad), None, "{bad}");
            let two = format!("{bad}, permessage-deflate; server_no_context_takeover");
            assert_eq!(
                pick(&two).as_deref(),
                Some("permessage-deflate; server_no_context_takeover"),
                "{two}"
            );
        }
        assert_eq!(pick("x-webkit-deflate-frame"), None);
        let (p, r) = negotiate(
            &exts("permessage-deflate; server_max_window_bits=\"9\"; client_max_window_bits=10; client_no_context_takeover"),
            &cfg,
        )
        .unwrap();
        assert_eq!(
            r,
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=9; \
             client_max_window_bits=10"
        );
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (9, 10)
        );
        assert!(p.client_no_context_takeover && !p.server_no_context_takeover);
        // The server may impose no context takeover and a smaller window.
        let small = DeflateConfig {
            no_context_takeover: true,
            max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let (_, r) =
            negotiate(&exts("permessage-deflate; client_max_window_bits"), &small).unwrap();
        assert_eq!(
            r,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=10"
        );
    }

    #[test]
    fn client_checks_the_response() {
        let cfg = DeflateConfig::default();
        let check = |s: &str| accept_response(&exts(s), &cfg);
        assert_eq!(check(""), Ok(None));
        let p = check("permessage-deflate; server_no_context_takeover; client_max_window_bits=9")
            .unwrap()
            .unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!(p.client_max_window_bits, 9);
        for bad in [
            "x-other",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; bogus",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        let nct = DeflateConfig {
            no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert!(accept_response(&exts("permessage-deflate"), &nct).is_err());
        assert_eq!(
            offer(&nct),
            "permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn compress_inflate_roundtrip_with_and_without_takeover() {
        // Under the 1 KiB window, so a repeat can refer to all of it.
        let text: Vec<u8> = (0..30)
            .flat_map(|i| format!("{{\"id\":{i},\"n\":\"u{}\"}}", i * 7919 % 1000).into_bytes())
            .collect();
        assert!(text.len() < 1000);
        for reset in [false, true] {
            let params = DeflateParams {
                server_no_context_takeover: reset,
                client_no_context_takeover: reset,
                server_max_window_bits: 10,
                client_max_window_bits: 15,
            };
            let cfg = DeflateConfig::default();
            let mut tx = Deflate::new(Role::Server, params, &cfg);
            let mut rx = Deflate::new(Role::Client, params, &cfg);
            let mut sizes = Vec::new();
            for _ in 0..3 {
                let z = tx.compress(&text).unwrap();
                sizes.push(z.len());
                assert!(z.len() < text.len());
                let mut out = BytesMut::new();
                rx.inflate(&z, true, &mut out, 1 << 20, &mut |_| Ok(()))
                    .unwrap();
                assert_eq!(&out[..], &text[..]);
                assert_eq!(tx.holds_state(), !reset);
                assert_eq!(rx.holds_state(), !reset);
            }
            // With the window kept, the repeat costs almost nothing.
            assert_eq!(sizes[1] < sizes[0] / 4, !reset, "{sizes:?}");
        }
    }

    #[test]
    fn empty_messages_keep_the_stream_in_step() {
        // zlib writes nothing for a sync flush with nothing new: each empty
        // message must still be a whole block for the receiver.
        for bits in [9, 15] {
            let p = DeflateParams {
                client_max_window_bits: bits,
                ..DeflateParams::default()
            };
            let cfg = DeflateConfig::default();
            let mut tx = Deflate::new(Role::Client, p, &cfg);
            let mut rx = Deflate::new(Role::Server, p, &cfg);
            for msg in [&b""[..], b"", b"", b"abc", b"", b"abc"] {
                let z = tx.compress(msg).unwrap();
                let mut out = BytesMut::new();
                rx.inflate(&z, true, &mut out, 100, &mut |_| Ok(()))
                    .unwrap();
                assert_eq!(&out[..], msg);
            }
        }
    }

    #[test]
    fn tiny_fragments_do_not_each_zero_a_chunk() {
        // A message sent as one-byte frames: each inflate call readies room
        // for the output it may make, sized to its input, not a whole chunk.
        let mut tx = Deflate::new(
            Role::Client,
            DeflateParams::default(),
            &DeflateConfig::default(),
        );
        let z = tx.compress(b"hello hello hello hello").unwrap();
        let mut rx = Deflate::new(
            Role::Server,
            DeflateParams::default(),
            &DeflateConfig::default(),
        );
        let mut out = BytesMut::new();
        for (i, b) in z.iter().enumerate() {
            let fin = i + 1 == z.len();
            rx.inflate(&[*b], fin, &mut out, 1 << 20, &mut |_| Ok(()))
                .unwrap();
            assert!(out.capacity() <= 1024, "{}", out.capacity());
        }
        assert_eq!(&out[..], b"hello hello hello hello");
    }

    #[test]
    fn a_client_compresses_within_its_own_window() {
        let cfg = DeflateConfig {
            max_window_bits: 9,
            ..DeflateConfig::default()
        };
        // The server allowed 15 bits (no client_max_window_bits answered).
        let d = Deflate::new(Role::Client, DeflateParams::default(), &cfg);
        assert_eq!(d.send_bits, 9);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let mut tx = Deflate::new(
            Role::Client,
            DeflateParams::default(),
            &DeflateConfig::default(),
        );
        let z = tx.compress(&vec![0u8; 64 << 20]).unwrap();
        assert!(z.len() < 128 << 10, "{}", z.len());
        let mut rx = Deflate::new(
            Role::Server,
            DeflateParams::default(),
            &DeflateConfig::default(),
        );
        let mut out = BytesMut::new();
        let max = 1 << 20;
        let err = rx
            .inflate(&z, true, &mut out, max, &mut |_| Ok(()))
            .unwrap_err();
        assert!(
            matches!(err, ProtocolError::MessageTooLarge { .. }),
            "{err:?}"
        );
        assert!(
            out.len() <= max && out.capacity() <= max,
            "{} {}",
            out.len(),
            out.capacity()
        );
    }
}
