//! The tokio adapter: a [`Connection`] over an `AsyncRead + AsyncWrite`.
//!
//! No protocol logic lives here: the adapter moves bytes between the transport
//! and the core, and closes the transport when the core says it is done.
//! One file: the `Stream` and `Sink` halves share the read and write buffers
//! and the backpressure between them.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use futures_core::Stream;
use futures_sink::Sink;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_util::io::poll_read_buf;

use crate::connection::{Config, Connection, State};
#[cfg(feature = "deflate")]
use crate::deflate::DeflateParams;
use crate::error::{Error, HandshakeError};
use crate::handshake::{self, ClientRequest, HandshakeConfig, UpgradeRequest};
use crate::message::{CloseCode, CloseFrame, Message};

/// How much room a read into the connection's own buffer asks for: large
/// enough that a busy connection makes few system calls.
const READ_SIZE: usize = 8 << 10;

/// A read with nothing buffered goes to the stack first, and only what it
/// got is copied to the heap: an idle connection holds no read buffer, and
/// one that receives small messages holds one only while they are in use. A
/// read that fills this switches the connection to [`READ_SIZE`] reads into
/// its own buffer until that is used up.
const STACK_READ: usize = 4 << 10;

/// At most this many chunks go in one vectored write.
const MAX_SLICES: usize = 16;

/// A read never reserves more than this ahead of what has arrived, however
/// long the frame being read says it is: a peer cannot make us allocate
/// much more than it sends.
const MAX_READ_AHEAD: usize = 256 << 10;

