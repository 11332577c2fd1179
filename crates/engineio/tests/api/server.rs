//! The server session, driven step by step with a fake clock: every
//! behaviour the official engine.io-protocol test suite specifies, plus the
//! upgrade races around it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::{
    CloseReason, Event, Payload, Prepared, RequestError, ServerConfig, ServerSession,
    ServerTransmit, Transport,
};
use ws_frame::Message;

const INTERVAL: Duration = Duration::from_millis(300);
const TIMEOUT: Duration = Duration::from_millis(200);

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.ping_interval = INTERVAL;
    c.ping_timeout = TIMEOUT;
    c
}

struct Harness {
    s: ServerSession,
    now: Instant,
    /// What `poll_transmit` gave, sorted by where it goes.
    polls: std::collections::VecDeque<Bytes>,
    ws: Vec<Message>,
    ws_closed: bool,
}

impl Harness {
    fn new(transport: Transport) -> Self {
        Harness::with(config(), transport)
    }

    fn with(config: ServerConfig, transport: Transport) -> Self {
        let now = Instant::now();
        Harness {
            s: ServerSession::new("sid1".into(), config, transport, now),
            now,
            polls: Default::default(),
            ws: Vec::new(),
            ws_closed: false,
        }
    }

    /// Polling, past the handshake.
    fn polling() -> Self {
        Harness::polling_with(config())
    }

    fn polling_with(config: ServerConfig) -> Self {
        let mut h = Harness::with(config, Transport::Polling);
        assert!(h.get().unwrap().unwrap().starts_with("0{"));
        h
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
    }

    /// A GET answered at once, if there is something to answer with.
    fn get(&mut self) -> Result<Option<String>, RequestError> {
        self.s.handle_poll(self.now)?;
        Ok(self.response())
    }

