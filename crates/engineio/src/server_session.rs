//! The server side of one Engine.IO session, without I/O.
//!
//! One file for one state machine: its phases and every transition between
//! them are here, with the shared heartbeat and outbox in their own modules.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Instant;

use bytes::{Bytes, BytesMut};

use crate::error::{CloseReason, RequestError};
use crate::heartbeat::{Beat, Heartbeat, Side};
use crate::outbox::{Full, Outbox};
use crate::packet::{Handshake, Packet, Payload, Prepared};
use crate::payload;
use crate::transport::Transport;

/// What the session reports to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message from the client.
    Message(Payload),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session ended. Drain [`ServerSession::poll_transmit`], then drop
    /// it once [`is_finished`](ServerSession::is_finished).
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
    /// Whether Engine.IO v3 clients (`EIO=3`, such as `socket.io-client`
    /// 2.x) are served, as the official server's `allowEIO3`. Default
    /// false, as in Node: such a client is refused with 400 and
    /// `{"code":5,"message":"Unsupported protocol version"}`. See
    /// [`ProtocolVersion::V3`] for what changes on the wire.
    pub allow_eio3: bool,
}

/// The Engine.IO protocol revision a session speaks, chosen by the `EIO`
/// query parameter of the request that opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// Engine.IO v3 (`socket.io-client` 2.x), served only with
    /// [`ServerConfig::allow_eio3`]: payloads as in [`payload::v3`], and
    /// the heartbeat reversed: the client pings, the server answers with a
    /// pong and closes a session whose client sends no ping for
    /// `ping_interval + ping_timeout`; the server sends no pings.
    V3,
    /// Engine.IO v4 (`EIO=4`).
    V4,
}

impl ProtocolVersion {
    /// The revision an `EIO` query value asks for: `4` or `3`; `None` for
    /// anything else. (The official server takes every value but `4`, or
    /// none, for v3 when it allows v3; this one refuses them either way,
    /// as the official protocol test suite expects of a server.)
    pub fn from_query(eio: Option<&str>) -> Option<ProtocolVersion> {
        match eio {
            Some("4") => Some(ProtocolVersion::V4),
            Some("3") => Some(ProtocolVersion::V3),
            _ => None,
        }
    }
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
            allow_eio3: false,
        }
    }
}

/// What the transports must do for a server session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerTransmit {
    /// Answer the pending GET: status 200, `text/plain`, this body. The
    /// flag: whether it may be compressed, true when any of its packets
    /// may be (engine.io's rule); the transport compresses it only when HTTP
    /// compression is on, the body reaches the threshold and the request
    /// accepts gzip or deflate.
    PollResponse(Bytes, bool),
    /// Send this message on the attached WebSocket (the active one, or the
    /// probe's answer). The flag: whether it may be compressed (false for a
    /// message sent with `compress: false`), for a WebSocket with
    /// permessage-deflate.
    Ws(ws_frame::Message, bool),
    /// Close the attached WebSocket: its probe failed, or the session ended.
    CloseWebSocket,
}

/// A WebSocket trying to take a polling session over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    /// Attached, waiting for `2probe`.
    Attached { deadline: Instant },
    /// `3probe` sent; polling is held, waiting for `5`.
    Probed { deadline: Instant },
}

impl Probe {
    fn deadline(self) -> Instant {
        match self {
            Probe::Attached { deadline } | Probe::Probed { deadline } => deadline,
        }
    }
}

/// Where a session stands. Every change of phase goes through
/// [`ServerSession::upgrade`], [`ServerSession::end`] or the linger's
/// expiry, so the transitions are in one place:
///
/// ```text
/// Polling{probe} ──5──> WebSocket
///      │                   │
///      └──── end ──────────┴──> Lingering{until, answer} ──GET or until──> Finished
///                          └──────────────────────────────────────────────> Finished
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// On long-polling, maybe with a WebSocket probing to take over.
    Polling { probe: Option<Probe> },
    /// On WebSocket.
    WebSocket,
    /// Closed while no GET was pending: until `until`, the next GET gets
    /// `answer` (a close packet when the server closed, a noop when the
    /// client did) instead of finding an unknown sid.
    Lingering { until: Instant, answer: Packet },
    /// Nothing more will happen.
    Finished,
}

