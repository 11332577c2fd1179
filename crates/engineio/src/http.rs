//! Just enough HTTP/1.1 for Engine.IO, both roles: request heads (through
//! ws-frame's httparse-based parser) and response heads, bodies by
//! Content-Length or chunked with a size limit, keep-alive.

use bytes::{Buf, Bytes, BytesMut};
use http::header;
use tokio::io::{AsyncRead, AsyncReadExt};
#[cfg(feature = "server")]
use tokio::io::{AsyncWrite, AsyncWriteExt};
use ws_frame::handshake::HandshakeConfig;

#[cfg(feature = "server")]
/// A request whose body has been read.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) head: http::Request<()>,
    pub(crate) body: Bytes,
}

/// Why no request could be read; each maps to the answer given before the
/// connection is closed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client went away (or sent nothing more) between requests.
    Eof,
    /// A malformed or oversized head: 400 or 431.
    // The server answers with its status; the client only needs to know it failed.
    Head(#[cfg_attr(not(feature = "server"), allow(dead_code))] ws_frame::HandshakeError),
    /// A body over the limit: 413.
    TooLarge,
    /// A malformed body encoding: 400.
    BadBody,
    /// The request did not arrive in full within its deadline: 408.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    TimedOut,
    /// No request began within the deadline (an idle kept-alive
    /// connection): closed without an answer.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    Idle,
    Io,
}

#[cfg(feature = "server")]
/// When a request must have arrived: its head by `head`, all of it by `whole`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    pub(crate) head: tokio::time::Instant,
    pub(crate) whole: tokio::time::Instant,
}

#[cfg(feature = "server")]
/// Reads the next request from `io`, using and refilling `buf`, within
/// `deadlines`.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    hs: &HandshakeConfig,
    max_body: usize,
    deadlines: Deadlines,
) -> Result<Request, ReadError> {
    let head = async {
        loop {
            match ws_frame::handshake::parse_request(buf, hs) {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => return Err(ReadError::Head(e)),
            }
            if fill(io, buf).await? == 0 {
                return Err(ReadError::Eof);
            }
        }
    };
    let (head, n) = match tokio::time::timeout_at(deadlines.head, head).await {
        Ok(r) => r?,
        Err(_) if buf.is_empty() => return Err(ReadError::Idle),
        Err(_) => return Err(ReadError::TimedOut),
    };
    buf.advance(n);
    let body = read_body(io, buf, head.headers(), max_body, false);
    let body = tokio::time::timeout_at(deadlines.whole, body)
        .await
        .map_err(|_| ReadError::TimedOut)??;
    Ok(Request { head, body })
}

/// A response, as a client reads it.
#[cfg(feature = "client")]
#[derive(Debug)]
pub(crate) struct ClientResponse {
    pub(crate) status: u16,
    pub(crate) keep_alive: bool,
    pub(crate) body: Bytes,
    /// Its `Content-Encoding`, if any.
    pub(crate) content_encoding: Option<http::HeaderValue>,
}

/// Reads one response from `io`, using and refilling `buf`.
#[cfg(feature = "client")]
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    hs: &HandshakeConfig,
    max_body: usize,
) -> Result<ClientResponse, ReadError> {
    let (status, keep_alive, headers, n) = loop {
        let mut slots = vec![httparse::EMPTY_HEADER; hs.max_headers];
        let mut resp = httparse::Response::new(&mut slots);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let mut headers = http::HeaderMap::new();
                for h in resp.headers.iter() {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::from_bytes(h.name.as_bytes()),
                        http::HeaderValue::from_bytes(h.value),
                    ) {
                        headers.append(k, v);
                    }
                }
                let close = headers
                    .get(header::CONNECTION)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                let keep = resp.version == Some(1) && !close;
                break (resp.code.unwrap_or(0), keep, headers, n);
            }
            Ok(httparse::Status::Partial) if buf.len() <= hs.max_head_size => {}
            Ok(httparse::Status::Partial) => {
                let e = ws_frame::HandshakeError::HeadTooLarge(hs.max_head_size);
                return Err(ReadError::Head(e));
            }
            Err(e) => return Err(ReadError::Head(ws_frame::HandshakeError::Http(e))),
        }
        if fill(io, buf).await? == 0 {
            return Err(ReadError::Eof);
        }
    };
    buf.advance(n);
    let body = read_body(io, buf, &headers, max_body, !keep_alive).await?;
    Ok(ClientResponse {
        status,
        keep_alive,
        body,
        content_encoding: headers.get(header::CONTENT_ENCODING).cloned(),
    })
}

/// A body framed by `Transfer-Encoding: chunked` or `Content-Length`; a
/// response with neither runs to the end of the connection (`to_eof`).
async fn read_body<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    headers: &http::HeaderMap,
    max_body: usize,
    to_eof: bool,
) -> Result<Bytes, ReadError> {
    let chunked = headers
        .get(header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return read_chunked(io, buf, max_body).await;
    }
    let len = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or(ReadError::BadBody)?,
        None if to_eof => {
            while fill(io, buf).await? > 0 {
                if buf.len() > max_body {
                    return Err(ReadError::TooLarge);
                }
            }
            return Ok(buf.split().freeze());
        }
        None => 0,
    };
    if len > max_body {
        return Err(ReadError::TooLarge);
    }
    while buf.len() < len {
        if fill(io, buf).await? == 0 {
            return Err(ReadError::Eof);
        }
    }
    Ok(buf.split_to(len).freeze())
}

