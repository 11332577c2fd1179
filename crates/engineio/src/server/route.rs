//! The HTTP side, whatever the front door: each request is answered by
//! [`answer`] (the official error answers, CORS, `allow_request`, and
//! routing to its session: opening one, a long-poll GET, a POST, or the
//! WebSocket upgrade). [`serve_connection`] is the embedded HTTP/1.1 front
//! door over it; the hyper one is in `hyper.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use tokio::sync::oneshot;
use tokio::time::Instant;
use ws_frame::handshake::UpgradeRequest;
use ws_frame::{Connection, WebSocketStream};

use super::driver::{Ending, run_session};
use super::queue::Queue;
use super::service::{BoxIo, Shared};
use super::{
    Cmd, ConnectionError, ErrorContext, Handler, HeadersHook, ServerOptions, SessionInfo,
    SessionSender,
};
use crate::http::{self, ReadError, Response};
use crate::payload::v3;
use crate::{ProtocolVersion, ServerSession, Transport};

/// The official error answers: HTTP 400 (403 for `Forbidden`) with
/// `{"code": n, "message": "..."}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    fn response(self) -> Response {
        let status = if self == ErrorCode::Forbidden {
            403
        } else {
            400
        };
        error_response(status, self as u8, self.message())
    }
}

/// Tells the `connection_error` hook, if any, that `head` is refused with
/// `code`. The context is made only when there is a hook to see it; a
/// panicking hook does not stop the refusal.
fn report(
    opts: &ServerOptions,
    head: &::http::Request<()>,
    code: ErrorCode,
    context: impl FnOnce() -> ErrorContext,
) {
    if let Some(hook) = &opts.connection_error {
        let err = ConnectionError::new(head.clone(), code as u8, code.message(), context());
        let _ = catch_unwind(AssertUnwindSafe(|| hook(&err)));
    }
}

/// [`report`]s the refusal, then gives its official answer.
fn refuse(
    opts: &ServerOptions,
    head: &::http::Request<()>,
    code: ErrorCode,
    context: impl FnOnce() -> ErrorContext,
) -> Response {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        code = code as u8,
        error = code.message(),
        method = %head.method(),
        path = head.uri().path(),
        "request refused"
    );
    report(opts, head, code, context);
    code.response()
}

/// Headers the server owns: a hook's would break the response's framing
/// or the WebSocket handshake.
const FRAMING: [::http::HeaderName; 6] = [
    ::http::header::CONTENT_LENGTH,
    ::http::header::TRANSFER_ENCODING,
    ::http::header::CONNECTION,
    ::http::header::UPGRADE,
    ::http::header::SEC_WEBSOCKET_ACCEPT,
    // What permessage-deflate was agreed to: the connection depends on it.
    ::http::header::SEC_WEBSOCKET_EXTENSIONS,
];

/// Runs the `initial_headers` hook (when given) then the `headers` hook on
/// one map, as Node emits its two events; `None` when no hook ran or none
/// set anything. A hook that panics has what it set in that call dropped.
fn run_header_hooks(
    initial: Option<&HeadersHook>,
    every: Option<&HeadersHook>,
    req: &::http::Request<()>,
) -> Option<::http::HeaderMap> {
    if initial.is_none() && every.is_none() {
        return None;
    }
    let mut map = ::http::HeaderMap::new();
    for hook in initial.into_iter().chain(every) {
        let before = map.clone();
        if catch_unwind(AssertUnwindSafe(|| hook(req, &mut map))).is_err() {
            map = before;
        }
    }
    for name in &FRAMING {
        map.remove(name);
    }
    (!map.is_empty()).then_some(map)
}

/// The header hooks a polling answer still has to run, with the request
/// they see: made only when a hook is set, so that without hooks an answer
/// keeps nothing of its request.
struct PendingHooks {
    initial: Option<HeadersHook>,
    every: Option<HeadersHook>,
    req: ::http::Request<()>,
}

