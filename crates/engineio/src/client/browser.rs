//! The client in the browser (wasm32): long-polling over `fetch`, the
//! WebSocket over the browser's own `WebSocket` (binary frames as
//! `ArrayBuffer`), and the upgrade between them, driven by the same
//! [`ClientSession`] as on native targets, in one task
//! (`wasm_bindgen_futures::spawn_local`). Timers are the browser's
//! (`setTimeout`, cleared when no longer wanted); there is no tokio.
//!
//! # What differs from native targets
//!
//! The browser owns the sockets, so some options cannot apply:
//!
//! - [`ClientOptions::headers`] go on polling requests only (`fetch`
//!   refuses the forbidden ones such as `Cookie` or `Host`); a browser
//!   WebSocket carries no custom header, so connecting with
//!   [`ClientConfig::initial`](crate::ClientConfig::initial) set to
//!   WebSocket and headers set fails with
//!   [`ConnectError::HeadersOnWebSocket`]; after an upgrade they are not
//!   sent either (as the official client in a browser);
//! - cookies are the browser's: sent on polling requests to another origin
//!   only with [`ClientOptions::with_credentials`] (`credentials:
//!   "include"`, the official client's `withCredentials`), and by the
//!   browser's own rules on the WebSocket;
//! - TLS is the browser's: `https://` and `wss://` work without the `tls`
//!   feature, which is for native targets only; there are no proxies to
//!   set;
//! - compression is the browser's: poll responses are inflated by `fetch`
//!   (`http_compression` has no effect), and permessage-deflate is what
//!   the browser negotiates (`per_message_deflate` has no effect);
//! - `http` (response head limits) and `close_timeout` do not apply;
//!   `websocket.max_message_size` still bounds each message received, and
//!   `max_response_body` each poll response.
//!
//! URLs are absolute (`http(s)://host[:port]`): for the page's own server,
//! start from `window.location().origin()`.
//!
//! The browser takes every message a WebSocket receives, read or not (it
//! has no receive backpressure), so what waits for the session is bounded:
//! [`ClientOptions::max_buffered_messages`] and
//! [`ClientOptions::max_buffered_bytes`]; past either the WebSocket counts
//! as lost ("transport close", then reconnection as for any other).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::future::LocalBoxFuture;
use futures_util::{FutureExt, SinkExt, StreamExt};
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Request, RequestCredentials, RequestInit, RequestMode, Response};

use crate::client_session::{ClientConfig, ClientEvent, ClientSession, Transmit};
use crate::error::TransportError;
use crate::packet::{Handshake, Payload};
use crate::{CloseReason, Instant, Transport};

/// `setTimeout` takes a signed 32-bit count of milliseconds: a longer wait
/// (a server's ping interval, a user's `Duration::MAX`) would fire at once
/// or throw, so it goes in steps.
const MAX_TIMER: Duration = Duration::from_millis(i32::MAX as u64);

async fn sleep(mut left: Duration) {
    while left > MAX_TIMER {
        gloo_timers::future::sleep(MAX_TIMER).await;
        left -= MAX_TIMER;
    }
    gloo_timers::future::sleep(left).await;
}

pub use crate::error::SessionClosed;

/// The `mode` of polling requests (`fetch`'s `RequestMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchMode {
    /// Cross-origin requests allowed when the server's CORS headers say so
    /// (the default, as the official client's XHR).
    #[default]
    Cors,
    /// Only the page's own origin.
    SameOrigin,
}

