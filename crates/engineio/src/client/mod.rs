//! The tokio client: long-polling over a minimal HTTP/1.1 client, WebSocket
//! through ws-frame, and the upgrade between them, driven by a
//! [`ClientSession`] in one task.
//!
//! # TLS
//!
//! With the `tls` feature, `https://` and `wss://` URLs speak TLS (rustls)
//! on every connection: each polling connection, the WebSocket, and the
//! upgrade's probe. The server's certificate is checked for the URL's host
//! against the webpki roots, or only against the roots of
//! [`ClientOptions::tls`]. Without the feature such a URL fails with
//! [`ConnectError::TlsNotEnabled`].
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use engineio::client::tls::ClientTls;
//! use engineio::client::{Client, ClientOptions};
//!
//! let mut options = ClientOptions::default();
//! // A private CA; leave `tls` at `None` for the webpki roots.
//! options.tls = Some(ClientTls::with_root_pem(&std::fs::read("ca.pem")?)?);
//! let client = Client::connect("https://localhost:8443", options).await?;
//! # let _ = client; Ok(()) }
//! ```

// The docs name the TLS option, which exists only with its feature.
#![cfg_attr(not(feature = "tls"), allow(rustdoc::broken_intra_doc_links))]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use ws_frame::handshake::{ClientRequest, HandshakeConfig};
#[cfg(feature = "tls")]
pub use ws_frame::tls;
#[cfg(feature = "tls")]
use ws_frame::tls::{ClientTls, TlsError};
use ws_frame::{MaybeTlsStream, WebSocketStream};

use crate::client_session::{ClientConfig, ClientEvent, ClientSession, Transmit};
use crate::error::TransportError;
use crate::http::{self, ReadError};
use crate::packet::{Handshake, Payload};
use crate::{CloseReason, Transport};

/// Everything the client can be told.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Transport choice and limits.
    pub session: ClientConfig,
    /// The server's Engine.IO path. Default `/engine.io/`.
    pub path: String,
    /// Extra query parameters on every request.
    pub query: Vec<(String, String)>,
    /// Extra headers on every request (Authorization, Cookie, ...).
    pub headers: Vec<(String, String)>,
    /// The largest poll response accepted, compressed or once decompressed.
    /// Default 100 MB.
    pub max_response_body: usize,
    /// Whether polling GETs ask for compressed responses (`Accept-Encoding:
    /// gzip, deflate`, as a browser, or Node's fetch, sends for the official
    /// client) and inflate them, never past `max_response_body`: a response
    /// that would (a decompression bomb) closes the session with a
    /// transport error. Default true. Inflating costs the client's task CPU,
    /// a few ms per MB.
    #[cfg(feature = "http-compression")]
    pub http_compression: bool,
    /// Limits on response heads.
    pub http: HandshakeConfig,
    /// WebSocket limits. Default ws-frame's.
    pub websocket: ws_frame::Config,
    /// permessage-deflate offered on the WebSocket transport (RFC 7692).
    /// Default `Some` with a 1024-byte threshold: the official client offers
    /// `perMessageDeflate: { threshold: 1024 }` through `ws` by default, and
    /// the server decides (the official one declines unless configured).
    /// `None` offers nothing. Overrides `websocket`'s `deflate`.
    #[cfg(feature = "deflate")]
    pub per_message_deflate: Option<ws_frame::DeflateConfig>,
    /// How long the handshake may take. Default 20 s, as the official client.
    pub connect_timeout: Duration,
    /// How long a closing WebSocket waits for the server's close frame
    /// before its connection is dropped anyway. Default 5 s. The session's
    /// end is reported before this wait, so only the socket waits on it.
    pub close_timeout: Duration,
    /// The roots an `https://` or `wss://` server's certificate is checked
    /// against. `None` (the default): the webpki roots. The connections of
    /// a session share it, and its TLS session cache.
    #[cfg(feature = "tls")]
    pub tls: Option<ClientTls>,
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
            http: HandshakeConfig::default(),
            websocket: ws_frame::Config::default(),
            #[cfg(feature = "deflate")]
            per_message_deflate: Some(ws_frame::DeflateConfig::default()),
            connect_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
            #[cfg(feature = "tls")]
            tls: None,
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
    /// An `https://` or `wss://` URL, and this build has no TLS: enable
    /// engineio's `tls` feature (socketio-client's `tls` feature does).
    #[error("{0:?} needs TLS: enable the `tls` feature")]
    TlsNotEnabled(String),
    /// TLS failed before the handshake: the server's certificate was
    /// refused (an unknown issuer, another name), or the peers could not
    /// agree.
    #[cfg(feature = "tls")]
    #[error("TLS: {0}")]
    Tls(#[source] TlsError),
    /// The session closed before its handshake.
    #[error("closed before the handshake: {0}")]
    Closed(CloseReason),
    /// No handshake within `connect_timeout`.
    #[error("no handshake within the connect timeout")]
    Timeout,
}

