//! The browser client: a WebSocket over the browser's own `WebSocket`
//! (wasm32 with the `browser` feature).
//!
//! The browser does the framing, masking, pings and the close handshake;
//! this module gives its connection the same futures `Stream` of
//! [`Message`] and `Sink<Message>` as the native `WebSocketStream`, so
//! code written against `ws_frame` runs in both places:
//!
//! ```ignore
//! use futures_util::{SinkExt, StreamExt};
//! use ws_frame::{ConnectOptions, Message};
//!
//! let (mut ws, _response) = ws_frame::connect_url("ws://127.0.0.1:3000/chat", &ConnectOptions::default()).await?;
//! ws.send(Message::text("hello")).await?;
//! while let Some(msg) = ws.next().await {
//!     match msg? {
//!         Message::Close(_) => break,
//!         msg => println!("{msg:?}"),
//!     }
//! }
//! ```
//!
//! # What differs from native
//!
//! - Pings and pongs are the browser's: none are received, and a
//!   [`Message::Ping`] or [`Message::Pong`] given to the sink is dropped.
//! - A page may close with 1000 or 3000-4999 only: any other code given
//!   to the sink fails with [`UserError::InvalidCloseCode`].
//! - Headers cannot be set ([`UserError::HeaderInBrowser`]), nor
//!   permessage-deflate chosen: the browser offers it itself.
//! - A failed connect says only that it failed
//!   ([`io::ErrorKind::ConnectionRefused`]): a page is not told whether the
//!   server refused, was unreachable, failed TLS or rejected the handshake.
//! - The type is not `Send`: a page has one thread (spawn with
//!   `wasm_bindgen_futures::spawn_local`).
//!
//! # Limits
//!
//! The browser has no receive backpressure: it hands over every message
//! as it arrives, read or not. Messages wait in a buffer bounded by
//! [`ConnectOptions::max_buffered_messages`] and
//! [`ConnectOptions::max_buffered_bytes`]; past either the connection is
//! closed and the stream yields, after the messages already buffered,
//! [`Error::ReceiveBufferFull`] (close code 1008, policy). A message larger
//! than [`Config::max_message_size`] is not buffered: the stream yields
//! [`ProtocolError::MessageTooLarge`] (1009, too big) and closes. A page
//! cannot send 1008 or 1009, so the close frame on the wire carries 4008 or
//! 4009 (the private range: 4000 plus the RFC code) with the reason.
//!
//! Sending waits while the browser's `bufferedAmount` (what it has not yet
//! handed to the network) is at or past [`Config::write_buffer_mark`]:
//! `poll_ready` rechecks it every [`ConnectOptions::drain_interval`] on a
//! browser timer, since the browser has no event for it. The opening
//! handshake is bounded by [`HandshakeConfig::timeout`]; the close
//! handshake by the browser's own timeout.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::connection::Config;
use crate::error::{Error, HandshakeError, ProtocolError, UserError};
use crate::handshake::{ClientRequest, HandshakeConfig};
use crate::message::{CloseCode, CloseFrame, Message, Utf8Bytes};

/// A close frame's body is at most 125 bytes: the code and 123 of reason.
const MAX_CLOSE_REASON: usize = 123;

#[wasm_bindgen]
extern "C" {
    // The global functions, present in windows and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// How [`connect_url`] opens a WebSocket in the browser and what it
/// buffers. The fields the browser decides for itself (frame sizes,
/// deflate, TLS roots) have no say here.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// [`Config::max_message_size`] bounds each received message (1009
    /// past it) and [`Config::write_buffer_mark`] is the `bufferedAmount`
    /// past which sending waits. The other fields are the browser's.
    pub config: Config,
    /// [`HandshakeConfig::timeout`] bounds the wait for the connection to
    /// open (default 10 s); the other fields are the browser's.
    pub handshake: HandshakeConfig,
    /// Received messages that may wait unread; the connection is closed
    /// (1008) past it. Default 16384: a burst far beyond what a page reads
    /// between two turns of its event loop, at a few tens of bytes of
    /// bookkeeping each.
    pub max_buffered_messages: usize,
    /// Bytes of received messages that may wait unread; the connection is
    /// closed (1008) past it. Default 64 MiB, the default
    /// [`Config::max_message_size`], so any message that may be received
    /// fits.
    pub max_buffered_bytes: usize,
    /// How often a sender waiting on `bufferedAmount` looks again. Default
    /// 10 ms.
    pub drain_interval: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            config: Config::default(),
            handshake: HandshakeConfig::default(),
            max_buffered_messages: 16 << 10,
            max_buffered_bytes: 64 << 20,
            drain_interval: Duration::from_millis(10),
        }
    }
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`) through the browser
/// and waits until it is open, at most [`HandshakeConfig::timeout`].
///
/// The response is built from what the browser tells: status 101 and the
/// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` the server
/// chose.
pub async fn connect_url(
    url: &str,
    options: &ConnectOptions,
) -> Result<(BrowserWebSocket, http::Response<()>), Error> {
    let req = ClientRequest::new(url, [0; 16])?;
    connect_request(&req, options).await
}