impl PendingHooks {
    /// `initial`: the request opens its session.
    fn new(opts: &ServerOptions, req: ::http::Request<()>, initial: bool) -> Option<PendingHooks> {
        let initial = opts.initial_headers.clone().filter(|_| initial);
        let every = opts.headers.clone();
        (initial.is_some() || every.is_some()).then_some(PendingHooks {
            initial,
            every,
            req,
        })
    }

    fn run(&self) -> Option<::http::HeaderMap> {
        run_header_hooks(self.initial.as_ref(), self.every.as_ref(), &self.req)
    }
}

/// A session's answer to a polling request, with the headers the hooks set
/// for it (`None` without hooks: nothing allocated).
pub(super) struct Reply {
    pub(super) response: Response,
    pub(super) hooked: Option<::http::HeaderMap>,
}

impl Reply {
    /// `response`, with the hooks' headers when it is a success (Node
    /// emits `headers` only for the answers its transports write).
    fn hooked(response: Response, hooks: Option<PendingHooks>) -> Reply {
        let hooked = hooks
            .filter(|_| response.status == 200)
            .and_then(|h| h.run());
        Reply { response, hooked }
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Reply {
        Reply {
            response,
            hooked: None,
        }
    }
}

/// Writes `reply` on the embedded front door: the hooks' headers, when
/// there are any, go in after the status line, in place of the engine's
/// headers of the same names.
async fn write_reply<S: tokio::io::AsyncWrite + Unpin>(
    io: &mut S,
    reply: Reply,
    close: bool,
) -> std::io::Result<()> {
    let Some(hooked) = reply.hooked else {
        return http::write_response(io, &reply.response, close).await;
    };
    let mut resp = reply.response;
    resp.headers.retain(|(name, _)| !hooked.contains_key(*name));
    let mut out = Vec::with_capacity(256 + resp.body.len());
    http::write_response(&mut out, &resp, close).await?;
    let mut lines = Vec::new();
    for (name, value) in &hooked {
        lines.extend_from_slice(name.as_str().as_bytes());
        lines.extend_from_slice(b": ");
        lines.extend_from_slice(value.as_bytes());
        lines.extend_from_slice(b"\r\n");
    }
    let status_line = out
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |i| i + 2);
    out.splice(status_line..status_line, lines);
    tokio::io::AsyncWriteExt::write_all(io, &out).await?;
    tokio::io::AsyncWriteExt::flush(io).await
}

/// What a long-poll's answer needs to decide on compression: the server's
/// setting and the request's `Accept-Encoding` (kept as it came; parsed
/// only for a payload that may be compressed and reaches the threshold).
#[cfg(feature = "http-compression")]
struct PollCompression {
    setting: Option<crate::compression::HttpCompression>,
    accept: Option<::http::HeaderValue>,
}

#[cfg(feature = "http-compression")]
impl PollCompression {
    fn new(opts: &ServerOptions, head: &::http::Request<()>) -> PollCompression {
        let setting = opts.http_compression;
        let mut values = head
            .headers()
            .get_all(::http::header::ACCEPT_ENCODING)
            .iter();
        let accept = match (setting, values.next(), values.next()) {
            (None, ..) | (_, None, _) => None,
            (Some(_), Some(one), None) => Some(one.clone()),
            // Several headers: one list, as Node joins them.
            (Some(_), Some(_), Some(_)) => {
                let all = head.headers().get_all(::http::header::ACCEPT_ENCODING);
                let joined: Vec<&[u8]> = all.iter().map(|v| v.as_bytes()).collect();
                ::http::HeaderValue::from_bytes(&joined.join(&b", "[..])).ok()
            }
        };
        PollCompression { setting, accept }
    }