pub use crate::error::SessionClosed;

enum Cmd {
    Send(Payload, bool),
    Close,
}

/// An open Engine.IO session to a server. Dropping it closes the session.
#[derive(Debug)]
pub struct Client {
    handshake: Handshake,
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<ClientEvent>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cmd::Send(..) => "Send",
            Cmd::Close => "Close",
        })
    }
}

impl Client {
    /// Opens a session to `url` (`http://host:port`, or `https://` with the
    /// `tls` feature; `ws(s)://` names the same server; the path comes from
    /// the options) and waits for its handshake.
    pub async fn connect(url: &str, options: ClientOptions) -> Result<Client, ConnectError> {
        let target = Target::parse(url, &options)?;
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ev_tx, mut ev_rx) = mpsc::channel(64);
        let (first_error, mut first_error_rx) = oneshot::channel();
        tokio::spawn(run(target, options.clone(), cmd_rx, ev_tx, first_error));
        let first = tokio::time::timeout(options.connect_timeout, ev_rx.recv())
            .await
            .map_err(|_| ConnectError::Timeout)?;
        match first {
            Some(ClientEvent::Open(handshake)) => Ok(Client {
                handshake,
                cmds: cmd_tx,
                events: ev_rx,
            }),
            // A refused certificate says more than "transport error".
            Some(ClientEvent::Closed(reason)) => match first_error_rx.try_recv() {
                #[cfg(feature = "tls")]
                Ok(TransportError::Io(e)) => match TlsError::from_io_error(e) {
                    Ok(tls) => Err(ConnectError::Tls(tls)),
                    Err(_) => Err(ConnectError::Closed(reason)),
                },
                _ => Err(ConnectError::Closed(reason)),
            },
            _ => Err(ConnectError::Closed(CloseReason::TransportError)),
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
        self.events.recv().await
    }

    /// Sends a message.
    pub async fn send(&self, payload: Payload) -> Result<(), SessionClosed> {
        self.send_with(payload, true).await
    }

    /// Sends a message; `compress: false` keeps it out of the WebSocket's
    /// permessage-deflate (see [`ClientSession::send_with`]).
    pub async fn send_with(&self, payload: Payload, compress: bool) -> Result<(), SessionClosed> {
        self.cmds
            .send(Cmd::Send(payload, compress))
            .await
            .map_err(|_| SessionClosed)
    }

    /// Closes the session; the `Closed` event follows.
    pub async fn close(&self) {
        let _ = self.cmds.send(Cmd::Close).await;
    }
}

/// Where the server is, and how to reach it.
#[derive(Clone, Debug)]
struct Target {
    /// `host:port` to connect to, and the Host header.
    authority: String,
    /// The host alone: the name the certificate must be valid for.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    host: String,
    /// TLS for every connection (`https://`, `wss://`).
    #[cfg(feature = "tls")]
    tls: Option<ClientTls>,
    /// Path and fixed query, ending in `&` or `?` ready for more.
    base: String,
    /// How long dialing (TCP and TLS) may take: `ClientOptions::http.timeout`.
    dial_timeout: std::time::Duration,
}

