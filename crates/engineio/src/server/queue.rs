//! A session's command queue: many senders, the session task receiving.
//!
//! Not a tokio `mpsc` because of two costs that channel has here:
//! - a handler that emits while it runs on the session task (an ack, a reply)
//!   would wake that very task through the waker its last wait left behind,
//!   and tokio reschedules a task woken while running as a yield, which wakes
//!   an idle worker thread: a futex and an eventfd write per message. The
//!   session withdraws its waker while it works ([`Queue::unregister`]), so
//!   only senders on other tasks wake it.
//! - the channel allocates a block of slots up front; an idle session here
//!   holds an empty `VecDeque`, no allocation.
//!
//! The queue also carries the close request, so a close never waits behind a
//! full queue and the session waits on one thing fewer.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

pub(crate) struct Queue<T> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
    /// Senders waiting for room.
    space: Notify,
    /// Pushes refused as full since the session last took the count
    /// ([`Queue::take_full`]): the session's own counter, not shared with
    /// other sessions.
    full: AtomicU64,
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queue")
    }
}

struct Inner<T> {
    items: VecDeque<T>,
    /// The session task, while it waits.
    waker: Option<Waker>,
    close_requested: bool,
    /// The session is gone: nothing more is accepted.
    closed: bool,
}

/// What the session receives.
pub(crate) enum Recv<T> {
    Item(T),
    /// [`Queue::request_close`] was called.
    Close,
}

