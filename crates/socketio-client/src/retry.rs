//! At-least-once delivery (`ClientOptions::retries`), as socket.io-client's
//! `_addToQueue`/`_drainQueue`: a namespace's emits wait in a queue and go
//! out one at a time, each with an ack id; an ack lets the next one go, a
//! try that times out (or that a disconnect cuts) is sent again with a new
//! ack id, until its tries exceed the retries. Pure: the task gives it the
//! time and the ack ids, and sends what it returns.

use std::collections::VecDeque;
use std::time::Duration;

use socketio_runtime::rt::Instant;

use socketio_proto::Packet;
use socketio_runtime::rt::oneshot;

use crate::error::AckError;

/// One queued emit.
pub(crate) struct Queued {
    /// The event, without an ack id.
    pub(crate) packet: Packet,
    /// How long each try waits for its ack; `None`: until a disconnect.
    pub(crate) try_timeout: Option<Duration>,
    /// Hears the ack, or why none came.
    pub(crate) done: Option<oneshot::Sender<Result<Packet, AckError>>>,
    /// Tries sent so far (`tryCount`).
    tries: u32,
    /// The ack id of the try in flight, and its deadline.
    in_flight: Option<(u64, Option<Instant>)>,
}

impl Queued {
    pub(crate) fn new(
        packet: Packet,
        try_timeout: Option<Duration>,
        done: Option<oneshot::Sender<Result<Packet, AckError>>>,
    ) -> Queued {
        Queued {
            packet,
            try_timeout,
            done,
            tries: 0,
            in_flight: None,
        }
    }
}

/// A namespace's queue.
#[derive(Default)]
pub(crate) struct RetryQueue {
    items: VecDeque<Queued>,
}

impl RetryQueue {
    pub(crate) fn push(&mut self, q: Queued) {
        self.items.push_back(q);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The tries of the queue's head so far.
    pub(crate) fn head_tries(&self) -> Option<u32> {
        self.items.front().map(|q| q.tries)
    }

    /// The head's next try, with ack id `id`, if it is not in flight (the
    /// caller sends it only while the namespace is joined).
    pub(crate) fn next_try(&mut self, now: Instant, id: impl FnOnce() -> u64) -> Option<Packet> {
        let head = self.items.front_mut()?;
        if head.in_flight.is_some() {
            return None;
        }
        let id = id();
        head.tries += 1;
        head.in_flight = Some((id, head.try_timeout.map(|t| now + t)));
        Some(head.packet.clone().with_id(id))
    }

    /// An ACK: when it answers the head's try in flight, the head is done
    /// and `true` comes back (the next may go). A late answer to an
    /// earlier try is ignored, as socket.io-client does.
    pub(crate) fn handle_ack(&mut self, ack: &Packet) -> bool {
        let matches = self
            .items
            .front()
            .and_then(|q| q.in_flight)
            .is_some_and(|(id, _)| Some(id) == ack.id());
        if !matches {
            return false;
        }
        if let Some(done) = self.items.pop_front().and_then(|q| q.done) {
            let _ = done.send(Ok(ack.clone()));
        }
        true
    }

    /// When the head's try times out.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.items.front().and_then(|q| q.in_flight?.1)
    }

    /// The head's try timed out if its deadline is at or before `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, retries: u32) {
        if self.poll_timeout().is_some_and(|d| d <= now) {
            self.fail_head(retries);
        }
    }

    /// The connection (or the namespace) ended with a try in flight. With
    /// an ack timeout it failed (socket.io-client calls its ack with an
    /// error); without one it is simply sent again once joined, however
    /// many times that takes, as socket.io-client forces the head out on
    /// every connect.
    pub(crate) fn handle_disconnect(&mut self, retries: u32) {
        let Some(head) = self.items.front_mut() else {
            return;
        };
        match head.in_flight {
            Some((_, Some(_))) => self.fail_head(retries),
            Some((_, None)) => head.in_flight = None,
            None => {}
        }
    }

    /// The head's try failed: past `retries` retries it is dropped, and
    /// its waiter told how many tries were made; else it goes again.
    fn fail_head(&mut self, retries: u32) {
        let Some(head) = self.items.front_mut() else {
            return;
        };
        head.in_flight = None;
        if head.tries <= retries {
            return;
        }
        let tries = head.tries;
        if let Some(done) = self.items.pop_front().and_then(|q| q.done) {
            let _ = done.send(Err(AckError::RetriesExhausted { tries }));
        }
    }
}

// tokio-driven; natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn event(n: u32) -> Packet {
        Packet::event("/", "e", &(n,)).unwrap()
    }

    #[test]
    fn one_at_a_time_resent_with_new_ids_then_dropped_after_the_retries() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let mut q = RetryQueue::default();
        let mut ids = 0..;
        let (tx, mut rx) = oneshot::channel();
        q.push(Queued::new(event(1), Some(second), Some(tx)));
        q.push(Queued::new(event(2), Some(second), None));
        let first = q.next_try(t0, || ids.next().unwrap()).unwrap();
        assert_eq!(first.id(), Some(0));
        assert!(
            q.next_try(t0, || ids.next().unwrap()).is_none(),
            "in flight"
        );
        assert_eq!(q.poll_timeout(), Some(t0 + second));
        // Two retries: three tries in all.
        for try_no in 2..=3 {
            q.handle_timeout(t0 + second * (try_no - 1), 2);
            let again = q.next_try(t0, || ids.next().unwrap()).unwrap();
            assert_eq!(again.id(), Some(u64::from(try_no) - 1), "a new ack id");
            assert_eq!(q.head_tries(), Some(try_no));
        }
        q.handle_disconnect(2);
        assert!(matches!(
            rx.try_recv(),
            Ok(Err(AckError::RetriesExhausted { tries: 3 }))
        ));
        // The next one goes; a late ack of the dropped one is ignored.
        let next = q.next_try(t0, || ids.next().unwrap()).unwrap();
        assert_eq!(next.event_args::<(u32,)>().unwrap(), (2,));
        assert!(!q.handle_ack(&Packet::ack("/", 2, &()).unwrap()));
        assert!(q.handle_ack(&Packet::ack("/", next.id().unwrap(), &()).unwrap()));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn without_an_ack_timeout_a_disconnect_only_sends_the_head_again() {
        let t0 = Instant::now();
        let mut q = RetryQueue::default();
        let mut ids = 0..;
        let (tx, mut rx) = oneshot::channel();
        q.push(Queued::new(event(1), None, Some(tx)));
        for tries in 1..=5 {
            assert!(q.next_try(t0, || ids.next().unwrap()).is_some());
            assert_eq!(q.head_tries(), Some(tries));
            // Retries 1: with a timeout it would have been dropped by now.
            q.handle_disconnect(1);
            assert_eq!(q.len(), 1, "kept after {tries} disconnects");
        }
        assert!(rx.try_recv().is_err(), "no answer yet");
        let resent = q.next_try(t0, || ids.next().unwrap()).unwrap();
        let ack = Packet::ack("/", resent.id().unwrap(), &()).unwrap();
        assert!(q.handle_ack(&ack));
        assert!(rx.try_recv().unwrap().is_ok());
    }
}