    /// Takes everything the session has to transmit.
    fn drain(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            match t {
                ServerTransmit::PollResponse(b, _) => self.polls.push_back(b),
                ServerTransmit::Ws(m, _) => self.ws.push(m),
                ServerTransmit::CloseWebSocket => self.ws_closed = true,
            }
        }
    }

    fn response(&mut self) -> Option<String> {
        self.drain();
        self.polls
            .pop_front()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    /// Whether the session asked for its WebSocket to be closed since the
    /// last time this was asked.
    fn ws_closed(&mut self) -> bool {
        self.drain();
        std::mem::take(&mut self.ws_closed)
    }

    fn post(&mut self, body: &str) -> Result<(), RequestError> {
        self.s
            .handle_post(self.now, Bytes::copy_from_slice(body.as_bytes()))
    }

    fn ws_in(&mut self, text: &str) {
        self.s.handle_ws_message(self.now, Message::text(text));
    }

    fn ws_out(&mut self) -> Vec<Message> {
        self.drain();
        std::mem::take(&mut self.ws)
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    /// Echoes every message event back, as the protocol suite's server does.
    fn echo(&mut self) {
        for e in self.events() {
            if let Event::Message(p) = e {
                self.s.send(p);
            }
        }
    }
}

#[test]
fn polling_handshake() {
    let mut h = Harness::new(Transport::Polling);
    let open = h.get().unwrap().unwrap();
    assert_eq!(
        open,
        r#"0{"sid":"sid1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
    );
}

#[test]
fn websocket_handshake_offers_no_upgrade() {
    let mut h = Harness::new(Transport::WebSocket);
    let out = h.ws_out();
    assert_eq!(out.len(), 1);
    let Message::Text(t) = &out[0] else {
        panic!("{out:?}")
    };
    assert!(
        t.as_str()
            .starts_with(r#"0{"sid":"sid1","upgrades":[],"pingInterval":300"#)
    );
}

#[test]
fn polling_messages_text_and_binary() {
    let mut h = Harness::polling();
    for body in [
        "4hello",
        "4test1\x1e4test2\x1e4test3",
        "4hello\x1ebAQIDBA==",
    ] {
        h.post(body).unwrap();
        h.echo();
        assert_eq!(h.get().unwrap().as_deref(), Some(body));
    }
}

#[test]
fn websocket_messages_text_and_binary() {
    let mut h = Harness::new(Transport::WebSocket);
    h.ws_out();
    h.ws_in("4hello");
    h.s.handle_ws_message(h.now, Message::binary(vec![1u8, 2, 3, 4]));
    h.echo();
    assert_eq!(
        h.ws_out(),
        [Message::text("4hello"), Message::binary(vec![1u8, 2, 3, 4])]
    );
}

#[test]
fn a_prepared_message_goes_out_as_the_same_bytes_on_every_transport() {
    let text = Prepared::new(Payload::Text("2[\"news\"]".into()));
    let bin = Prepared::new(Payload::Binary(Bytes::from_static(&[1, 2, 3, 4])));
    let mut ws = [
        Harness::new(Transport::WebSocket),
        Harness::new(Transport::WebSocket),
    ];
    for h in &mut ws {
        h.ws_out();
        h.s.send_prepared(&text);
        h.s.send_prepared(&bin);
        let out = h.ws_out();
        assert_eq!(
            out,
            [
                Message::text("42[\"news\"]"),
                Message::binary(vec![1u8, 2, 3, 4])
            ]
        );
        let (Message::Text(t), Some(Message::Text(shared))) = (&out[0], Some(text.to_ws())) else {
            panic!("{out:?}")
        };
        // Shared, not copied.
        assert_eq!(t.as_bytes().as_ptr(), shared.as_bytes().as_ptr());
    }
    let mut h = Harness::polling();
    h.s.send_prepared(&text);
    h.s.send_prepared(&bin);
    assert_eq!(
        h.get().unwrap().as_deref(),
        Some("42[\"news\"]\x1ebAQIDBA==")
    );
    // After a close nothing more is queued.
    let mut h = Harness::new(Transport::WebSocket);
    h.ws_out();
    h.s.close(h.now);
    h.ws_out();
    h.s.send_prepared(&text);
    assert!(h.ws_out().is_empty());
}

#[test]
fn invalid_packet_closes_the_session() {
    let mut h = Harness::polling();
    assert_eq!(h.post("abc"), Err(RequestError::InvalidPayload));
    assert_eq!(h.events(), [Event::Closed(CloseReason::ParseError)]);
    assert_eq!(h.get(), Err(RequestError::Closed));

    let mut h = Harness::new(Transport::WebSocket);
    h.ws_in("abc");
    assert_eq!(h.events(), [Event::Closed(CloseReason::ParseError)]);
    assert!(h.ws_closed(), "the WebSocket is to be closed");
}

#[test]
fn duplicate_poll_closes_the_session() {
    let mut h = Harness::polling();
    assert_eq!(h.get(), Ok(None), "first GET waits");
    assert_eq!(h.s.handle_poll(h.now), Err(RequestError::OverlappingPoll));
    assert_eq!(
        h.response().as_deref(),
        Some("1"),
        "the first GET gets a close packet"
    );
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
    assert_eq!(h.get(), Err(RequestError::Closed));
}

#[test]
fn polling_heartbeat_and_timeout() {
    let mut h = Harness::polling();
    for _ in 0..3 {
        h.advance(INTERVAL);
        assert_eq!(h.get().unwrap().as_deref(), Some("2"));
        h.advance(TIMEOUT / 2);
        h.post("3").unwrap();
    }
    assert!(h.events().is_empty());
    // No pong this time.
    h.advance(INTERVAL);
    assert_eq!(h.get().unwrap().as_deref(), Some("2"));
    h.advance(TIMEOUT);
    assert_eq!(h.events(), [Event::Closed(CloseReason::PingTimeout)]);
    assert_eq!(h.post("3"), Err(RequestError::Closed));
}

#[test]
fn websocket_heartbeat_and_timeout() {
    let mut h = Harness::new(Transport::WebSocket);
    h.ws_out();
    h.advance(INTERVAL);
    assert_eq!(h.ws_out(), [Message::text("2")]);
    h.ws_in("3");
    assert_eq!(h.s.poll_timeout(), Some(h.now + INTERVAL));
    h.advance(INTERVAL);
    assert_eq!(h.ws_out(), [Message::text("2")]);
    h.advance(TIMEOUT);
    assert_eq!(h.events(), [Event::Closed(CloseReason::PingTimeout)]);
    assert!(h.ws_closed());
}

#[test]
fn client_close_releases_the_pending_poll() {
    let mut h = Harness::polling();
    assert_eq!(h.get(), Ok(None));
    h.post("1").unwrap();
    assert_eq!(h.response().as_deref(), Some("6"));
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportClose)]);
    assert_eq!(h.get(), Err(RequestError::Closed));

    let mut h = Harness::new(Transport::WebSocket);
    h.ws_in("1");
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportClose)]);
}