async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut) -> Result<usize, ReadError> {
    buf.reserve(4096);
    io.read_buf(buf).await.map_err(|_| ReadError::Io)
}

async fn read_chunked<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
    max_body: usize,
) -> Result<Bytes, ReadError> {
    let mut body = BytesMut::new();
    loop {
        let (start, size) = loop {
            match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete(r)) => break r,
                Ok(httparse::Status::Partial) if buf.len() < 1024 => {}
                _ => return Err(ReadError::BadBody),
            }
            if fill(io, buf).await? == 0 {
                return Err(ReadError::Eof);
            }
        };
        let size = usize::try_from(size).map_err(|_| ReadError::TooLarge)?;
        if body.len().saturating_add(size) > max_body {
            return Err(ReadError::TooLarge);
        }
        buf.advance(start);
        // The chunk and its CRLF.
        while buf.len() < size + 2 {
            if fill(io, buf).await? == 0 {
                return Err(ReadError::Eof);
            }
        }
        if &buf[size..size + 2] != b"\r\n" {
            return Err(ReadError::BadBody);
        }
        if size == 0 {
            // No trailers are expected; the final CRLF ends the body.
            buf.advance(2);
            return Ok(body.freeze());
        }
        body.extend_from_slice(&buf[..size]);
        buf.advance(size + 2);
    }
}

#[cfg(feature = "server")]
/// Whether the connection stays open after answering `req`.
pub(crate) fn keep_alive(req: &http::Request<()>) -> bool {
    let conn = req.headers().get(header::CONNECTION).map(|v| v.as_bytes());
    match req.version() {
        http::Version::HTTP_10 => conn.is_some_and(|v| v.eq_ignore_ascii_case(b"keep-alive")),
        _ => !conn.is_some_and(|v| v.eq_ignore_ascii_case(b"close")),
    }
}

#[cfg(feature = "server")]
/// Closes after an error answer without losing it: shut our side, then
/// read and discard what the client is still sending (a body we refused),
/// for at most 1 s and `max` bytes. Closing with unread data would reset the
/// connection, and the client might never see the answer.
pub(crate) async fn linger_close<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, max: usize) {
    let _ = io.shutdown().await;
    let mut sink = [0u8; 8192];
    let mut left = max;
    let drain = async {
        while left > 0 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
}

#[cfg(feature = "server")]
/// A response to write.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

#[cfg(feature = "server")]
impl Response {
    pub(crate) fn new(status: u16, content_type: &'static str, body: Bytes) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body,
        }
    }

    pub(crate) fn text(status: u16, body: impl Into<Bytes>) -> Response {
        Response::new(status, "text/plain; charset=UTF-8", body.into())
    }
}

#[cfg(feature = "server")]
/// Writes `resp`, adding Content-Length and, when closing, `Connection: close`.
pub(crate) async fn write_response<S: AsyncWrite + Unpin>(
    io: &mut S,
    resp: &Response,
    close: bool,
) -> std::io::Result<()> {
    let reason = http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason);
    for (k, v) in &resp.headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    if resp.body.len() <= 4096 {
        let mut all = BytesMut::with_capacity(head.len() + resp.body.len());
        all.extend_from_slice(head.as_bytes());
        all.extend_from_slice(&resp.body);
        io.write_all(&all).await?;
    } else {
        io.write_all(head.as_bytes()).await?;
        io.write_all(&resp.body).await?;
    }
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(raw: &[u8], max: usize) -> Result<Request, ReadError> {
        let mut io = raw;
        let mut buf = BytesMut::new();
        let far = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        let deadlines = Deadlines {
            head: far,
            whole: far,
        };
        read_request(
            &mut io,
            &mut buf,
            &HandshakeConfig::default(),
            max,
            deadlines,
        )
        .await
    }

    #[tokio::test]
    async fn bodies_by_length_and_chunked() {
        let r = read(
            b"POST /e/?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n4hey!",
            100,
        )
        .await
        .unwrap();
        assert_eq!(
            (&r.body[..], r.head.uri().query()),
            (&b"4hey!"[..], Some("x=1"))
        );
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n4he\r\n2\r\nll\r\n0\r\n\r\n";
        assert_eq!(&read(raw, 100).await.unwrap().body[..], b"4hell");
        assert!(matches!(read(raw, 4).await, Err(ReadError::TooLarge)));
        let big = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n";
        assert!(matches!(read(big, 100).await, Err(ReadError::TooLarge)));
        assert!(matches!(read(b"", 100).await, Err(ReadError::Eof)));
        let bad = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(matches!(read(bad, 100).await, Err(ReadError::BadBody)));
    }
}
