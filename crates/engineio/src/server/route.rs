//! The HTTP side: reading requests on a connection, the official error
//! answers, CORS, and routing each request to its session (opening one,
//! a long-poll GET, a POST, or the WebSocket upgrade).

use std::net::SocketAddr;
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
use super::{Cmd, Handler, ServerOptions, SessionInfo, SessionSender};
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
    fn response(self, status: Option<u16>) -> Response {
        let message = match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        };
        let status = status.unwrap_or(if self == ErrorCode::Forbidden {
            403
        } else {
            400
        });
        let body = format!("{{\"code\":{},\"message\":\"{message}\"}}", self as u8);
        Response::new(status, "application/json", body.into())
    }
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

/// The `Access-Control-Allow-Origin` value for this request, if any.
fn cors_origin(options: &ServerOptions, req: &::http::Request<()>) -> Option<String> {
    let allowed = options.cors_origin.as_deref()?;
    let origin = req
        .headers()
        .get(::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    match (allowed, origin) {
        ("*", _) => Some("*".to_owned()),
        (a, Some(o)) if a == o => Some(o.to_owned()),
        _ => None,
    }
}

pub(super) async fn serve_connection<H: Handler>(
    shared: Arc<Shared<H>>,
    tcp: BoxIo,
    remote: SocketAddr,
) {
    let mut tcp = Some(tcp);
    let mut buf = BytesMut::with_capacity(4096);
    let max_body = shared.options.session.max_payload;
    loop {
        let Some(io) = tcp.as_mut() else { return };
        let start = Instant::now();
        let deadlines = http::Deadlines {
            head: start + shared.options.http.timeout,
            whole: start + shared.options.request_timeout,
        };
        let req = match http::read_request(io, &mut buf, &shared.options.http, max_body, deadlines)
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
                if http::write_response(io, &resp, true).await.is_ok() {
                    http::linger_close(io, 2 * max_body).await;
                }
                return;
            }
        };
        let keep = http::keep_alive(&req.head);
        let Routed::Respond(resp) = route(&shared, req, &mut tcp, &mut buf, remote).await else {
            return;
        };
        let Some(io) = tcp.as_mut() else { return };
        if http::write_response(io, &resp, !keep).await.is_err() || !keep {
            return;
        }
    }
}

enum Routed {
    Respond(Response),
    /// The connection became a WebSocket, or the client went away while its
    /// poll waited: nothing more to answer on it.
    Done,
}