impl Target {
    fn parse(url: &str, options: &ClientOptions) -> Result<Target, ConnectError> {
        let bad = || ConnectError::UnsupportedUrl(url.to_owned());
        let uri: ::http::Uri = url.parse().map_err(|_| bad())?;
        let (secure, default_port) = match uri.scheme_str() {
            Some("http" | "ws") => (false, 80),
            Some("https" | "wss") => (true, 443),
            _ => return Err(bad()),
        };
        #[cfg(not(feature = "tls"))]
        if secure {
            return Err(ConnectError::TlsNotEnabled(url.to_owned()));
        }
        let port = uri.port_u16().unwrap_or(default_port);
        let host = uri.host().ok_or_else(bad)?;
        let mut base = format!("{}?EIO=4", options.path);
        for (k, v) in &options.query {
            base.push_str(&format!("&{k}={v}"));
        }
        Ok(Target {
            authority: format!("{host}:{port}"),
            host: host.to_owned(),
            #[cfg(feature = "tls")]
            tls: secure.then(|| options.tls.clone().unwrap_or_default()),
            base,
            dial_timeout: options.http.timeout,
        })
    }

    /// A new connection to the server: TCP, then TLS if the URL asks for
    /// it, within the dial timeout (a server that stalls a TLS handshake
    /// must not hold a request or the upgrade's probe forever).
    async fn dial(&self) -> Result<Io, TransportError> {
        let timed_out = || std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        tokio::time::timeout(self.dial_timeout, self.dial_now())
            .await
            .unwrap_or_else(|_| Err(timed_out()))
    }

    async fn dial_now(&self) -> Result<Io, TransportError> {
        let tcp = TcpStream::connect(&self.authority).await?;
        let _ = tcp.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let stream = tls.connect(&self.host, tcp).await?;
            return Ok(MaybeTlsStream::Tls(Box::new(stream)));
        }
        Ok(MaybeTlsStream::Plain(tcp))
    }

    /// The WebSocket URL of a request `target` (path and query).
    fn ws_url(&self, target: &str) -> String {
        #[cfg(feature = "tls")]
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        #[cfg(not(feature = "tls"))]
        let scheme = "ws";
        format!("{scheme}://{}{target}", self.authority)
    }

    fn target(&self, transport: Transport, sid: Option<&str>) -> String {
        let mut t = format!("{}&transport={}", self.base, transport.as_str());
        if let Some(sid) = sid {
            t.push_str("&sid=");
            t.push_str(sid);
        }
        t
    }
}

/// A connection to the server: TCP, with TLS for `https://`.
type Io = MaybeTlsStream<TcpStream>;

/// One keep-alive HTTP/1.1 connection for polling requests.
struct HttpConn {
    target: Target,
    headers: Vec<(String, String)>,
    tcp: Option<Io>,
    buf: BytesMut,
    hs: HandshakeConfig,
    max_body: usize,
    /// Ask for, and inflate, compressed poll responses.
    #[cfg(feature = "http-compression")]
    compression: bool,
}

