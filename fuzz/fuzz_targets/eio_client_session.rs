//! The client session state machine, driven as an honest transport layer
//! would drive it (answers only to requests in flight, WebSocket messages only
//! on an open WebSocket) by a fake server whose packets, timing and failures
//! come from the input.
//!
//! Oracles: the server's messages reach the application in order and never
//! twice, and so do the application's messages the client writes (over POSTs
//! and the WebSocket together); at most one GET and one POST in flight; the
//! client writes on a WebSocket only once it is open; a session on polling
//! that is neither closing nor probing always has a GET out (it never
//! stalls); the next deadline is in the future; after `Closed` and its final
//! transmits, nothing more comes out; and every step's output is bounded.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::{
    ClientConfig, ClientEvent, ClientSession, Packet, Payload, Transmit, Transport, payload,
};
use libfuzzer_sys::fuzz_target;

const MAX_OPS: usize = 256;
const MAX_BUFFERED: usize = 16;
const OPEN_UPGRADE: &str =
    r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":48}"#;
const OPEN_PLAIN: &str =
    r#"0{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ws {
    None,
    Connecting,
    Open,
}

/// A number carried by a message `<prefix><n>`, if it is one.
fn numbered(payload: &Payload, prefix: char) -> Option<u32> {
    match payload {
        Payload::Text(t) => t.as_str().strip_prefix(prefix)?.parse().ok(),
        Payload::Binary(_) => None,
    }
}

fn in_order(n: Option<u32>, last: &mut Option<u32>, what: &str) {
    if let Some(n) = n {
        assert!(
            last.is_none_or(|l| n > l),
            "{what} {n} after {last:?}: duplicated or reordered"
        );
        *last = Some(n);
    }
}

struct Harness {
    s: ClientSession,
    now: Instant,
    get: bool,
    post: bool,
    ws: Ws,
    /// `close()` was called: the client may stop polling.
    closing: bool,
    closed: bool,
    /// The fake server's next message number, and the application's.
    srv_next: u32,
    app_next: u32,
    last_srv: Option<u32>,
    last_app: Option<u32>,
    max_payload: Option<usize>,
    /// Pings the fake server sent that no pong has answered yet.
    pings: usize,
}

impl Harness {
    /// One poll response body from a template; messages are numbered.
    fn poll_body(&mut self, t: u8) -> Bytes {
        let n = self.srv_next;
        let body = match t % 12 {
            0 => OPEN_UPGRADE.to_owned(),
            1 => OPEN_PLAIN.to_owned(),
            2 => "2".to_owned(),
            3 => format!("4s{n}"),
            4 => "bAQI=".to_owned(),
            5 => "1".to_owned(),
            6 => "6".to_owned(),
            7 => "3".to_owned(),
            8 => "x".to_owned(),
            9 => "2probe".to_owned(),
            10 => format!("4s{n}\x1e2\x1e4s{}", n + 1),
            _ => String::new(),
        };
        self.srv_next += 2;
        Bytes::from(body)
    }

    fn ws_message(&mut self, t: u8) -> ws_frame::Message {
        let n = self.srv_next;
        self.srv_next += 1;
        match t % 12 {
            0 => ws_frame::Message::text("3probe"),
            1 => ws_frame::Message::text("3x"),
            2 => ws_frame::Message::text("2"),
            3 => ws_frame::Message::text(format!("4s{n}")),
            4 => ws_frame::Message::Binary(Bytes::from_static(&[1, 2])),
            5 => ws_frame::Message::text("1"),
            6 => ws_frame::Message::text("6"),
            7 => ws_frame::Message::text("x"),
            8 => ws_frame::Message::text(OPEN_PLAIN),
            9 => ws_frame::Message::text("5"),
            10 => ws_frame::Message::Ping(Bytes::new()),
            _ => ws_frame::Message::text(""),
        }
    }

    fn pong(&mut self) {
        assert!(self.pings > 0, "a pong for no ping");
        self.pings -= 1;
    }

    fn poll_response(&mut self, body: Bytes) {
        self.get = false;
        if let Ok(packets) = payload::decode(body.clone(), usize::MAX) {
            self.pings += packets
                .iter()
                .filter(|p| matches!(p, Packet::Ping(_)))
                .count();
        }
        self.s.handle_poll_response(self.now, body);
    }

    fn ws_in(&mut self, m: ws_frame::Message) {
        if let Some(Ok(Packet::Ping(_))) = Packet::from_ws(m.clone()) {
            self.pings += 1;
        }
        self.s.handle_ws_message(self.now, m);
    }

