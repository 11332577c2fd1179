//! The HTTP side, whatever the front door: each request is answered by
//! [`answer`] (the official error answers, CORS, `allow_request`, and
//! routing to its session: opening one, a long-poll GET, a POST, or the
//! WebSocket upgrade). [`serve_connection`] is the embedded HTTP/1.1 front
//! door over it; the hyper one is in `hyper.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use tokio::sync::oneshot;
use tokio::time::Instant;
use ws_frame::handshake::UpgradeRequest;
use ws_frame::{Connection, WebSocketStream};

use super::driver::run_session;
use super::queue::Queue;
use super::service::{BoxIo, Shared};
use super::{Cmd, Handler, SessionInfo, SessionSender};
use crate::http::{self, ReadError, Response};
use crate::{ServerSession, Transport};

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
    fn response(self) -> Response {
        let message = match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        };
        let status = if self == ErrorCode::Forbidden {
            403
        } else {
            400
        };
        error_response(status, self as u8, message)
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
    Wait(Pin<Box<dyn Future<Output = Response> + Send>>),
    /// Switch to WebSocket: send `response` (101), then give the connection
    /// to `attach` with the bytes already read past the request.
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
    let now = |resp: Response| Answer::Now(cors.apply(resp));
    if !is_engine_path(&opts.path, head.uri().path()) {
        return now(Response::text(404, "Not Found"));
    }
    if head.method() == ::http::Method::OPTIONS {
        if opts.cors.is_none() {
            // No CORS configured: a preflight is just a request with a
            // method no handshake uses, as the official server sees it.
            return now(ErrorCode::BadHandshakeMethod.response());
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
        _ => return now(ErrorCode::UnknownTransport.response()),
    };
    if query(head.uri(), "EIO") != Some("4") {
        return now(ErrorCode::UnsupportedProtocolVersion.response());
    }
    // A WebSocket request that is not a valid upgrade is refused before
    // anything else looks at it (allow_request may be costly), with the
    // official server's "Bad request".
    let upgrade = match transport {
        Transport::WebSocket => match UpgradeRequest::check(head.clone()) {
            Ok(up) => Some(up),
            Err(_) => return now(ErrorCode::BadRequest.response()),
        },
        Transport::Polling => None,
    };
    let session = match query(head.uri(), "sid") {
        Some(sid) => match shared.session(sid) {
            Some(cmds) => Some(cmds),
            None => return now(ErrorCode::UnknownSid.response()),
        },
        None => {
            if head.method() != ::http::Method::GET {
                return now(ErrorCode::BadHandshakeMethod.response());
            }
            if shared.is_shutting_down() {
                return now(shutting_down());
            }
            if let Some(allow) = &opts.allow_request {
                if let Err(refusal) = allow(&head).await {
                    // Only an error status may refuse (a 1xx, 2xx or 3xx
                    // would break the response's framing or meaning).
                    let status = match refusal.status {
                        s @ 400..=599 => s,
                        _ => 403,
                    };
                    let code = ErrorCode::Forbidden as u8;
                    return now(error_response(status, code, &refusal.message));
                }
            }
            None
        }
    };

    if let Some(up) = upgrade {
        // What the handler learns of the request that opened its session.
        let request = session.is_none().then(|| head.clone());
        let shared = shared.clone();
        let attach = move |io: BoxIo, rest: BytesMut| -> BoxFuture {
            Box::pin(async move {
                let conn = Connection::server(shared.options.ws_config());
                let ws = WebSocketStream::from_parts(io, conn, rest);
                match (session, request) {
                    (Some(s), _) => {
                        let _ = s.push(Cmd::AttachWs(Box::new(ws))).await;
                    }
                    (None, Some(request)) => {
                        let ws = Some(ws);
                        if let Err(Some(mut ws)) =
                            open_session(&shared, Transport::WebSocket, ws, request, remote)
                        {
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
        return Answer::Upgrade(Upgrade {
            response: up.accept(None),
            attach: Box::new(attach),
        });
    }

    let session = match session {
        Some(s) => s,
        None => match open_session(shared, Transport::Polling, None, head.clone(), remote) {
            Ok(s) => s,
            Err(_) => return now(shutting_down()),
        },
    };
    let wait = |fut: Pin<Box<dyn Future<Output = Response> + Send>>| {
        let cors = cors.clone();
        Answer::Wait(Box::pin(async move { cors.apply(fut.await) }))
    };
    match *head.method() {
        ::http::Method::GET => {
            let (tx, rx) = oneshot::channel();
            if session.push(Cmd::Poll(tx)).await.is_err() {
                return now(ErrorCode::UnknownSid.response());
            }
            wait(Box::pin(async move {
                match rx.await {
                    Ok(Ok(body)) => Response::text(200, body),
                    _ => ErrorCode::BadRequest.response(),
                }
            }))
        }
        ::http::Method::POST => {
            let (tx, rx) = oneshot::channel();
            if session.push(Cmd::Post(body, tx)).await.is_err() {
                return now(ErrorCode::UnknownSid.response());
            }
            wait(Box::pin(async move {
                match rx.await {
                    Ok(Ok(())) => Response::text(200, "ok"),
                    _ => ErrorCode::BadRequest.response(),
                }
            }))
        }
        _ => now(ErrorCode::BadRequest.response()),
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
            Answer::Now(resp) => resp,
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
        if http::write_response(&mut io, &resp, !keep).await.is_err() || !keep {
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
) -> Result<SessionQueue<H::Command>, Refused> {
    let sid = new_sid();
    let cmds = Arc::new(Queue::new(shared.options.command_queue));
    if !shared.register(&sid, &cmds) {
        return Err(ws.map(Box::new));
    }
    let now = Instant::now().into_std();
    let session = ServerSession::new(sid.clone(), shared.options.session.clone(), transport, now);
    let handler = (shared.make)(SessionInfo {
        sid: sid.clone(),
        request,
        remote_addr,
        sender: SessionSender {
            sid: sid.as_str().into(),
            cmds: cmds.clone(),
        },
    });
    let task = tokio::spawn(run_session(
        shared.clone(),
        session,
        cmds.clone(),
        ws,
        handler,
    ));
    shared.started(&sid, task.abort_handle());
    Ok(cmds)
}
