//! The server side of one Engine.IO session, without I/O.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::packet::{Handshake, Packet, Payload, Prepared};
use crate::payload;

/// A transport a session runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling: GET to receive, POST to send.
    Polling,
    /// One WebSocket connection.
    WebSocket,
}

impl Transport {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }

    /// Parses the `transport` query parameter.
    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "polling" => Some(Transport::Polling),
            "websocket" => Some(Transport::WebSocket),
            _ => None,
        }
    }
}

/// Why a session ended, with the reason strings the official server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the session (close packet) or its WebSocket.
    TransportClose,
    /// The transport failed: an overlapping poll, a poll dropped before its
    /// answer, or a client that stopped reading (buffer full).
    TransportError,
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The client sent something that is not Engine.IO.
    ParseError,
    /// The server closed the session.
    ForcedClose,
}

impl CloseReason {
    /// The reason as the official server reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the session reports to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message from the client.
    Message(Payload),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session ended. Drain the transmit queues, then drop it.
    Closed(CloseReason),
}

/// Session settings, sent to the client in the handshake where they concern it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Time between the server's pings. Default 25 s, as the official server.
    pub ping_interval: Duration,
    /// How long a ping may wait for its pong. Default 20 s, as the official server.
    pub ping_timeout: Duration,
    /// The largest HTTP body (POST) accepted, in bytes, also announced to the
    /// client. Default 1 000 000 (the official `maxHttpBufferSize`).
    pub max_payload: usize,
    /// How long a probed WebSocket may take to complete the upgrade.
    /// Default 10 s, as the official server.
    pub upgrade_timeout: Duration,
    /// Packets the server may queue for a client that does not collect them;
    /// past it the session closes with "transport error". Default 1024.
    pub max_buffered_packets: usize,
    /// The most packets one POST body may carry; past it the POST gets 400
    /// and the session closes with "parse error". Default 16 384: a client
    /// flushing a large offline buffer of small emits stays well under it,
    /// while a 1 MB body of empty packets (500 000) is refused before each
    /// becomes an event.
    pub max_packets_per_post: usize,
    /// Whether clients may use (and upgrade to) WebSocket. Default true.
    pub allow_websocket: bool,
    /// Whether clients may use long-polling. Default true.
    pub allow_polling: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            upgrade_timeout: Duration::from_millis(10_000),
            max_buffered_packets: 1024,
            max_packets_per_post: 16_384,
            allow_websocket: true,
            allow_polling: true,
        }
    }
}

/// Why a request on a session is refused; the transport answers HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The session is not (or no longer) on long-polling.
    #[error("the session is not on long-polling")]
    NotPolling,
    /// A GET came while another was pending; the session is closed.
    #[error("overlapping poll requests")]
    OverlappingPoll,
    /// The POST body is not a valid payload; the session is closed.
    #[error("invalid payload")]
    InvalidPayload,
    /// A POST came while another was still unanswered; the session is
    /// closed, as the official server does ("data request overlap").
    #[error("overlapping POST requests")]
    OverlappingPost,
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// A WebSocket upgrade is not possible now (already on WebSocket, one
    /// probe at a time, or WebSocket not allowed).
    #[error("upgrade not possible")]
    UpgradeRefused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    None,
    /// A WebSocket is attached, waiting for `2probe`.
    Attached {
        deadline: Instant,
    },
    /// `3probe` sent; polling is held, waiting for `5`.
    Probed {
        deadline: Instant,
    },
}

