//! The server session state machine under arbitrary sequences of requests,
//! WebSocket traffic and its errors, sends (plain and prepared), overlapping
//! POSTs and timers. Oracles: messages the application
//! sends reach the client (over polling and WebSocket together) in order and
//! never twice; at most one Closed event; nothing is handed out after close
//! except what was already decided.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio::{
    Event, Packet, Payload, Prepared, ServerConfig, ServerSession, ServerTransmit, Transport,
    payload,
};
use libfuzzer_sys::fuzz_target;

const WS_INPUTS: [&str; 8] = ["2probe", "5", "3", "4hi", "1", "2", "6", "x"];
const POSTS: [&str; 6] = ["3", "4hi", "1", "4a\x1e3", "bAQI=", "zz"];

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let mut config = ServerConfig::default();
    config.max_buffered_packets = 16;
    let transport = if data.first().is_some_and(|b| b & 1 == 1) { Transport::WebSocket } else { Transport::Polling };
    let mut s = ServerSession::new("fuzz".into(), config, transport, now);
    let (mut sent, mut last_seen, mut closes) = (0u32, None::<u32>, 0);

    let seen = |packet: &Packet, last: &mut Option<u32>| {
        if let Packet::Message(Payload::Text(t)) = packet
            && let Some(n) = t.as_str().strip_prefix('m').and_then(|n| n.parse::<u32>().ok())
        {
            assert!(last.is_none_or(|l| n > l), "message m{n} after m{last:?}: duplicated or reordered");
            *last = Some(n);
        }
    };

    for &op in data.iter().skip(1) {
        match op % 12 {
            0 => drop(s.handle_poll(now)),
            1 => drop(s.handle_post(now, Bytes::from_static(POSTS[(op / 12) as usize % POSTS.len()].as_bytes()))),
            2 => drop(s.attach_websocket(now)),
            3 => s.handle_ws_message(now, ws_frame::Message::text(WS_INPUTS[(op / 12) as usize % 8])),
            4 => s.handle_ws_closed(),
            5 => s.handle_poll_dropped(),
            6 => {
                s.send(Payload::Text(format!("m{sent}").into()));
                sent += 1;
            }
            // The same, encoded once as a broadcast would be.
            7 => {
                s.send_prepared(&Prepared::new(Payload::Text(format!("m{sent}").into())));
                sent += 1;
            }
            8 => now += Duration::from_millis(u64::from(op) * 300),
            9 => s.close(now),
            // A POST while the previous one is held.
            10 => s.handle_overlapping_post(),
            _ => s.handle_ws_error(),
        }
        s.handle_timeout(now);
        if let Some(t) = s.poll_timeout() {
            assert!(t > start, "deadlines are in the future of the session start");
        }
        while let Some(e) = s.poll_event() {
            if let Event::Closed(_) = e {
                closes += 1;
            }
        }
        while let Some(t) = s.poll_transmit() {
            match t {
                ServerTransmit::PollResponse(body, _) => {
                    for p in payload::decode(body, 1 << 16).expect("our payloads decode") {
                        seen(&p, &mut last_seen);
                    }
                }
                ServerTransmit::Ws(m, _) => {
                    if let Some(Ok(p)) = Packet::from_ws(m) {
                        seen(&p, &mut last_seen);
                    }
                }
                ServerTransmit::CloseWebSocket => {}
            }
        }
        assert!(closes <= 1, "closed twice");
    }
});
