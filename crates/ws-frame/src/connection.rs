//! The sans-IO WebSocket connection: framing rules, reassembly and the close
//! handshake, for either role.
//!
//! One file for one state machine: framing, reassembly, UTF-8 and the close
//! handshake share its state, and the transitions read best side by side.

use std::collections::VecDeque;
use std::fmt;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

#[cfg(feature = "deflate")]
use crate::deflate::{Deflate, DeflateConfig, DeflateParams};
use crate::error::{Error, ProtocolError, UserError};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::{CloseCode, CloseFrame, Message, Utf8Bytes};
use crate::utf8::Utf8Validator;

/// The RSV bit that marks a compressed message (RFC 7692 §6).
#[cfg(feature = "deflate")]
const RSV1: u8 = 0b100;

/// Payloads up to this size are copied next to their header so that many small
/// frames leave in one write; larger ones leave as their own chunk, uncopied.
const COALESCE_LIMIT: usize = 4096;

/// Which end of the connection this is. The rules that differ by role
/// (who masks, who closes the transport first) read it in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends masked frames, expects unmasked ones.
    Client,
    /// Sends unmasked frames, requires masked ones.
    Server,
}

/// Limits and options. Every limit answers a peer that exceeds it with close
/// code 1009 (message too big).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted. Default 16 MiB: the largest
    /// single-frame message the Autobahn suite sends (case 9.1.6), and
    /// tungstenite's default.
    pub max_frame_size: usize,
    /// The largest message accepted, summed over its fragments. Default 64 MiB,
    /// as tungstenite. The whole message is buffered, so this bounds memory.
    pub max_message_size: usize,
    /// Accept unmasked frames from a client (server role). Default `false`, as
    /// RFC 6455 §5.1 requires; only for peers known to break that rule.
    pub accept_unmasked_frames: bool,
    /// The output waiting for the transport, in bytes, past which the
    /// connection holds back: [`Connection::is_write_buffer_full`] turns
    /// true, a driver writes before it reads more (the tokio stream stops
    /// reading from the peer and makes senders wait), and the core answers
    /// only the latest of the pings whose pong still waits (§5.5.3). Default
    /// 128 KiB: a few socket buffers, so a peer that reads rarely meets it,
    /// while one that sends without reading can make us hold no more (plus
    /// one control frame).
    pub write_buffer_mark: usize,
    /// permessage-deflate (RFC 7692): offered by a client and accepted by a
    /// server when `Some`, with its threshold, level and context takeover.
    /// Default `None`, as Node's `ws` on servers. Received compressed
    /// messages are bounded by [`max_message_size`](Self::max_message_size)
    /// on their inflated size.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            accept_unmasked_frames: false,
            write_buffer_mark: 128 << 10,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

/// A source of masking keys for the client role.
///
/// RFC 6455 §5.3 asks for keys an intermediary cannot predict, so the source
/// should be a cryptographic RNG; this crate reads no global RNG of its own.
pub trait MaskKeys: Send {
    /// The key for the next frame.
    fn next_mask(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeys for F {
    fn next_mask(&mut self) -> [u8; 4] {
        self()
    }
}

/// Where the close handshake stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// We sent a close frame and wait for the peer's; incoming messages are
    /// still delivered.
    CloseSent,
    /// Both close frames were exchanged, or the connection failed. Drain
    /// [`Connection::poll_transmit`], then close the transport (a server does
    /// so at once; a client may wait briefly for the server to, §7.1.1).
    Closed,
}

/// The frame being read: its header and how much of its payload was already
/// unmasked (and validated, for text) in place.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    header: FrameHeader,
    len: usize,
    done: usize,
    text: bool,
    /// The text validator as the frame began, to check again what was
    /// validated in an earlier call (see `read_frame`).
    utf8_start: Utf8Validator,
}