/// The server side of one session: handshake, heartbeat, polling, the upgrade
/// to WebSocket, and close, as a state machine.
///
/// # Driving it
///
/// Inputs, from the transports: [`handle_poll`](Self::handle_poll) (a GET),
/// [`handle_post`](Self::handle_post) (a POST body),
/// [`attach_websocket`](Self::attach_websocket) (a WebSocket with this sid),
/// [`handle_ws_message`](Self::handle_ws_message),
/// [`handle_ws_closed`](Self::handle_ws_closed),
/// [`handle_poll_dropped`](Self::handle_poll_dropped), and
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
/// From the application: [`send`](Self::send), [`close`](Self::close).
///
/// Outputs, drained after every input: [`poll_event`](Self::poll_event);
/// [`poll_poll_response`](Self::poll_poll_response), the body to answer the
/// pending GET with; [`poll_ws`](Self::poll_ws), messages for the attached
/// WebSocket; and [`websocket_attached`](Self::websocket_attached): when it
/// turns false, close the WebSocket. Once [`is_finished`](Self::is_finished),
/// drain the outputs and drop the session. (A polling session the server
/// closed on purpose stays unfinished until the next GET has carried the
/// close packet, or `ping_timeout` passed, as the official server does.)
#[derive(Debug)]
pub struct ServerSession {
    sid: String,
    config: ServerConfig,
    transport: Transport,
    closed: bool,
    probe: Probe,
    /// Packets for the active transport, not yet handed out.
    outbox: VecDeque<Packet>,
    /// Messages for the attached WebSocket (active or probing).
    ws_out: VecDeque<ws_frame::Message>,
    ws_attached: bool,
    poll_pending: bool,
    /// A body decided for the pending GET (noop, close) ahead of the outbox.
    poll_answer: Option<Packet>,
    events: VecDeque<Event>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// Closed while no GET was pending: until this deadline, the next GET
    /// is answered with the packet (close when the server closed, noop when
    /// the client did) instead of finding an unknown sid.
    linger: Option<(Instant, Packet)>,
}

impl ServerSession {
    /// Opens a session on `transport`; the handshake is the first packet out.
    pub fn new(sid: String, config: ServerConfig, transport: Transport, now: Instant) -> Self {
        let upgrades = match transport {
            Transport::Polling if config.allow_websocket => vec!["websocket".to_owned()],
            _ => Vec::new(),
        };
        let handshake = Handshake {
            sid: sid.clone(),
            upgrades,
            ping_interval: config.ping_interval.as_millis() as u64,
            ping_timeout: config.ping_timeout.as_millis() as u64,
            max_payload: config.max_payload as u64,
        };
        let mut s = ServerSession {
            sid,
            next_ping: Some(now + config.ping_interval),
            config,
            transport,
            closed: false,
            probe: Probe::None,
            outbox: VecDeque::new(),
            ws_out: VecDeque::new(),
            ws_attached: transport == Transport::WebSocket,
            poll_pending: false,
            poll_answer: None,
            events: VecDeque::new(),
            pong_deadline: None,
            linger: None,
        };
        s.push(Packet::Open(handshake));
        s
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The active transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Whether the session ended (its `Closed` event is out).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether nothing more will happen: closed, and no close packet still
    /// waits for a GET to carry it. Drop the session then.
    pub fn is_finished(&self) -> bool {
        self.closed && self.linger.is_none()
    }

    /// Whether a WebSocket should stay open for this session (the active
    /// one, or a probe in progress).
    pub fn websocket_attached(&self) -> bool {
        self.ws_attached
    }

    /// Whether a GET is waiting for its answer.
    pub fn poll_pending(&self) -> bool {
        self.poll_pending
    }

    /// Queues a message for the client.
    pub fn send(&mut self, payload: Payload) {
        self.push(Packet::Message(payload));
    }

    /// Queues a message encoded once for many sessions: on WebSocket its
    /// bytes are shared, not copied.
    pub fn send_prepared(&mut self, message: &Prepared) {
        if self.transport == Transport::WebSocket && !self.closed {
            self.ws_out.push_back(message.to_ws());
        } else {
            self.push(Packet::Message(message.payload()));
        }
    }

    /// Closes the session from the server side ("forced close"). A pending
    /// GET is answered with a close packet; without one, the client's next
    /// GET (typically already on its way) gets it until `ping_timeout` after
    /// `now`, rather than finding an unknown sid.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.linger_for_next_poll(now, Packet::Close);
        self.finish(CloseReason::ForcedClose);
    }

    /// A GET on the polling transport. `Err` is answered with 400.
    ///
    /// Timers due by `now` run first, so the answer does not depend on
    /// whether the caller's timer fired before the request was handled: a
    /// GET past the pong deadline finds the session closed.
    pub fn handle_poll(&mut self, now: Instant) -> Result<(), RequestError> {
        self.handle_timeout(now);
        if self.closed {
            if !self.poll_pending {
                if let Some((_, answer)) = self.linger.take() {
                    // The GET the closing packet waited for.
                    self.poll_pending = true;
                    self.poll_answer = Some(answer);
                    return Ok(());
                }
            }
            return Err(RequestError::Closed);
        }
        if self.transport != Transport::Polling {
            return Err(RequestError::NotPolling);
        }
        if self.poll_pending {
            self.finish(CloseReason::TransportError);
            return Err(RequestError::OverlappingPoll);
        }
        self.poll_pending = true;
        if matches!(self.probe, Probe::Probed { .. }) {
            // Polling is held during the upgrade: release the client at once.
            self.poll_answer = Some(Packet::Noop);
        }
        Ok(())
    }