#[test]
fn server_close_answers_the_pending_poll_with_close() {
    let mut h = Harness::polling();
    assert_eq!(h.get(), Ok(None));
    h.s.close(h.now);
    assert_eq!(h.response().as_deref(), Some("1"));
    assert_eq!(h.events(), [Event::Closed(CloseReason::ForcedClose)]);
}

#[test]
fn upgrade_from_polling_to_websocket() {
    let mut h = Harness::polling();
    h.s.attach_websocket(h.now).unwrap();
    h.ws_in("2probe");
    assert_eq!(h.ws_out(), [Message::text("3probe")]);
    // Polling is released with a noop while the upgrade completes.
    assert_eq!(h.get().unwrap().as_deref(), Some("6"));
    h.ws_in("5");
    assert_eq!(h.events(), [Event::Upgraded]);
    assert_eq!(h.s.transport(), Transport::WebSocket);
    h.ws_in("4hello");
    h.echo();
    assert_eq!(h.ws_out(), [Message::text("4hello")]);
    // Polling with the same sid is refused afterwards, and so is another WebSocket.
    assert_eq!(h.get(), Err(RequestError::NotPolling));
    assert_eq!(
        h.s.attach_websocket(h.now),
        Err(RequestError::UpgradeRefused)
    );
    h.ws_in("4still");
    h.echo();
    assert_eq!(h.ws_out(), [Message::text("4still")]);
}

#[test]
fn packets_sent_during_the_upgrade_arrive_once_and_in_order() {
    let mut h = Harness::polling();
    h.s.send(Payload::Text("a".into()));
    h.s.attach_websocket(h.now).unwrap();
    assert_eq!(
        h.get(),
        Ok(Some("4a".into())),
        "polling still serves before the probe"
    );
    assert_eq!(h.get(), Ok(None), "a GET waits");
    h.ws_in("2probe");
    assert_eq!(
        h.response().as_deref(),
        Some("6"),
        "the waiting GET is released"
    );
    h.s.send(Payload::Text("b".into()));
    h.s.send(Payload::Binary(Bytes::from_static(b"c")));
    assert_eq!(
        h.get(),
        Ok(Some("6".into())),
        "held: nothing goes over polling now"
    );
    h.ws_in("5");
    assert_eq!(
        h.ws_out(),
        [
            Message::text("3probe"),
            Message::text("4b"),
            Message::binary(b"c".to_vec())
        ]
    );
}

#[test]
fn a_failed_upgrade_falls_back_to_polling() {
    // Timeout after the probe: held packets go back to polling.
    let mut c = config();
    c.upgrade_timeout = INTERVAL + Duration::from_millis(50);
    let mut h = Harness::polling_with(c);
    h.s.attach_websocket(h.now).unwrap();
    h.ws_in("2probe");
    h.s.send(Payload::Text("held".into()));
    h.advance(INTERVAL + Duration::from_millis(50));
    assert!(h.ws_closed(), "the probe is to be closed");
    // The wait also made the heartbeat due: a ping follows.
    assert_eq!(h.get().unwrap().as_deref(), Some("4held\x1e2"));
    // A probe that says something else is dropped; the session lives on.
    h.s.attach_websocket(h.now).unwrap();
    h.ws_in("4not a probe");
    assert!(h.ws_closed());
    assert!(!h.s.is_closed());
    // So is one whose WebSocket closes.
    h.s.attach_websocket(h.now).unwrap();
    h.s.handle_ws_closed();
    assert!(!h.s.is_closed());
    assert_eq!(h.s.transport(), Transport::Polling);
}