/// Why a push failed; the item comes back.
pub(crate) enum PushError<T> {
    Full(T),
    Closed(T),
}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Queue {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                waker: None,
                close_requested: false,
                closed: false,
            }),
            capacity: capacity.max(1),
            space: Notify::new(),
            full: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the session if it waits, after letting go of the lock.
    fn wake_receiver(mut inner: MutexGuard<'_, Inner<T>>) {
        let waker = inner.waker.take();
        drop(inner);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Queues `item` if there is room now; a refusal as full is counted
    /// ([`take_full`](Self::take_full)).
    pub(crate) fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let r = self.push_now(item);
        if let Err(PushError::Full(_)) = &r {
            self.full.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Queues `item` if there is room now.
    fn push_now(&self, item: T) -> Result<(), PushError<T>> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(PushError::Closed(item));
        }
        if inner.items.len() >= self.capacity {
            return Err(PushError::Full(item));
        }
        inner.items.push_back(item);
        Self::wake_receiver(inner);
        Ok(())
    }

    /// Queues `item`, waiting while the queue is full. `Err` gives it back
    /// if the session is gone.
    pub(crate) async fn push(&self, mut item: T) -> Result<(), T> {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            // Registered before the check, so a pop in between is not missed.
            notified.as_mut().enable();
            match self.push_now(item) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(back)) => return Err(back),
                Err(PushError::Full(back)) => item = back,
            }
            notified.await;
        }
    }

    /// Asks the session to close; it sees [`Recv::Close`] next.
    pub(crate) fn request_close(&self) {
        let mut inner = self.lock();
        inner.close_requested = true;
        Self::wake_receiver(inner);
    }

    /// Whether nothing is waiting for the session, close request included.
    pub(crate) fn is_idle(&self) -> bool {
        let inner = self.lock();
        inner.items.is_empty() && !inner.close_requested
    }

    /// The session's side: the close request first, then items in order.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Recv<T>> {
        match self.take(self.lock()) {
            Ok(r) => Poll::Ready(r),
            Err(mut inner) => {
                match &mut inner.waker {
                    Some(w) => w.clone_from(cx.waker()),
                    None => inner.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Ready when something is there for the session (an item, the close
    /// request), without taking it; otherwise leaves the waker as
    /// [`poll_recv`](Self::poll_recv) does.
    pub(crate) fn poll_waiting(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.lock();
        if !inner.items.is_empty() || inner.close_requested {
            return Poll::Ready(());
        }
        match &mut inner.waker {
            Some(w) => w.clone_from(cx.waker()),
            None => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// What [`poll_recv`](Self::poll_recv) would give now, without leaving
    /// a waker: the session drains a burst in one round.
    pub(crate) fn try_recv(&self) -> Option<Recv<T>> {
        self.take(self.lock()).ok()
    }

    /// The next item, or the lock back when there is none.
    fn take<'a>(
        &self,
        mut inner: MutexGuard<'a, Inner<T>>,
    ) -> Result<Recv<T>, MutexGuard<'a, Inner<T>>> {
        if std::mem::take(&mut inner.close_requested) {
            return Ok(Recv::Close);
        }
        let Some(item) = inner.items.pop_front() else {
            return Err(inner);
        };
        let was_full = inner.items.len() + 1 >= self.capacity;
        if inner.items.is_empty() && inner.items.capacity() > 64 {
            // A burst is over: give its memory back.
            inner.items = VecDeque::new();
        }
        drop(inner);
        if was_full {
            self.space.notify_one();
        }
        Ok(Recv::Item(item))
    }

    /// Empty: gives back the room it grew to (a burst of broadcasts), which
    /// an idle session need not keep. Not per item: now and then.
    pub(crate) fn shrink_idle(&self) {
        let mut inner = self.lock();
        if inner.items.is_empty() {
            inner.items = VecDeque::new();
        }
    }

    /// How many pushes were refused as full since the last call.
    pub(crate) fn take_full(&self) -> u64 {
        // A plain read first: most of the time nothing was refused.
        match self.full.load(Ordering::Relaxed) {
            0 => 0,
            _ => self.full.swap(0, Ordering::Relaxed),
        }
    }

    /// The session is working, not waiting: sends need not wake it, it
    /// looks at the queue again before it waits.
    pub(crate) fn unregister(&self) {
        self.lock().waker = None;
    }

    /// The session ended: refuse further items, drop queued ones (answering
    /// their senders by dropping them), release waiting senders.
    pub(crate) fn close(&self) {
        let items = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.waker = None;
            std::mem::take(&mut inner.items)
        };
        drop(items);
        self.space.notify_waiters();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes (also for `fair.rs`'s tests).
    pub(in crate::server) struct Count(pub(in crate::server) AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn wakes_a_waiting_receiver_once_and_not_a_working_one() {
        let q = Queue::new(4);
        let (count, w) = waker();
        let mut cx = Context::from_waker(&w);
        assert!(q.poll_recv(&mut cx).is_pending());
        assert!(q.try_push(1).is_ok());
        assert!(q.try_push(2).is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Item(1))));
        q.unregister();
        assert!(q.try_push(3).is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Item(2))));
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Item(3))));
        assert!(q.poll_recv(&mut cx).is_pending());
    }

    #[test]
    fn full_refuses_and_close_comes_first() {
        let q = Queue::new(2);
        let (_, w) = waker();
        let mut cx = Context::from_waker(&w);
        assert!(q.try_push(1).is_ok());
        assert!(q.try_push(2).is_ok());
        assert!(matches!(q.try_push(3), Err(PushError::Full(3))));
        q.request_close();
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Close)));
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Item(1))));
        q.close();
        assert!(matches!(q.try_push(4), Err(PushError::Closed(4))));
        assert!(q.poll_recv(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn a_waiting_sender_gets_room_or_is_refused_on_close() {
        let q = Arc::new(Queue::new(1));
        q.try_push(1).ok();
        let q2 = q.clone();
        let sender = tokio::spawn(async move { q2.push(2).await.is_ok() });
        tokio::task::yield_now().await;
        let got = std::future::poll_fn(|cx| q.poll_recv(cx)).await;
        assert!(matches!(got, Recv::Item(1)));
        assert!(sender.await.unwrap());
        let q3 = q.clone();
        let refused = tokio::spawn(async move { q3.push(3).await.is_err() });
        tokio::task::yield_now().await;
        q.close();
        assert!(refused.await.unwrap());
    }

    #[tokio::test]
    async fn try_recv_drains_in_order_leaves_no_waker_and_makes_room() {
        let (count, w) = waker();
        let mut cx = Context::from_waker(&w);
        let q = Arc::new(Queue::new(2));
        assert!(q.try_recv().is_none());
        q.try_push(1).ok();
        q.try_push(2).ok();
        let q2 = q.clone();
        let sender = tokio::spawn(async move { q2.push(3).await.is_ok() });
        tokio::task::yield_now().await;
        q.request_close();
        assert!(matches!(q.try_recv(), Some(Recv::Close)));
        assert!(matches!(q.try_recv(), Some(Recv::Item(1))));
        // Taking from a full queue lets the waiting sender in.
        assert!(sender.await.unwrap());
        assert!(matches!(q.try_recv(), Some(Recv::Item(2))));
        assert!(matches!(q.try_recv(), Some(Recv::Item(3))));
        assert!(q.try_recv().is_none());
        // try_recv left no waker: a push now wakes no one until poll_recv waits.
        q.try_push(4).ok();
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        assert!(matches!(q.poll_recv(&mut cx), Poll::Ready(Recv::Item(4))));
        assert!(q.poll_recv(&mut cx).is_pending());
        q.try_push(5).ok();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