/// A WebSocket over an async transport, as a futures `Stream` of received
/// [`Message`]s and a `Sink` of messages to send.
///
/// Received pings are answered, and a received close frame is echoed, while
/// the stream is polled. The stream ends (`None`) once the close handshake is
/// over and the transport is shut down; a protocol error is yielded once
/// (after its close frame was written) and then the stream ends. Closing the
/// sink starts the close handshake; keep polling the stream to finish it.
///
/// Messages given to the sink go out on `flush` (which `send` includes), or
/// earlier with an obliged reply, or past the backpressure mark.
///
/// # Backpressure
///
/// The output waiting for the transport is held near
/// [`Config::write_buffer_mark`]. Past it, `poll_ready` waits until all is
/// written (a sender adds at most one message past the mark), and polling
/// the stream writes before it reads more, and reads nothing while the
/// transport takes nothing: a peer that sends without reading, such as a
/// flood of pings whose pongs it never takes, is held back by its own
/// transport and costs a bounded amount of memory.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    io: S,
    conn: Connection,
    rbuf: BytesMut,
    needs_flush: bool,
    /// A protocol error, returned after its close frame went out.
    error: Option<Error>,
    eof: bool,
    shutdown: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a transport whose opening handshake is done. `read` holds any
    /// bytes that were read past the handshake.
    pub fn from_parts(io: S, conn: Connection, read: BytesMut) -> Self {
        WebSocketStream {
            io,
            conn,
            rbuf: read,
            needs_flush: false,
            error: None,
            eof: false,
            shutdown: false,
        }
    }

    /// The sans-IO connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Queues `msg` as the sink's `start_send` does (it leaves on the next
    /// flush), but never compressed, even with permessage-deflate
    /// negotiated: [`Connection::send_uncompressed`]. Call it when
    /// `poll_ready` would be ready, or use
    /// [`send_uncompressed`](Self::send_uncompressed).
    pub fn start_send_uncompressed(&mut self, msg: Message) -> Result<(), Error> {
        Ok(self.conn.send_uncompressed(msg)?)
    }

    /// Sends `msg` never compressed (socket.io's `compress(false)`): waits
    /// for room as the sink's `send` does, queues it, and flushes.
    pub async fn send_uncompressed(&mut self, msg: Message) -> Result<(), Error> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        self.start_send_uncompressed(msg)?;
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The transport, mutably. Writing to it directly corrupts the stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Whether the next message is already here: the bytes read so far
    /// hold it, so polling the stream returns it without touching the
    /// transport.
    ///
    /// A peer that pipelines requests sends many in one segment; a server
    /// that `feed`s each answer and `flush`es only when this is `false`
    /// writes the whole batch of answers with one system call.
    pub fn has_buffered_message(&mut self) -> bool {
        if self.conn.has_message() {
            return true;
        }
        if self.error.is_some()
            || self.conn.state() == State::Closed
            || self.conn.is_write_buffer_full()
        {
            return false;
        }
        self.parse_buffered() && self.conn.has_message()
    }

    /// Parses what has been read. A protocol error is kept for the next
    /// poll to report, as if it had been found there; `false` then.
    fn parse_buffered(&mut self) -> bool {
        match self.conn.handle_read(&mut self.rbuf) {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Room left in the read buffer without growing it.
    fn read_room(&self) -> usize {
        self.rbuf.capacity() - self.rbuf.len()
    }

    /// After a read of small frames that filled its room (`taken` bytes):
    /// takes what else has arrived, without waiting, so that a batch of
    /// small pipelined messages is parsed, answered and flushed together
    /// rather than in read-sized parts. Each read asks for a few times what
    /// the batch has brought so far, so a batch takes one or two calls more,
    /// not one per [`READ_SIZE`]. It stops at a large frame, which the reads
    /// sized to the frame take, and after [`MAX_READ_AHEAD`]. End of stream
    /// and errors are left for the next read, which meets them again.
    fn read_available(&mut self, cx: &mut Context<'_>, mut taken: usize) {
        while taken < MAX_READ_AHEAD {
            if !self.parse_buffered() || self.conn.state() == State::Closed {
                return;
            }
            if self.reserve_read((4 * taken).min(MAX_READ_AHEAD - taken)) {
                return;
            }
            let room = self.read_room();
            match poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf) {
                Poll::Ready(Ok(n)) if n == room => taken += n,
                _ => return,
            }
        }
    }

    /// Room for the next read into the connection's buffer, in one
    /// allocation: the rest of a large frame in one read when it can,
    /// [`READ_SIZE`] at least, and `batch` at least (a pipelined batch's
    /// next read). Returns whether the read is for the rest of a frame
    /// larger than [`READ_SIZE`].
    fn reserve_read(&mut self, batch: usize) -> bool {
        let rest = self
            .conn
            .partial_frame_len()
            .unwrap_or(0)
            .saturating_sub(self.rbuf.len());
        let large = rest > READ_SIZE;
        if large {
            // The frame's own reads take it; a batch read stops here.
            let want = rest.min(MAX_READ_AHEAD);
            if self.read_room() < want / 2 {
                self.rbuf.reserve(want);
            }
            return true;
        }
        let room = self.read_room();
        let want = if room < READ_SIZE / 2 { READ_SIZE } else { 0 }.max(batch);
        if room < want {
            self.rbuf.reserve(want);
        }
        false
    }

    /// Writes out everything the connection has queued, then flushes.
    /// Queued chunks go out together in one vectored write where the
    /// transport supports it.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = match self.conn.transmit_slices(&mut slices) {
                0 => break,
                1 => ready!(Pin::new(&mut self.io).poll_write(cx, &slices[0]))?,
                k => ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..k]))?,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(n);
            self.needs_flush = true;
        }
        if self.needs_flush {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.needs_flush = false;
        }
        Poll::Ready(Ok(()))
    }

    /// The end of the stream: the close frames are out, the transport is shut.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        // The peer may be gone already; failing to tell it is not an error.
        if !self.shutdown {
            if ready!(self.poll_write_out(cx)).is_ok() {
                let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            }
            self.shutdown = true;
        }
        Poll::Ready(self.error.take().map(Err))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(msg) = this.conn.poll_message() {
                // Obliged replies (pong, close echo) go out now, without
                // waiting on them. Answers fed since the last flush wait for
                // the flush, so a server answering pipelined messages can
                // write them in one batch.
                if !msg.is_data() {
                    if let Poll::Ready(Err(e)) = this.poll_write_out(cx) {
                        return Poll::Ready(Some(Err(e.into())));
                    }
                }
                return Poll::Ready(Some(Ok(msg)));
            }
            if this.conn.state() == State::Closed {
                return this.poll_finish(cx);
            }
            if this.eof {
                return Poll::Ready(None);
            }
            // Reading more could only add to what we owe the peer: past the
            // mark, write first, and read nothing while nothing is written.
            if this.conn.is_write_buffer_full() {
                match this.poll_write_out(cx) {
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                    Poll::Pending if this.conn.is_write_buffer_full() => return Poll::Pending,
                    _ => {}
                }
            }
            if let Err(e) = this.conn.handle_read(&mut this.rbuf) {
                this.error = Some(e);
                continue;
            }
            if this.conn.has_message() || this.conn.state() == State::Closed {
                continue;
            }
            let n = if this.rbuf.is_empty() && this.read_room() < READ_SIZE / 2 {
                // Let go of what is left of the last buffer before waiting.
                this.rbuf = BytesMut::new();
                let mut stack = [std::mem::MaybeUninit::<u8>::uninit(); STACK_READ];
                let mut read = ReadBuf::uninit(&mut stack);
                ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
                let got = read.filled();
                let full = got.len() == STACK_READ;
                // One allocation of the final size, not a growth step.
                this.rbuf = BytesMut::with_capacity(if full { READ_SIZE } else { got.len() });
                this.rbuf.extend_from_slice(got);
                if full {
                    this.read_available(cx, STACK_READ);
                }
                got.len()
            } else {
                let large = this.reserve_read(0);
                let room = this.read_room();
                let read = poll_read_buf(Pin::new(&mut this.io), cx, &mut this.rbuf);
                if read.is_pending() && this.rbuf.is_empty() && room > READ_SIZE {
                    // Waiting with nothing buffered: keep no more room than
                    // a busy connection needs (a batch may have grown it).
                    this.rbuf = BytesMut::new();
                }
                let n = ready!(read)?;
                // A read sized to a large frame that it filled is done: the
                // next is likely not there yet, and trying costs a call.
                if n == room && !large {
                    this.read_available(cx, n);
                }
                n
            };
            if n == 0 {
                this.eof = true;
                return Poll::Ready(Some(Err(Error::AbnormalClosure)));
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.conn.is_write_buffer_full() {
            ready!(this.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Ok(self.get_mut().conn.send(item)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(ready!(self.get_mut().poll_write_out(cx))?))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.conn.state() == State::Open {
            this.conn.close(None)?;
        }
        Poll::Ready(Ok(ready!(this.poll_write_out(cx))?))
    }
}

async fn read_head<S, T>(
    io: &mut S,
    buf: &mut BytesMut,
    mut parse: impl FnMut(&[u8]) -> Result<Option<T>, HandshakeError>,
) -> Result<T, Error>
where
    S: AsyncRead + Unpin,
{
    loop {
        if let Some(t) = parse(buf)? {
            return Ok(t);
        }
        buf.reserve(1024);
        if io.read_buf(buf).await? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
    }
}

async fn reject<S: AsyncWrite + Unpin>(io: &mut S, e: HandshakeError) -> Error {
    let _ = io
        .write_all(&handshake::encode_rejection(e.status(), &e.to_string()))
        .await;
    let _ = io.shutdown().await;
    e.into()
}

/// Accepts a WebSocket on a fresh transport with the default limits.
pub async fn accept<S>(io: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(
        io,
        Config::default(),
        &HandshakeConfig::default(),
        |_, resp| Ok(resp),
    )
    .await
}

/// Accepts a WebSocket, letting `check` look at the request and shape the
/// 101 response (select a subprotocol, add headers), or refuse with an HTTP
/// status (403 for a bad Origin, 401 for missing credentials, ...).
///
/// A request that breaks RFC 6455 §4.2.1 is answered with the status its
/// [`HandshakeError`] names (400, 405, 426, 431) before the error returns.
/// The handshake must be done within [`HandshakeConfig::timeout`], else
/// [`HandshakeError::Timeout`] returns and the transport is dropped, after a
/// 408 if the request head had not all arrived. The timer needs a tokio
/// runtime with time enabled.
pub async fn accept_with<S, F>(
    mut io: S,
    config: Config,
    hs: &HandshakeConfig,
    check: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest, http::Response<()>) -> Result<http::Response<()>, u16>,
{
    let mut head_read = false;
    let shake = server_handshake(&mut io, &config, hs, check, &mut head_read);
    match tokio::time::timeout(hs.timeout, shake).await {
        Ok(Ok((read, agreed))) => Ok(WebSocketStream::from_parts(
            io,
            agreed.apply(Connection::server(config)),
            read,
        )),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            if !head_read {
                // One try, without waiting: a peer this slow may not read.
                let answer = handshake::encode_rejection(408, "request head not received in time");
                let _ = std::future::poll_fn(|cx| {
                    Poll::Ready(Pin::new(&mut io).poll_write(cx, &answer))
                })
                .await;
                let _ = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut io).poll_shutdown(cx)))
                    .await;
            }
            Err(HandshakeError::Timeout(hs.timeout).into())
        }
    }
}