/// Everything the client can be told. The same fields as on native
/// targets, plus [`with_credentials`](Self::with_credentials) and
/// [`fetch_mode`](Self::fetch_mode); see the module docs for those that
/// do not apply in a browser.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Transport choice and limits.
    pub session: ClientConfig,
    /// The server's Engine.IO path. Default `/engine.io/`.
    pub path: String,
    /// Extra query parameters on every request.
    pub query: Vec<(String, String)>,
    /// Extra headers on polling requests only (see the module docs).
    pub headers: Vec<(String, String)>,
    /// The largest poll response accepted. Default 100 MB.
    pub max_response_body: usize,
    /// No effect in a browser: `fetch` inflates responses itself.
    #[cfg(feature = "http-compression")]
    pub http_compression: bool,
    /// No effect in a browser: it parses the responses.
    pub http: ws_frame::handshake::HandshakeConfig,
    /// WebSocket limits: only `max_message_size` applies (a larger message
    /// closes the session with a transport error).
    pub websocket: ws_frame::Config,
    /// No effect in a browser: it negotiates permessage-deflate itself.
    #[cfg(feature = "deflate")]
    pub per_message_deflate: Option<ws_frame::DeflateConfig>,
    /// How long the handshake may take. Default 20 s, as the official client.
    pub connect_timeout: Duration,
    /// No effect in a browser: it finishes the closing handshake itself.
    pub close_timeout: Duration,
    /// Polling requests send cookies and HTTP auth to another origin
    /// (`credentials: "include"`; the server must allow credentials in its
    /// CORS answer). Default false: `"same-origin"`, as the official
    /// client's `withCredentials`.
    pub with_credentials: bool,
    /// The `mode` of polling requests. Default [`FetchMode::Cors`].
    pub fetch_mode: FetchMode,
    /// WebSocket messages received and not yet taken by the session (the
    /// application is not reading); past it the WebSocket counts as lost.
    /// Default 16384.
    pub max_buffered_messages: usize,
    /// The bytes of those messages. Default 64 MiB.
    pub max_buffered_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            session: ClientConfig::default(),
            path: "/engine.io/".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            max_response_body: 100_000_000,
            #[cfg(feature = "http-compression")]
            http_compression: true,
            http: ws_frame::handshake::HandshakeConfig::default(),
            websocket: ws_frame::Config::default(),
            #[cfg(feature = "deflate")]
            per_message_deflate: None,
            connect_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
            with_credentials: false,
            fetch_mode: FetchMode::Cors,
            max_buffered_messages: 16_384,
            max_buffered_bytes: 64 << 20,
        }
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Only `http://`, `https://`, `ws://` and `wss://` URLs with a host.
    #[error("unsupported URL {0:?}: only http(s):// and ws(s):// are supported")]
    UnsupportedUrl(String),
    /// Never in a browser (it speaks TLS itself); kept so code matching on
    /// the native variants compiles.
    #[error("{0:?} needs TLS: enable the `tls` feature")]
    TlsNotEnabled(String),
    /// Custom headers with the WebSocket as the first transport: a browser
    /// WebSocket cannot carry them.
    #[error("a browser WebSocket cannot carry custom headers; use polling first, or query/auth")]
    HeadersOnWebSocket,
    /// The session closed before its handshake.
    #[error("closed before the handshake: {0}")]
    Closed(CloseReason),
    /// No handshake within `connect_timeout`.
    #[error("no handshake within the connect timeout")]
    Timeout,
}

enum Cmd {
    Send(Payload, bool),
    Close,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cmd::Send(..) => "Send",
            Cmd::Close => "Close",
        })
    }
}

/// An open Engine.IO session to a server. Dropping it closes the session.
#[derive(Debug)]
pub struct Client {
    handshake: Handshake,
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<ClientEvent>,
}

impl Client {
    /// Opens a session to `url` (`http(s)://host[:port]`; `ws(s)://` names
    /// the same server; the path comes from the options) and waits for
    /// its handshake.
    pub async fn connect(url: &str, options: ClientOptions) -> Result<Client, ConnectError> {
        let target = Target::parse(url, &options)?;
        if !options.headers.is_empty() && options.session.initial == Transport::WebSocket {
            return Err(ConnectError::HeadersOnWebSocket);
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, mut ev_rx) = mpsc::channel(64);
        wasm_bindgen_futures::spawn_local(run(target, options.clone(), cmd_rx, ev_tx));
        let timeout = std::pin::pin!(sleep(options.connect_timeout));
        let first = futures_util::future::select(ev_rx.next(), timeout).await;
        match first {
            futures_util::future::Either::Left((Some(ClientEvent::Open(handshake)), _)) => {
                Ok(Client {
                    handshake,
                    cmds: cmd_tx,
                    events: ev_rx,
                })
            }
            futures_util::future::Either::Left((Some(ClientEvent::Closed(reason)), _)) => {
                Err(ConnectError::Closed(reason))
            }
            futures_util::future::Either::Left(_) => {
                Err(ConnectError::Closed(CloseReason::TransportError))
            }
            futures_util::future::Either::Right(_) => Err(ConnectError::Timeout),
        }
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.handshake.sid
    }

