//! Our client session against our server session, in memory, with a fake
//! clock: both state machines driven step by step, with nothing but their
//! own outputs carried between them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::{
    ClientConfig, ClientEvent, ClientSession, CloseReason, Event, Payload, ServerConfig,
    ServerSession, ServerTransmit, Transmit, Transport,
};

struct Pair {
    c: ClientSession,
    s: Option<ServerSession>,
    now: Instant,
    /// A GET the client sent that the server has not answered.
    get_waiting: bool,
    /// Messages on the WebSocket, each way.
    to_server_ws: VecDeque<ws_frame::Message>,
    ws_open: bool,
    client_events: Vec<ClientEvent>,
    server_events: Vec<Event>,
}

impl Pair {
    fn new(initial: Transport) -> Pair {
        Pair::with_upgrade(initial, true)
    }

    fn with_upgrade(initial: Transport, upgrade: bool) -> Pair {
        let mut config = ClientConfig::default();
        config.initial = initial;
        config.upgrade = upgrade;
        Pair {
            c: ClientSession::new(config),
            s: None,
            now: Instant::now(),
            get_waiting: false,
            to_server_ws: VecDeque::new(),
            ws_open: false,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    fn server_config() -> ServerConfig {
        let mut c = ServerConfig::default();
        c.ping_interval = Duration::from_millis(300);
        c.ping_timeout = Duration::from_millis(200);
        c
    }

    fn server(&mut self, transport: Transport) -> &mut ServerSession {
        let now = self.now;
        self.s.get_or_insert_with(|| {
            ServerSession::new("sid".into(), Self::server_config(), transport, now)
        })
    }

    /// Carries everything each side has to say until both are quiet.
    fn run(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(t) = self.c.poll_transmit() {
                moved = true;
                match t {
                    Transmit::Poll => {
                        let now = self.now;
                        let s = self.server(Transport::Polling);
                        s.handle_poll(now).expect("poll accepted");
                        self.get_waiting = true;
                    }
                    Transmit::Post(body) => {
                        let now = self.now;
                        let ok = self.s.as_mut().unwrap().handle_post(now, body).is_ok();
                        self.c.handle_post_done(ok);
                    }
                    Transmit::ConnectWebSocket => {
                        let now = self.now;
                        match &mut self.s {
                            Some(s) => s.attach_websocket(now).expect("probe accepted"),
                            None => {
                                self.server(Transport::WebSocket);
                            }
                        }
                        self.ws_open = true;
                        self.c.handle_ws_open();
                    }
                    Transmit::Ws(m, _) => self.to_server_ws.push_back(m),
                    Transmit::CloseWebSocket => {
                        self.ws_open = false;
                        let now = self.now;
                        if let Some(s) = &mut self.s {
                            // What was sent before the close arrives first.
                            while let Some(m) = self.to_server_ws.pop_front() {
                                s.handle_ws_message(now, m);
                            }
                            s.handle_ws_closed();
                        }
                    }
                }
            }
            let now = self.now;
            if let Some(s) = &mut self.s {
                while let Some(m) = self.to_server_ws.pop_front() {
                    moved = true;
                    s.handle_ws_message(now, m);
                }
                while let Some(e) = s.poll_event() {
                    moved = true;
                    self.server_events.push(e);
                }
                while let Some(t) = s.poll_transmit() {
                    moved = true;
                    match t {
                        ServerTransmit::PollResponse(body, _) => {
                            assert!(self.get_waiting, "an answer to a GET that was not sent");
                            self.get_waiting = false;
                            self.c.handle_poll_response(now, body);
                        }
                        ServerTransmit::Ws(m, _) => {
                            if self.ws_open {
                                self.c.handle_ws_message(now, m);
                            }
                        }
                        ServerTransmit::CloseWebSocket => {
                            if self.ws_open && s.transport() == Transport::WebSocket {
                                self.ws_open = false;
                                self.c.handle_transport_error(true);
                            }
                        }
                    }
                }
            }
            while let Some(e) = self.c.poll_event() {
                moved = true;
                self.client_events.push(e);
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.c.handle_timeout(self.now);
        let now = self.now;
        if let Some(s) = &mut self.s {
            s.handle_timeout(now);
        }
        self.run();
    }

    fn server_messages(&self) -> Vec<String> {
        text_of(self.server_events.iter().filter_map(|e| match e {
            Event::Message(p) => Some(p),
            _ => None,
        }))
    }

    fn client_messages(&self) -> Vec<String> {
        text_of(self.client_events.iter().filter_map(|e| match e {
            ClientEvent::Message(p) => Some(p),
            _ => None,
        }))
    }
}

fn text_of<'a>(it: impl Iterator<Item = &'a Payload>) -> Vec<String> {
    it.map(|p| match p {
        Payload::Text(t) => t.as_str().to_owned(),
        Payload::Binary(b) => format!("bin:{}", b.len()),
    })
    .collect()
}

#[test]
fn upgrade_with_traffic_in_every_phase_loses_and_repeats_nothing() {
    let mut p = Pair::new(Transport::Polling);
    let mut sent = 0;
    let mut both_ways = |p: &mut Pair| {
        p.c.send(Payload::Text(format!("c{sent}").into()));
        if let Some(s) = &mut p.s {
            if !s.is_closed() {
                s.send(Payload::Text(format!("s{sent}").into()));
            }
        }
        sent += 1;
    };
    // Before the handshake, during the probe, the pause, and after.
    both_ways(&mut p);
    for _ in 0..6 {
        p.run();
        both_ways(&mut p);
        p.advance(Duration::from_millis(50));
    }
    p.run();
    assert!(p.client_events.contains(&ClientEvent::Upgraded));
    assert!(p.server_events.contains(&Event::Upgraded));
    assert_eq!(p.c.transport(), Transport::WebSocket);
    let want_c: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
    assert_eq!(p.server_messages(), want_c);
    // s0 was sent before the server existed; the rest arrive once, in order.
    let want_s: Vec<String> = (1..7).map(|i| format!("s{i}")).collect();
    assert_eq!(p.client_messages(), want_s);
}

#[test]
fn heartbeat_keeps_both_alive_then_a_silent_server_times_out() {
    for initial in [Transport::Polling, Transport::WebSocket] {
        let mut p = Pair::new(initial);
        p.run();
        for _ in 0..40 {
            p.advance(Duration::from_millis(100));
        }
        assert!(
            !p.c.is_closed() && !p.s.as_ref().unwrap().is_closed(),
            "{initial:?}"
        );
        // The server goes away without a word.
        p.s = None;
        p.ws_open = false;
        for _ in 0..6 {
            p.advance(Duration::from_millis(100));
        }
        assert_eq!(
            p.client_events.last(),
            Some(&ClientEvent::Closed(CloseReason::PingTimeout))
        );
    }
}

#[test]
fn client_close_reaches_the_server() {
    for (initial, upgrade) in [
        (Transport::Polling, false),
        (Transport::Polling, true),
        (Transport::WebSocket, false),
    ] {
        let mut p = Pair::with_upgrade(initial, upgrade);
        p.run();
        p.c.send(Payload::Binary(Bytes::from_static(b"last")));
        p.c.close();
        p.run();
        assert_eq!(
            p.client_events.last(),
            Some(&ClientEvent::Closed(CloseReason::ForcedClose))
        );
        assert_eq!(
            p.server_messages(),
            ["bin:4"],
            "{initial:?}/{upgrade}: what was queued went first"
        );
        assert_eq!(
            p.server_events.last(),
            Some(&Event::Closed(CloseReason::TransportClose)),
            "{initial:?}/{upgrade}: {:?}",
            p.server_events
        );
    }
}

#[test]
fn server_close_reaches_the_client() {
    let mut p = Pair::new(Transport::Polling);
    p.run();
    let now = p.now;
    p.s.as_mut().unwrap().close(now);
    p.run();
    assert_eq!(
        p.client_events.last(),
        Some(&ClientEvent::Closed(CloseReason::TransportClose))
    );
}
