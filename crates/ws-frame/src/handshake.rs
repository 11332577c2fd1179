//! The opening handshake (RFC 6455 §4), both roles, without I/O.
//!
//! Server: [`parse_request`] reads a request head, [`UpgradeRequest::check`]
//! applies §4.2.1, and [`UpgradeRequest::accept`] builds the 101 response; the
//! caller looks at the request (Origin, path, cookies, subprotocols) in
//! between and may answer with [`encode_rejection`] instead.
//!
//! Client: [`ClientRequest`] builds the request from a URL and a key from the
//! caller's random source, and [`ClientRequest::parse_response`] checks the
//! answer (§4.1).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use sha1::{Digest, Sha1};

#[cfg(feature = "deflate")]
use crate::deflate::{self, DeflateConfig, DeflateParams};
use crate::error::HandshakeError;

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Limits on the opening handshake.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HandshakeConfig {
    /// The largest request or response head, in bytes. Default 16 KiB: room
    /// for browser cookies, small enough that a slow sender cannot make a
    /// server hold much. Past it a server answers 431.
    pub max_head_size: usize,
    /// The most header lines. Default 64. Past it a server answers 431.
    pub max_headers: usize,
    /// How long the tokio `accept` and `connect` helpers give the whole
    /// handshake, from their call until the 101 response is written (server)
    /// or read (client); past it the transport is closed, after a 408 if the
    /// request head was still arriving. Default 10 s: in the range of the
    /// request-header timeouts HTTP servers use against slow senders
    /// (Apache's `RequestReadTimeout header=20-40`, often set to 10-20;
    /// HAProxy's `timeout http-request`, 5-10 s in its examples), so a
    /// client that dribbles its request holds a connection only that long.
    pub timeout: Duration,
}

impl Default for HandshakeConfig {
    fn default() -> Self {
        HandshakeConfig {
            max_head_size: 16 << 10,
            max_headers: 64,
            timeout: Duration::from_secs(10),
        }
    }
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§4.2.2 step 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    BASE64.encode(sha.finalize())
}

fn http_error(e: httparse::Error) -> HandshakeError {
    HandshakeError::Http(e)
}

fn incomplete(buf: &[u8], cfg: &HandshakeConfig) -> Result<(), HandshakeError> {
    if buf.len() > cfg.max_head_size {
        return Err(HandshakeError::HeadTooLarge(cfg.max_head_size));
    }
    Ok(())
}