    /// The 200 answer with `body`, compressed when it should be (see
    /// [`ServerOptions::http_compression`]). A payload over 64 KiB is
    /// compressed on tokio's blocking pool, so a large one (up to
    /// `max_payload` and more: a poll carries what queued) does not hold
    /// up the other tasks of this thread.
    async fn respond(self, body: Bytes, compress: bool) -> Response {
        const INLINE_MAX: usize = 64 << 10;
        let Some(setting) = self.setting else {
            return Response::text(200, body);
        };
        let accept = self.accept.as_ref().and_then(|a| a.to_str().ok());
        let Some(coding) = setting.coding_for(body.len(), compress, accept) else {
            return Response::text(200, body);
        };
        let level = setting.level;
        let encoded = if body.len() <= INLINE_MAX {
            coding.encode(&body, level)
        } else {
            let plain = body.clone();
            tokio::task::spawn_blocking(move || coding.encode(&plain, level))
                .await
                .ok()
                .flatten()
        };
        match encoded {
            Some(z) => {
                let mut resp = Response::text(200, z);
                resp.headers
                    .push(("Content-Encoding", coding.as_str().to_owned()));
                resp
            }
            None => Response::text(200, body),
        }
    }
}

/// The answer to a new session while the server shuts down.
fn shutting_down() -> Response {
    Response::text(503, "Server shutting down")
}

fn error_response(status: u16, code: u8, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    Response::new(status, "application/json", body.into())
}

/// A session id: 15 random bytes (the official server's size), base64url.
fn new_sid() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
}

/// `key`'s value in the query, owned; empty when missing.
fn query_owned(uri: &::http::Uri, key: &str) -> String {
    query(uri, key).unwrap_or_default().to_owned()
}

/// A v3 client's `b64=1`: binary as base64 (any value but empty, as Node
/// reads it).
fn asks_base64(uri: &::http::Uri) -> bool {
    query(uri, "b64").is_some_and(|v| !v.is_empty())
}

fn query<'a>(uri: &'a ::http::Uri, key: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then_some(v)
    })
}

/// Whether `path` is the server's Engine.IO path (with or without its
/// trailing slash).
pub(super) fn is_engine_path(engine_path: &str, path: &str) -> bool {
    path == engine_path || path == engine_path.trim_end_matches('/')
}