    /// The server's handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The next event: a message, the upgrade, the close (then `None`).
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        self.events.next().await
    }

    /// Sends a message.
    pub async fn send(&self, payload: Payload) -> Result<(), SessionClosed> {
        self.send_with(payload, true).await
    }

    /// Sends a message; `compress` has no effect in a browser.
    pub async fn send_with(&self, payload: Payload, compress: bool) -> Result<(), SessionClosed> {
        self.cmds
            .clone()
            .send(Cmd::Send(payload, compress))
            .await
            .map_err(|_| SessionClosed)
    }

    /// Closes the session; the `Closed` event follows.
    pub async fn close(&self) {
        let _ = self.cmds.clone().send(Cmd::Close).await;
    }
}

/// Where the server is.
#[derive(Clone, Debug)]
struct Target {
    /// `http(s)://host:port`.
    origin: String,
    /// `ws(s)://host:port`.
    ws_origin: String,
    /// Path and fixed query, ready for more parameters.
    base: String,
}

impl Target {
    fn parse(url: &str, options: &ClientOptions) -> Result<Target, ConnectError> {
        let bad = || ConnectError::UnsupportedUrl(url.to_owned());
        let uri: ::http::Uri = url.parse().map_err(|_| bad())?;
        let secure = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?.as_str();
        let mut base = format!("{}?EIO=4", options.path);
        for (k, v) in &options.query {
            base.push_str(&format!("&{k}={v}"));
        }
        let (http, ws) = if secure {
            ("https", "wss")
        } else {
            ("http", "ws")
        };
        Ok(Target {
            origin: format!("{http}://{authority}"),
            ws_origin: format!("{ws}://{authority}"),
            base,
        })
    }

    fn path(&self, transport: Transport, sid: Option<&str>) -> String {
        let mut t = format!("{}&transport={}", self.base, transport.as_str());
        if let Some(sid) = sid {
            t.push_str("&sid=");
            t.push_str(sid);
        }
        t
    }
}

/// How polling requests are made.
struct Fetch {
    headers: Vec<(String, String)>,
    credentials: RequestCredentials,
    mode: RequestMode,
    max_body: usize,
}

fn js_error(e: JsValue) -> TransportError {
    TransportError::Io(std::io::Error::other(format!("{e:?}")))
}

/// Aborts its request when dropped: a poll the session no longer waits
/// for (it closed, or timed out on the heartbeat) must not keep one of the
/// few connections a browser opens to a host.
struct AbortOnDrop(Option<web_sys::AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.abort();
        }
    }
}

/// One polling request: its answer's body, or why there is none.
async fn request(
    fetch: Rc<Fetch>,
    method: &'static str,
    url: String,
    body: Option<Bytes>,
) -> Result<Bytes, TransportError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(fetch.credentials);
    init.set_mode(fetch.mode);
    let headers = web_sys::Headers::new().map_err(js_error)?;
    for (k, v) in &fetch.headers {
        headers.append(k, v).map_err(js_error)?;
    }
    if let Some(body) = body {
        // Engine.IO v4 payloads are text (binary goes as base64).
        let text = std::str::from_utf8(&body).map_err(|_| TransportError::Response)?;
        headers
            .append("Content-Type", "text/plain;charset=UTF-8")
            .map_err(js_error)?;
        init.set_body(&JsValue::from_str(text));
    }
    init.set_headers(&headers);
    let abort = AbortOnDrop(web_sys::AbortController::new().ok());
    if let Some(c) = &abort.0 {
        init.set_signal(Some(&c.signal()));
    }
    let request = Request::new_with_str_and_init(&url, &init).map_err(js_error)?;
    let global = js_sys::global();
    let promise = if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.fetch_with_request(&request)
    } else {
        global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .fetch_with_request(&request)
    };
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    if response.status() != 200 {
        return Err(TransportError::Status(response.status()));
    }
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|n| n.parse::<usize>().ok());
    if declared.is_some_and(|n| n > fetch.max_body) {
        return Err(TransportError::Response);
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    let bytes = Uint8Array::new(&buffer);
    if bytes.length() as usize > fetch.max_body {
        return Err(TransportError::Response);
    }
    // Answered: nothing left to abort.
    let mut abort = abort;
    abort.0 = None;
    Ok(bytes.to_vec().into())
}