/// A WebSocket connection without I/O.
///
/// # Driving it
///
/// Input: append bytes read from the transport to a `BytesMut` you keep for
/// this connection, then call [`handle_read`](Self::handle_read); it consumes
/// whole frames from the front and leaves the rest. Output: drain
/// [`poll_message`](Self::poll_message) for received messages, then
/// [`poll_transmit`](Self::poll_transmit) for bytes to write, including the
/// replies the protocol obliges (pong, close echo, the close frame that answers
/// a protocol error). A loop:
///
/// ```text
/// loop {
///     while let Some(msg) = conn.poll_message() { /* deliver */ }
///     conn.handle_read(&mut buf)?;           // may produce a message
///     while let Some(bytes) = conn.poll_transmit() { /* write */ }
///     if conn.poll_message() is none: read more into buf (EOF: stop)
///     if conn.state() == State::Closed and transmit is drained: close transport
/// }
/// ```
///
/// `handle_read` stops after the first frame that yields a message, so at
/// most one message waits in the connection.
/// Sending: [`send`](Self::send), [`close`](Self::close),
/// [`send_encoded`](Self::send_encoded).
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    /// No more input is read: a close frame arrived or the peer failed us.
    read_closed: bool,
    frame: Option<InFrame>,
    /// The type of the fragmented message in progress, if any.
    fragmented: Option<OpCode>,
    assembly: BytesMut,
    utf8: Utf8Validator,
    /// The message `handle_read` produced and `poll_message` has not yet
    /// taken. One at most, since `handle_read` stops at it; inline rather
    /// than in a queue so that taking it touches no other memory.
    message: Option<Message>,
    /// Small frames, coalesced until the next chunk or poll.
    out: BytesMut,
    out_queue: VecDeque<Bytes>,
    /// The bytes in `out_queue`.
    queued_len: usize,
    /// Where in `out` an automatic pong starts, while it is the last thing
    /// there and none of it was taken: a newer one may replace it.
    pong_at: Option<usize>,
    mask_keys: Option<Box<dyn MaskKeys>>,
    /// The message being received is compressed: its first frame had RSV1.
    inflating: bool,
    /// permessage-deflate, when negotiated.
    #[cfg(feature = "deflate")]
    deflate: Option<Box<Deflate>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("read_closed", &self.read_closed)
            .field("fragmented", &self.fragmented)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection, after the opening handshake.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client-side connection, after the opening handshake; every frame it
    /// sends is masked with a key from `mask_keys`.
    pub fn client(config: Config, mask_keys: impl MaskKeys + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(mask_keys)))
    }

    fn new(role: Role, config: Config, mask_keys: Option<Box<dyn MaskKeys>>) -> Self {
        Connection {
            role,
            config,
            state: State::Open,
            read_closed: false,
            frame: None,
            fragmented: None,
            assembly: BytesMut::new(),
            utf8: Utf8Validator::default(),
            message: None,
            out: BytesMut::new(),
            out_queue: VecDeque::new(),
            queued_len: 0,
            pong_at: None,
            mask_keys,
            inflating: false,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Turns on permessage-deflate with the parameters the handshake agreed
    /// on ([`UpgradeRequest::accept_deflate`](crate::handshake::UpgradeRequest::accept_deflate),
    /// [`ClientRequest::deflate_response`](crate::handshake::ClientRequest::deflate_response)),
    /// and the threshold and level of [`Config::deflate`] (its default if
    /// unset). Received frames may then carry RSV1; messages of at least the
    /// threshold go out compressed.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, params: DeflateParams) -> Self {
        let cfg = self.config.deflate.clone().unwrap_or_default();
        self.deflate = Some(Box::new(Deflate::new(self.role, params, &cfg)));
        self
    }

    /// The negotiated permessage-deflate parameters, if any.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.deflate.as_ref().map(|d| d.params())
    }

    /// Whether a compressor or decompressor is held between messages: never
    /// without context takeover, so an idle connection holds no window.
    #[cfg(feature = "deflate")]
    pub fn holds_deflate_state(&self) -> bool {
        self.deflate.as_ref().is_some_and(|d| d.holds_state())
    }

    /// The RSV bits a received frame may carry.
    fn allowed_rsv(&self) -> u8 {
        #[cfg(feature = "deflate")]
        if self.deflate.is_some() {
            return RSV1;
        }
        0
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the peer's close frame arrived (or the peer failed the
    /// connection): nothing more will be read.
    pub fn is_read_closed(&self) -> bool {
        self.read_closed
    }

    /// Consumes frames from the front of `buf`, bytes read from the transport.
    /// A frame that ends `buf` takes its allocation with it, leaving `buf`
    /// empty and without capacity.
    ///
    /// Stops when it has produced a message or needs more input. Bytes of a
    /// partial frame are unmasked and UTF-8 checked in place as they arrive,
    /// so invalid text fails fast; the caller keeps appending to the same
    /// buffer and must not otherwise change it (if it does, the message holds
    /// whatever is there then, and text is checked again when its frame
    /// ends, so it is never invalid UTF-8). After the peer's close frame,
    /// further input is discarded (§5.5.1).
    ///
    /// On a peer violation the connection fails: the close frame with the
    /// matching code is queued, the state becomes [`State::Closed`], and the
    /// [`ProtocolError`] is returned.
    #[inline]
    pub fn handle_read(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        // A runtime calls this whenever it may have input, most often with
        // none (before each read, after each message): answer that without
        // the frame machinery. With nothing buffered, no frame can advance:
        // one of zero length ends in the call that read its header.
        if self.message.is_some() || buf.is_empty() {
            return Ok(());
        }
        self.read_frames(buf)
    }

    fn read_frames(&mut self, buf: &mut BytesMut) -> Result<(), Error> {
        while self.message.is_none() {
            if self.read_closed {
                buf.clear();
                return Ok(());
            }
            match self.read_frame(buf) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    self.fail(&e);
                    return Err(Error::Protocol(e));
                }
            }
        }
        Ok(())
    }

    /// Reads one frame, or as much of it as `buf` holds. `Ok(true)` when a
    /// frame was completed.
    fn read_frame(&mut self, buf: &mut BytesMut) -> Result<bool, ProtocolError> {
        let mut f = match self.frame.take() {
            Some(f) => f,
            None => {
                let Some((header, header_len)) =
                    FrameHeader::decode_with_rsv(buf, self.allowed_rsv())?
                else {
                    return Ok(false);
                };
                let f = self.start_frame(header)?;
                buf.advance(header_len);
                f
            }
        };
        // Text validated by an earlier call was validated in the caller's
        // buffer, which the caller could have changed since: the message is
        // built from what is there now, so that part is checked again.
        let checked_before = (f.text && f.done > 0).then_some((f.done, self.utf8));
        let avail = buf.len().min(f.len);
        if avail > f.done {
            let fresh = &mut buf[f.done..avail];
            if let Some(key) = f.header.mask {
                apply_mask(fresh, key, f.done);
            }
            if f.text {
                self.utf8
                    .feed(fresh)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            f.done = avail;
        }
        if f.done < f.len {
            self.frame = Some(f);
            return Ok(false);
        }
        if let Some((done, then)) = checked_before {
            let mut again = f.utf8_start;
            if again.feed(&buf[..done]).is_err() || again != then {
                return Err(ProtocolError::InvalidUtf8);
            }
        }
        // A frame that ends the buffer takes it whole: `split_to` would turn
        // the buffer into a shared one, an allocation and an atomic count
        // per message, to keep room the payload pins anyway.
        let payload = if f.len == buf.len() {
            std::mem::take(buf)
        } else {
            buf.split_to(f.len)
        };
        self.finish_frame(f.header, payload)?;
        Ok(true)
    }

    /// Checks what a header means for this connection: masking by role,
    /// fragment sequencing, limits.
    fn start_frame(&mut self, h: FrameHeader) -> Result<InFrame, ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) if !self.config.accept_unmasked_frames => {
                return Err(ProtocolError::UnmaskedFrameFromClient);
            }
            (Role::Client, true) => return Err(ProtocolError::MaskedFrameFromServer),
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: h.payload_len,
                max: self.config.max_frame_size,
            });
        }
        // Only a negotiated extension lets RSV1 through the decoder.
        let compressed = h.rsv != 0;
        if compressed && h.opcode.is_control() {
            return Err(ProtocolError::CompressedControlFrame);
        }
        // Compressed text is validated as it is inflated, not as it arrives.
        let text = match h.opcode {
            OpCode::Continuation => {
                let Some(kind) = self.fragmented else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                if compressed {
                    return Err(ProtocolError::CompressedContinuation);
                }
                if !self.inflating {
                    self.check_message_size(self.assembly.len() as u64 + h.payload_len)?;
                }
                kind == OpCode::Text && !self.inflating
            }
            OpCode::Text | OpCode::Binary => {
                if self.fragmented.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                self.check_message_size(h.payload_len)?;
                if h.opcode == OpCode::Text {
                    self.utf8 = Utf8Validator::default();
                }
                self.inflating = compressed;
                h.opcode == OpCode::Text && !compressed
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => false,
        };
        Ok(InFrame {
            header: h,
            // Bounded by `max_frame_size`, a `usize`.
            len: h.payload_len as usize,
            done: 0,
            text,
            utf8_start: self.utf8,
        })
    }

    fn check_message_size(&self, size: u64) -> Result<(), ProtocolError> {
        if size > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                size,
                max: self.config.max_message_size,
            });
        }
        Ok(())
    }

    /// Acts on a complete frame whose payload is unmasked (and, for text,
    /// validated up to its end).
    fn finish_frame(&mut self, h: FrameHeader, payload: BytesMut) -> Result<(), ProtocolError> {
        match h.opcode {
            #[cfg(feature = "deflate")]
            OpCode::Text | OpCode::Binary | OpCode::Continuation if self.inflating => {
                self.inflate_frame(h, &payload)?;
            }
            OpCode::Text | OpCode::Binary if h.fin => {
                let msg = self.data_message(h.opcode, payload.freeze())?;
                self.deliver(msg);
            }
            OpCode::Text | OpCode::Binary => {
                self.fragmented = Some(h.opcode);
                self.assembly.clear();
                self.assembly.extend_from_slice(&payload);
            }
            OpCode::Continuation => {
                self.assembly.extend_from_slice(&payload);
                if h.fin {
                    let kind = self.fragmented.take().unwrap_or(OpCode::Binary);
                    let whole = std::mem::take(&mut self.assembly).freeze();
                    let msg = self.data_message(kind, whole)?;
                    self.deliver(msg);
                }
            }
            OpCode::Ping => {
                let payload = payload.freeze();
                if self.state == State::Open {
                    self.answer_ping(payload.clone());
                }
                self.deliver(Message::Ping(payload));
            }
            OpCode::Pong => self.deliver(Message::Pong(payload.freeze())),
            OpCode::Close => {
                let frame = parse_close(payload.freeze())?;
                if self.state == State::Open {
                    // Echo the status code (§5.5.1); an empty close gets an empty one.
                    let echo = frame.as_ref().map(|f| f.code.0.to_be_bytes().to_vec());
                    self.write_frame(OpCode::Close, echo.map(Bytes::from).unwrap_or_default());
                }
                self.state = State::Closed;
                self.read_closed = true;
                self.release_deflate();
                self.deliver(Message::Close(frame));
            }
        }
        Ok(())
    }

    /// Inflates a frame of a compressed message onto the assembly, bounded
    /// by `max_message_size` on the inflated size, and delivers the message
    /// at its last frame.
    #[cfg(feature = "deflate")]
    fn inflate_frame(&mut self, h: FrameHeader, payload: &[u8]) -> Result<(), ProtocolError> {
        let kind = match h.opcode {
            OpCode::Continuation => self.fragmented.unwrap_or(OpCode::Binary),
            first => {
                self.assembly = BytesMut::new();
                first
            }
        };
        let Some(deflate) = self.deflate.as_mut() else {
            // start_frame lets RSV1 through only with deflate negotiated.
            return Err(ProtocolError::ReservedBitsSet(RSV1));
        };
        let utf8 = &mut self.utf8;
        let mut check = |piece: &[u8]| match kind {
            OpCode::Text => utf8.feed(piece).map_err(|_| ProtocolError::InvalidUtf8),
            _ => Ok(()),
        };
        let max = self.config.max_message_size;
        deflate.inflate(payload, h.fin, &mut self.assembly, max, &mut check)?;
        if h.fin {
            self.fragmented = None;
            self.inflating = false;
            let whole = std::mem::take(&mut self.assembly).freeze();
            let msg = self.data_message(kind, whole)?;
            self.deliver(msg);
        } else {
            self.fragmented = Some(kind);
        }
        Ok(())
    }

    /// Frees the compressor and decompressor: nothing more will use them.
    fn release_deflate(&mut self) {
        #[cfg(feature = "deflate")]
        if let Some(d) = self.deflate.as_mut() {
            d.release();
        }
    }

    /// Holds a received message for `poll_message`. `handle_read` reads no
    /// further frame while one waits, so the slot is free.
    fn deliver(&mut self, msg: Message) {
        debug_assert!(self.message.is_none());
        self.message = Some(msg);
    }

    fn data_message(&mut self, kind: OpCode, payload: Bytes) -> Result<Message, ProtocolError> {
        Ok(if kind == OpCode::Text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            Message::Text(Utf8Bytes::from_bytes_unchecked(payload))
        } else {
            Message::Binary(payload)
        })
    }

    /// Fails the connection (§7.1.7): queue the close frame for `e`, stop reading.
    fn fail(&mut self, e: &ProtocolError) {
        if self.state != State::Closed && self.state != State::CloseSent {
            let reason = e.to_string();
            let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            let mut body = e.close_code().0.to_be_bytes().to_vec();
            body.extend_from_slice(&reason.as_bytes()[..end]);
            self.write_frame(OpCode::Close, Bytes::from(body));
        }
        self.state = State::Closed;
        self.read_closed = true;
        self.frame = None;
        self.fragmented = None;
        self.inflating = false;
        self.assembly = BytesMut::new();
        self.release_deflate();
    }

    /// The next received message, if any.
    #[must_use]
    pub fn poll_message(&mut self) -> Option<Message> {
        self.message.take()
    }

    /// The next chunk of bytes to write to the transport, if any. Write the
    /// chunks in order; small frames come coalesced in one chunk.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(b) = self.out_queue.pop_front() {
            self.queued_len -= b.len();
            return Some(b);
        }
        self.pong_at = None;
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    /// Fills `dst` with the waiting output, in order, without consuming it:
    /// the slices for one vectored write, so a large frame's header and
    /// payload (kept apart to avoid copying the payload) go out in one system
    /// call. Returns how many slices were filled; follow the write with
    /// [`advance_transmit`](Self::advance_transmit). An alternative to
    /// [`poll_transmit`](Self::poll_transmit); the two may be mixed.
    pub fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        // The usual case, small frames only: one slice, no iterator chain.
        if self.out_queue.is_empty() {
            return match dst.first_mut() {
                Some(slot) if !self.out.is_empty() => {
                    *slot = IoSlice::new(&self.out);
                    1
                }
                _ => 0,
            };
        }
        let queued = self.out_queue.iter().map(|b| &b[..]);
        let rest = (!self.out.is_empty()).then_some(&self.out[..]);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(queued.chain(rest)) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Marks `n` bytes of the waiting output as written.
    ///
    /// # Panics
    ///
    /// If fewer than `n` bytes are waiting.
    pub fn advance_transmit(&mut self, mut n: usize) {
        if self.out_queue.is_empty() && n == self.out.len() {
            // All written: let the buffer go. An idle connection holds none,
            // and the next frame's comes from the allocator, likely memory
            // another connection just freed and still in cache, rather than
            // this connection's own, cold after it waited.
            self.out = BytesMut::new();
            self.pong_at = None;
            return;
        }
        while n > 0 {
            let Some(front) = self.out_queue.front_mut() else {
                self.out.advance(n);
                self.pong_at = self.pong_at.and_then(|at| at.checked_sub(n));
                return;
            };
            if n < front.len() {
                front.advance(n);
                self.queued_len -= n;
                return;
            }
            n -= front.len();
            self.queued_len -= front.len();
            self.out_queue.pop_front();
        }
    }

    /// The payload length of the frame being read, when its header has
    /// arrived but not all of its payload: the payload starts at the front of
    /// the read buffer, so a runtime can size its next read to the rest of it
    /// (bounded by [`Config::max_frame_size`], which the header was checked
    /// against).
    pub fn partial_frame_len(&self) -> Option<usize> {
        self.frame.as_ref().map(|f| f.len)
    }

    /// How many bytes wait in [`poll_transmit`](Self::poll_transmit); a
    /// runtime applies backpressure on it.
    pub fn transmit_len(&self) -> usize {
        self.out.len() + self.queued_len
    }

    /// Whether the output waiting has reached [`Config::write_buffer_mark`]:
    /// write some of it before reading more, since more input can only add
    /// replies to it (pongs, a close echo) or answers to messages.
    pub fn is_write_buffer_full(&self) -> bool {
        self.transmit_len() >= self.config.write_buffer_mark
    }

    /// Whether [`poll_message`](Self::poll_message) has a message waiting.
    pub fn has_message(&self) -> bool {
        self.message.is_some()
    }

    /// Queues a message. `Message::Close` starts the close handshake as
    /// [`close`](Self::close) does. With permessage-deflate negotiated, a
    /// text or binary message of at least the threshold goes out compressed.
    pub fn send(&mut self, msg: Message) -> Result<(), UserError> {
        self.send_with(msg, true)
    }

    /// Queues a message as [`send`](Self::send) does, but never compressed,
    /// even with permessage-deflate negotiated (socket.io's
    /// `compress(false)`): for data that does not compress, or that must not
    /// share a compression context with other data (secrets next to
    /// attacker-chosen text, as in CRIME/BREACH). Without deflate it is
    /// `send`.
    pub fn send_uncompressed(&mut self, msg: Message) -> Result<(), UserError> {
        self.send_with(msg, false)
    }

    fn send_with(&mut self, msg: Message, compress: bool) -> Result<(), UserError> {
        match msg {
            Message::Text(t) => self.send_data(OpCode::Text, t.into_bytes(), compress),
            Message::Binary(b) => self.send_data(OpCode::Binary, b, compress),
            Message::Ping(p) => self.send_control(OpCode::Ping, p),
            Message::Pong(p) => self.send_control(OpCode::Pong, p),
            Message::Close(frame) => self.close(frame),
        }
    }

    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn send_data(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        compress: bool,
    ) -> Result<(), UserError> {
        if self.state != State::Open {
            return Err(UserError::SendAfterClose);
        }
        #[cfg(feature = "deflate")]
        if compress && !opcode.is_control() {
            if let Some(d) = self.deflate.as_mut().filter(|d| d.wants(payload.len())) {
                if let Some(z) = d.compress(&payload) {
                    self.write_frame_rsv(opcode, RSV1, z);
                    return Ok(());
                }
            }
        }
        self.write_frame(opcode, payload);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), UserError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(UserError::ControlPayloadTooLong(payload.len()));
        }
        self.send_data(opcode, payload, false)
    }

    /// Starts the close handshake (§7.1.2): queues a close frame and moves to
    /// [`State::CloseSent`]. Messages still arrive until the peer's close.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), UserError> {
        if self.state != State::Open {
            return Err(UserError::SendAfterClose);
        }
        let body = match frame {
            None => Bytes::new(),
            Some(f) => {
                if !f.code.is_sendable() {
                    return Err(UserError::InvalidCloseCode(f.code.0));
                }
                if f.reason.len() + 2 > MAX_CONTROL_PAYLOAD {
                    return Err(UserError::ControlPayloadTooLong(f.reason.len() + 2));
                }
                let mut b = BytesMut::with_capacity(2 + f.reason.len());
                b.extend_from_slice(&f.code.0.to_be_bytes());
                b.extend_from_slice(f.reason.as_bytes());
                b.freeze()
            }
        };
        self.write_frame(OpCode::Close, body);
        self.state = State::CloseSent;
        Ok(())
    }

    /// Queues a frame encoded once for many connections (a broadcast). Only a
    /// server may, since client frames carry a fresh mask each.
    ///
    /// With permessage-deflate negotiated, a frame whose payload reaches the
    /// threshold is compressed for this connection, as [`send`](Self::send)
    /// would (the compression context is the connection's own, so a shared
    /// compressed frame would be wrong for every peer but one); smaller ones
    /// go out as encoded.
    pub fn send_encoded(&mut self, frame: &EncodedFrame) -> Result<(), UserError> {
        if self.role != Role::Server {
            return Err(UserError::EncodedFrameOnClient);
        }
        if self.state != State::Open {
            return Err(UserError::SendAfterClose);
        }
        #[cfg(feature = "deflate")]
        if let Some(d) = self.deflate.as_ref() {
            if let Ok(Some((h, n))) = FrameHeader::decode(&frame.0) {
                if d.wants(h.payload_len as usize) {
                    return self.send_data(h.opcode, frame.0.slice(n..), true);
                }
            }
        }
        self.push_chunk(frame.0.clone());
        Ok(())
    }

    /// Queues the pong for a ping (§5.5.2). Past the write mark, a pong
    /// still waiting whole at the end of the output is replaced instead of
    /// joined (§5.5.3 allows answering only the latest ping), so a peer that
    /// pings without reading cannot grow the output.
    fn answer_ping(&mut self, payload: Bytes) {
        if let Some(at) = self.pong_at.take() {
            if self.is_write_buffer_full() {
                self.out.truncate(at);
            }
        }
        let at = self.out.len();
        self.write_frame(OpCode::Pong, payload);
        self.pong_at = Some(at);
    }

    fn write_frame(&mut self, opcode: OpCode, payload: Bytes) {
        self.write_frame_rsv(opcode, 0, payload);
    }

    fn write_frame_rsv(&mut self, opcode: OpCode, rsv: u8, payload: Bytes) {
        // Whatever follows a waiting pong keeps it.
        self.pong_at = None;
        let mask = self.mask_keys.as_mut().map(|k| k.next_mask());
        let header = FrameHeader {
            rsv,
            ..FrameHeader::new(opcode, payload.len() as u64, mask)
        };
        let mut hbuf = [0u8; MAX_HEADER_LEN];
        let hlen = header.encode(&mut hbuf);
        let copied = if payload.len() > COALESCE_LIMIT {
            0
        } else {
            payload.len()
        };
        // One allocation for header and payload when `out` starts empty.
        if self.out.capacity() == 0 {
            self.out = BytesMut::with_capacity(hlen + copied);
        } else {
            self.out.reserve(hlen + copied);
        }
        self.out.extend_from_slice(&hbuf[..hlen]);
        match mask {
            None if payload.len() > COALESCE_LIMIT => self.push_chunk(payload),
            None => self.out.extend_from_slice(&payload),
            Some(key) if payload.len() > COALESCE_LIMIT => match payload.try_into_mut() {
                // Sole owner: mask in place rather than copy.
                Ok(mut owned) => {
                    apply_mask(&mut owned, key, 0);
                    self.push_chunk(owned.freeze());
                }
                Err(shared) => self.extend_masked(&shared, key),
            },
            Some(key) => self.extend_masked(&payload, key),
        }
    }

    fn extend_masked(&mut self, payload: &[u8], key: [u8; 4]) {
        let start = self.out.len();
        self.out.extend_from_slice(payload);
        apply_mask(&mut self.out[start..], key, 0);
    }

    /// Queues a chunk after whatever small frames are waiting in `out`.
    fn push_chunk(&mut self, chunk: Bytes) {
        if !self.out.is_empty() {
            self.queued_len += self.out.len();
            self.out_queue.push_back(self.out.split().freeze());
            self.pong_at = None;
        }
        self.queued_len += chunk.len();
        self.out_queue.push_back(chunk);
    }
}