/// [`connect_url`] with a prepared request: its URL and subprotocols. A
/// request with headers fails with [`UserError::HeaderInBrowser`], since a
/// page cannot set them (send credentials in the URL's query instead).
pub async fn connect_request(
    req: &ClientRequest,
    options: &ConnectOptions,
) -> Result<(BrowserWebSocket, http::Response<()>), Error> {
    let (path, offered, headers) = req.browser_parts();
    if let Some(name) = headers.keys().next() {
        return Err(UserError::HeaderInBrowser(name.to_string()).into());
    }
    let scheme = if req.is_secure() { "wss" } else { "ws" };
    let url = format!("{scheme}://{}{path}", req.host());
    let protocols = js_sys::Array::new();
    for p in offered {
        protocols.push(&JsValue::from_str(p));
    }
    let ws = WebSocket::new_with_str_sequence(&url, &protocols).map_err(js_error)?;
    let mut ws = BrowserWebSocket::new(ws, options.clone());
    let deadline = Timer::start(options.handshake.timeout, &ws.shared);
    std::future::poll_fn(|cx| ws.poll_open(cx)).await?;
    drop(deadline);
    ws.shared.borrow_mut().timer_fired = false;
    let mut resp = http::Response::new(());
    *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in [
        (http::header::SEC_WEBSOCKET_PROTOCOL, ws.ws.protocol()),
        (http::header::SEC_WEBSOCKET_EXTENSIONS, ws.ws.extensions()),
    ] {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            if !value.is_empty() {
                resp.headers_mut().insert(name, value);
            }
        }
    }
    Ok((ws, resp))
}

/// Where the connection stands, as this side saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Open,
    /// We asked the browser to close; messages still arrive until it has.
    Closing,
    /// The close event came, or a limit closed the connection: the
    /// stream ends once its queue is drained.
    Ended,
}

/// What the event handlers and the handle share.
#[derive(Debug)]
struct Shared {
    phase: Phase,
    /// What the stream yields, in order: messages, then at most one close
    /// frame or error.
    queue: VecDeque<Result<Message, Error>>,
    /// Data messages in `queue` and their bytes, against the limits.
    queued_messages: usize,
    queued_bytes: usize,
    /// The connection never opened: why, for `poll_open`.
    connect_error: Option<Error>,
    /// A timer fired (the open deadline or a drain recheck).
    timer_fired: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

impl Shared {
    fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }
}

