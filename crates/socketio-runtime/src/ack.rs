//! Acknowledgements both ways: answering the peer's ([`AckSender`]), and
//! waiting for the peer's answers to ours ([`Acks`]).
//!
//! A wait ends at its deadline through [`PendingAcks`], driven by the timer
//! of the task that owns the connection (its `poll_timeout`): one mechanism,
//! no timer per wait.

use crate::rt::Instant;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::rt::oneshot;
use serde::Serialize;
use socketio_proto::{BuildError, Packet, PendingAcks};

use crate::MaybeSend;
use crate::relay;

/// A socket an acknowledgement can be sent on: each runtime's `Socket`.
pub trait AckSocket: Clone + MaybeSend + 'static {
    /// Why a send failed.
    type Error: From<BuildError>;
    /// The socket's namespace.
    fn namespace(&self) -> &str;
    /// Sends an ACK packet the way the runtime sends an answer.
    fn send_ack(&self, packet: Packet) -> Result<(), Self::Error>;
}

/// Answers an event the peer sent with an ack id. Every listener of the
/// event gets one; the first answer goes out and the others are dropped,
/// as Node's one ack function per packet does.
#[derive(Debug)]
pub struct AckSender<S> {
    socket: S,
    id: u64,
    answered: Answered,
}

/// Whether an event's ack was sent, shared by its listeners' senders;
/// nothing to share (and nothing allocated) for an event with one listener.
#[derive(Clone, Debug, Default)]
pub struct Answered(Option<Arc<AtomicBool>>);

impl Answered {
    /// For an event heard by `listeners` listeners.
    pub fn for_listeners(listeners: usize) -> Answered {
        Answered((listeners > 1).then(|| Arc::new(AtomicBool::new(false))))
    }
}

impl<S: AckSocket> AckSender<S> {
    pub(crate) fn new(socket: S, id: u64, answered: Answered) -> Self {
        AckSender {
            socket,
            id,
            answered,
        }
    }

    /// Whether a listener answered already (then a send does nothing).
    pub fn is_answered(&self) -> bool {
        self.answered
            .0
            .as_ref()
            .is_some_and(|a| a.load(Ordering::Acquire))
    }

    fn first(&self) -> bool {
        self.answered
            .0
            .as_ref()
            .is_none_or(|a| !a.swap(true, Ordering::AcqRel))
    }

    /// Sends the acknowledgement with `args` (a tuple, array or `Vec`),
    /// unless another listener answered first.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), S::Error> {
        let packet = Packet::ack(self.socket.namespace(), self.id, args)?;
        if !self.first() {
            return Ok(());
        }
        self.socket.send_ack(packet)
    }

    /// Sends the acknowledgement with the raw arguments of a packet (its
    /// event arguments), attachments included: for echoing.
    pub fn send_raw_args(self, packet: &Packet) -> Result<(), S::Error> {
        let packet = relay::ack(self.socket.namespace(), self.id, packet)?;
        if !self.first() {
            return Ok(());
        }
        self.socket.send_ack(packet)
    }
}

/// A new wait for an ack: the slot goes into the [`Acks`] of the task that
/// reads the answer, the wait to whoever asked.
pub fn wait() -> (AckSlot, AckWait) {
    let (tx, rx) = oneshot::channel();
    (AckSlot(tx), AckWait(rx))
}

/// The answering end of one wait, kept in [`Acks`]. `None` goes through it
/// when the deadline passes; dropping it means the socket went away.
#[derive(Debug)]
pub struct AckSlot(oneshot::Sender<Option<Packet>>);

/// The asking end of one wait.
#[derive(Debug)]
pub struct AckWait(oneshot::Receiver<Option<Packet>>);

/// Why no answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAnswer {
    /// The deadline passed.
    Timeout,
    /// The socket or its connection went away first.
    Gone,
}

impl AckWait {
    /// The peer's ACK packet, or why none came.
    pub async fn answer(self) -> Result<Packet, NoAnswer> {
        match self.0.await {
            Ok(Some(ack)) => Ok(ack),
            Ok(None) => Err(NoAnswer::Timeout),
            Err(_) => Err(NoAnswer::Gone),
        }
    }
}

/// The acks a socket waits for, each until its deadline.
///
/// Driving it: [`insert`](Self::insert) as an event asking for an ack goes
/// out; [`handle_ack`](Self::handle_ack) for each ACK that comes in; the
/// owner's timer wakes at [`poll_timeout`](Self::poll_timeout) and calls
/// [`handle_timeout`](Self::handle_timeout). [`clear`](Self::clear) (or
/// dropping it) ends every wait with [`NoAnswer::Gone`].
#[derive(Debug, Default)]
pub struct Acks {
    pending: PendingAcks<AckSlot>,
}

impl Acks {
    /// Waits for ack `id` until `deadline`. An id already waiting keeps its
    /// wait; this one ends at once as gone.
    pub fn insert(&mut self, id: u64, deadline: Instant, slot: AckSlot) {
        self.pending.insert_with_id(id, Some(deadline), slot);
    }

    /// An ACK came: its wait gets it. One nobody waits for is ignored.
    pub fn handle_ack(&mut self, ack: Packet) {
        if let Some(slot) = ack.id().and_then(|id| self.pending.handle_ack(id)) {
            let _ = slot.0.send(Some(ack));
        }
    }

    /// The earliest deadline.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.pending.poll_timeout()
    }

    /// Ends the waits whose deadline is at or before `now` with
    /// [`NoAnswer::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, slot)) = self.pending.poll_expired(now) {
            let _ = slot.0.send(None);
        }
    }

    /// Ends every wait with [`NoAnswer::Gone`] but those `keep` accepts.
    pub fn clear_except(&mut self, keep: impl Fn(u64) -> bool) {
        drop(self.pending.drain_except(keep));
    }

    /// Ends every wait with [`NoAnswer::Gone`].
    pub fn clear(&mut self) {
        self.pending.drain().for_each(drop);
    }
}

// tokio-driven; natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ack(id: u64) -> Packet {
        Packet::ack("/", id, &(id,)).unwrap()
    }

    #[tokio::test]
    async fn answered_timed_out_or_gone() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut acks = Acks::default();
        let mut expect = |id, deadline| {
            let (slot, wait) = wait();
            acks.insert(id, deadline, slot);
            wait
        };
        let (answered, late, gone) = (expect(0, t0 + s), expect(1, t0 + s), expect(2, t0 + 5 * s));
        let (slot, taken) = wait();
        acks.insert(0, t0, slot);
        assert_eq!(
            taken.answer().await.unwrap_err(),
            NoAnswer::Gone,
            "id 0 waits already"
        );

        acks.handle_ack(ack(0));
        assert_eq!(acks.poll_timeout(), Some(t0 + s));
        acks.handle_timeout(t0 + s);
        // Too late: ignored.
        acks.handle_ack(ack(1));
        assert_eq!(acks.poll_timeout(), Some(t0 + 5 * s));
        acks.clear();
        assert_eq!(acks.poll_timeout(), None);

        assert_eq!(answered.answer().await.unwrap().id(), Some(0));
        assert_eq!(late.answer().await.unwrap_err(), NoAnswer::Timeout);
        assert_eq!(gone.answer().await.unwrap_err(), NoAnswer::Gone);
    }
}