/// What a browser WebSocket's callbacks report.
enum WsEvent {
    Open,
    Message(ws_frame::Message),
    /// Closed, failed, or a message past the size limit.
    Gone,
}

/// The browser's WebSocket, its callbacks feeding a queue the session's
/// task drains. Dropping it closes the socket.
struct BrowserWs {
    ws: web_sys::WebSocket,
    inbox: Rc<RefCell<Inbox>>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
}

#[derive(Default)]
struct Inbox {
    queue: VecDeque<WsEvent>,
    waker: Option<Waker>,
    /// Bytes of the messages in `queue`.
    bytes: usize,
    /// Past a limit: nothing more is kept.
    overflowed: bool,
}

/// What may wait in an [`Inbox`].
#[derive(Clone, Copy)]
struct Limits {
    message: usize,
    messages: usize,
    bytes: usize,
}

impl Inbox {
    fn push(&mut self, e: WsEvent) {
        if self.overflowed {
            return;
        }
        self.queue.push_back(e);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl BrowserWs {
    fn open(url: &str, limits: Limits) -> Result<BrowserWs, JsValue> {
        let ws = web_sys::WebSocket::new(url)?;
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let on_open = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                inbox.borrow_mut().push(WsEvent::Open)
            })
        };
        let on_message = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data();
                let event = if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                    if buffer.byte_length() as usize > limits.message {
                        WsEvent::Gone
                    } else {
                        WsEvent::Message(ws_frame::Message::binary(
                            Uint8Array::new(buffer).to_vec(),
                        ))
                    }
                } else if let Some(text) = data.as_string() {
                    if text.len() > limits.message {
                        WsEvent::Gone
                    } else {
                        WsEvent::Message(ws_frame::Message::text(text))
                    }
                } else {
                    // A Blob: binaryType is arraybuffer, so never.
                    WsEvent::Gone
                };
                let mut inbox = inbox.borrow_mut();
                if let WsEvent::Message(m) = &event {
                    let len = m.payload().len();
                    if inbox.queue.len() >= limits.messages
                        || inbox.bytes.saturating_add(len) > limits.bytes
                    {
                        inbox.push(WsEvent::Gone);
                        inbox.overflowed = true;
                        return;
                    }
                    inbox.bytes += len;
                }
                inbox.push(event);
            })
        };
        let on_close = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                inbox.borrow_mut().push(WsEvent::Gone)
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_close.as_ref().unchecked_ref()));
        Ok(BrowserWs {
            ws,
            inbox,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    fn send(&self, m: ws_frame::Message) -> Result<(), JsValue> {
        match m {
            ws_frame::Message::Text(t) => self.ws.send_with_str(t.as_str()),
            ws_frame::Message::Binary(b) => self.ws.send_with_u8_array(&b),
            // The browser answers pings and sends its close itself.
            _ => Ok(()),
        }
    }

    fn poll_event(&self, cx: &mut std::task::Context<'_>) -> Poll<WsEvent> {
        let mut inbox = self.inbox.borrow_mut();
        match inbox.queue.pop_front() {
            Some(e) => {
                if let WsEvent::Message(m) = &e {
                    inbox.bytes -= m.payload().len();
                }
                Poll::Ready(e)
            }
            None => {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for BrowserWs {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        // The browser sends the close frame and waits for the answer.
        let _ = self.ws.close();
    }
}

/// What woke the session's task.
enum Wake {
    Cmd(Option<Cmd>),
    Get(Result<Bytes, TransportError>),
    Post(Result<Bytes, TransportError>),
    Ws(WsEvent),
    Timeout,
}

type Request_ = LocalBoxFuture<'static, Result<Bytes, TransportError>>;

/// The session task: one [`ClientSession`], its transports, its timer.
async fn run(
    target: Target,
    options: ClientOptions,
    mut cmds: mpsc::Receiver<Cmd>,
    mut events: mpsc::Sender<ClientEvent>,
) {
    let fetch = Rc::new(Fetch {
        headers: options.headers.clone(),
        credentials: if options.with_credentials {
            RequestCredentials::Include
        } else {
            RequestCredentials::SameOrigin
        },
        mode: match options.fetch_mode {
            FetchMode::Cors => RequestMode::Cors,
            FetchMode::SameOrigin => RequestMode::SameOrigin,
        },
        max_body: options.max_response_body,
    });
    let limits = Limits {
        message: options.websocket.max_message_size,
        messages: options.max_buffered_messages,
        bytes: options.max_buffered_bytes,
    };
    let mut s = ClientSession::new(options.session.clone());
    let mut get: Option<Request_> = None;
    let mut post: Option<Request_> = None;
    let mut ws: Option<BrowserWs> = None;
    let mut cmds_done = false;
    loop {
        while let Some(t) = s.poll_transmit() {
            match t {
                Transmit::Poll => {
                    if get.is_none() {
                        let url = format!(
                            "{}{}",
                            target.origin,
                            target.path(Transport::Polling, s.sid())
                        );
                        get = Some(request(fetch.clone(), "GET", url, None).boxed_local());
                    }
                }
                Transmit::Post(body) => {
                    if post.is_none() {
                        let url = format!(
                            "{}{}",
                            target.origin,
                            target.path(Transport::Polling, s.sid())
                        );
                        post = Some(request(fetch.clone(), "POST", url, Some(body)).boxed_local());
                    }
                }
                Transmit::ConnectWebSocket => {
                    let url = format!(
                        "{}{}",
                        target.ws_origin,
                        target.path(Transport::WebSocket, s.sid())
                    );
                    match BrowserWs::open(&url, limits) {
                        Ok(w) => ws = Some(w),
                        Err(_) => {
                            ws = None;
                            s.handle_transport_error(true);
                        }
                    }
                }
                Transmit::Ws(m, _compress) => {
                    if let Some(w) = ws.as_ref() {
                        if w.send(m).is_err() {
                            s.handle_transport_error(true);
                        }
                    }
                }
                Transmit::CloseWebSocket => ws = None,
            }
        }
        while let Some(e) = s.poll_event() {
            let closed = matches!(e, ClientEvent::Closed(_));
            if events.send(e).await.is_err() && !closed {
                // The application dropped the client.
                s.close();
            }
        }
        if s.is_closed() {
            // Dropping the WebSocket sends its close frame.
            return;
        }
        let mut timer = s
            .poll_timeout()
            // Clamped: waking early only re-checks the deadline.
            .map(|d| {
                gloo_timers::future::sleep(
                    d.saturating_duration_since(Instant::now()).min(MAX_TIMER),
                )
            });
        let wake = poll_fn(|cx| {
            if let Some(t) = timer.as_mut() {
                if Pin::new(t).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timeout);
                }
            }
            if let Some(w) = ws.as_ref() {
                if let Poll::Ready(e) = w.poll_event(cx) {
                    return Poll::Ready(Wake::Ws(e));
                }
            }
            if let Some(f) = get.as_mut() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    return Poll::Ready(Wake::Get(r));
                }
            }
            if let Some(f) = post.as_mut() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    return Poll::Ready(Wake::Post(r));
                }
            }
            // A closed channel answers at once, every time: once it has, it
            // no longer counts, or a polling session's close (which waits
            // for its POST) would spin and never yield to the page.
            if cmds_done {
                return Poll::Pending;
            }
            cmds.poll_next_unpin(cx).map(Wake::Cmd)
        })
        .await;
        match wake {
            Wake::Cmd(Some(Cmd::Send(p, compress))) => s.send_with(p, compress),
            Wake::Cmd(Some(Cmd::Close)) => s.close(),
            Wake::Cmd(None) => {
                cmds_done = true;
                s.close();
            }
            Wake::Get(r) => {
                get = None;
                match r {
                    Ok(body) => s.handle_poll_response(Instant::now(), body),
                    Err(_) => s.handle_transport_error(false),
                }
            }
            Wake::Post(r) => {
                post = None;
                s.handle_post_done(r.is_ok());
            }
            Wake::Ws(WsEvent::Open) => s.handle_ws_open(),
            Wake::Ws(WsEvent::Message(m)) => s.handle_ws_message(Instant::now(), m),
            Wake::Ws(WsEvent::Gone) => {
                ws = None;
                s.handle_transport_error(true);
            }
            Wake::Timeout => s.handle_timeout(Instant::now()),
        }
    }
}