impl HttpConn {
    fn new(target: Target, options: &ClientOptions) -> HttpConn {
        HttpConn {
            target,
            headers: options.headers.clone(),
            tcp: None,
            buf: BytesMut::new(),
            hs: options.http.clone(),
            max_body: options.max_response_body,
            #[cfg(feature = "http-compression")]
            compression: options.http_compression
                && !options
                    .headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("accept-encoding")),
        }
    }

    /// Sends a request and reads its response; a reused connection that
    /// turns out closed is reopened once.
    async fn request(
        mut self,
        method: &str,
        path: String,
        body: Bytes,
    ) -> (HttpConn, Result<Bytes, TransportError>) {
        let reused = self.tcp.is_some();
        let mut r = self.try_request(method, &path, &body).await;
        if matches!(r, Err(TransportError::Io(_) | TransportError::Response)) && reused {
            self.tcp = None;
            r = self.try_request(method, &path, &body).await;
        }
        (self, r)
    }

    async fn try_request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Bytes, TransportError> {
        let tcp = match &mut self.tcp {
            Some(tcp) => tcp,
            None => {
                let tcp = self.target.dial().await?;
                self.buf.clear();
                self.tcp.insert(tcp)
            }
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n",
            self.target.authority
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" {
            head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
        }
        #[cfg(feature = "http-compression")]
        if self.compression && method == "GET" {
            head.push_str("Accept-Encoding: gzip, deflate\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut out = BytesMut::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body);
        let result = async {
            tcp.write_all(&out).await.map_err(|_| ReadError::Io)?;
            http::read_response(tcp, &mut self.buf, &self.hs, self.max_body).await
        }
        .await;
        match result {
            Ok(resp) if resp.status == 200 => {
                if !resp.keep_alive {
                    self.tcp = None;
                }
                match resp.content_encoding {
                    None => Ok(resp.body),
                    Some(coding) => self.inflate(&coding, resp.body),
                }
            }
            Ok(resp) => {
                self.tcp = None;
                Err(TransportError::Status(resp.status))
            }
            Err(_) => {
                self.tcp = None;
                Err(TransportError::Response)
            }
        }
    }
}

impl HttpConn {
    /// A body sent with `Content-Encoding: coding`, decoded within
    /// `max_body`.
    fn inflate(&self, coding: &::http::HeaderValue, body: Bytes) -> Result<Bytes, TransportError> {
        let coding = coding.to_str().unwrap_or("?").trim();
        if coding.eq_ignore_ascii_case("identity") {
            return Ok(body);
        }
        #[cfg(feature = "http-compression")]
        if let Some(c) = crate::compression::ContentEncoding::from_name(coding) {
            return match c.decode(&body, self.max_body) {
                Ok(plain) => Ok(plain.into()),
                Err(crate::compression::DecompressError::TooLarge) => Err(
                    TransportError::Compressed("inflates past max_response_body"),
                ),
                Err(_) => Err(TransportError::Compressed("invalid data")),
            };
        }
        Err(TransportError::Compressed(
            "a coding the client did not ask for",
        ))
    }
}

type Ws = WebSocketStream<Io>;

async fn open_ws(
    target: Target,
    sid: Option<String>,
    options: ClientOptions,
) -> Result<Ws, TransportError> {
    let url = target.ws_url(&target.target(Transport::WebSocket, sid.as_deref()));
    let tcp = target.dial().await?;
    let mut req = ClientRequest::new(&url, rand::random()).map_err(ws_frame::Error::from)?;
    for (k, v) in &options.headers {
        if let (Ok(k), Ok(v)) = (
            ::http::HeaderName::from_bytes(k.as_bytes()),
            ::http::HeaderValue::from_str(v),
        ) {
            req = req.header(k, v);
        }
    }
    #[allow(unused_mut)]
    let mut config = options.websocket.clone();
    #[cfg(feature = "deflate")]
    {
        config.deflate = options.per_message_deflate.clone();
    }
    let (ws, _) = ws_frame::connect_with(tcp, &req, config, &options.http).await?;
    Ok(ws)
}

/// Closes a WebSocket as RFC 6455 §7.1.1 asks and the official client
/// does: our close frame goes out, then the stream is read until the
/// server's close frame has come back and our side is shut down, within
/// `timeout`.
///
/// Dropping the TCP connection right after our close frame would leave the
/// server's close frame to arrive at a closed socket, which the kernel
/// answers with a reset: the server would see the connection torn down
/// instead of closed.
async fn close_ws(mut ws: Ws, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, async move {
        if ws.close().await.is_err() {
            return;
        }
        // What the server sent before its close frame is of no use now.
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn next_ws(ws: &mut Option<Ws>) -> Option<Result<ws_frame::Message, ws_frame::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn maybe<T>(f: &mut Option<BoxFuture<'static, T>>) -> T {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

/// The session task: one [`ClientSession`], its transports, its timers.
async fn run(
    target: Target,
    options: ClientOptions,
    mut cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<ClientEvent>,
    first_error: oneshot::Sender<TransportError>,
) {
    // Until the session opens, why its first transport failed (a refused
    // certificate, say) is kept for `Client::connect` to report.
    let mut first_error = Some(first_error);
    let mut keep_first_error = |e: TransportError| {
        if let Some(tx) = first_error.take() {
            let _ = tx.send(e);
        }
    };
    let mut s = ClientSession::new(options.session.clone());
    // Each polling request owns its connection while in flight and hands it
    // back with the answer; GETs and POSTs use separate connections because a
    // GET may wait a long time.
    let mut get_conn = Some(HttpConn::new(target.clone(), &options));
    let mut post_conn = Some(HttpConn::new(target.clone(), &options));
    let mut get_fut: Option<BoxFuture<'static, (HttpConn, Result<Bytes, TransportError>)>> = None;
    let mut post_fut: Option<BoxFuture<'static, (HttpConn, Result<Bytes, TransportError>)>> = None;
    let mut ws_fut: Option<BoxFuture<'static, Result<Ws, TransportError>>> = None;
    let mut ws: Option<Ws> = None;
    // WebSockets finishing their close handshake: a failed probe's, or the
    // session's own at its end.
    let mut closing = FuturesUnordered::new();
    let mut cmds_done = false;
    loop {
        while let Some(t) = s.poll_transmit() {
            match t {
                Transmit::Poll => {
                    if let Some(conn) = get_conn.take() {
                        let path = target.target(Transport::Polling, s.sid());
                        get_fut = Some(conn.request("GET", path, Bytes::new()).boxed());
                    }
                }
                Transmit::Post(body) => {
                    if let Some(conn) = post_conn.take() {
                        let path = target.target(Transport::Polling, s.sid());
                        post_fut = Some(conn.request("POST", path, body).boxed());
                    }
                }
                Transmit::ConnectWebSocket => {
                    let sid = s.sid().map(str::to_owned);
                    ws_fut = Some(open_ws(target.clone(), sid, options.clone()).boxed());
                }
                // The one place a message meets the client's WebSocket.
                Transmit::Ws(m, compress) => {
                    if let Some(w) = ws.as_mut() {
                        let sent = if compress {
                            w.send(m).await
                        } else {
                            w.send_uncompressed(m).await
                        };
                        if sent.is_err() {
                            s.handle_transport_error(true);
                        }
                    }
                }
                Transmit::CloseWebSocket => {
                    ws_fut = None;
                    if let Some(w) = ws.take() {
                        closing.push(close_ws(w, options.close_timeout));
                    }
                }
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
            // Everything the session had to send went out above, and its
            // end was reported: let the application go before the sockets
            // finish closing.
            drop(events);
            drop(cmds);
            if let Some(w) = ws.take() {
                closing.push(close_ws(w, options.close_timeout));
            }
            while closing.next().await.is_some() {}
            return;
        }
        tokio::select! {
            // A closed channel answers at once, every time: once it has, it
            // is left out, or a polling session's close (which waits for its
            // POST) would spin.
            cmd = cmds.recv(), if !cmds_done => match cmd {
                Some(Cmd::Send(p, compress)) => s.send_with(p, compress),
                Some(Cmd::Close) => s.close(),
                None => {
                    cmds_done = true;
                    s.close();
                }
            },
            (conn, r) = maybe(&mut get_fut) => {
                get_fut = None;
                get_conn = Some(conn);
                match r {
                    Ok(body) => s.handle_poll_response(Instant::now().into_std(), body),
                    Err(e) => {
                        keep_first_error(e);
                        s.handle_transport_error(false);
                    }
                }
            }
            (conn, r) = maybe(&mut post_fut) => {
                post_fut = None;
                post_conn = Some(conn);
                s.handle_post_done(r.is_ok());
            }
            r = maybe(&mut ws_fut) => {
                ws_fut = None;
                match r {
                    Ok(w) => { ws = Some(w); s.handle_ws_open(); }
                    Err(e) => {
                        keep_first_error(e);
                        s.handle_transport_error(true);
                    }
                }
            }
            msg = next_ws(&mut ws) => match msg {
                Some(Ok(m)) => s.handle_ws_message(Instant::now().into_std(), m),
                _ => { ws = None; s.handle_transport_error(true); }
            },
            () = sleep_until(s.poll_timeout()) => s.handle_timeout(Instant::now().into_std()),
            Some(()) = closing.next(), if !closing.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests;