/// The server side of one session: handshake, heartbeat, polling, the upgrade
/// to WebSocket, and close, as a state machine.
///
/// # Driving it
///
/// Inputs, each with the time it happened (timers due by then run first, so
/// the outcome depends on the times given, not on whether a timer fired
/// before the input was handled): from the transports
/// [`handle_poll`](Self::handle_poll) (a GET), [`handle_post`](Self::handle_post)
/// (a POST body), [`attach_websocket`](Self::attach_websocket) (a WebSocket
/// with this sid), [`handle_ws_message`](Self::handle_ws_message),
/// [`handle_ws_closed`](Self::handle_ws_closed) and
/// [`handle_ws_error`](Self::handle_ws_error),
/// [`handle_poll_dropped`](Self::handle_poll_dropped),
/// [`handle_overlapping_post`](Self::handle_overlapping_post), and
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
/// From the application: [`send`](Self::send),
/// [`send_prepared`](Self::send_prepared), [`close`](Self::close).
///
/// Outputs, drained after every input: [`poll_event`](Self::poll_event) for
/// the application, then [`poll_transmit`](Self::poll_transmit) for the
/// transports (the pending GET's answer, WebSocket messages, closing the
/// WebSocket). Once [`is_finished`](Self::is_finished), drain them and drop
/// the session. (A polling session closed while no GET was pending stays
/// unfinished until the next GET has carried its last packet, or
/// `ping_timeout` passed.)
#[derive(Debug)]
pub struct ServerSession {
    sid: String,
    config: ServerConfig,
    phase: Phase,
    /// The transport in use, or last used once closed.
    transport: Transport,
    /// A GET is waiting for its answer.
    get_waiting: bool,
    /// Packets for the polling transport, until a GET carries them.
    outbox: Outbox,
    heartbeat: Heartbeat,
    transmit: VecDeque<ServerTransmit>,
    events: VecDeque<Event>,
    /// `Some` for a v3 session.
    v3: Option<V3>,
}

/// What a v3 session keeps besides.
#[derive(Clone, Copy, Debug)]
struct V3 {
    /// The client asked for binary as base64 (`b64=1`) on the active
    /// transport: no binary payloads or frames.
    base64: bool,
    /// What the attached WebSocket's request asked, for after the upgrade.
    ws_base64: bool,
}

impl ServerSession {
    /// Opens a session on `transport`; the handshake is the first packet out.
    pub fn new(sid: String, config: ServerConfig, transport: Transport, now: Instant) -> Self {
        Self::open(sid, config, transport, None, now)
    }

    /// Opens an Engine.IO v3 session ([`ProtocolVersion::V3`]) on
    /// `transport`. `base64`: the opening request asked for binary as
    /// base64 (`b64=1`), so binary goes as `b4` + base64 text on this
    /// transport (a WebSocket the session upgrades to follows its own
    /// request: [`attach_websocket_b64`](Self::attach_websocket_b64)).
    pub fn new_v3(
        sid: String,
        config: ServerConfig,
        transport: Transport,
        base64: bool,
        now: Instant,
    ) -> Self {
        let v3 = V3 {
            base64,
            ws_base64: false,
        };
        Self::open(sid, config, transport, Some(v3), now)
    }

    fn open(
        sid: String,
        config: ServerConfig,
        transport: Transport,
        v3: Option<V3>,
        now: Instant,
    ) -> Self {
        // v3: the client pings, so the server waits as a v4 client does.
        let side = if v3.is_some() {
            Side::Client
        } else {
            Side::Server
        };
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
            heartbeat: Heartbeat::new(side, config.ping_interval, config.ping_timeout, now),
            outbox: Outbox::new(config.max_buffered_packets),
            config,
            phase: match transport {
                Transport::Polling => Phase::Polling { probe: None },
                Transport::WebSocket => Phase::WebSocket,
            },
            transport,
            get_waiting: false,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            v3,
        };
        s.push(Packet::Open(handshake), true);
        s
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The protocol revision the session speaks.
    pub fn protocol(&self) -> ProtocolVersion {
        match self.v3 {
            Some(_) => ProtocolVersion::V3,
            None => ProtocolVersion::V4,
        }
    }

