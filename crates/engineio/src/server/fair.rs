//! Fair turns among sessions on a saturated runtime.
//!
//! tokio's multi-thread scheduler keeps up to 256 runnable tasks in a
//! worker's local queue and moves the overflow to the runtime's global
//! queue, which a busy worker visits about once per 200 µs of polling.
//! With more sessions ready than that (1000 closed-loop clients on one
//! core), the sessions in the local queue are served again and again while
//! those moved to the global queue wait a hundred times longer.
//!
//! So a session that has just written an answer while tasks wait in the
//! global queue steps aside: it waits in the server's [`Room`],
//! in order of arrival, instead of for its socket. Its next input then
//! wakes nobody, the local queue drains, the worker takes the waiting
//! tasks, and the room is let out in order. When the global queue is
//! empty, as on a runtime that keeps up, nothing changes: the check is one
//! atomic load per write.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Poll, Waker};

use tokio::runtime::RuntimeMetrics;

/// How many sessions the usher lets out at a time when the global queue is
/// empty: half a worker's local queue, so letting them out does not push
/// other tasks over into the global queue.
const LET_OUT: usize = 128;

/// One session's place in the [`Room`]: its entry there is live while the
/// entry's ticket matches, so a session that left early (woken by its
/// socket or a command) is not woken again for nothing.
#[derive(Default)]
struct Seat {
    ticket: AtomicU32,
}

/// Sessions that stepped aside, first come first out.
#[derive(Default)]
pub(super) struct Room {
    waiting: Mutex<VecDeque<(Arc<Seat>, u32, Waker)>>,
    /// Whether an usher task is running (at most one at a time).
    usher: AtomicBool,
    /// The queues of the runtime the server's first session ran on (none
    /// outside a runtime: then nobody steps aside). A server is served by
    /// one runtime in practice; on another, its check is only less apt.
    runtime: OnceLock<Option<RuntimeMetrics>>,
}

impl Room {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Arc<Seat>, u32, Waker)>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Wakes up to `n` sessions still waiting, the longest waiting first.
    fn let_out(&self, n: usize) {
        let mut woken = Vec::new();
        {
            let mut q = self.lock();
            while woken.len() < n {
                let Some((seat, ticket, waker)) = q.pop_front() else {
                    break;
                };
                if seat.ticket.load(Ordering::Acquire) == ticket {
                    woken.push(waker);
                }
            }
        }
        woken.into_iter().for_each(Waker::wake);
    }
}

/// A session's side of taking turns: its place in line, made on the first
/// step aside (most sessions never take one).
#[derive(Default)]
pub(super) struct Turns {
    seat: Option<Arc<Seat>>,
}

impl Turns {
    /// Called after each answer written: steps aside into `room` while
    /// others wait in the runtime's global queue.
    pub(super) async fn served(&mut self, room: &Arc<Room>) {
        let runtime = room.runtime.get_or_init(|| {
            tokio::runtime::Handle::try_current()
                .ok()
                .map(|h| h.metrics())
        });
        let Some(metrics) = runtime else {
            return;
        };
        if metrics.global_queue_depth() == 0 {
            return;
        }
        let seat = self.seat.get_or_insert_with(Arc::default).clone();
        step_aside(room, metrics, seat).await;
    }
}

/// Waits in `room` until let out, or until woken by anything else the
/// session waits on (its socket, a command): that ends the wait early and
/// cancels the entry.
async fn step_aside(room: &Arc<Room>, metrics: &RuntimeMetrics, seat: Arc<Seat>) {
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if queued {
            // Whatever woke it, the entry is spent.
            seat.ticket.fetch_add(1, Ordering::AcqRel);
            return Poll::Ready(());
        }
        queued = true;
        let ticket = seat.ticket.load(Ordering::Acquire);
        room.lock()
            .push_back((seat.clone(), ticket, cx.waker().clone()));
        if !room.usher.swap(true, Ordering::AcqRel) {
            tokio::spawn(usher(room.clone(), metrics.clone()));
        }
        Poll::Pending
    })
    .await
}

/// Lets the room out while it has anyone in it, once per scheduler round
/// (`yield_now` waits for the worker's next look at its I/O): `LET_OUT` at
/// a time when the global queue is empty, one otherwise (so tasks that keep
/// the global queue busy cannot hold a session back for ever). Ends when
/// the room is empty.
async fn usher(room: Arc<Room>, metrics: RuntimeMetrics) {
    loop {
        tokio::task::yield_now().await;
        let n = if metrics.global_queue_depth() == 0 {
            LET_OUT
        } else {
            1
        };
        room.let_out(n);
        if room.is_empty() {
            room.usher.store(false, Ordering::Release);
            // A session that came in since, and saw this usher running,
            // is ours to let out unless it started another.
            if room.is_empty() || room.usher.swap(true, Ordering::AcqRel) {
                return;
            }
        }
    }
}
