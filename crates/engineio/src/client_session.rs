//! The client side of one Engine.IO session, without I/O.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Instant;

use bytes::{Bytes, BytesMut};

use crate::heartbeat::{Beat, Heartbeat, Side};
use crate::outbox::Outbox;
use crate::packet::{Handshake, Packet, Payload};
use crate::payload;
use crate::{CloseReason, Transport};

/// Client settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The transport to open with. Default polling, as the official client.
    pub initial: Transport,
    /// Whether to upgrade from polling to WebSocket when the server offers
    /// it. Default true.
    pub upgrade: bool,
    /// Packets the application may queue before the session closes with
    /// "transport error". Default 1024.
    pub max_buffered_packets: usize,
    /// Report each heartbeat ping from the server as [`ClientEvent::Ping`]
    /// (socket.io-client's Manager `ping` event). Default false: most
    /// applications do not care, and the pong is sent either way.
    pub ping_events: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            initial: Transport::Polling,
            upgrade: true,
            max_buffered_packets: 1024,
            ping_events: false,
        }
    }
}

/// What the client session reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server's handshake: the session is open.
    Open(Handshake),
    /// A message from the server.
    Message(Payload),
    /// The session moved to WebSocket.
    Upgraded,
    /// A heartbeat ping came from the server (only with
    /// [`ClientConfig::ping_events`]); the pong is already queued.
    Ping,
    /// The session ended.
    Closed(CloseReason),
}

/// Something the transports must do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send a GET (a poll) on the polling transport.
    Poll,
    /// Send a POST with this body on the polling transport.
    Post(Bytes),
    /// Open a WebSocket to the server, with the session id once it has one
    /// (for a probe), without one for a WebSocket-only session.
    ConnectWebSocket,
    /// Send this message on the WebSocket. The flag: whether it may be
    /// compressed (false for a message sent with `compress: false`), for a
    /// WebSocket with permessage-deflate.
    Ws(ws_frame::Message, bool),
    /// Close the WebSocket (a failed probe, or the end of the session).
    CloseWebSocket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upgrade {
    None,
    /// The probe WebSocket is connecting or `2probe` is out.
    Probing,
    /// `3probe` came back: polling finishes what is in flight, then `5`.
    Pausing,
}

/// The client side of one session, as a state machine.
///
/// # Driving it
///
/// Start with [`new`](Self::new), then act on every
/// [`poll_transmit`](Self::poll_transmit): issue the GET or POST, open or
/// close the WebSocket, send on it. Feed back what happens:
/// [`handle_poll_response`](Self::handle_poll_response),
/// [`handle_post_done`](Self::handle_post_done),
/// [`handle_ws_open`](Self::handle_ws_open),
/// [`handle_ws_message`](Self::handle_ws_message),
/// [`handle_transport_error`](Self::handle_transport_error), and
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
/// The application uses [`send`](Self::send), [`close`](Self::close) and
/// [`poll_event`](Self::poll_event).
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    handshake: Option<Handshake>,
    transport: Transport,
    closed: bool,
    upgrade: Upgrade,
    outbox: Outbox,
    transmit: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
    poll_in_flight: bool,
    post_in_flight: bool,
    /// The server's pings must keep coming; from the handshake on.
    heartbeat: Option<Heartbeat>,
    /// Close once the outbox is written (polling: with a close packet).
    closing: bool,
    /// The POST in flight carries the close packet.
    close_posted: bool,
}

impl ClientSession {
    /// Starts a session: the first transmit opens the transport.
    pub fn new(config: ClientConfig) -> Self {
        let transport = config.initial;
        let mut s = ClientSession {
            outbox: Outbox::new(config.max_buffered_packets),
            config,
            handshake: None,
            transport,
            closed: false,
            upgrade: Upgrade::None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            poll_in_flight: false,
            post_in_flight: false,
            heartbeat: None,
            closing: false,
            close_posted: false,
        };
        match transport {
            Transport::Polling => s.start_poll(),
            Transport::WebSocket => s.transmit.push_back(Transmit::ConnectWebSocket),
        }
        s
    }

    /// The session id, once the handshake arrived.
    pub fn sid(&self) -> Option<&str> {
        self.handshake.as_ref().map(|h| h.sid.as_str())
    }

    /// The server's handshake.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// The active transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the session ended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Queues a message; it leaves with the next POST or on the WebSocket.
    pub fn send(&mut self, payload: Payload) {
        self.send_with(payload, true);
    }