/// What the handshake agreed on beyond the upgrade: permessage-deflate.
#[derive(Default)]
struct Agreed {
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateParams>,
}

impl Agreed {
    fn apply(self, conn: Connection) -> Connection {
        #[cfg(feature = "deflate")]
        if let Some(p) = self.deflate {
            return conn.with_deflate(p);
        }
        conn
    }
}

/// The 101 response offered to the caller's check, and what it agrees to.
#[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
fn server_response(up: &UpgradeRequest, config: &Config) -> (http::Response<()>, Agreed) {
    #[cfg(feature = "deflate")]
    if let Some(cfg) = &config.deflate {
        let (resp, deflate) = up.accept_deflate(None, cfg);
        return (resp, Agreed { deflate });
    }
    (up.accept(None), Agreed::default())
}

/// The server's handshake, up to the 101 written; returns the bytes read
/// past the request head. `head_read` turns true once the head is in.
async fn server_handshake<S, F>(
    io: &mut S,
    config: &Config,
    hs: &HandshakeConfig,
    check: F,
    head_read: &mut bool,
) -> Result<(BytesMut, Agreed), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest, http::Response<()>) -> Result<http::Response<()>, u16>,
{
    let mut buf = BytesMut::with_capacity(1024);
    let parsed = read_head(io, &mut buf, |b| handshake::parse_request(b, hs)).await;
    let (req, n) = match parsed {
        Ok(r) => r,
        Err(Error::Handshake(e)) => return Err(reject(io, e).await),
        Err(e) => return Err(e),
    };
    *head_read = true;
    buf.advance(n);
    let up = match UpgradeRequest::check(req) {
        Ok(up) => up,
        Err(e) => return Err(reject(io, e).await),
    };
    let (offered, agreed) = server_response(&up, config);
    #[cfg(feature = "deflate")]
    let ours = offered
        .headers()
        .get(http::header::SEC_WEBSOCKET_EXTENSIONS)
        .cloned();
    let resp = match check(&up, offered) {
        Ok(resp) => resp,
        Err(status) => return Err(reject(io, HandshakeError::Rejected(status)).await),
    };
    // The check may drop the extension (or set its own): deflate is on only
    // if the response still says what we agreed to.
    #[cfg(feature = "deflate")]
    let agreed = match resp.headers().get(http::header::SEC_WEBSOCKET_EXTENSIONS) == ours.as_ref() {
        true => agreed,
        false => Agreed::default(),
    };
    let mut head = Vec::with_capacity(256);
    handshake::encode_response(&resp, &mut head);
    io.write_all(&head).await?;
    io.flush().await?;
    Ok((buf, agreed))
}

