//! Ack ids and the acks waiting for an answer, with deadlines.
//!
//! Time comes in as `now`; nothing here reads a clock.

use crate::Instant;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Acks waiting for an answer, keyed by the ids this type allocates (0, 1,
/// 2, ... per socket, as the official client and server count).
///
/// Driving it: [`insert`](Self::insert) when sending an event with an ack;
/// [`handle_ack`](Self::handle_ack) when an ACK arrives;
/// [`poll_timeout`](Self::poll_timeout) for the next deadline to wake at,
/// then [`poll_expired`](Self::poll_expired) until `None`; on disconnect,
/// [`drain`](Self::drain) fails whatever still waits.
#[derive(Debug)]
pub struct PendingAcks<T> {
    next_id: u64,
    waiting: HashMap<u64, (Option<Instant>, T)>,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl<T> Default for PendingAcks<T> {
    fn default() -> Self {
        PendingAcks {
            next_id: 0,
            waiting: HashMap::new(),
            deadlines: BinaryHeap::new(),
        }
    }
}

impl<T> PendingAcks<T> {
    /// Registers `value` under a new ack id, which is returned; it expires at
    /// `deadline` if one is given.
    pub fn insert(&mut self, deadline: Option<Instant>, value: T) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if let Some(at) = deadline {
            self.deadlines.push(Reverse((at, id)));
        }
        self.waiting.insert(id, (deadline, value));
        id
    }

    /// Registers `value` under an id chosen elsewhere (socket.io numbers a
    /// broadcast's acks per namespace, so every recipient answers the same
    /// id). Returns `false`, registering nothing, if `id` is already waiting.
    pub fn insert_with_id(&mut self, id: u64, deadline: Option<Instant>, value: T) -> bool {
        if self.waiting.contains_key(&id) {
            return false;
        }
        if let Some(at) = deadline {
            self.deadlines.push(Reverse((at, id)));
        }
        self.waiting.insert(id, (deadline, value));
        true
    }

    /// An ACK with `id` arrived: the waiting value, or `None` for an id that
    /// is unknown, answered already or expired (such an ACK is ignored).
    pub fn handle_ack(&mut self, id: u64) -> Option<T> {
        self.waiting.remove(&id).map(|(_, v)| v)
    }

    /// The earliest deadline still pending.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if self.waiting.get(&id).is_some_and(|(d, _)| *d == Some(at)) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The next ack whose deadline is at or before `now`.
    pub fn poll_expired(&mut self, now: Instant) -> Option<(u64, T)> {
        let at = self.poll_timeout()?;
        if at > now {
            return None;
        }
        let Reverse((_, id)) = self.deadlines.pop()?;
        self.waiting.remove(&id).map(|(_, v)| (id, v))
    }

    /// Everything still waiting, for when the socket goes away.
    pub fn drain(&mut self) -> impl Iterator<Item = (u64, T)> + '_ {
        self.deadlines.clear();
        self.waiting.drain().map(|(id, (_, v))| (id, v))
    }

    /// Takes out every wait but those `keep` accepts (a client keeps the
    /// waits of emits not sent yet across a disconnect, as
    /// socket.io-client's `_clearAcks` does); the heap's stale entries go
    /// as deadlines are polled.
    pub fn drain_except(&mut self, keep: impl Fn(u64) -> bool) -> Vec<(u64, T)> {
        let gone: Vec<u64> = self
            .waiting
            .keys()
            .copied()
            .filter(|id| !keep(*id))
            .collect();
        gone.into_iter()
            .filter_map(|id| self.waiting.remove(&id).map(|(_, v)| (id, v)))
            .collect()
    }

    /// How many acks wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_count_up_and_deadlines_expire_in_order() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut acks = PendingAcks::default();
        assert_eq!(acks.insert(Some(t0 + 2 * s), "b"), 0);
        assert_eq!(acks.insert(Some(t0 + s), "a"), 1);
        assert_eq!(acks.insert(None, "forever"), 2);
        assert_eq!(acks.poll_timeout(), Some(t0 + s));
        assert_eq!(acks.poll_expired(t0), None);
        assert_eq!(acks.poll_expired(t0 + s), Some((1, "a")));
        // Answered in time: its deadline no longer counts.
        assert_eq!(acks.handle_ack(0), Some("b"));
        assert_eq!(acks.poll_timeout(), None);
        assert_eq!(acks.poll_expired(t0 + 10 * s), None);
        assert_eq!(acks.handle_ack(1), None, "expired acks are ignored");
        assert!(acks.insert_with_id(7, None, "chosen"));
        assert!(!acks.insert_with_id(7, None, "again"), "taken");
        assert_eq!(acks.handle_ack(7), Some("chosen"));
        assert_eq!(acks.drain().collect::<Vec<_>>(), [(2, "forever")]);
        assert!(acks.is_empty());
    }
}