    /// [`send`](Self::send); `compress: false` asks the WebSocket not to
    /// compress it (engine.io-client's `options.compress`, socket.io's
    /// `compress(false)`). POST bodies are never compressed, as with the
    /// official client.
    pub fn send_with(&mut self, payload: Payload, compress: bool) {
        if self.closed || self.closing {
            return;
        }
        if self
            .outbox
            .push(Packet::Message(payload), compress)
            .is_err()
        {
            return self.end(CloseReason::TransportError);
        }
        self.flush();
    }

    /// Closes the session ("forced close"): after what is queued, a close
    /// packet over polling, or the WebSocket's close.
    pub fn close(&mut self) {
        if self.closed || self.closing {
            return;
        }
        self.closing = true;
        if self.handshake.is_none() {
            return self.end(CloseReason::ForcedClose);
        }
        self.flush();
    }

    /// The answer to a GET.
    pub fn handle_poll_response(&mut self, now: Instant, body: Bytes) {
        self.poll_in_flight = false;
        if self.closed {
            return;
        }
        match payload::decode(body, usize::MAX) {
            Ok(packets) => {
                for p in packets {
                    self.handle_packet(now, p);
                    if self.closed {
                        return;
                    }
                }
            }
            Err(_) => return self.end(CloseReason::ParseError),
        }
        if self.transport == Transport::Polling && self.upgrade != Upgrade::Pausing && !self.closing
        {
            self.start_poll();
        }
        self.maybe_finish_pause();
    }

    /// A POST was answered (`ok`) or failed.
    pub fn handle_post_done(&mut self, ok: bool) {
        self.post_in_flight = false;
        if self.closed {
            return;
        }
        if !ok {
            return self.end(CloseReason::TransportError);
        }
        if self.close_posted {
            return self.end(CloseReason::ForcedClose);
        }
        self.flush();
        self.maybe_finish_pause();
    }

    /// The WebSocket connected: for a probe, send `2probe`.
    pub fn handle_ws_open(&mut self) {
        if self.closed {
            return;
        }
        if self.transport == Transport::Polling && self.upgrade == Upgrade::Probing {
            self.transmit
                .push_back(Transmit::Ws(Packet::Ping("probe".into()).to_ws(), true));
        }
    }

    /// A message on the WebSocket.
    pub fn handle_ws_message(&mut self, now: Instant, msg: ws_frame::Message) {
        if self.closed {
            return;
        }
        let packet = match Packet::from_ws(msg) {
            None => return,
            Some(Ok(p)) => p,
            Some(Err(_)) if self.transport == Transport::WebSocket => {
                return self.end(CloseReason::ParseError);
            }
            Some(Err(_)) => return self.fail_probe(),
        };
        if self.transport == Transport::WebSocket {
            return self.handle_packet(now, packet);
        }
        match (self.upgrade, packet) {
            (Upgrade::Probing, Packet::Pong(data)) if data == "probe" => {
                self.upgrade = Upgrade::Pausing;
                self.maybe_finish_pause();
            }
            _ => self.fail_probe(),
        }
    }

    /// A transport failed or closed: the GET or POST connection, or the
    /// WebSocket (`websocket: true`).
    pub fn handle_transport_error(&mut self, websocket: bool) {
        if self.closed {
            return;
        }
        if websocket && self.transport == Transport::Polling {
            return self.fail_probe();
        }
        let reason = if websocket {
            CloseReason::TransportClose
        } else {
            CloseReason::TransportError
        };
        self.end(reason);
    }