/// Opens a WebSocket to `url` (`ws://host[:port]/path`) over `io`, already
/// connected to that host, with the default limits and OS-seeded keys.
pub async fn connect<S>(io: S, url: &str) -> Result<(WebSocketStream<S>, http::Response<()>), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let req = ClientRequest::new(url, rand::random())?;
    connect_with(io, &req, Config::default(), &HandshakeConfig::default()).await
}

/// Opens a WebSocket with a prepared request (subprotocols, headers) and
/// limits. Frames are masked with keys from a ChaCha RNG seeded by the OS.
///
/// With [`Config::deflate`] set, permessage-deflate is offered (unless the
/// request already offers it) and used if the server accepts; a response
/// the client cannot accept (RFC 7692 §7) fails the connection with close
/// code 1010 and [`HandshakeError::InvalidExtensionResponse`] (or
/// [`HandshakeError::UnofferedExtension`]).
///
/// The server must answer within [`HandshakeConfig::timeout`], else
/// [`HandshakeError::Timeout`] returns and the transport is dropped. The
/// timer needs a tokio runtime with time enabled.
pub async fn connect_with<S>(
    mut io: S,
    req: &ClientRequest,
    config: Config,
    hs: &HandshakeConfig,
) -> Result<(WebSocketStream<S>, http::Response<()>), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    #[cfg(feature = "deflate")]
    let offered;
    #[cfg(feature = "deflate")]
    let req = match &config.deflate {
        Some(cfg) if !req.offers_deflate() => {
            offered = req.clone().deflate(cfg.clone());
            &offered
        }
        _ => req,
    };
    let mut rng = StdRng::from_os_rng();
    let shake = async {
        io.write_all(&req.encode()).await?;
        io.flush().await?;
        let mut buf = BytesMut::with_capacity(1024);
        let (resp, n) = read_head(&mut io, &mut buf, |b| req.parse_response(b, hs)).await?;
        buf.advance(n);
        Ok::<_, Error>((resp, buf))
    };
    let (resp, read) = match tokio::time::timeout(hs.timeout, shake).await {
        Err(_) => return Err(HandshakeError::Timeout(hs.timeout).into()),
        Ok(Err(Error::Handshake(
            e @ (HandshakeError::InvalidExtensionResponse(_) | HandshakeError::UnofferedExtension),
        ))) => {
            // §7.1.7: the connection is open; a close frame says why.
            let key: [u8; 4] = rng.random();
            let mut conn = Connection::client(Config::default(), move || key);
            let frame = CloseFrame {
                code: CloseCode::MANDATORY_EXTENSION,
                reason: "unacceptable extension response".into(),
            };
            let _ = conn.close(Some(frame));
            // A server that stops reading must not hold us past the limit.
            let goodbye = async {
                while let Some(b) = conn.poll_transmit() {
                    io.write_all(&b).await?;
                }
                io.shutdown().await
            };
            let _ = tokio::time::timeout(hs.timeout, goodbye).await;
            return Err(e.into());
        }
        Ok(r) => r?,
    };
    let conn = Connection::client(config, move || rng.random::<[u8; 4]>());
    #[cfg(feature = "deflate")]
    let conn = match req.deflate_response(&resp)? {
        Some(p) => conn.with_deflate(p),
        None => conn,
    };
    Ok((WebSocketStream::from_parts(io, conn, read), resp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_stream_waiting_after_a_batch_keeps_no_large_buffer() {
        let (mut peer, io) = tokio::io::duplex(64 << 10);
        let mut ws = WebSocketStream::from_parts(
            io,
            Connection::server(crate::Config::default()),
            BytesMut::new(),
        );
        // Four masked 1 KiB frames (zero key: the payload is as sent), a
        // little more than the first read takes: the second is given room
        // for four times that, and most of it is left over.
        let frame = [&[0x82, 0x80 | 126, 4, 0, 0, 0, 0, 0][..], &[7; 1024]].concat();
        peer.write_all(&frame.repeat(4)).await.unwrap();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for _ in 0..4 {
            let m = Pin::new(&mut ws).poll_next(&mut cx);
            assert!(matches!(m, Poll::Ready(Some(Ok(Message::Binary(_))))));
        }
        // The batch grew the buffer past READ_SIZE; waiting lets it go.
        assert!(Pin::new(&mut ws).poll_next(&mut cx).is_pending());
        assert!(ws.rbuf.capacity() <= READ_SIZE, "{}", ws.rbuf.capacity());
    }
}