/// A one-shot browser timer that sets `timer_fired` and wakes both halves.
/// Dropping it cancels it.
#[derive(Debug)]
struct Timer {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    fn start(after: Duration, shared: &Rc<RefCell<Shared>>) -> Timer {
        let shared = Rc::downgrade(shared);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = shared.upgrade() {
                let mut s = shared.borrow_mut();
                s.timer_fired = true;
                s.wake_all();
            }
        });
        let ms = i32::try_from(after.as_millis()).unwrap_or(i32::MAX);
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms);
        Timer {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// A WebSocket in the browser, as a futures `Stream` of received
/// [`Message`]s and a `Sink` of messages to send; made by
/// [`connect_url`]. See the [module docs](self) for what differs from the
/// native `WebSocketStream`.
///
/// The stream yields data messages, then the server's close frame
/// ([`Message::Close`]) and `None` after a clean close, or
/// [`Error::AbnormalClosure`] and `None` when the connection ended without
/// one, or a limit's error and `None`. Closing the sink starts the close
/// handshake; keep polling the stream to see it end.
///
/// Dropping it closes the WebSocket (a close frame without a code): the
/// browser would otherwise keep it open.
#[derive(Debug)]
pub struct BrowserWebSocket {
    ws: WebSocket,
    shared: Rc<RefCell<Shared>>,
    options: ConnectOptions,
    drain_timer: Option<Timer>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl BrowserWebSocket {
    fn new(ws: WebSocket, options: ConnectOptions) -> Self {
        ws.set_binary_type(BinaryType::Arraybuffer);
        let shared = Rc::new(RefCell::new(Shared {
            phase: Phase::Connecting,
            queue: VecDeque::new(),
            queued_messages: 0,
            queued_bytes: 0,
            connect_error: None,
            timer_fired: false,
            read_waker: None,
            write_waker: None,
        }));

        // The handlers hold the state weakly: once the handle is gone,
        // nothing keeps it alive, and the handle unhooks them on drop.
        let on_open = {
            let shared = Rc::downgrade(&shared);
            Closure::<dyn FnMut()>::new(move || {
                if let Some(shared) = shared.upgrade() {
                    let mut s = shared.borrow_mut();
                    if s.phase == Phase::Connecting {
                        s.phase = Phase::Open;
                    }
                    s.wake_all();
                }
            })
        };
        let on_message = {
            let shared = Rc::downgrade(&shared);
            let ws = ws.clone();
            let limits = Limits::from(&options);
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                if let Some(shared) = shared.upgrade() {
                    receive(&mut shared.borrow_mut(), &ws, &limits, e.data());
                }
            })
        };
        let on_close = {
            let shared = Rc::downgrade(&shared);
            Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                if let Some(shared) = shared.upgrade() {
                    closed(&mut shared.borrow_mut(), &e);
                }
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        BrowserWebSocket {
            ws,
            shared,
            options,
            drain_timer: None,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        }
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut s = self.shared.borrow_mut();
        if let Some(e) = s.connect_error.take() {
            return Poll::Ready(Err(e));
        }
        if s.phase != Phase::Connecting {
            return Poll::Ready(Ok(()));
        }
        if s.timer_fired {
            s.phase = Phase::Ended;
            drop(s);
            let _ = self.ws.close();
            return Poll::Ready(Err(
                HandshakeError::Timeout(self.options.handshake.timeout).into()
            ));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// What the browser holds that it has not yet handed to the network,
    /// in bytes (`WebSocket.bufferedAmount`).
    pub fn buffered_amount(&self) -> u32 {
        self.ws.buffered_amount()
    }

    /// The subprotocol the server chose; empty if none.
    pub fn protocol(&self) -> String {
        self.ws.protocol()
    }

    /// The browser's `WebSocket`. Sending on it directly bypasses the
    /// sink's wait on `bufferedAmount`; setting its handlers stops this
    /// handle from seeing messages.
    pub fn get_ref(&self) -> &WebSocket {
        &self.ws
    }
}

impl Drop for BrowserWebSocket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        if matches!(
            self.ws.ready_state(),
            WebSocket::CONNECTING | WebSocket::OPEN
        ) {
            let _ = self.ws.close();
        }
    }
}

/// The receive limits, copied into the message handler.
#[derive(Debug)]
struct Limits {
    max_message_size: usize,
    max_messages: usize,
    max_bytes: usize,
}

impl From<&ConnectOptions> for Limits {
    fn from(o: &ConnectOptions) -> Self {
        Limits {
            max_message_size: o.config.max_message_size,
            max_messages: o.max_buffered_messages,
            max_bytes: o.max_buffered_bytes,
        }
    }
}

/// A message event: queue its message, or close past a limit.
fn receive(s: &mut Shared, ws: &WebSocket, limits: &Limits, data: JsValue) {
    if s.phase == Phase::Ended {
        return;
    }
    let msg = if let Some(text) = data.as_string() {
        Message::Text(Utf8Bytes::from(text))
    } else if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        let len = buf.byte_length() as usize;
        if len > limits.max_message_size {
            return fail(
                s,
                ws,
                CloseCode::TOO_BIG,
                too_big(len, limits.max_message_size),
            );
        }
        Message::Binary(Bytes::from(js_sys::Uint8Array::new(buf).to_vec()))
    } else {
        // binaryType is arraybuffer, so a Blob cannot come; if one does,
        // it is a type this client cannot take (§7.4.1, 1003).
        let e = io::Error::new(
            io::ErrorKind::InvalidData,
            "a message neither text nor ArrayBuffer",
        );
        return fail(s, ws, CloseCode::UNSUPPORTED, e.into());
    };
    let len = msg.payload().len();
    if len > limits.max_message_size {
        return fail(
            s,
            ws,
            CloseCode::TOO_BIG,
            too_big(len, limits.max_message_size),
        );
    }
    if s.queued_messages >= limits.max_messages || s.queued_bytes + len > limits.max_bytes {
        let e = Error::ReceiveBufferFull {
            messages: s.queued_messages + 1,
            bytes: s.queued_bytes + len,
        };
        return fail(s, ws, CloseCode::POLICY, e);
    }
    s.queued_messages += 1;
    s.queued_bytes += len;
    s.queue.push_back(Ok(msg));
    if let Some(w) = s.read_waker.take() {
        w.wake();
    }
}

