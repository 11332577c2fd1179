//! Wire helpers shared by the tests: raw frames with any header, and moving
//! bytes between two in-memory connections.

use bytes::BytesMut;
use ws_frame::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use ws_frame::mask::apply_mask_reference;
use ws_frame::{Config, Connection, Error, Message};

pub(crate) const KEY: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];

/// One frame exactly as given, masked with `mask` (using the reference mask).
pub(crate) fn raw_frame(
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        ..FrameHeader::new(opcode, payload.len() as u64, mask)
    };
    let mut h = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut h);
    let mut out = h[..n].to_vec();
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask_reference(&mut body, key, 0);
    }
    out.extend_from_slice(&body);
    out
}

/// A frame as a client sends it (masked).
pub(crate) fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    raw_frame(fin, opcode, payload, Some(KEY))
}

pub(crate) fn server() -> Connection {
    Connection::server(Config::default())
}

pub(crate) fn client() -> Connection {
    let mut n = 0u32;
    Connection::client(Config::default(), move || {
        n = n.wrapping_add(0x9e37_79b9);
        n.to_be_bytes()
    })
}

/// Everything `from` wants to transmit, as one buffer.
pub(crate) fn drain(from: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some(chunk) = from.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    wire
}

/// Feeds `wire` to `to` in one piece; returns every message and the first error.
pub(crate) fn feed(to: &mut Connection, wire: &[u8]) -> (Vec<Message>, Option<Error>) {
    feed_chunks(to, &[wire])
}

/// Feeds `wire` piece by piece, as reads would deliver it.
pub(crate) fn feed_chunks(to: &mut Connection, pieces: &[&[u8]]) -> (Vec<Message>, Option<Error>) {
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            if let Err(e) = to.handle_read(&mut buf) {
                got.extend(std::iter::from_fn(|| to.poll_message()));
                return (got, Some(e));
            }
            match to.poll_message() {
                Some(m) => got.push(m),
                None => break,
            }
        }
    }
    (got, None)
}

/// The close code of the close frame `conn` queued (it is a server, unmasked).
pub(crate) fn queued_close_code(conn: &mut Connection) -> Option<u16> {
    let wire = drain(conn);
    let (h, n) = FrameHeader::decode(&wire).ok()??;
    (h.opcode == OpCode::Close && wire.len() >= n + 2)
        .then(|| u16::from_be_bytes([wire[n], wire[n + 1]]))
}