fn header_map(headers: &[httparse::Header<'_>]) -> Result<HeaderMap, HandshakeError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| http_error(httparse::Error::HeaderName))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|_| http_error(httparse::Error::HeaderValue))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Whether any `name` header holds `token` in its comma-separated list,
/// ignoring ASCII case (`Connection: keep-alive, Upgrade`).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// Whether the `name` header is on more than one line.
fn appears_twice(headers: &HeaderMap, name: HeaderName) -> bool {
    headers.get_all(name).iter().nth(1).is_some()
}

fn comma_list(headers: &HeaderMap, name: HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Parses a request head from the front of `buf`.
///
/// `Ok(None)`: the head is not complete yet. `Ok(Some((request, head_len)))`:
/// the bytes after `head_len` already belong to the WebSocket stream.
pub fn parse_request(
    buf: &[u8],
    cfg: &HandshakeConfig,
) -> Result<Option<(http::Request<()>, usize)>, HandshakeError> {
    let mut headers = vec![httparse::EMPTY_HEADER; cfg.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let n = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return incomplete(buf, cfg).map(|()| None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HandshakeError::HeadTooLarge(cfg.max_head_size));
        }
        Err(e) => return Err(http_error(e)),
    };
    if n > cfg.max_head_size {
        return Err(HandshakeError::HeadTooLarge(cfg.max_head_size));
    }
    let mut out = http::Request::new(());
    *out.method_mut() = http::Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| http_error(httparse::Error::Token))?;
    *out.uri_mut() = req
        .path
        .unwrap_or("/")
        .parse()
        .map_err(|_| http_error(httparse::Error::Token))?;
    *out.version_mut() = match req.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    *out.headers_mut() = header_map(req.headers)?;
    Ok(Some((out, n)))
}

/// A request that passed §4.2.1: a WebSocket upgrade the server may accept.
#[derive(Debug)]
pub struct UpgradeRequest {
    request: http::Request<()>,
    protocols: Vec<String>,
}

impl UpgradeRequest {
    /// Applies the rules of §4.2.1 to a parsed request.
    pub fn check(request: http::Request<()>) -> Result<UpgradeRequest, HandshakeError> {
        if request.method() != http::Method::GET {
            return Err(HandshakeError::MethodNotGet);
        }
        if request.version() < http::Version::HTTP_11 {
            return Err(HandshakeError::HttpVersionTooOld);
        }
        let h = request.headers();
        if !h.contains_key(header::HOST) {
            return Err(HandshakeError::MissingHost);
        }
        if !has_token(h, header::UPGRADE, "websocket") {
            return Err(HandshakeError::MissingUpgradeWebSocket);
        }
        if !has_token(h, header::CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        // Checked before their values: a second copy would go unread.
        if appears_twice(h, header::SEC_WEBSOCKET_VERSION) {
            return Err(HandshakeError::DuplicateSecWebSocketVersion);
        }
        if appears_twice(h, header::SEC_WEBSOCKET_KEY) {
            return Err(HandshakeError::DuplicateSecWebSocketKey);
        }
        if h.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = h
            .get(header::SEC_WEBSOCKET_KEY)
            .ok_or(HandshakeError::MissingSecWebSocketKey)?;
        match BASE64.decode(key.as_bytes()) {
            Ok(raw) if raw.len() == 16 => {}
            _ => return Err(HandshakeError::InvalidSecWebSocketKey),
        }
        let protocols = comma_list(h, header::SEC_WEBSOCKET_PROTOCOL);
        Ok(UpgradeRequest { request, protocols })
    }

    /// The request, for the caller's own checks (Origin, path, auth).
    pub fn request(&self) -> &http::Request<()> {
        &self.request
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The `Origin` header, if any (browsers always send it).
    pub fn origin(&self) -> Option<&str> {
        self.request.headers().get(header::ORIGIN)?.to_str().ok()
    }

    /// The 101 response that accepts the upgrade, selecting `protocol`, which
    /// must be one the client offered (else it is left out).
    pub fn accept(&self, protocol: Option<&str>) -> http::Response<()> {
        let key = &self.request.headers()[header::SEC_WEBSOCKET_KEY];
        let mut resp = http::Response::new(());
        *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        let h = resp.headers_mut();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        let accept = accept_key(key.as_bytes());
        h.insert(
            header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
        );
        if let Some(p) = protocol.filter(|p| self.protocols.iter().any(|o| o == p)) {
            if let Ok(v) = HeaderValue::from_str(p) {
                h.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
            }
        }
        resp
    }

    /// permessage-deflate for this request (RFC 7692 §7): the first offer
    /// we can honour under `cfg`, with the `Sec-WebSocket-Extensions` value
    /// that accepts it; `None` (answer with no extension) if there is none,
    /// or if the header breaks the grammar. Offers with unknown or repeated
    /// parameters or invalid values are declined, as the RFC requires.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self, cfg: &DeflateConfig) -> Option<(DeflateParams, HeaderValue)> {
        let lines = self
            .request
            .headers()
            .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.as_bytes());
        let offers = deflate::parse_header_lines(lines).ok()?;
        let (params, value) = deflate::negotiate(&offers, cfg)?;
        Some((params, HeaderValue::from_str(&value).ok()?))
    }

    /// [`accept`](Self::accept), with permessage-deflate accepted as
    /// [`deflate`](Self::deflate) decides: the response carries its
    /// `Sec-WebSocket-Extensions`, and the parameters go to
    /// [`Connection::with_deflate`](crate::Connection::with_deflate).
    #[cfg(feature = "deflate")]
    pub fn accept_deflate(
        &self,
        protocol: Option<&str>,
        cfg: &DeflateConfig,
    ) -> (http::Response<()>, Option<DeflateParams>) {
        let mut resp = self.accept(protocol);
        let params = self.deflate(cfg).map(|(params, value)| {
            resp.headers_mut()
                .insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
            params
        });
        (resp, params)
    }
}

/// Writes a response head (status line, headers, blank line) to `dst`.
pub fn encode_response(resp: &http::Response<()>, dst: &mut Vec<u8>) {
    let status = resp.status();
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    dst.extend_from_slice(b"\r\n");
    write_headers(resp.headers(), dst);
}

fn write_headers(headers: &HeaderMap, dst: &mut Vec<u8>) {
    for (name, value) in headers {
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

/// A complete refusal: `status` with a short text body, closing the
/// connection. For 426 it names the version spoken (§4.4).
pub fn encode_rejection(status: u16, body: &str) -> Vec<u8> {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let mut resp = http::Response::new(());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if status == http::StatusCode::UPGRADE_REQUIRED {
        h.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    let mut out = Vec::with_capacity(128 + body.len());
    encode_response(&resp, &mut out);
    out.extend_from_slice(body.as_bytes());
    out
}

/// The client side: a request for a `ws://` or `wss://` URL.
#[derive(Clone, Debug)]
pub struct ClientRequest {
    host: String,
    hostname: String,
    port: u16,
    secure: bool,
    path: String,
    key: String,
    protocols: Vec<String>,
    headers: HeaderMap,
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateConfig>,
}

impl ClientRequest {
    /// A request for `url` with `key`, 16 bytes from the caller's random
    /// source (§4.1 asks for a nonce chosen at random).
    pub fn new(url: &str, key: [u8; 16]) -> Result<ClientRequest, HandshakeError> {
        let bad = || HandshakeError::InvalidUrl(url.to_owned());
        let uri: http::Uri = url.parse().map_err(|_| bad())?;
        let (secure, default_port) = match uri.scheme_str() {
            Some("ws") => (false, 80),
            Some("wss") => (true, 443),
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?;
        if authority.as_str().contains('@') {
            return Err(bad());
        }
        let port = authority.port_u16().unwrap_or(default_port);
        let host = match port {
            p if p != default_port => format!("{}:{p}", authority.host()),
            _ => authority.host().to_owned(),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(ClientRequest {
            host,
            hostname: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            secure,
            path,
            key: BASE64.encode(key),
            protocols: Vec::new(),
            headers: HeaderMap::new(),
            #[cfg(feature = "deflate")]
            deflate: None,
        })
    }

    /// Offers subprotocols, in order of preference.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.protocols = p.into_iter().map(Into::into).collect();
        self
    }

    /// Offers permessage-deflate (RFC 7692): `client_max_window_bits`, and
    /// with [`DeflateConfig::no_context_takeover`] both no-context-takeover
    /// parameters, as Node's `ws` client offers by default.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, cfg: DeflateConfig) -> Self {
        self.deflate = Some(cfg);
        self
    }

    /// Whether permessage-deflate is offered.
    #[cfg(feature = "deflate")]
    pub fn offers_deflate(&self) -> bool {
        self.deflate.is_some()
    }

    /// The permessage-deflate parameters a response accepted (pass them to
    /// [`Connection::with_deflate`](crate::Connection::with_deflate)), `None`
    /// when it declined. Fails as [`parse_response`](Self::parse_response)
    /// does on a response that must fail the connection (RFC 7692 §7): an
    /// extension not offered, parameters not offered or invalid.
    #[cfg(feature = "deflate")]
    pub fn deflate_response(
        &self,
        resp: &http::Response<()>,
    ) -> Result<Option<DeflateParams>, HandshakeError> {
        let h = resp.headers();
        if !h.contains_key(header::SEC_WEBSOCKET_EXTENSIONS) {
            return Ok(None);
        }
        let Some(cfg) = &self.deflate else {
            return Err(HandshakeError::UnofferedExtension);
        };
        let lines = h
            .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.as_bytes());
        let exts = deflate::parse_header_lines(lines)
            .map_err(|e| HandshakeError::InvalidExtensionResponse(e.to_string()))?;
        deflate::accept_response(&exts, cfg).map_err(HandshakeError::InvalidExtensionResponse)
    }

    /// Adds a header (Origin, Authorization, Cookie, ...).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The `Host` header value: the URL's host, with its port unless that
    /// is the scheme's default.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL's host, without the port (an IPv6 address without its
    /// brackets): the name to dial, and the name a TLS certificate must be
    /// valid for.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The URL's port, or the scheme's default (80 for `ws://`, 443 for
    /// `wss://`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL is `wss://`: the connection must speak TLS (§3, the
    /// "secure" flag).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// What the browser client needs: the path with its query, the
    /// subprotocols offered, and the headers (which a page cannot send).
    #[cfg(all(feature = "browser", target_arch = "wasm32"))]
    pub(crate) fn browser_parts(&self) -> (&str, &[String], &HeaderMap) {
        (&self.path, &self.protocols, &self.headers)
    }

    /// The request head to write.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(b"\r\n");
        if !self.protocols.is_empty() {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            out.extend_from_slice(self.protocols.join(", ").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        #[cfg(feature = "deflate")]
        if let Some(cfg) = &self.deflate {
            out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            out.extend_from_slice(deflate::offer(cfg).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        write_headers(&self.headers, &mut out);
        out
    }

    /// Parses and checks the server's answer from the front of `buf` (§4.1).
    ///
    /// `Ok(None)`: incomplete. `Ok(Some((response, head_len)))`: accepted; the
    /// bytes after `head_len` already belong to the WebSocket stream. The
    /// selected subprotocol is the response's `Sec-WebSocket-Protocol`.
    pub fn parse_response(
        &self,
        buf: &[u8],
        cfg: &HandshakeConfig,
    ) -> Result<Option<(http::Response<()>, usize)>, HandshakeError> {
        let mut headers = vec![httparse::EMPTY_HEADER; cfg.max_headers];
        let mut resp = httparse::Response::new(&mut headers);
        let n = match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return incomplete(buf, cfg).map(|()| None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::HeadTooLarge(cfg.max_head_size));
            }
            Err(e) => return Err(http_error(e)),
        };
        let code = resp.code.unwrap_or(0);
        if code != 101 {
            return Err(HandshakeError::UnexpectedStatus(code));
        }
        let mut out = http::Response::new(());
        *out.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        *out.headers_mut() = header_map(resp.headers)?;
        let h = out.headers();
        if !has_token(h, header::UPGRADE, "websocket") {
            return Err(HandshakeError::MissingUpgradeWebSocket);
        }
        if !has_token(h, header::CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        if appears_twice(h, header::SEC_WEBSOCKET_ACCEPT) {
            return Err(HandshakeError::DuplicateSecWebSocketAccept);
        }
        let expected = accept_key(self.key.as_bytes());
        if h.get(header::SEC_WEBSOCKET_ACCEPT).map(|v| v.as_bytes()) != Some(expected.as_bytes()) {
            return Err(HandshakeError::WrongAccept);
        }
        if let Some(p) = h.get(header::SEC_WEBSOCKET_PROTOCOL) {
            let p = String::from_utf8_lossy(p.as_bytes()).into_owned();
            if !self.protocols.contains(&p) {
                return Err(HandshakeError::UnofferedSubprotocol(p));
            }
        }
        #[cfg(feature = "deflate")]
        self.deflate_response(&out)?;
        #[cfg(not(feature = "deflate"))]
        if h.contains_key(header::SEC_WEBSOCKET_EXTENSIONS) {
            return Err(HandshakeError::UnofferedExtension);
        }
        Ok(Some((out, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn check(raw: &[u8]) -> Result<UpgradeRequest, HandshakeError> {
        let (req, n) = parse_request(raw, &HandshakeConfig::default())?.unwrap();
        assert_eq!(n, raw.len());
        UpgradeRequest::check(req)
    }

    #[test]
    fn rfc_accept_key() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn accepts_the_rfc_request() {
        let up = check(RFC_REQUEST).unwrap();
        assert_eq!(up.protocols(), ["chat", "superchat"]);
        assert_eq!(up.origin(), Some("http://example.com"));
        assert_eq!(up.request().uri().path(), "/chat");
        let resp = up.accept(Some("chat"));
        let mut bytes = Vec::new();
        encode_response(&resp, &mut bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.contains("sec-websocket-protocol: chat\r\n"));
        // An unoffered protocol is never selected.
        assert!(
            !up.accept(Some("other"))
                .headers()
                .contains_key(header::SEC_WEBSOCKET_PROTOCOL)
        );
    }

    #[test]
    fn partial_heads_need_more() {
        for cut in 0..RFC_REQUEST.len() {
            let got = parse_request(&RFC_REQUEST[..cut], &HandshakeConfig::default()).unwrap();
            assert!(got.is_none(), "cut {cut}");
        }
    }

    #[test]
    fn each_rule_has_its_error() {
        let swap = |from: &str, to: &str| {
            let s = std::str::from_utf8(RFC_REQUEST).unwrap().replace(from, to);
            check(s.as_bytes()).unwrap_err()
        };
        assert_eq!(swap("GET", "POST"), HandshakeError::MethodNotGet);
        assert_eq!(
            swap("HTTP/1.1", "HTTP/1.0"),
            HandshakeError::HttpVersionTooOld
        );
        assert_eq!(
            swap("Host: server.example.com\r\n", ""),
            HandshakeError::MissingHost
        );
        assert_eq!(
            swap("Upgrade: websocket", "Upgrade: h2c"),
            HandshakeError::MissingUpgradeWebSocket
        );
        assert_eq!(
            swap("keep-alive, Upgrade", "keep-alive"),
            HandshakeError::MissingConnectionUpgrade
        );
        assert_eq!(
            swap("Version: 13", "Version: 8"),
            HandshakeError::UnsupportedVersion
        );
        assert_eq!(
            swap("Sec-WebSocket-Key", "X-Key"),
            HandshakeError::MissingSecWebSocketKey
        );
        assert_eq!(
            swap("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
            HandshakeError::InvalidSecWebSocketKey
        );
        assert_eq!(HandshakeError::UnsupportedVersion.status(), 426);
        let too_big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(20 << 10));
        let err = parse_request(too_big.as_bytes(), &HandshakeConfig::default()).unwrap_err();
        assert_eq!(err.status(), 431);
    }

    #[test]
    fn key_and_version_must_appear_once() {
        // §11.3.1, §11.3.5: a second line is refused even when both hold
        // valid values (the first one alone would pass).
        let key_twice: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
        let err = check(key_twice).unwrap_err();
        assert_eq!(err, HandshakeError::DuplicateSecWebSocketKey);
        assert_eq!(err.status(), 400);
        let version_twice: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
sec-websocket-version: 13\r\n\r\n";
        let err = check(version_twice).unwrap_err();
        assert_eq!(err, HandshakeError::DuplicateSecWebSocketVersion);
        assert_eq!(err.status(), 400, "a bad request, not 426");
        // The same rule for the server's accept key (§11.3.3).
        let req = ClientRequest::new("ws://x/", [3; 16]).unwrap();
        let mut resp = Vec::new();
        encode_response(&check(&req.encode()).unwrap().accept(None), &mut resp);
        let resp = String::from_utf8(resp).unwrap().replace(
            "\r\n\r\n",
            "\r\nsec-websocket-accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
        );
        assert_eq!(
            req.parse_response(resp.as_bytes(), &HandshakeConfig::default())
                .unwrap_err(),
            HandshakeError::DuplicateSecWebSocketAccept
        );
    }

    #[test]
    fn rejection_names_the_version() {
        let r = String::from_utf8(encode_rejection(426, "upgrade required")).unwrap();
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(r.contains("sec-websocket-version: 13\r\n"));
        assert!(r.ends_with("\r\n\r\nupgrade required"));
    }

    #[test]
    fn client_request_and_response() {
        let req = ClientRequest::new("ws://example.com:9001/runCase?case=1", [7; 16])
            .unwrap()
            .protocols(["chat"]);
        let raw = req.encode();
        // Our server side accepts what our client side sends.
        let up = check(&raw).unwrap();
        assert_eq!(up.request().uri().to_string(), "/runCase?case=1");
        assert_eq!(up.request().headers()["host"], "example.com:9001");
        let mut resp = Vec::new();
        encode_response(&up.accept(Some("chat")), &mut resp);
        resp.extend_from_slice(b"\x81\x00");
        let cfg = HandshakeConfig::default();
        let (r, n) = req.parse_response(&resp, &cfg).unwrap().unwrap();
        assert_eq!(&resp[n..], b"\x81\x00");
        assert_eq!(r.headers()["sec-websocket-protocol"], "chat");
        for cut in 0..n {
            assert!(req.parse_response(&resp[..cut], &cfg).unwrap().is_none());
        }
        let tampered = String::from_utf8_lossy(&resp).replace("101 Switching", "200 OK");
        assert_eq!(
            req.parse_response(tampered.as_bytes(), &cfg).unwrap_err(),
            HandshakeError::UnexpectedStatus(200)
        );
        let other = ClientRequest::new("ws://example.com:9001/", [8; 16]).unwrap();
        assert_eq!(
            other.parse_response(&resp, &cfg).unwrap_err(),
            HandshakeError::WrongAccept
        );
        assert!(matches!(
            ClientRequest::new("http://x/", [0; 16]),
            Err(HandshakeError::InvalidUrl(_))
        ));
        assert_eq!(
            ClientRequest::new("ws://h:80/", [0; 16]).unwrap().host(),
            "h"
        );
    }

    #[test]
    fn client_request_knows_where_to_dial() {
        let at = |url| {
            let r = ClientRequest::new(url, [0; 16]).unwrap();
            (
                r.hostname().to_owned(),
                r.port(),
                r.is_secure(),
                r.host().to_owned(),
            )
        };
        let s = |h: &str| h.to_owned();
        assert_eq!(at("ws://h/"), (s("h"), 80, false, s("h")));
        assert_eq!(at("wss://h/x"), (s("h"), 443, true, s("h")));
        assert_eq!(at("wss://h:80/"), (s("h"), 80, true, s("h:80")));
        assert_eq!(
            at("wss://[::1]:8443/"),
            (s("::1"), 8443, true, s("[::1]:8443"))
        );
    }
}