async fn route<H: Handler>(
    shared: &Arc<Shared<H>>,
    req: http::Request,
    tcp: &mut Option<BoxIo>,
    buf: &mut BytesMut,
    remote: SocketAddr,
) -> Routed {
    let http::Request { head, body } = req;
    let opts = &shared.options;
    let cors = cors_origin(opts, &head);
    let respond = |mut resp: Response| {
        if let Some(origin) = &cors {
            resp.headers
                .push(("Access-Control-Allow-Origin", origin.clone()));
            resp.headers.push(("Vary", "Origin".to_owned()));
        }
        Routed::Respond(resp)
    };
    let path = head.uri().path();
    if path != opts.path && path != opts.path.trim_end_matches('/') {
        return respond(Response::text(404, "Not Found"));
    }
    if head.method() == ::http::Method::OPTIONS {
        let mut resp = Response::text(204, Bytes::new());
        resp.headers
            .push(("Access-Control-Allow-Methods", "GET, POST".to_owned()));
        if let Some(h) = head.headers().get("access-control-request-headers") {
            resp.headers.push((
                "Access-Control-Allow-Headers",
                h.to_str().unwrap_or("").to_owned(),
            ));
        }
        return respond(resp);
    }
    let transport = match query(head.uri(), "transport").and_then(Transport::parse) {
        Some(Transport::Polling) if opts.session.allow_polling => Transport::Polling,
        Some(Transport::WebSocket) if opts.session.allow_websocket => Transport::WebSocket,
        _ => return respond(ErrorCode::UnknownTransport.response(None)),
    };
    if query(head.uri(), "EIO") != Some("4") {
        return respond(ErrorCode::UnsupportedProtocolVersion.response(None));
    }
    let session = match query(head.uri(), "sid") {
        Some(sid) => match shared.sessions().get(sid) {
            Some(cmds) => Some(cmds.clone()),
            None => return respond(ErrorCode::UnknownSid.response(None)),
        },
        None => {
            if head.method() != ::http::Method::GET {
                return respond(ErrorCode::BadHandshakeMethod.response(None));
            }
            if let Some(allow) = &opts.allow_request {
                if let Err(status) = allow(&head) {
                    return respond(ErrorCode::Forbidden.response(Some(status)));
                }
            }
            None
        }
    };

    // What the handler learns of the request that opened its session.
    let info = || {
        let mut r = ::http::Request::new(());
        *r.uri_mut() = head.uri().clone();
        *r.headers_mut() = head.headers().clone();
        r
    };
    if transport == Transport::WebSocket {
        let Some(mut io) = tcp.take() else {
            return Routed::Done;
        };
        let request = info();
        let up = match UpgradeRequest::check(head) {
            Ok(up) => up,
            Err(e) => {
                let resp = Response::text(e.status(), e.to_string());
                let _ = http::write_response(&mut io, &resp, true).await;
                return Routed::Done;
            }
        };
        let mut head_bytes = Vec::with_capacity(160);
        ws_frame::handshake::encode_response(&up.accept(None), &mut head_bytes);
        if tokio::io::AsyncWriteExt::write_all(&mut io, &head_bytes)
            .await
            .is_err()
        {
            return Routed::Done;
        }
        let rest = std::mem::take(buf);
        let ws = WebSocketStream::from_parts(io, Connection::server(opts.ws_config()), rest);
        match session {
            Some(s) => {
                let _ = s.push(Cmd::AttachWs(Box::new(ws))).await;
            }
            None => {
                open_session(shared, Transport::WebSocket, Some(ws), request, remote);
            }
        }
        return Routed::Done;
    }

    let session = match session {
        Some(s) => s,
        None => open_session(shared, Transport::Polling, None, info(), remote),
    };
    match *head.method() {
        ::http::Method::GET => {
            let (tx, mut rx) = oneshot::channel();
            if session.push(Cmd::Poll(tx)).await.is_err() {
                return respond(ErrorCode::UnknownSid.response(None));
            }
            let Some(io) = tcp.as_mut() else {
                return Routed::Done;
            };
            // Wait for the answer, noticing a client that goes away meanwhile.
            // What it pipelines behind the GET is kept for the next request,
            // up to one request's worth: past that it is cut off.
            let pipelined = opts.http.max_head_size + opts.session.max_payload;
            let answer = loop {
                tokio::select! {
                    r = &mut rx => break r,
                    n = tokio::io::AsyncReadExt::read_buf(io, buf) => match n {
                        Ok(0) | Err(_) => return Routed::Done,
                        Ok(_) if buf.len() > pipelined => return Routed::Done,
                        Ok(_) => continue,
                    },
                }
            };
            match answer {
                Ok(Ok(body)) => respond(Response::text(200, body)),
                _ => respond(ErrorCode::BadRequest.response(None)),
            }
        }
        ::http::Method::POST => {
            let (tx, rx) = oneshot::channel();
            if session.push(Cmd::Post(body, tx)).await.is_err() {
                return respond(ErrorCode::UnknownSid.response(None));
            }
            match rx.await {
                Ok(Ok(())) => respond(Response::text(200, "ok")),
                _ => respond(ErrorCode::BadRequest.response(None)),
            }
        }
        _ => respond(ErrorCode::BadRequest.response(None)),
    }
}

/// Starts a session task; returns its command channel.
fn open_session<H: Handler>(
    shared: &Arc<Shared<H>>,
    transport: Transport,
    ws: Option<WebSocketStream<BoxIo>>,
    request: ::http::Request<()>,
    remote_addr: SocketAddr,
) -> Arc<Queue<Cmd<H::Command>>> {
    let sid = new_sid();
    let cmds = Arc::new(Queue::new(shared.options.command_queue));
    let now = Instant::now().into_std();
    let session = ServerSession::new(sid.clone(), shared.options.session.clone(), transport, now);
    shared.sessions().insert(sid.clone(), cmds.clone());
    let handler = (shared.make)(SessionInfo {
        sid: sid.clone(),
        request,
        remote_addr,
        sender: SessionSender {
            sid: sid.into(),
            cmds: cmds.clone(),
        },
    });
    tokio::spawn(run_session(
        shared.clone(),
        session,
        cmds.clone(),
        ws,
        handler,
    ));
    cmds
}
