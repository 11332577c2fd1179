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
    packets: VecDeque<Packet>,
    limit: usize,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Self {
        Outbox {
            packets: VecDeque::new(),
            limit,
        }
    }

    /// Queues `packet`, unless `limit` packets already wait.
    pub(crate) fn push(&mut self, packet: Packet) -> Result<(), Full> {
        if self.packets.len() >= self.limit {
            return Err(Full);
        }
        self.packets.push_back(packet);
        Ok(())
    }

    /// Queues a packet the protocol requires (a pong) ahead of the rest,
    /// whatever the limit, unless the same packet already waits there: a
    /// peer that pings faster than the transport writes gets one answer,
    /// not a queue that grows with its pings.
    pub(crate) fn push_front(&mut self, packet: Packet) {
        if self.packets.front() != Some(&packet) {
            self.packets.push_front(packet);
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

    /// Takes every packet, in order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Packet> + '_ {
        self.packets.drain(..)
    }

    /// Takes packets as one polling payload appended to `out`: at least
    /// one, then as many as keep `out` within `max` bytes.
    pub(crate) fn take_payload(&mut self, out: &mut BytesMut, max: usize) {
        let start = out.len();
        while let Some(p) = self.packets.front() {
            let mark = out.len();
            if mark > start {
                out.extend_from_slice(&[SEPARATOR]);
            }
            p.encode_text(out);
            if mark > start && out.len() - start > max {
                out.truncate(mark);
                break;
            }
            self.packets.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_cut_into_payloads_within_max() {
        let mut o = Outbox::new(3);
        for t in ["a", "bb", "ccc"] {
            o.push(Packet::text(t)).unwrap();
        }
        assert_eq!(o.push(Packet::text("d")), Err(Full));
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
}