/// How a request is answered.
pub(super) enum Answer {
    /// This response, now.
    Now(Response),
    /// The response once the session has answered (a long-poll GET, a
    /// POST). Dropping it tells the session the client went away.
    Wait(Pin<Box<dyn Future<Output = Reply> + Send>>),
    /// Switch to WebSocket: send `response` (101, the header hooks' headers
    /// in it), then give the connection to `attach` with the bytes already
    /// read past the request.
    Upgrade(Upgrade),
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An accepted WebSocket upgrade, waiting for its connection.
pub(super) struct Upgrade {
    pub(super) response: ::http::Response<()>,
    pub(super) attach: Box<dyn FnOnce(BoxIo, BytesMut) -> BoxFuture + Send>,
}

/// The CORS headers for a request, added to each of its answers.
struct CorsHeaders(Vec<(&'static str, String)>);

impl CorsHeaders {
    fn new(opts: &super::ServerOptions, head: &::http::Request<()>) -> CorsHeaders {
        let mut h = Vec::new();
        let Some(cors) = &opts.cors else {
            return CorsHeaders(h);
        };
        let origin = head
            .headers()
            .get(::http::header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if cors.varies() {
            h.push(("Vary", "Origin".to_owned()));
        }
        if let Some(allow) = cors.allow_origin(origin) {
            h.push(("Access-Control-Allow-Origin", allow));
            if cors.credentials {
                h.push(("Access-Control-Allow-Credentials", "true".to_owned()));
            }
            if !cors.exposed_headers.is_empty() {
                h.push((
                    "Access-Control-Expose-Headers",
                    cors.exposed_headers.join(", "),
                ));
            }
        }
        CorsHeaders(h)
    }

    fn apply(&self, mut resp: Response) -> Response {
        resp.headers.extend(self.0.iter().cloned());
        resp
    }
}

/// Answers one request, whichever front door read it. `body` is the whole
/// body, read within the server's limits.
pub(super) async fn answer<H: Handler>(
    shared: &Arc<Shared<H>>,
    head: ::http::Request<()>,
    body: Bytes,
    remote: SocketAddr,
) -> Answer {
    let opts = &shared.options;
    let cors = Arc::new(CorsHeaders::new(opts, &head));
    let now = |resp: Response| {
        if resp.status >= 400 {
            shared.counters.refused();
        }
        Answer::Now(cors.apply(resp))
    };
    if !is_engine_path(&opts.path, head.uri().path()) {
        return now(Response::text(404, "Not Found"));
    }
    if head.method() == ::http::Method::OPTIONS {
        if opts.cors.is_none() {
            // No CORS configured: a preflight is just a request with a
            // method no handshake uses, as the official server sees it.
            let method = || ErrorContext::Method(head.method().clone());
            return now(refuse(opts, &head, ErrorCode::BadHandshakeMethod, method));
        }
        let mut resp = Response::text(204, Bytes::new());
        resp.headers
            .push(("Access-Control-Allow-Methods", "GET, POST".to_owned()));
        let asked = head
            .headers()
            .get("access-control-request-headers")
            .and_then(|h| h.to_str().ok());
        let allowed = match opts.cors.as_ref().and_then(|c| c.allowed_headers.as_ref()) {
            Some(list) => Some(list.join(", ")),
            None => {
                // Reflected: the answer depends on the request's header.
                resp.headers
                    .push(("Vary", "Access-Control-Request-Headers".to_owned()));
                asked.map(str::to_owned)
            }
        };
        if let Some(allowed) = allowed {
            resp.headers.push(("Access-Control-Allow-Headers", allowed));
        }
        if let Some(age) = opts.cors.as_ref().and_then(|c| c.max_age) {
            resp.headers
                .push(("Access-Control-Max-Age", age.as_secs().to_string()));
        }
        return now(resp);
    }
    let transport = match query(head.uri(), "transport").and_then(Transport::parse) {
        Some(Transport::Polling) if opts.session.allow_polling => Transport::Polling,
        Some(Transport::WebSocket) if opts.session.allow_websocket => Transport::WebSocket,
        _ => {
            let asked = || ErrorContext::Transport(query_owned(head.uri(), "transport"));
            return now(refuse(opts, &head, ErrorCode::UnknownTransport, asked));
        }
    };
    let protocol = match ProtocolVersion::from_query(query(head.uri(), "EIO")) {
        Some(ProtocolVersion::V3) if !opts.session.allow_eio3 => None,
        p => p,
    };
    let Some(protocol) = protocol else {
        let asked = || ErrorContext::Protocol(query_owned(head.uri(), "EIO"));
        return now(refuse(
            opts,
            &head,
            ErrorCode::UnsupportedProtocolVersion,
            asked,
        ));
    };
    // A WebSocket request that is not a valid upgrade is refused before
    // anything else looks at it (allow_request may be costly), with the
    // official server's "Bad request".
    let upgrade = match transport {
        Transport::WebSocket => match UpgradeRequest::check(head.clone()) {
            Ok(up) => Some(up),
            Err(_) => {
                let name = || ErrorContext::BadRequest("TRANSPORT_HANDSHAKE_ERROR");
                return now(refuse(opts, &head, ErrorCode::BadRequest, name));
            }
        },
        Transport::Polling => None,
    };
    let session = match query(head.uri(), "sid") {
        Some(sid) => match shared.session(sid) {
            Some(cmds) => Some(cmds),
            None => {
                let sid = || ErrorContext::Sid(sid.to_owned());
                return now(refuse(opts, &head, ErrorCode::UnknownSid, sid));
            }
        },
        None => {
            if head.method() != ::http::Method::GET {
                let method = || ErrorContext::Method(head.method().clone());
                return now(refuse(opts, &head, ErrorCode::BadHandshakeMethod, method));
            }
            if shared.is_shutting_down() {
                #[cfg(feature = "tracing")]
                tracing::debug!("new session refused: shutting down");
                return now(shutting_down());
            }
            if let Some(allow) = &opts.allow_request {
                if let Err(refusal) = allow(&head).await {
                    #[cfg(feature = "tracing")]
                    tracing::info!(
                        status = refusal.status,
                        refusal = refusal.message.as_str(),
                        "allow_request refused a new session"
                    );
                    // Only an error status may refuse (a 1xx, 2xx or 3xx
                    // would break the response's framing or meaning).
                    let status = match refusal.status {
                        s @ 400..=599 => s,
                        _ => 403,
                    };
                    let code = ErrorCode::Forbidden as u8;
                    let resp = error_response(status, code, &refusal.message);
                    report(opts, &head, ErrorCode::Forbidden, || {
                        ErrorContext::Refused(refusal)
                    });
                    return now(resp);
                }
            }
            None
        }
    };

    if let Some(up) = upgrade {
        // What the handler learns of the request that opened its session.
        let opens = session.is_none();
        let request = opens.then(|| head.clone());
        let base64 = asks_base64(head.uri());
        let shared = shared.clone();
        // permessage-deflate, when the options accept it.
        #[cfg(feature = "deflate")]
        let (mut response, deflate) = match shared.options.ws_config().deflate {
            Some(cfg) => up.accept_deflate(None, &cfg),
            None => (up.accept(None), None),
        };
        #[cfg(not(feature = "deflate"))]
        let mut response = up.accept(None);
        let attach = move |io: BoxIo, rest: BytesMut| -> BoxFuture {
            Box::pin(async move {
                let conn = Connection::server(shared.options.ws_config());
                #[cfg(feature = "deflate")]
                let conn = match deflate {
                    Some(params) => conn.with_deflate(params),
                    None => conn,
                };
                let ws = WebSocketStream::from_parts(io, conn, rest);
                match (session, request) {
                    (Some(s), _) => {
                        let _ = s.push(Cmd::AttachWs(Box::new(ws), base64)).await;
                    }
                    (None, Some(request)) => {
                        let ws = Some(ws);
                        if let Err(Some(mut ws)) = open_session(
                            &shared,
                            Transport::WebSocket,
                            ws,
                            request,
                            remote,
                            protocol,
                        ) {
                            // A shutdown began after the request was checked.
                            use futures_util::SinkExt;
                            let limit = shared.options.write_timeout;
                            let away = ws_frame::Message::Close(Some(ws_frame::CloseFrame {
                                code: ws_frame::CloseCode::GOING_AWAY,
                                reason: "server shutting down".into(),
                            }));
                            let close = async {
                                let _ = ws.send(away).await;
                                let _ = ws.close().await;
                            };
                            let _ = tokio::time::timeout(limit, close).await;
                        }
                    }
                    (None, None) => {}
                }
            })
        };
        let initial = opts.initial_headers.as_ref().filter(|_| opens);
        if let Some(hooked) = run_header_hooks(initial, opts.headers.as_ref(), &head) {
            response.headers_mut().extend(hooked);
        }
        return Answer::Upgrade(Upgrade {
            response,
            attach: Box::new(attach),
        });
    }

    // Only GET and POST reach a session (a handshake is a GET: see above).
    let get = head.method() == ::http::Method::GET;
    if !get && head.method() != ::http::Method::POST {
        let name = || ErrorContext::BadRequest("UNEXPECTED_METHOD");
        return now(refuse(opts, &head, ErrorCode::BadRequest, name));
    }
    let initial = session.is_none();
    let session = match session {
        Some(s) => s,
        None => match open_session(
            shared,
            Transport::Polling,
            None,
            head.clone(),
            remote,
            protocol,
        ) {
            Ok(s) => s,
            Err(_) => return now(shutting_down()),
        },
    };
    // The session is gone since it was looked up.
    let gone = |head: &::http::Request<()>| {
        let sid = || ErrorContext::Sid(query_owned(head.uri(), "sid"));
        shared.counters.refused();
        Answer::Now(cors.apply(refuse(opts, head, ErrorCode::UnknownSid, sid)))
    };
    let wait = |fut: Pin<Box<dyn Future<Output = Reply> + Send>>| {
        let cors = cors.clone();
        Answer::Wait(Box::pin(async move {
            let mut reply = fut.await;
            reply.response = cors.apply(reply.response);
            reply
        }))
    };
    if get {
        let (tx, rx) = oneshot::channel();
        if session.push(Cmd::Poll(tx)).await.is_err() {
            return gone(&head);
        }
        #[cfg(feature = "http-compression")]
        let compression = PollCompression::new(opts, &head);
        let hooks = PendingHooks::new(opts, head, initial);
        wait(Box::pin(async move {
            match rx.await {
                #[cfg(feature = "http-compression")]
                Ok(Ok((body, compress))) => {
                    if v3::is_binary(&body) {
                        // A v3 binary payload is told apart by its first byte.
                        Reply::hooked(Response::new(200, "application/octet-stream", body), hooks)
                    } else {
                        Reply::hooked(compression.respond(body, compress).await, hooks)
                    }
                }
                #[cfg(not(feature = "http-compression"))]
                Ok(Ok((body, _))) if v3::is_binary(&body) => {
                    Reply::hooked(Response::new(200, "application/octet-stream", body), hooks)
                }
                #[cfg(not(feature = "http-compression"))]
                Ok(Ok((body, _))) => Reply::hooked(Response::text(200, body), hooks),
                _ => ErrorCode::BadRequest.response().into(),
            }
        }))
    } else {
        let (tx, rx) = oneshot::channel();
        if session.push(Cmd::Post(body, tx)).await.is_err() {
            return gone(&head);
        }
        let hooks = PendingHooks::new(opts, head, initial);
        wait(Box::pin(async move {
            match rx.await {
                Ok(Ok(())) => Reply::hooked(Response::text(200, "ok"), hooks),
                _ => ErrorCode::BadRequest.response().into(),
            }
        }))
    }
}

/// The embedded front door: reads requests on one connection (keep-alive,
/// deadlines, limits), answers each with [`answer`], and hands the
/// connection to its session on a WebSocket upgrade.
pub(super) async fn serve_connection<H: Handler>(
    shared: Arc<Shared<H>>,
    mut io: BoxIo,
    remote: SocketAddr,
    secure: bool,
) {
    let _open = shared.counters.connection();
    let mut buf = BytesMut::with_capacity(4096);
    let max_body = shared.options.session.max_payload;
    loop {
        let start = Instant::now();
        let deadlines = http::Deadlines {
            head: start + shared.options.http.timeout,
            whole: start + shared.options.request_timeout,
        };
        let req =
            match http::read_request(&mut io, &mut buf, &shared.options.http, max_body, deadlines)
                .await
            {
                Ok(req) => req,
                Err(ReadError::Eof | ReadError::Io | ReadError::Idle) => return,
                Err(e) => {
                    shared.counters.refused();
                    #[cfg(feature = "tracing")]
                    match &e {
                        ReadError::TooLarge => tracing::warn!(
                            max_payload = max_body,
                            "a request body over max_payload; 413"
                        ),
                        ReadError::Head(h) => {
                            tracing::debug!(error = %h, "a malformed request head")
                        }
                        _ => tracing::debug!(error = ?e, "a request not read in full"),
                    }
                    let resp = match e {
                        ReadError::TooLarge => Response::text(413, "Payload Too Large"),
                        ReadError::TimedOut => Response::text(408, "Request Timeout"),
                        ReadError::Head(h) => Response::text(h.status(), h.to_string()),
                        _ => Response::text(400, "Bad Request"),
                    };
                    if http::write_response(&mut io, &resp, true).await.is_ok() {
                        http::linger_close(&mut io, 2 * max_body).await;
                    }
                    return;
                }
            };
        let keep = http::keep_alive(&req.head);
        let mut head = req.head;
        if secure {
            head.extensions_mut().insert(super::Secure);
        }
        let resp = match answer(&shared, head, req.body, remote).await {
            Answer::Now(resp) => Reply::from(resp),
            Answer::Wait(resp) => {
                // Wait for the answer, noticing a client that goes away
                // meanwhile. What it pipelines behind the request is kept
                // for the next one, up to one request's worth: past that
                // it is cut off.
                let pipelined = shared.options.http.max_head_size + max_body;
                let mut resp = resp;
                loop {
                    tokio::select! {
                        r = &mut resp => break r,
                        n = tokio::io::AsyncReadExt::read_buf(&mut io, &mut buf) => match n {
                            Ok(0) | Err(_) => return,
                            Ok(_) if buf.len() > pipelined => return,
                            Ok(_) => continue,
                        },
                    }
                }
            }
            Answer::Upgrade(up) => {
                let mut head = Vec::with_capacity(160);
                ws_frame::handshake::encode_response(&up.response, &mut head);
                if tokio::io::AsyncWriteExt::write_all(&mut io, &head)
                    .await
                    .is_ok()
                {
                    (up.attach)(io, buf).await;
                }
                return;
            }
        };
        if write_reply(&mut io, resp, !keep).await.is_err() || !keep {
            return;
        }
    }
}

type SessionQueue<C> = Arc<Queue<Cmd<C>>>;

/// The WebSocket of a session refused by a shutdown, to be closed.
type Refused = Option<Box<WebSocketStream<BoxIo>>>;

/// Starts a session task; returns its command channel. Refused once a
/// shutdown has begun: the WebSocket, if any, comes back to be closed.
fn open_session<H: Handler>(
    shared: &Arc<Shared<H>>,
    transport: Transport,
    ws: Option<WebSocketStream<BoxIo>>,
    request: ::http::Request<()>,
    remote_addr: SocketAddr,
    protocol: ProtocolVersion,
) -> Result<SessionQueue<H::Command>, Refused> {
    let sid = new_sid();
    let cmds = Arc::new(Queue::new(shared.options.command_queue));
    if !shared.register(&sid, &cmds) {
        return Err(ws.map(Box::new));
    }
    // Counted from here: dropped, it ends the session however it ends.
    let ending = Ending::new(shared.clone(), cmds.clone(), sid.clone(), transport);
    // A root: the session outlives the connection that opened it.
    #[cfg(feature = "tracing")]
    let span = tracing::info_span!(
        parent: None,
        "session",
        sid = %sid,
        transport = transport.as_str(),
        peer = %remote_addr,
    );
    #[cfg(feature = "tracing")]
    let entered = span.enter();
    let now = Instant::now().into_std();
    let config = shared.options.session.clone();
    let session = match protocol {
        ProtocolVersion::V3 => {
            let base64 = asks_base64(request.uri());
            ServerSession::new_v3(sid.clone(), config, transport, base64, now)
        }
        _ => ServerSession::new(sid.clone(), config, transport, now),
    };
    let handler = (shared.make)(SessionInfo {
        sid: sid.clone(),
        request,
        remote_addr,
        sender: SessionSender {
            sid: sid.as_str().into(),
            cmds: cmds.clone(),
        },
    });
    let run = run_session(ending, session, ws, handler);
    #[cfg(feature = "tracing")]
    let run = {
        drop(entered);
        tracing::Instrument::instrument(run, span)
    };
    let task = tokio::spawn(run);
    shared.started(&sid, task.abort_handle());
    Ok(cmds)
}
