//! The connection state machine, both roles, on arbitrary bytes in arbitrary
//! reads, with sends and closes mixed in. Oracle: the same input delivered in
//! one piece gives the same messages and the same verdict (chunking
//! invariance), and nothing panics.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ws_frame::{Config, Connection, Message};

fn connection(server: bool) -> Connection {
    let mut config = Config::default();
    config.max_frame_size = 1 << 16;
    config.max_message_size = 1 << 17;
    if server {
        Connection::server(config)
    } else {
        Connection::client(config, || [1, 2, 3, 4])
    }
}

/// Feeds `input` in pieces of the given sizes (0 = the rest); every few reads
/// the local side sends or starts closing, as `ops` says.
fn run(server: bool, input: &[u8], sizes: &[u8], ops: &[u8]) -> (Vec<Message>, Option<String>) {
    let mut conn = connection(server);
    let mut buf = BytesMut::new();
    let (mut got, mut rest) = (Vec::new(), input);
    let mut i = 0;
    while !rest.is_empty() {
        let n = match sizes.get(i).copied().unwrap_or(0) as usize {
            0 => rest.len(),
            n => n.min(rest.len()),
        };
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        // Local actions must not change what is read.
        match ops.get(i).copied().unwrap_or(0) {
            1 => drop(conn.send(Message::text("x"))),
            2 => drop(conn.send(Message::Ping("p".into()))),
            3 => drop(conn.close(None)),
            _ => {}
        }
        i += 1;
        loop {
            if let Err(e) = conn.handle_read(&mut buf) {
                got.extend(std::iter::from_fn(|| conn.poll_message()));
                return (got, Some(format!("{e:?}")));
            }
            while conn.poll_transmit().is_some() {}
            match conn.poll_message() {
                Some(m) => got.push(m),
                None => break,
            }
        }
    }
    (got, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, data)) = data.split_first() else { return };
    let server = head & 1 == 0;
    let split = (data.len() / 4).min(16);
    let (sizes, input) = data.split_at(split);
    let pieces = run(server, input, sizes, &[]);
    let whole = run(server, input, &[], &[]);
    assert_eq!(pieces, whole);
    // With local sends and closes mixed in, it must still not panic.
    let _ = run(server, input, sizes, sizes);
});