    /// The active transport (the last one, once closed).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// How many more packets the transport takes now (`max_buffered_packets`
    /// minus what waits for it): a sender with much to say (a replay) feeds
    /// it as it drains, rather than overflowing the polling outbox, which
    /// ends the session.
    pub fn room(&self) -> usize {
        let queued = match self.phase {
            Phase::Polling { .. } => self.outbox.len(),
            _ => self.transmit.len(),
        };
        self.config.max_buffered_packets.saturating_sub(queued)
    }

    /// Whether the session ended (its `Closed` event is out).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Lingering { .. } | Phase::Finished)
    }

    /// Whether nothing more will happen: closed, and no last packet still
    /// waits for a GET to carry it. Drain the outputs and drop the session.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Whether a GET is waiting for its answer.
    pub fn poll_pending(&self) -> bool {
        self.get_waiting
    }

    /// Whether a probing WebSocket is attached to this polling session.
    pub fn is_upgrading(&self) -> bool {
        matches!(self.phase, Phase::Polling { probe: Some(_) })
    }

    /// Queues a message for the client.
    pub fn send(&mut self, payload: Payload) {
        self.push(Packet::Message(payload), true);
    }

    /// Queues a message for the client; `compress: false` asks the
    /// transport not to compress it (engine.io's `options.compress`,
    /// socket.io's `compress(false)`). A polling response is still
    /// compressed when another packet in it may be, as engine.io does.
    pub fn send_with(&mut self, payload: Payload, compress: bool) {
        self.push(Packet::Message(payload), compress);
    }

    /// Queues a message encoded once for many sessions: on WebSocket its
    /// bytes are shared, not copied.
    pub fn send_prepared(&mut self, message: &Prepared) {
        self.send_prepared_with(message, true);
    }

    /// [`send_prepared`](Self::send_prepared) with the compress flag of
    /// [`send_with`](Self::send_with).
    pub fn send_prepared_with(&mut self, message: &Prepared, compress: bool) {
        // v3 frames binary with a type byte; text is the same.
        if self.phase == Phase::WebSocket && (self.v3.is_none() || message.is_text()) {
            self.transmit
                .push_back(ServerTransmit::Ws(message.to_ws(), compress));
        } else {
            self.push(Packet::Message(message.payload()), compress);
        }
    }

    /// Closes the session from the server side ("forced close"). A pending
    /// GET is answered with a close packet; without one, the client's next
    /// GET (typically already on its way) gets it until `ping_timeout` after
    /// `now`, rather than finding an unknown sid.
    pub fn close(&mut self, now: Instant) {
        self.end(CloseReason::ForcedClose, Some((now, Packet::Close)));
    }

    /// A GET on the polling transport. `Err` is answered with 400.
    pub fn handle_poll(&mut self, now: Instant) -> Result<(), RequestError> {
        // A ping made now rides on this GET.
        let carrier = matches!(self.phase, Phase::Polling { .. }) && !self.get_waiting;
        self.run_timers(now, carrier);
        match &self.phase {
            Phase::Lingering { answer, .. } if !self.get_waiting => {
                // The GET the last packet waited for.
                let body = self.encode_poll(std::slice::from_ref(answer));
                // The transport's own packets carry no compress option.
                self.transmit
                    .push_back(ServerTransmit::PollResponse(body, false));
                self.phase = Phase::Finished;
                Ok(())
            }
            Phase::Lingering { .. } | Phase::Finished => Err(RequestError::Closed),
            Phase::WebSocket => Err(RequestError::NotPolling),
            Phase::Polling { .. } if self.get_waiting => {
                self.end(CloseReason::TransportError, None);
                Err(RequestError::OverlappingPoll)
            }
            Phase::Polling { probe } => {
                let probed = matches!(probe, Some(Probe::Probed { .. }));
                self.get_waiting = true;
                if probed {
                    // Polling is held during the upgrade: release the client at once.
                    self.answer_poll(Packet::Noop);
                }
                Ok(())
            }
        }
    }

    /// The pending GET's connection went away before it was answered.
    pub fn handle_poll_dropped(&mut self) {
        if self.get_waiting && !self.is_closed() {
            self.get_waiting = false;
            self.end(CloseReason::TransportError, None);
        }
    }

    /// A POST body on the polling transport. `Err` is answered with 400
    /// (413 for a body over `max_payload` is the transport's check).
    pub fn handle_post(&mut self, now: Instant, body: Bytes) -> Result<(), RequestError> {
        self.handle_timeout(now);
        match &self.phase {
            Phase::Polling { .. } => {}
            Phase::WebSocket => return Err(RequestError::NotPolling),
            // Closed by the server, its close packet waiting for the next
            // GET: the transport is still open, and Node takes the POST and
            // drops its packets. A 400 would fail a client whose POST
            // crossed the close.
            Phase::Lingering {
                answer: Packet::Close,
                ..
            } => return Ok(()),
            _ => return Err(RequestError::Closed),
        }
        let decoded = match self.v3 {
            None => payload::decode(body, self.config.max_packets_per_post),
            Some(_) => payload::v3::decode(body, self.config.max_packets_per_post),
        };
        match decoded {
            Ok(packets) => {
                for p in packets {
                    self.handle_packet(now, p);
                }
                Ok(())
            }
            Err(_) => {
                self.end(CloseReason::ParseError, None);
                Err(RequestError::InvalidPayload)
            }
        }
    }

    /// A POST came while the previous one was not yet answered (the
    /// transport holds POSTs while the application catches up): closes the
    /// session with "transport error".
    pub fn handle_overlapping_post(&mut self) {
        self.end(CloseReason::TransportError, None);
    }

    /// A WebSocket arrived with this session's sid: the client wants to
    /// upgrade. `Err`: refuse it (close the WebSocket).
    pub fn attach_websocket(&mut self, now: Instant) -> Result<(), RequestError> {
        self.attach_websocket_b64(now, false)
    }

    /// [`attach_websocket`](Self::attach_websocket) for a WebSocket whose
    /// request asked for binary as base64 (`b64=1`, a v3 client with
    /// `forceBase64`): once upgraded, a v3 session sends binary to it as
    /// `b4` + base64 text, as the official server does. No effect on v4.
    pub fn attach_websocket_b64(&mut self, now: Instant, base64: bool) -> Result<(), RequestError> {
        self.handle_timeout(now);
        match self.phase {
            Phase::Polling { probe: None } if self.config.allow_websocket => {
                // A close still queued for an earlier, failed probe is the
                // transport's to do as it replaces that WebSocket.
                self.transmit
                    .retain(|t| !matches!(t, ServerTransmit::CloseWebSocket));
                let deadline = now + self.config.upgrade_timeout;
                if let Some(v3) = &mut self.v3 {
                    v3.ws_base64 = base64;
                }
                self.phase = Phase::Polling {
                    probe: Some(Probe::Attached { deadline }),
                };
                Ok(())
            }
            Phase::Lingering { .. } | Phase::Finished => Err(RequestError::Closed),
            _ => Err(RequestError::UpgradeRefused),
        }
    }

    /// A message from the attached WebSocket.
    pub fn handle_ws_message(&mut self, now: Instant, msg: ws_frame::Message) {
        self.handle_timeout(now);
        let probe = match self.phase {
            Phase::WebSocket => None,
            Phase::Polling { probe: Some(p) } => Some(p),
            _ => return,
        };
        let decoded = match self.v3 {
            None => Packet::from_ws(msg),
            Some(_) => payload::v3::from_ws(msg),
        };
        let packet = match decoded {
            None => return,
            Some(Ok(p)) => p,
            Some(Err(_)) if probe.is_none() => {
                return self.end(CloseReason::ParseError, None);
            }
            Some(Err(_)) => return self.drop_probe(),
        };
        match (probe, packet) {
            (None, packet) => self.handle_packet(now, packet),
            (Some(Probe::Attached { deadline }), Packet::Ping(data)) if data == "probe" => {
                self.transmit
                    .push_back(ServerTransmit::Ws(Packet::Pong(data).to_ws(), true));
                self.phase = Phase::Polling {
                    probe: Some(Probe::Probed { deadline }),
                };
                self.answer_poll(Packet::Noop);
            }
            (Some(Probe::Probed { .. }), Packet::Upgrade) => self.upgrade(),
            // Anything else on a probe fails the upgrade, not the session.
            _ => self.drop_probe(),
        }
    }

    /// Writing to the attached WebSocket failed or timed out: the session
    /// fails with "transport error" if it was the active transport; a probe
    /// is dropped.
    pub fn handle_ws_error(&mut self) {
        self.ws_gone(CloseReason::TransportError);
    }

    /// The attached WebSocket closed or failed to read: the session closes
    /// with "transport close" if it was the active transport; a probe is
    /// dropped.
    pub fn handle_ws_closed(&mut self) {
        self.ws_gone(CloseReason::TransportClose);
    }

    fn ws_gone(&mut self, reason: CloseReason) {
        match self.phase {
            // The WebSocket is gone already: nothing to close.
            Phase::WebSocket => self.finish(reason),
            Phase::Polling { probe: Some(_) } => {
                self.phase = Phase::Polling { probe: None };
                self.transmit
                    .retain(|t| !matches!(t, ServerTransmit::Ws(..)));
            }
            _ => {}
        }
    }

    /// Timers: send a ping, notice a missing pong, give up on an upgrade,
    /// let a lingering session go. Every other input carrying `now` runs
    /// this first.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_timers(now, false);
    }

    /// [`handle_timeout`](Self::handle_timeout); `get_coming`: a GET is
    /// about to wait, so a ping made now leaves at once.
    fn run_timers(&mut self, now: Instant, get_coming: bool) {
        let leaves_now = match self.phase {
            Phase::WebSocket => true,
            Phase::Polling { .. } => self.get_waiting || get_coming,
            _ => false,
        };
        match self.phase {
            Phase::Lingering { until, .. } if now >= until => self.phase = Phase::Finished,
            Phase::Lingering { .. } | Phase::Finished => {}
            _ => {
                match self.heartbeat.handle_timeout(now, leaves_now) {
                    Some(Beat::Ping) => self.push(Packet::Ping(Default::default()), true),
                    Some(Beat::Expired) => return self.end(CloseReason::PingTimeout, None),
                    None => {}
                }
                if let Phase::Polling { probe: Some(p) } = self.phase {
                    if now >= p.deadline() {
                        self.drop_probe();
                    }
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Lingering { until, .. } => Some(*until),
            Phase::Finished => None,
            Phase::WebSocket => self.heartbeat.deadline(),
            Phase::Polling { probe } => [self.heartbeat.deadline(), probe.map(Probe::deadline)]
                .into_iter()
                .flatten()
                .min(),
        }
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next thing for the transports to do. Packets queued for polling
    /// leave as one payload, answering the pending GET, once the session is
    /// drained of the rest.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<ServerTransmit> {
        if let Some(t) = self.transmit.pop_front() {
            return Some(t);
        }
        let held = matches!(
            self.phase,
            Phase::Polling {
                probe: Some(Probe::Probed { .. })
            }
        );
        if !self.get_waiting || held || self.outbox.is_empty() {
            return None;
        }
        self.get_waiting = false;
        if let Some(v3) = self.v3 {
            let mut compress = false;
            let packets: Vec<Packet> = self
                .outbox
                .drain()
                .map(|(p, c)| {
                    compress |= c;
                    p
                })
                .collect();
            let mut body = BytesMut::new();
            payload::v3::encode(&packets, !v3.base64, &mut body);
            return Some(ServerTransmit::PollResponse(body.freeze(), compress));
        }
        let mut body = BytesMut::new();
        let compress = self.outbox.take_payload(&mut body, usize::MAX);
        Some(ServerTransmit::PollResponse(body.freeze(), compress))
    }

    /// Gives back the room of its queues that are empty. The queues keep
    /// what they grew to (the handshake's packets, a burst), which an idle
    /// session need not hold; a driver calls this now and then (the
    /// server's does on each timer it handles), not per message.
    pub fn shrink_idle(&mut self) {
        if self.transmit.is_empty() {
            self.transmit = VecDeque::new();
        }
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
        self.outbox.shrink_idle();
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has something now.
    pub fn has_transmit(&self) -> bool {
        !self.transmit.is_empty() || (self.get_waiting && !self.outbox.is_empty())
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Message(p) => self.events.push_back(Event::Message(p)),
            // v3: the client's heartbeat, answered at once.
            Packet::Ping(_) if self.v3.is_some() => {
                self.heartbeat.handle_beat(now);
                self.push(Packet::Pong(Default::default()), false);
            }
            // A pong to a v3 server, which never pings: the official
            // server's "invalid heartbeat direction".
            Packet::Pong(_) if self.v3.is_some() => self.end(CloseReason::TransportError, None),
            Packet::Pong(_) => self.heartbeat.handle_beat(now),
            // The client leaves: a pending GET is released with a noop, and
            // a GET sent at the same time that reaches us just after gets
            // the same noop, not a 400.
            Packet::Close => self.end(CloseReason::TransportClose, Some((now, Packet::Noop))),
            // Pings (other than probes), opens, upgrades and noops from a
            // client carry nothing for a v4 server.
            _ => {}
        }
    }

    /// The probe sent `5`: WebSocket is the transport now, and what polling
    /// held goes out on it.
    fn upgrade(&mut self) {
        self.phase = Phase::WebSocket;
        self.transport = Transport::WebSocket;
        self.answer_poll(Packet::Noop);
        if let Some(v3) = &mut self.v3 {
            v3.base64 = v3.ws_base64;
        }
        let v3 = self.v3;
        for (p, compress) in self.outbox.drain() {
            let msg = match v3 {
                None => p.to_ws(),
                Some(v3) => payload::v3::to_ws(&p, v3.base64),
            };
            self.transmit.push_back(ServerTransmit::Ws(msg, compress));
        }
        self.events.push_back(Event::Upgraded);
    }

    fn drop_probe(&mut self) {
        if let Phase::Polling { probe: Some(_) } = self.phase {
            self.phase = Phase::Polling { probe: None };
            self.transmit
                .retain(|t| !matches!(t, ServerTransmit::Ws(..)));
            self.transmit.push_back(ServerTransmit::CloseWebSocket);
        }
    }

    /// Answers the pending GET, if any, with `packet`.
    fn answer_poll(&mut self, packet: Packet) {
        if self.get_waiting {
            self.get_waiting = false;
            let body = self.encode_poll(std::slice::from_ref(&packet));
            // The transport's own noop or close: no compress option in
            // engine.io either.
            self.transmit
                .push_back(ServerTransmit::PollResponse(body, false));
        }
    }

    /// `packets` as one polling payload of the session's protocol.
    fn encode_poll(&self, packets: &[Packet]) -> Bytes {
        let mut body = BytesMut::new();
        match self.v3 {
            None => payload::encode(packets, &mut body),
            Some(v3) => {
                payload::v3::encode(packets, !v3.base64, &mut body);
            }
        }
        body.freeze()
    }

    /// Queues a packet on the active transport.
    fn push(&mut self, packet: Packet, compress: bool) {
        match self.phase {
            Phase::WebSocket => {
                let msg = match self.v3 {
                    None => packet.to_ws(),
                    Some(v3) => payload::v3::to_ws(&packet, v3.base64),
                };
                self.transmit.push_back(ServerTransmit::Ws(msg, compress));
            }
            Phase::Polling { .. } => {
                if let Err(Full) = self.outbox.push(packet, compress) {
                    self.end(CloseReason::TransportError, None);
                }
            }
            _ => {}
        }
    }

    /// Ends the session when its WebSocket is gone already.
    fn finish(&mut self, reason: CloseReason) {
        if !self.is_closed() {
            self.phase = Phase::Finished;
            self.close_down(reason);
        }
    }

    /// Ends the session: a pending GET gets the close packet (a noop when
    /// the client closed), an attached WebSocket is closed. With `linger`
    /// and no GET pending on polling, the next GET until `now +
    /// ping_timeout` gets that packet.
    fn end(&mut self, reason: CloseReason, linger: Option<(Instant, Packet)>) {
        if self.is_closed() {
            return;
        }
        let last = match &linger {
            Some((_, p)) => p.clone(),
            None => Packet::Close,
        };
        let ws_attached = matches!(
            self.phase,
            Phase::WebSocket | Phase::Polling { probe: Some(_) }
        );
        self.phase = match linger {
            Some((now, answer)) if self.transport == Transport::Polling && !self.get_waiting => {
                Phase::Lingering {
                    until: now + self.config.ping_timeout,
                    answer,
                }
            }
            _ => Phase::Finished,
        };
        self.answer_poll(last);
        if ws_attached {
            self.transmit.push_back(ServerTransmit::CloseWebSocket);
        }
        self.close_down(reason);
    }

    fn close_down(&mut self, reason: CloseReason) {
        self.outbox.clear();
        self.heartbeat.stop();
        self.events.push_back(Event::Closed(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(300);
    const T: Duration = Duration::from_millis(200);

    fn v3(transport: Transport, base64: bool, t0: Instant) -> ServerSession {
        let config = ServerConfig {
            ping_interval: I,
            ping_timeout: T,
            ..ServerConfig::default()
        };
        ServerSession::new_v3("s".into(), config, transport, base64, t0)
    }

    fn poll_body(s: &mut ServerSession) -> Option<Bytes> {
        match s.poll_transmit()? {
            ServerTransmit::PollResponse(b, _) => Some(b),
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn a_v3_session_answers_pings_and_times_out_without_them() {
        let t0 = Instant::now();
        let mut s = v3(Transport::Polling, true, t0);
        assert_eq!(s.protocol(), ProtocolVersion::V3);
        s.handle_poll(t0).unwrap();
        let open = poll_body(&mut s).unwrap();
        assert!(open.starts_with(b"95:0{\"sid\":\"s\""), "{open:?}");
        // The server never pings: nothing is due before I + T.
        assert_eq!(s.poll_timeout(), Some(t0 + I + T));
        s.handle_post(t0 + I, Bytes::from_static(b"1:2")).unwrap();
        s.handle_poll(t0 + I).unwrap();
        assert_eq!(poll_body(&mut s).unwrap(), "1:3");
        assert_eq!(s.poll_timeout(), Some(t0 + I + I + T));
        s.handle_poll(t0 + I + I).unwrap();
        s.handle_timeout(t0 + I + I + T);
        assert_eq!(poll_body(&mut s).unwrap(), "1:1");
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::PingTimeout))
        );
    }

    #[test]
    fn a_v3_session_encodes_binary_as_its_client_asked() {
        let t0 = Instant::now();
        for (base64, want) in [
            (true, &b"6:b4AQID"[..]),
            (false, &[1u8, 4, 255, 4, 1, 2, 3][..]),
        ] {
            let mut s = v3(Transport::Polling, base64, t0);
            s.handle_poll(t0).unwrap();
            let _ = poll_body(&mut s);
            s.send(Payload::Binary(Bytes::from_static(&[1, 2, 3])));
            s.handle_poll(t0).unwrap();
            assert_eq!(poll_body(&mut s).unwrap(), want);
        }
        // A pong to a server that never pings: "invalid heartbeat direction".
        let mut s = v3(Transport::Polling, true, t0);
        s.handle_post(t0, Bytes::from_static(b"1:3")).unwrap();
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::TransportError))
        );
    }

    #[test]
    fn a_v3_session_upgrades_and_frames_binary_with_its_type() {
        let t0 = Instant::now();
        let mut s = v3(Transport::Polling, true, t0);
        s.handle_poll(t0).unwrap();
        let _ = poll_body(&mut s);
        s.attach_websocket(t0).unwrap();
        s.handle_ws_message(t0, ws_frame::Message::text("2probe"));
        assert_eq!(
            s.poll_transmit(),
            Some(ServerTransmit::Ws(ws_frame::Message::text("3probe"), true))
        );
        s.send(Payload::Binary(Bytes::from_static(&[9])));
        s.send_prepared(&Prepared::new(Payload::Binary(Bytes::from_static(&[8]))));
        s.handle_ws_message(t0, ws_frame::Message::text("5"));
        assert_eq!(s.poll_event(), Some(Event::Upgraded));
        let frames: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
        assert_eq!(
            frames,
            [
                ServerTransmit::Ws(ws_frame::Message::binary(vec![4u8, 9]), true),
                ServerTransmit::Ws(ws_frame::Message::binary(vec![4u8, 8]), true),
            ]
        );
        s.handle_ws_message(t0, ws_frame::Message::binary(vec![4u8, 7]));
        assert_eq!(
            s.poll_event(),
            Some(Event::Message(Payload::Binary(Bytes::from_static(&[7]))))
        );
        s.handle_ws_message(t0 + I, ws_frame::Message::text("2"));
        assert_eq!(
            s.poll_transmit(),
            Some(ServerTransmit::Ws(ws_frame::Message::text("3"), false))
        );
        s.send_prepared(&Prepared::new(Payload::Binary(Bytes::from_static(&[6]))));
        assert_eq!(
            s.poll_transmit(),
            Some(ServerTransmit::Ws(
                ws_frame::Message::binary(vec![4u8, 6]),
                true
            ))
        );
    }

    #[test]
    fn a_v3_session_times_out_after_its_upgrade_without_pings() {
        let t0 = Instant::now();
        let mut s = v3(Transport::Polling, true, t0);
        s.handle_poll(t0).unwrap();
        let _ = poll_body(&mut s);
        s.attach_websocket(t0).unwrap();
        s.handle_ws_message(t0, ws_frame::Message::text("2probe"));
        s.handle_ws_message(t0, ws_frame::Message::text("5"));
        assert_eq!(s.poll_event(), Some(Event::Upgraded));
        // A ping on the WebSocket moves the deadline; silence ends it there.
        s.handle_ws_message(t0 + I, ws_frame::Message::text("2"));
        assert_eq!(s.poll_timeout(), Some(t0 + I + I + T));
        s.handle_timeout(t0 + I + I + T - Duration::from_millis(1));
        assert_eq!(s.poll_event(), None);
        s.handle_timeout(t0 + I + I + T);
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::PingTimeout))
        );
        let out: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
        assert_eq!(out.last(), Some(&ServerTransmit::CloseWebSocket));
        assert!(s.is_finished());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn a_v3_websocket_that_asked_for_base64_gets_binary_as_text() {
        let t0 = Instant::now();
        // Polling takes binary payloads; the WebSocket asked `b64=1`.
        let mut s = v3(Transport::Polling, false, t0);
        s.handle_poll(t0).unwrap();
        let _ = poll_body(&mut s);
        s.attach_websocket_b64(t0, true).unwrap();
        s.handle_ws_message(t0, ws_frame::Message::text("2probe"));
        let _ = s.poll_transmit();
        s.send(Payload::Binary(Bytes::from_static(&[9])));
        s.handle_ws_message(t0, ws_frame::Message::text("5"));
        s.send_prepared(&Prepared::new(Payload::Binary(Bytes::from_static(&[8]))));
        let frames: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
        assert_eq!(
            frames,
            [
                ServerTransmit::Ws(ws_frame::Message::text("b4CQ=="), true),
                ServerTransmit::Ws(ws_frame::Message::text("b4CA=="), true),
            ]
        );
    }

    #[test]
    fn a_post_crossing_a_server_close_is_taken_and_dropped() {
        let t0 = Instant::now();
        let mut s = ServerSession::new("s".into(), ServerConfig::default(), Transport::Polling, t0);
        s.handle_poll(t0).unwrap();
        while s.poll_transmit().is_some() {}
        // The server closes with no GET waiting: the close waits for one.
        s.close(t0);
        assert_eq!(s.handle_post(t0, Bytes::from_static(b"3")), Ok(()));
        assert_eq!(
            s.poll_event(),
            Some(Event::Closed(CloseReason::ForcedClose))
        );
        assert_eq!(s.poll_event(), None);
        s.handle_poll(t0).unwrap();
        assert!(matches!(
            s.poll_transmit(),
            Some(ServerTransmit::PollResponse(b, _)) if &b[..] == b"1"
        ));
        // Then the session is gone for every request.
        assert!(s.handle_post(t0, Bytes::from_static(b"3")).is_err());
    }
}