fn too_big(size: usize, max: usize) -> Error {
    ProtocolError::MessageTooLarge {
        size: size as u64,
        max,
    }
    .into()
}

/// Closes the connection for `e`, which the stream yields after what is
/// already queued. The wire carries 4000 plus the RFC `code`'s last
/// digits: a page may send neither 1003, 1008 nor 1009.
fn fail(s: &mut Shared, ws: &WebSocket, code: CloseCode, e: Error) {
    let code = 4000 + (code.0 - 1000);
    let mut reason = e.to_string();
    truncate_utf8(&mut reason, MAX_CLOSE_REASON);
    let _ = ws.close_with_code_and_reason(code, &reason);
    s.phase = Phase::Ended;
    s.queue.push_back(Err(e));
    s.wake_all();
}

fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The close event: before open, a failed connect; after, the end of the
/// stream.
fn closed(s: &mut Shared, e: &CloseEvent) {
    match s.phase {
        Phase::Ended => {}
        Phase::Connecting => {
            s.connect_error = Some(
                io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!(
                        "the browser could not open the WebSocket (close code {}): \
                         refused, unreachable, TLS or a rejected handshake",
                        e.code()
                    ),
                )
                .into(),
            );
        }
        Phase::Open | Phase::Closing => {
            let end = if e.was_clean() {
                Ok(Message::Close(match e.code() {
                    1005 => None,
                    code => Some(CloseFrame {
                        code: CloseCode(code),
                        reason: e.reason().into(),
                    }),
                }))
            } else {
                Err(Error::AbnormalClosure)
            };
            s.queue.push_back(end);
        }
    }
    s.phase = Phase::Ended;
    s.wake_all();
}

fn js_error(e: JsValue) -> Error {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"));
    Error::Io(io::Error::other(text))
}

impl Stream for BrowserWebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = self.shared.borrow_mut();
        match s.queue.pop_front() {
            Some(item) => {
                if let Ok(msg) = &item {
                    if msg.is_data() {
                        s.queued_messages -= 1;
                        s.queued_bytes -= msg.payload().len();
                    }
                }
                Poll::Ready(Some(item))
            }
            None if s.phase == Phase::Ended => Poll::Ready(None),
            None => {
                s.read_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Sink<Message> for BrowserWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let mut s = this.shared.borrow_mut();
        let mark = this.options.config.write_buffer_mark;
        if s.phase != Phase::Open || (this.ws.buffered_amount() as usize) < mark {
            this.drain_timer = None;
            return Poll::Ready(Ok(()));
        }
        if std::mem::take(&mut s.timer_fired) {
            this.drain_timer = None;
        }
        s.write_waker = Some(cx.waker().clone());
        drop(s);
        if this.drain_timer.is_none() {
            this.drain_timer = Some(Timer::start(this.options.drain_interval, &this.shared));
        }
        Poll::Pending
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = self.get_mut();
        let mut s = this.shared.borrow_mut();
        if s.phase != Phase::Open {
            return Err(UserError::SendAfterClose.into());
        }
        match item {
            Message::Text(t) => this.ws.send_with_str(t.as_str()).map_err(js_error),
            Message::Binary(b) => this.ws.send_with_u8_array(&b).map_err(js_error),
            // The browser pings and answers pings itself.
            Message::Ping(_) | Message::Pong(_) => Ok(()),
            Message::Close(frame) => {
                match frame {
                    None => this.ws.close(),
                    Some(f) => {
                        let code = f.code.0;
                        if !(code == 1000 || (3000..=4999).contains(&code)) {
                            return Err(UserError::InvalidCloseCode(code).into());
                        }
                        if f.reason.len() > MAX_CLOSE_REASON {
                            return Err(UserError::ControlPayloadTooLong(f.reason.len() + 2).into());
                        }
                        this.ws.close_with_code_and_reason(code, f.reason.as_str())
                    }
                }
                .map_err(js_error)?;
                s.phase = Phase::Closing;
                Ok(())
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // What `send` hands the browser is on its way; `poll_ready` holds
        // senders back while too much of it waits.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let mut s = this.shared.borrow_mut();
        if s.phase == Phase::Open {
            this.ws.close().map_err(js_error)?;
            s.phase = Phase::Closing;
        }
        Poll::Ready(Ok(()))
    }
}