#[test]
fn a_client_that_does_not_read_is_closed() {
    let mut h = Harness::polling();
    for i in 0..1024 {
        h.s.send(Payload::Text(i.to_string().into()));
    }
    assert!(h.events().is_empty(), "1024 packets fit the default limit");
    h.s.send(Payload::Text("one too many".into()));
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn a_dropped_poll_is_a_transport_error() {
    let mut h = Harness::polling();
    assert_eq!(h.get(), Ok(None));
    h.s.handle_poll_dropped();
    assert_eq!(h.events(), [Event::Closed(CloseReason::TransportError)]);
}

#[test]
fn a_server_close_waits_for_the_next_poll_to_say_so() {
    let mut h = Harness::polling();
    h.s.close(h.now);
    assert_eq!(h.events(), [Event::Closed(CloseReason::ForcedClose)]);
    assert!(
        h.s.is_closed() && !h.s.is_finished(),
        "lingers for the close packet"
    );
    assert_eq!(h.get().unwrap().as_deref(), Some("1"));
    assert!(h.s.is_finished());
    assert_eq!(h.get(), Err(RequestError::Closed));

    // Nobody comes: it gives up after ping_timeout.
    let mut h = Harness::polling();
    h.s.close(h.now);
    assert_eq!(h.s.poll_timeout(), Some(h.now + TIMEOUT));
    h.advance(TIMEOUT);
    assert!(h.s.is_finished());
}

#[test]
fn a_get_past_the_pong_deadline_is_refused_though_no_timer_ran() {
    // The official suite's "closes the session upon ping timeout": a GET
    // pingInterval + pingTimeout after the handshake gets 400, whether or
    // not the driver's timer fired first.
    let mut h = Harness::polling();
    h.now += INTERVAL + TIMEOUT;
    assert_eq!(h.s.handle_poll(h.now), Err(RequestError::Closed));
    assert_eq!(
        h.s.poll_event(),
        Some(Event::Closed(CloseReason::PingTimeout))
    );
    // Just before that deadline, the same GET carries the ping instead.
    let mut h = Harness::polling();
    h.now += INTERVAL + TIMEOUT - Duration::from_millis(1);
    assert_eq!(h.get(), Ok(Some("2".into())));
}

#[test]
fn a_late_ping_timer_does_not_stretch_the_pong_deadline() {
    let mut h = Harness::polling();
    // The timer fires 150 ms late: the ping goes out, and the pong is
    // still due at interval + timeout from the start, not 200 ms from now.
    h.advance(INTERVAL + Duration::from_millis(150));
    assert_eq!(h.get(), Ok(Some("2".into())));
    h.advance(TIMEOUT - Duration::from_millis(150));
    assert!(h.s.is_closed());
}

#[test]
fn a_get_racing_the_clients_close_gets_a_noop() {
    // The official suite's "forcefully closes the session" sends the GET and
    // a POST "1" at once; the POST may be handled first.
    let mut h = Harness::polling();
    assert_eq!(h.post("1"), Ok(()));
    assert_eq!(
        h.s.poll_event(),
        Some(Event::Closed(CloseReason::TransportClose))
    );
    assert!(!h.s.is_finished(), "one GET may still come");
    assert_eq!(h.get(), Ok(Some("6".into())));
    assert_eq!(h.get(), Err(RequestError::Closed));
    assert!(h.s.is_finished());
    // Without that GET, the session is finished after ping_timeout.
    let mut h = Harness::polling();
    assert_eq!(h.post("1"), Ok(()));
    h.advance(TIMEOUT);
    assert!(h.s.is_finished());
    assert_eq!(h.get(), Err(RequestError::Closed));
}

#[test]
fn the_packet_count_of_a_post_has_its_own_limit() {
    let mut c = config();
    c.max_packets_per_post = 4;
    let mut h = Harness::polling_with(c.clone());
    assert_eq!(h.post("4a\x1e4b\x1e4c\x1e4d"), Ok(()));
    let mut h = Harness::polling_with(c);
    assert_eq!(
        h.post("4a\x1e4b\x1e4c\x1e4d\x1e4e"),
        Err(RequestError::InvalidPayload)
    );
    assert_eq!(
        h.s.poll_event(),
        Some(Event::Closed(CloseReason::ParseError))
    );
    // By default it is not the byte limit: 16 384 packets, not a million.
    assert_eq!(ServerConfig::default().max_packets_per_post, 16_384);
    let mut h = Harness::polling();
    let body = vec!["6"; 16_385].join("\x1e");
    assert_eq!(h.post(&body), Err(RequestError::InvalidPayload));
}

#[test]
fn a_new_probe_is_not_closed_by_the_close_of_the_last_one() {
    // The driver may take a failed probe's close and a new probe in one
    // round: the queued close must not reach the new WebSocket.
    let mut h = Harness::polling();
    h.s.attach_websocket(h.now).unwrap();
    h.ws_in("4not a probe");
    h.s.attach_websocket(h.now).unwrap();
    assert!(
        !h.ws_closed(),
        "the transport closes the old one as it replaces it"
    );
    h.ws_in("2probe");
    assert_eq!(h.ws_out(), [Message::text("3probe")]);
}
