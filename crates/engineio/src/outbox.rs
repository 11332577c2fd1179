//! Packets waiting for a polling transport to carry them, bounded, for
//! both sides of a session: the server's wait for the client's next GET,
//! the client's for its next POST.

use std::collections::VecDeque;

use bytes::BytesMut;

use crate::packet::Packet;
use crate::payload::SEPARATOR;

/// The outbox is at its limit: the other side does not collect its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Full;

#[derive(Debug)]
pub(crate) struct Outbox {
    /// Each packet with whether it may be compressed (engine.io's
    /// `options.compress`; false only for an emit with `compress(false)`).
    packets: VecDeque<(Packet, bool)>,
    limit: usize,
}

impl Outbox {
    /// Empty: gives back the room it grew to.
    pub(crate) fn shrink_idle(&mut self) {
        if self.packets.is_empty() {
            self.packets = VecDeque::new();
        }
    }

    pub(crate) fn new(limit: usize) -> Self {
        Outbox {
            packets: VecDeque::new(),
            limit,
        }
    }

    /// Queues `packet`, unless `limit` packets already wait.
    pub(crate) fn push(&mut self, packet: Packet, compress: bool) -> Result<(), Full> {
        if self.packets.len() >= self.limit {
            return Err(Full);
        }
        self.packets.push_back((packet, compress));
        Ok(())
    }

    /// Queues a packet the protocol requires (a pong) ahead of the rest,
    /// whatever the limit, unless the same packet already waits there: a
    /// peer that pings faster than the transport writes gets one answer,
    /// not a queue that grows with its pings.
    pub(crate) fn push_front(&mut self, packet: Packet) {
        if self.packets.front().map(|(p, _)| p) != Some(&packet) {
            self.packets.push_front((packet, true));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    pub(crate) fn clear(&mut self) {
        self.packets.clear();
    }

    /// Takes every packet, in order, each with its compress flag.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Packet, bool)> + '_ {
        self.packets.drain(..)
    }

    /// Takes packets as one polling payload appended to `out`: at least
    /// one, then as many as keep `out` within `max` bytes. Returns whether
    /// the payload may be compressed: engine.io compresses a polling
    /// response when any one of its packets has `compress` set.
    pub(crate) fn take_payload(&mut self, out: &mut BytesMut, max: usize) -> bool {
        let start = out.len();
        let mut compress = false;
        while let Some((p, c)) = self.packets.front() {
            let mark = out.len();
            if mark > start {
                out.extend_from_slice(&[SEPARATOR]);
            }
            p.encode_text(out);
            if mark > start && out.len() - start > max {
                out.truncate(mark);
                break;
            }
            compress |= *c;
            self.packets.pop_front();
        }
        compress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_cut_into_payloads_within_max() {
        let mut o = Outbox::new(3);
        for t in ["a", "bb", "ccc"] {
            o.push(Packet::text(t), true).unwrap();
        }
        assert_eq!(o.push(Packet::text("d"), true), Err(Full));
        o.push_front(Packet::Pong(String::new().into()));
        o.push_front(Packet::Pong(String::new().into()));
        let mut out = BytesMut::new();
        o.take_payload(&mut out, 6);
        assert_eq!(&out[..], b"3\x1e4a");
        let mut out = BytesMut::new();
        o.take_payload(&mut out, 1);
        assert_eq!(&out[..], b"4bb", "at least one packet, even over max");
        let mut out = BytesMut::new();
        o.take_payload(&mut out, usize::MAX);
        assert_eq!(&out[..], b"4ccc");
        assert!(o.is_empty());
    }

    #[test]
    fn a_payload_is_compressible_if_any_of_its_packets_is() {
        let mut o = Outbox::new(8);
        o.push(Packet::text("a"), false).unwrap();
        o.push(Packet::text("b"), false).unwrap();
        o.push(Packet::text("c"), true).unwrap();
        o.push(Packet::text("d"), false).unwrap();
        let mut out = BytesMut::new();
        assert!(
            !o.take_payload(&mut out, 5),
            "4a and 4b: neither compressible"
        );
        assert_eq!(&out[..], b"4a\x1e4b");
        let mut out = BytesMut::new();
        assert!(o.take_payload(&mut out, usize::MAX), "4c is");
        o.push(Packet::text("e"), false).unwrap();
        o.push_front(Packet::Pong(String::new().into()));
        assert!(
            o.take_payload(&mut BytesMut::new(), usize::MAX),
            "a pong is"
        );
    }
}
