//! Opening a WebSocket from a URL alone: TCP to the URL's host and port,
//! TLS for `wss://` (with the `tls` feature), then the handshake.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::connection::Config;
use crate::error::{Error, HandshakeError};
use crate::handshake::{ClientRequest, HandshakeConfig};
use crate::stream::{WebSocketStream, connect_with};
#[cfg(feature = "tls")]
use crate::tls::{ClientTls, TlsError};

/// A client's transport: plain, or TLS over it.
///
/// Without the `tls` feature only `Plain` exists. The enum is
/// `#[non_exhaustive]` because another crate in the build may turn the
/// feature on, and a `match` must not break when it does.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// No TLS (`ws://`, `http://`).
    Plain(S),
    /// TLS over the transport (`wss://`, `https://`).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<S>>),
}

impl<S> MaybeTlsStream<S> {
    /// The transport under TLS, if any (to read its addresses, say).
    pub fn get_ref(&self) -> &S {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => s.get_ref().0,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How [`connect_url`] reaches the server and what it allows.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Limits on the open connection. Default ws-frame's.
    pub config: Config,
    /// Limits on the handshake, and its timeout, which bounds dialing (TCP
    /// and TLS) and, again, the HTTP upgrade.
    pub handshake: HandshakeConfig,
    /// The roots `wss://` trusts. `None` (the default): the webpki roots,
    /// [`ClientTls::webpki_roots`].
    #[cfg(feature = "tls")]
    pub tls: Option<ClientTls>,
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`): dials TCP to its host
/// and port (80 or 443 by default; the name resolved by tokio), speaks TLS
/// for `wss://` with the host as the server name, then runs the handshake.
///
/// Without the `tls` feature a `wss://` URL fails with
/// [`Error::TlsNotEnabled`], before anything is dialed.
pub async fn connect_url(
    url: &str,
    options: &ConnectOptions,
) -> Result<
    (
        WebSocketStream<MaybeTlsStream<TcpStream>>,
        http::Response<()>,
    ),
    Error,
> {
    let req = ClientRequest::new(url, rand::random())?;
    connect_request(&req, options).await
}

/// [`connect_url`] with a prepared request (subprotocols, headers).
pub async fn connect_request(
    req: &ClientRequest,
    options: &ConnectOptions,
) -> Result<
    (
        WebSocketStream<MaybeTlsStream<TcpStream>>,
        http::Response<()>,
    ),
    Error,
> {
    let hs = &options.handshake;
    let io = tokio::time::timeout(hs.timeout, dial(req, options))
        .await
        .map_err(|_| HandshakeError::Timeout(hs.timeout))??;
    connect_with(io, req, options.config.clone(), hs).await
}

async fn dial(
    req: &ClientRequest,
    #[cfg_attr(not(feature = "tls"), allow(unused_variables))] options: &ConnectOptions,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    #[cfg(not(feature = "tls"))]
    if req.is_secure() {
        return Err(Error::TlsNotEnabled);
    }
    // A bad name is the caller's mistake: report it before dialing.
    #[cfg(feature = "tls")]
    let name = match req.is_secure() {
        true => Some(crate::tls::server_name(req.hostname())?),
        false => None,
    };
    let tcp = TcpStream::connect((req.hostname(), req.port())).await?;
    // Frames leave in whole writes; Nagle's algorithm would only delay them.
    let _ = tcp.set_nodelay(true);
    #[cfg(feature = "tls")]
    if let Some(name) = name {
        let tls = options.tls.clone().unwrap_or_default();
        let stream = tokio_rustls::TlsConnector::from(tls.config().clone())
            .connect(name, tcp)
            .await
            .map_err(|e| match TlsError::from_io_error(e) {
                Ok(t) => Error::Tls(t),
                Err(e) => Error::Io(e),
            })?;
        return Ok(MaybeTlsStream::Tls(Box::new(stream)));
    }
    Ok(MaybeTlsStream::Plain(tcp))
}