    /// A POST came while the previous one was not yet answered (the
    /// transport holds POSTs while the application catches up): closes the
    /// session with "transport error".
    pub fn handle_overlapping_post(&mut self) {
        self.finish(CloseReason::TransportError);
    }

    /// The pending GET's connection went away before it was answered.
    pub fn handle_poll_dropped(&mut self) {
        if self.poll_pending && !self.closed {
            self.poll_pending = false;
            self.finish(CloseReason::TransportError);
        }
    }

    /// A POST body on the polling transport. `Err` is answered with 400
    /// (413 for a body over `max_payload` is the transport's check).
    pub fn handle_post(&mut self, now: Instant, body: Bytes) -> Result<(), RequestError> {
        self.handle_timeout(now);
        if self.closed {
            return Err(RequestError::Closed);
        }
        if self.transport != Transport::Polling {
            return Err(RequestError::NotPolling);
        }
        match payload::decode(body, self.config.max_packets_per_post) {
            Ok(packets) => {
                for p in packets {
                    self.handle_packet(now, p);
                }
                Ok(())
            }
            Err(_) => {
                self.finish(CloseReason::ParseError);
                Err(RequestError::InvalidPayload)
            }
        }
    }

    /// A WebSocket arrived with this session's sid: the client wants to
    /// upgrade. `Err`: refuse it (close the WebSocket).
    pub fn attach_websocket(&mut self, now: Instant) -> Result<(), RequestError> {
        self.handle_timeout(now);
        if self.closed {
            return Err(RequestError::Closed);
        }
        if self.transport != Transport::Polling
            || self.probe != Probe::None
            || !self.config.allow_websocket
        {
            return Err(RequestError::UpgradeRefused);
        }
        self.probe = Probe::Attached {
            deadline: now + self.config.upgrade_timeout,
        };
        self.ws_attached = true;
        Ok(())
    }

    /// A message from the attached WebSocket.
    pub fn handle_ws_message(&mut self, now: Instant, msg: ws_frame::Message) {
        self.handle_timeout(now);
        if self.closed || !self.ws_attached {
            return;
        }
        let packet = match Packet::from_ws(msg) {
            None => return,
            Some(Ok(p)) => p,
            Some(Err(_)) if self.transport == Transport::WebSocket => {
                return self.finish(CloseReason::ParseError);
            }
            Some(Err(_)) => return self.drop_probe(),
        };
        if self.transport == Transport::WebSocket {
            return self.handle_packet(now, packet);
        }
        match (self.probe, packet) {
            (Probe::Attached { deadline }, Packet::Ping(data)) if data == "probe" => {
                self.ws_out.push_back(Packet::Pong(data).to_ws());
                self.probe = Probe::Probed { deadline };
                if self.poll_pending {
                    self.poll_answer = Some(Packet::Noop);
                }
            }
            (Probe::Probed { .. }, Packet::Upgrade) => {
                self.transport = Transport::WebSocket;
                self.probe = Probe::None;
                if self.poll_pending && self.poll_answer.is_none() {
                    self.poll_answer = Some(Packet::Noop);
                }
                let held: Vec<Packet> = self.outbox.drain(..).collect();
                for p in held {
                    self.ws_out.push_back(p.to_ws());
                }
                self.events.push_back(Event::Upgraded);
            }
            // Anything else on a probe fails the upgrade, not the session.
            _ => self.drop_probe(),
        }
    }

    /// Writing to the attached WebSocket failed or timed out.
    pub fn handle_ws_error(&mut self) {
        if !self.ws_attached || self.closed {
            return;
        }
        if self.transport == Transport::WebSocket {
            self.ws_attached = false;
            self.finish(CloseReason::TransportError);
        } else {
            self.drop_probe();
        }
    }

    /// The attached WebSocket closed or failed.
    pub fn handle_ws_closed(&mut self) {
        if !self.ws_attached || self.closed {
            return;
        }
        if self.transport == Transport::WebSocket {
            self.ws_attached = false;
            self.finish(CloseReason::TransportClose);
        } else {
            self.drop_probe();
        }
    }