    /// Timers: the server's pings must keep coming.
    pub fn handle_timeout(&mut self, now: Instant) {
        let beat = self
            .heartbeat
            .as_mut()
            .and_then(|h| h.handle_timeout(now, false));
        if !self.closed && beat == Some(Beat::Expired) {
            self.end(CloseReason::PingTimeout);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            None
        } else {
            self.heartbeat.as_ref().and_then(Heartbeat::deadline)
        }
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The next thing for the transports to do.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Open(h) => {
                self.heartbeat = Some(Heartbeat::new(
                    Side::Client,
                    Duration::from_millis(h.ping_interval),
                    Duration::from_millis(h.ping_timeout),
                    now,
                ));
                let offer = h.upgrades.iter().any(|u| u == "websocket");
                self.handshake = Some(h.clone());
                self.events.push_back(ClientEvent::Open(h));
                if self.transport == Transport::Polling && self.config.upgrade && offer {
                    self.upgrade = Upgrade::Probing;
                    self.transmit.push_back(Transmit::ConnectWebSocket);
                }
                self.flush();
            }
            Packet::Ping(data) => {
                if let Some(h) = self.heartbeat.as_mut() {
                    h.handle_beat(now);
                }
                self.send_packet(Packet::Pong(data));
                if self.config.ping_events {
                    self.events.push_back(ClientEvent::Ping);
                }
            }
            Packet::Message(p) => self.events.push_back(ClientEvent::Message(p)),
            Packet::Close => self.end(CloseReason::TransportClose),
            Packet::Pong(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// A packet the protocol requires (a pong) goes ahead of the queue.
    fn send_packet(&mut self, p: Packet) {
        self.outbox.push_front(p);
        self.flush();
    }

    fn start_poll(&mut self) {
        if !self.poll_in_flight {
            self.poll_in_flight = true;
            self.transmit.push_back(Transmit::Poll);
        }
    }

    /// Writes out what is queued, if the active transport can take it now.
    fn flush(&mut self) {
        if self.closed || self.handshake.is_none() || self.upgrade == Upgrade::Pausing {
            return;
        }
        match self.transport {
            Transport::WebSocket => {
                for (p, compress) in self.outbox.drain() {
                    self.transmit.push_back(Transmit::Ws(p.to_ws(), compress));
                }
                if self.closing {
                    self.transmit.push_back(Transmit::CloseWebSocket);
                    self.end(CloseReason::ForcedClose);
                }
            }
            Transport::Polling => {
                if self.post_in_flight || (self.outbox.is_empty() && !self.closing) {
                    return;
                }
                let max = self
                    .handshake
                    .as_ref()
                    .map_or(usize::MAX, |h| h.max_payload as usize);
                let mut body = BytesMut::new();
                self.outbox.take_payload(&mut body, max);
                if self.closing && self.outbox.is_empty() {
                    if !body.is_empty() {
                        body.extend_from_slice(&[payload::SEPARATOR]);
                    }
                    Packet::Close.encode_text(&mut body);
                    self.close_posted = true;
                }
                self.post_in_flight = true;
                self.transmit.push_back(Transmit::Post(body.freeze()));
            }
        }
    }

    /// Once polling has nothing in flight after `3probe`: `5`, and switch.
    fn maybe_finish_pause(&mut self) {
        if self.upgrade != Upgrade::Pausing
            || self.poll_in_flight
            || self.post_in_flight
            || self.closed
        {
            return;
        }
        self.transmit
            .push_back(Transmit::Ws(Packet::Upgrade.to_ws(), true));
        self.transport = Transport::WebSocket;
        self.upgrade = Upgrade::None;
        self.events.push_back(ClientEvent::Upgraded);
        self.flush();
    }

    fn fail_probe(&mut self) {
        if self.upgrade == Upgrade::None {
            return;
        }
        self.upgrade = Upgrade::None;
        self.transmit.push_back(Transmit::CloseWebSocket);
        // Polling carries on: resume polling and writing.
        if !self.poll_in_flight && !self.closing {
            self.start_poll();
        }
        self.flush();
    }

    fn end(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.outbox.clear();
        if let Some(h) = self.heartbeat.as_mut() {
            h.stop();
        }
        let has_ws = self.transport == Transport::WebSocket || self.upgrade != Upgrade::None;
        if has_ws && self.transmit.back() != Some(&Transmit::CloseWebSocket) {
            self.transmit.push_back(Transmit::CloseWebSocket);
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_polling(config: ClientConfig, now: Instant) -> ClientSession {
        let mut s = ClientSession::new(config);
        assert_eq!(s.poll_transmit(), Some(Transmit::Poll));
        let open = br#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        s.handle_poll_response(now, Bytes::from_static(open));
        assert!(matches!(s.poll_event(), Some(ClientEvent::Open(_))));
        s
    }

    #[test]
    fn a_ping_is_reported_only_when_asked_and_answered_either_way() {
        let now = Instant::now();
        for ping_events in [false, true] {
            let config = ClientConfig {
                ping_events,
                ..ClientConfig::default()
            };
            let mut s = open_polling(config, now);
            while s.poll_transmit().is_some() {}
            s.handle_poll_response(now, Bytes::from_static(b"2"));
            let want = ping_events.then_some(ClientEvent::Ping);
            assert_eq!(s.poll_event(), want, "ping_events: {ping_events}");
            assert_eq!(s.poll_event(), None);
            let pong = std::iter::from_fn(|| s.poll_transmit())
                .any(|t| t == Transmit::Post(Bytes::from_static(b"3")));
            assert!(pong, "the pong goes out (ping_events: {ping_events})");
        }
    }
}