/// A complete unmasked frame, encoded once and shared by every server
/// connection it is sent on ([`Connection::send_encoded`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame(Bytes);

impl EncodedFrame {
    /// Encodes a text or binary message as one unmasked frame.
    pub fn data(msg: &Message) -> Option<EncodedFrame> {
        let (opcode, payload) = match msg {
            Message::Text(t) => (OpCode::Text, t.as_bytes().as_ref()),
            Message::Binary(b) => (OpCode::Binary, b.as_ref()),
            _ => return None,
        };
        let header = FrameHeader::new(opcode, payload.len() as u64, None);
        let mut hbuf = [0u8; MAX_HEADER_LEN];
        let hlen = header.encode(&mut hbuf);
        let mut b = BytesMut::with_capacity(hlen + payload.len());
        b.extend_from_slice(&hbuf[..hlen]);
        b.extend_from_slice(payload);
        Some(EncodedFrame(b.freeze()))
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

/// Parses a close frame body (§5.5.1, §7.4).
fn parse_close(body: Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    match body.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::CloseFrameTooShort),
        _ => {
            let code = CloseCode(u16::from_be_bytes([body[0], body[1]]));
            if !code.is_sendable() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason = Utf8Bytes::try_from_bytes(body.slice(2..))
                .map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}