    fn drop_probe(&mut self) {
        self.probe = Probe::None;
        self.ws_attached = false;
        self.ws_out.clear();
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Message(p) => self.events.push_back(Event::Message(p)),
            Packet::Pong(_) => {
                self.pong_deadline = None;
                self.next_ping = Some(now + self.config.ping_interval);
            }
            Packet::Close => {
                // The client leaves: a pending GET is released with a noop.
                // A GET sent at the same time may reach us just after the
                // POST: it gets the same noop, not a 400.
                if self.poll_pending {
                    self.poll_answer = Some(Packet::Noop);
                }
                self.linger_for_next_poll(now, Packet::Noop);
                self.end(CloseReason::TransportClose);
            }
            // Pings (other than probes), opens, upgrades and noops from a
            // client carry nothing for a v4 server.
            _ => {}
        }
    }

    /// Timers: send a ping, notice a missing pong, give up on an upgrade.
    ///
    /// Every other input carrying `now` runs this first, so the outcome
    /// depends on the times given, not on whether a timer fired first.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            if self.linger.as_ref().is_some_and(|(d, _)| now >= *d) {
                self.linger = None;
            }
            return;
        }
        if let Some(due) = self.next_ping.filter(|&t| now >= t) {
            self.next_ping = None;
            // Measured from when the ping was due: a late timer does not
            // stretch the heartbeat past what the client was told.
            self.pong_deadline = Some(due + self.config.ping_timeout);
            self.push(Packet::Ping(Default::default()));
        }
        if self.pong_deadline.is_some_and(|d| now >= d) {
            return self.finish(CloseReason::PingTimeout);
        }
        if let Probe::Attached { deadline } | Probe::Probed { deadline } = self.probe {
            if now >= deadline {
                self.drop_probe();
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return self.linger.as_ref().map(|(d, _)| *d);
        }
        let probe = match self.probe {
            Probe::Attached { deadline } | Probe::Probed { deadline } => Some(deadline),
            Probe::None => None,
        };
        [self.next_ping, self.pong_deadline, probe]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The body to answer the pending GET with (status 200, text/plain), once
    /// there is something to say.
    #[must_use]
    pub fn poll_poll_response(&mut self) -> Option<Bytes> {
        if !self.poll_pending {
            return None;
        }
        let mut out = BytesMut::new();
        if let Some(p) = self.poll_answer.take() {
            p.encode_text(&mut out);
        } else if self.transport == Transport::Polling
            && !matches!(self.probe, Probe::Probed { .. })
            && !self.outbox.is_empty()
        {
            payload::encode(self.outbox.iter(), &mut out);
            self.outbox.clear();
        } else {
            return None;
        }
        self.poll_pending = false;
        Some(out.freeze())
    }

    /// Whether [`poll_ws`](Self::poll_ws) has a message.
    pub fn has_ws_output(&self) -> bool {
        !self.ws_out.is_empty()
    }

    /// The next message for the attached WebSocket.
    #[must_use]
    pub fn poll_ws(&mut self) -> Option<ws_frame::Message> {
        self.ws_out.pop_front()
    }

    /// Queues a packet on the active transport.
    fn push(&mut self, packet: Packet) {
        if self.closed {
            return;
        }
        if self.transport == Transport::WebSocket {
            self.ws_out.push_back(packet.to_ws());
            return;
        }
        if self.outbox.len() >= self.config.max_buffered_packets {
            return self.finish(CloseReason::TransportError);
        }
        self.outbox.push_back(packet);
    }

    /// Ends the session for a server-side reason: a pending GET gets a close
    /// packet, a WebSocket is closed.
    fn finish(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        if self.poll_pending && self.poll_answer.is_none() {
            self.poll_answer = Some(Packet::Close);
        }
        self.end(reason);
    }

    /// Keeps a closing polling session reachable for one more GET, to
    /// answer it with `answer`. A session failed by an error is gone at
    /// once, as officially.
    fn linger_for_next_poll(&mut self, now: Instant, answer: Packet) {
        if self.transport == Transport::Polling && !self.poll_pending {
            self.linger = Some((now + self.config.ping_timeout, answer));
        }
    }

    fn end(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.ws_attached = false;
        self.outbox.clear();
        self.probe = Probe::None;
        self.next_ping = None;
        self.pong_deadline = None;
        self.events.push_back(Event::Closed(reason));
    }
}
