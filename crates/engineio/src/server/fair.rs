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
//! global queue steps aside (unless a command is already there for it): it waits in the server's [`Room`],
//! in order of arrival, instead of for its socket. Its next input then
//! wakes nobody, the local queue drains, the worker takes the waiting
//! tasks, and the room is let out in order. When the global queue is
//! empty, as on a runtime that keeps up, nothing changes: the check is one
//! atomic load per write.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

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

/// A session's side of taking turns: the queues of its runtime, read on
/// the first turn, and its place in line, made on the first step aside
/// (most sessions never take one).
#[derive(Default)]
pub(super) struct Turns {
    /// `Some(None)` outside a runtime: then it never steps aside.
    runtime: Option<Option<RuntimeMetrics>>,
    seat: Option<Arc<Seat>>,
}

impl Turns {
    /// Called after an answer is written, before the session waits: steps
    /// aside into `room` while others wait in the runtime's global queue.
    /// `waiting` is ready when something is there for the session (a
    /// command, a close request) and otherwise keeps the waker, so that it
    /// ends the wait, as `deadline` (the session's next timer) does.
    pub(super) async fn served(
        &mut self,
        room: &Arc<Room>,
        waiting: impl FnMut(&mut Context<'_>) -> Poll<()>,
        deadline: Option<std::time::Instant>,
    ) {
        let runtime = self.runtime.get_or_insert_with(|| {
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
        // Boxed: only a saturated runtime gets here, and the wait (a timer
        // among it) is then not kept in every session's task.
        Box::pin(step_aside(room, metrics, seat, waiting, deadline)).await;
    }
}

/// Waits in `room` until let out, or until woken by anything else: the
/// session's commands or timer, or its socket. That ends the wait early
/// and cancels the entry. With a command already there or the timer due,
/// it does not wait at all.
async fn step_aside(
    room: &Arc<Room>,
    metrics: &RuntimeMetrics,
    seat: Arc<Seat>,
    mut waiting: impl FnMut(&mut Context<'_>) -> Poll<()>,
    deadline: Option<std::time::Instant>,
) {
    let timer = deadline.map(|d| tokio::time::sleep_until(d.into()));
    let mut timer = std::pin::pin!(timer);
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if queued {
            // Whatever woke it, the entry is spent.
            seat.ticket.fetch_add(1, Ordering::AcqRel);
            return Poll::Ready(());
        }
        if waiting(cx).is_ready() {
            return Poll::Ready(());
        }
        if let Some(t) = timer.as_mut().as_pin_mut() {
            if t.poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        queued = true;
        let ticket = seat.ticket.load(Ordering::Acquire);
        room.lock()
            .push_back((seat.clone(), ticket, cx.waker().clone()));
        if !room.usher.swap(true, Ordering::AcqRel) {
            let on = UsherOn {
                room: room.clone(),
                armed: true,
            };
            tokio::spawn(usher(on, metrics.clone()));
        }
        Poll::Pending
    })
    .await
}

/// The running usher's hold on the room's `usher` flag. Dropped while
/// armed (its task dropped unfinished, unpolled even, as when the runtime
/// shuts down), it clears the flag and lets everyone out, so that no
/// session waits for an usher that is gone.
struct UsherOn {
    room: Arc<Room>,
    armed: bool,
}

impl Drop for UsherOn {
    fn drop(&mut self) {
        if self.armed {
            self.room.usher.store(false, Ordering::Release);
            self.room.let_out(usize::MAX);
        }
    }
}

/// Lets the room out while it has anyone in it, once per scheduler round
/// (`yield_now` waits for the worker's next look at its I/O): `LET_OUT` at
/// a time when the global queue is empty, one otherwise (so tasks that keep
/// the global queue busy cannot hold a session back for ever). Ends when
/// the room is empty.
async fn usher(mut on: UsherOn, metrics: RuntimeMetrics) {
    let room = on.room.clone();
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
                on.armed = false;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::tests::Count;
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn metrics() -> RuntimeMetrics {
        tokio::runtime::Handle::current().metrics()
    }

    #[tokio::test]
    async fn a_command_already_there_means_no_waiting() {
        let room = Arc::new(Room::default());
        step_aside(&room, &metrics(), Arc::default(), |_| Poll::Ready(()), None).await;
        assert!(room.is_empty());
        assert!(!room.usher.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_due_timer_means_no_waiting() {
        let room = Arc::new(Room::default());
        let due = std::time::Instant::now();
        step_aside(
            &room,
            &metrics(),
            Arc::default(),
            |_| Poll::Pending,
            Some(due),
        )
        .await;
        assert!(room.is_empty());
    }

    #[tokio::test]
    async fn a_command_ends_the_wait_and_the_spent_place_wakes_nobody() {
        let room = Arc::new(Room::default());
        // The session's queue as seen by step_aside: keeps the waker.
        let waker = Arc::new(Mutex::new(None::<Waker>));
        let kept = waker.clone();
        let m = metrics();
        let wait = step_aside(
            &room,
            &m,
            Arc::default(),
            move |cx| {
                *kept.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            },
            None,
        );
        let mut wait = std::pin::pin!(wait);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(count.clone());
        let mut cx = Context::from_waker(&w);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        // A command arrives: the queue wakes the session, which goes on.
        waker.lock().unwrap().take().unwrap().wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        // Its place is spent: letting the room out wakes it no more.
        room.let_out(usize::MAX);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_usher_dropped_unfinished_lets_everyone_out() {
        let room = Arc::new(Room::default());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        for _ in 0..3 {
            let seat = Arc::new(Seat::default());
            room.lock().push_back((seat, 0, Waker::from(count.clone())));
        }
        room.usher.store(true, Ordering::SeqCst);
        // As when the runtime shuts down with the usher's task unpolled.
        drop(UsherOn {
            room: room.clone(),
            armed: true,
        });
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(room.is_empty());
        assert!(!room.usher.load(Ordering::SeqCst));
    }
}