    /// Drains everything the session has to say after one step, checking it.
    fn drain(&mut self) {
        let was_closed = self.closed;
        let mut transmits = 0;
        let mut upgrade_sent = false;
        // Queued messages, the control packets around them, and one pong per ping.
        let budget = 4 * MAX_BUFFERED + self.pings;
        while let Some(t) = self.s.poll_transmit() {
            transmits += 1;
            assert!(transmits <= budget, "unbounded transmits in one step");
            // After the step that closed it, nothing but nothing.
            assert!(!was_closed, "{t:?} after Closed");
            match t {
                Transmit::Poll => {
                    assert!(!self.get, "a second GET in flight");
                    self.get = true;
                }
                Transmit::Post(body) => {
                    assert!(!self.post, "a second POST in flight");
                    self.post = true;
                    let mut len = body.len();
                    let mut packets = payload::decode(body, usize::MAX).expect("our POST decodes");
                    // The application's messages are bounded by the buffer; pongs
                    // answer the server's pings, one each.
                    let messages = packets
                        .iter()
                        .filter(|p| matches!(p, Packet::Message(_)))
                        .count();
                    assert!(messages <= MAX_BUFFERED, "POST of {messages} messages");
                    // A close packet rides along with what was queued.
                    if packets.last() == Some(&Packet::Close) {
                        packets.pop();
                        len = len.saturating_sub(2);
                    }
                    if let Some(max) = self.max_payload {
                        assert!(
                            packets.len() <= 1 || len <= max,
                            "POST of {len} bytes over {max}"
                        );
                    }
                    for p in &packets {
                        match p {
                            Packet::Message(m) => {
                                in_order(numbered(m, 'm'), &mut self.last_app, "app message")
                            }
                            Packet::Pong(_) => self.pong(),
                            _ => {}
                        }
                    }
                }
                Transmit::ConnectWebSocket => self.ws = Ws::Connecting,
                Transmit::Ws(m, _) => {
                    assert_eq!(self.ws, Ws::Open, "a write on a WebSocket that is not open");
                    match Packet::from_ws(m) {
                        Some(Ok(Packet::Message(m))) => {
                            in_order(numbered(&m, 'm'), &mut self.last_app, "app message")
                        }
                        Some(Ok(Packet::Upgrade)) => upgrade_sent = true,
                        Some(Ok(Packet::Pong(_))) => self.pong(),
                        _ => {}
                    }
                }
                Transmit::CloseWebSocket => self.ws = Ws::None,
            }
        }
        let mut events = 0;
        while let Some(e) = self.s.poll_event() {
            events += 1;
            assert!(events <= 8, "unbounded events in one step");
            assert!(!was_closed, "{e:?} after Closed");
            match e {
                ClientEvent::Open(h) => {
                    self.max_payload = Some(h.max_payload as usize);
                    assert!(self.s.sid().is_some());
                }
                ClientEvent::Message(m) => {
                    in_order(numbered(&m, 's'), &mut self.last_srv, "server message")
                }
                ClientEvent::Upgraded => {
                    assert_eq!(self.s.transport(), Transport::WebSocket);
                    // (Its WebSocket may have closed since, in the same step.)
                    assert!(upgrade_sent, "upgraded without sending the upgrade packet");
                }
                ClientEvent::Closed(_) => {
                    assert!(!self.closed, "closed twice");
                    self.closed = true;
                }
                // Pings are reported only with `ping_events`, off here.
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            self.s.is_closed(),
            self.closed,
            "is_closed agrees with the Closed event"
        );
        if let Some(t) = self.s.poll_timeout() {
            assert!(!self.closed, "a deadline after close");
            assert!(
                t > self.now,
                "a deadline that is already due after handle_timeout"
            );
        }
        if !self.closed
            && !self.closing
            && self.s.transport() == Transport::Polling
            && self.ws == Ws::None
        {
            assert!(self.get, "a polling session with no GET out: stalled");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, ops)) = data.split_first() else {
        return;
    };
    // Long enough for any state; longer inputs only slow the search down.
    let mut ops = &ops[..ops.len().min(MAX_OPS)];
    let mut config = ClientConfig::default();
    config.initial = if head & 1 == 1 {
        Transport::WebSocket
    } else {
        Transport::Polling
    };
    config.upgrade = head & 2 == 0;
    config.max_buffered_packets = MAX_BUFFERED;
    let mut h = Harness {
        s: ClientSession::new(config),
        now: Instant::now(),
        get: false,
        post: false,
        ws: Ws::None,
        closing: false,
        closed: false,
        srv_next: 0,
        app_next: 0,
        last_srv: None,
        last_app: None,
        max_payload: None,
        pings: 0,
    };
    h.drain();

    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let arg = op / 12;
        match op % 12 {
            0 if h.get => {
                let body = h.poll_body(arg);
                h.poll_response(body);
            }
            1 | 2 if h.post => {
                h.post = false;
                h.s.handle_post_done(op % 12 == 1);
            }
            3 if h.ws == Ws::Connecting => {
                h.ws = Ws::Open;
                h.s.handle_ws_open();
            }
            4 if h.ws == Ws::Open => {
                let m = h.ws_message(arg);
                h.ws_in(m);
            }
            // A GET or POST connection failed.
            5 if h.get || h.post => {
                if arg & 1 == 0 && h.get {
                    h.get = false;
                } else {
                    h.post = false;
                }
                h.s.handle_transport_error(false);
            }
            6 if h.ws != Ws::None => {
                h.ws = Ws::None;
                h.s.handle_transport_error(true);
            }
            7 => h.now += Duration::from_millis(u64::from(arg) * 37),
            8 => {
                let p = if arg & 1 == 0 {
                    Payload::Text(format!("m{}", h.app_next).into())
                } else {
                    Payload::Binary(Bytes::from_static(&[0xff; 3]))
                };
                h.app_next += 1;
                h.s.send(p);
            }
            9 => {
                h.closing = true;
                h.s.close();
            }
            // Raw bytes from the input, as a poll response or a WebSocket message.
            10 | 11 => {
                let (&len, rest) = ops.split_first().unwrap_or((&0, &[]));
                let len = (len as usize % 48).min(rest.len());
                let (raw, rest) = rest.split_at(len);
                ops = rest;
                // Numbered messages are the fake server's alone.
                let raw: Bytes = raw
                    .iter()
                    .map(|&b| if b == b's' { b'S' } else { b })
                    .collect();
                if op % 12 == 10 && h.get {
                    h.poll_response(raw);
                } else if op % 12 == 11 && h.ws == Ws::Open {
                    let m = match ws_frame::Utf8Bytes::try_from_bytes(raw.clone()) {
                        Ok(t) if arg & 1 == 0 => ws_frame::Message::Text(t),
                        _ => ws_frame::Message::Binary(raw),
                    };
                    h.ws_in(m);
                }
            }
            _ => {}
        }
        h.s.handle_timeout(h.now);
        h.drain();
    }
});
