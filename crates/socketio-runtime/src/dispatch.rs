//! From an Engine.IO message to a running handler: the decoder's feed, a
//! socket's event handlers, and a handler run right where it was called
//! when it never waits.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use engineio::Payload;
use serde::de::DeserializeOwned;
use socketio_proto::{DecodeError, Decoder, Packet};

use crate::ack::{AckSender, AckSocket, Answered};
use crate::lock;
use crate::{MaybeSend, MaybeSync};

/// A handler's work, boxed.
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A handler's future, boxed (not `Send` in the browser).
#[cfg(target_arch = "wasm32")]
pub type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// The handler of one event for sockets of type `S`: an error when the
/// packet's arguments do not fit the handler's type (the mismatch
/// listeners then hear of it).
pub type EventFn<S> =
    crate::shared_fn!(Fn(S, &Packet, &Answered) -> Result<BoxFuture, serde_json::Error>);

/// A catch-all listener: the socket, the event name, the whole packet.
pub type AnyFn<S> = crate::shared_fn!(Fn(&S, &str, &Packet));

/// Hears of an event whose arguments did not fit its handler's type: the
/// socket, the event name, why.
pub type MismatchFn<S> = crate::shared_fn!(Fn(&S, &str, &serde_json::Error));

/// Called when a socket disconnects, with the runtime's reason `R`.
pub type DisconnectFn<S, R> = crate::shared_fn!(Fn(S, R));

/// Names one listener, to remove it alone
/// ([`Handlers::remove_listener`]): closures have no identity to compare,
/// as JavaScript's `off(event, fn)` compares functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Feeds one Engine.IO message to the decoder; whole packets then come
/// from [`Decoder::poll_packet`]. An error means the peer does not speak
/// Socket.IO, and both runtimes close the connection.
pub fn feed(decoder: &mut Decoder, msg: Payload) -> Result<(), DecodeError> {
    match msg {
        Payload::Text(t) => decoder.handle_text(t),
        Payload::Binary(b) => decoder.handle_binary(b),
    }
}

/// Listeners in order of call, copied on write: a dispatch takes one `Arc`
/// out of the lock, however many there are.
type List<F> = Arc<[(ListenerId, F)]>;

fn push<F: Clone>(list: &mut List<F>, id: ListenerId, f: F, front: bool) {
    let mut v: Vec<(ListenerId, F)> = list.iter().cloned().collect();
    if front {
        v.insert(0, (id, f));
    } else {
        v.push((id, f));
    }
    *list = v.into();
}

fn without<F: Clone>(list: &mut List<F>, id: ListenerId) -> bool {
    if !list.iter().any(|(i, _)| *i == id) {
        return false;
    }
    *list = list.iter().filter(|(i, _)| *i != id).cloned().collect();
    true
}

struct Lists<S> {
    next: u64,
    events: HashMap<String, List<EventFn<S>>>,
    /// `None` until one is added: an idle socket allocates nothing here.
    any: Option<List<AnyFn<S>>>,
    mismatch: Option<List<MismatchFn<S>>>,
    /// Listeners removed as they are called (`once`).
    once: HashSet<ListenerId>,
}

/// A socket's event listeners: any number per event name, called in order
/// of registration, and catch-all listeners called before them, as a
/// Node `EventEmitter` does. Any task may register or remove;
/// [`dispatch`](Self::dispatch) calls what it took out of the lock, so a
/// listener may register more.
pub struct Handlers<S> {
    lists: Mutex<Lists<S>>,
}

impl<S> Default for Handlers<S> {
    fn default() -> Self {
        Handlers {
            lists: Mutex::new(Lists {
                next: 0,
                events: HashMap::new(),
                any: None,
                mismatch: None,
                once: HashSet::new(),
            }),
        }
    }
}

impl<S> fmt::Debug for Handlers<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = lock(&self.lists);
        f.debug_struct("Handlers")
            .field("events", &l.events.len())
            .field("any", &l.any.as_ref().map_or(0, |a| a.len()))
            .finish()
    }
}

impl<S> Handlers<S> {
    fn add(&self, f: impl FnOnce(&mut Lists<S>, ListenerId)) -> ListenerId {
        let mut l = lock(&self.lists);
        let id = ListenerId(l.next);
        l.next += 1;
        f(&mut l, id);
        id
    }
}

impl<S: Clone + MaybeSend + 'static> Handlers<S> {
    /// Adds a listener of `event`. Its arguments deserialize into `T` (see
    /// [`Packet::event_args`]); it gets an [`AckSender`] when the peer asked
    /// for an acknowledgement (each listener its own; the first answer
    /// sent is the one the peer sees, as in Node).
    pub fn on<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        S: AckSocket,
        T: DeserializeOwned + MaybeSend + 'static,
        F: Fn(S, T, Option<AckSender<S>>) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        let f: EventFn<S> = Arc::new(move |socket: S, packet: &Packet, answered: &Answered| {
            let args = packet.event_args::<T>()?;
            let ack = packet
                .id()
                .map(|id| AckSender::new(socket.clone(), id, answered.clone()));
            Ok(Box::pin(handler(socket, args, ack)) as BoxFuture)
        });
        self.add_event(event, f)
    }

    /// Like [`on`](Self::on), for the next such event only (`once`): the
    /// listener is removed as it is called.
    pub fn once<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        S: AckSocket,
        T: DeserializeOwned + MaybeSend + 'static,
        F: Fn(S, T, Option<AckSender<S>>) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        let id = self.on(event, handler);
        lock(&self.lists).once.insert(id);
        id
    }

    /// Adds a listener of the raw packet of `event`.
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(S, Packet) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        let f: EventFn<S> = Arc::new(move |socket: S, packet: &Packet, _: &Answered| {
            Ok(Box::pin(handler(socket, packet.clone())) as BoxFuture)
        });
        self.add_event(event, f)
    }

    fn add_event(&self, event: &str, f: EventFn<S>) -> ListenerId {
        self.add(|l, id| {
            let list = l
                .events
                .entry(event.to_owned())
                .or_insert_with(|| Arc::new([]));
            push(list, id, f, false);
        })
    }

    /// Adds a listener of every event, called before the event's own
    /// listeners (`onAny`).
    pub fn on_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&S, &str, &Packet) + MaybeSend + MaybeSync + 'static,
    {
        self.add(|l, id| {
            let any = l.any.get_or_insert_with(|| Arc::new([]));
            push(any, id, Arc::new(f) as AnyFn<S>, false)
        })
    }

    /// Like [`on_any`](Self::on_any), called before the catch-all listeners
    /// already there (`prependAny`).
    pub fn prepend_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&S, &str, &Packet) + MaybeSend + MaybeSync + 'static,
    {
        self.add(|l, id| {
            let any = l.any.get_or_insert_with(|| Arc::new([]));
            push(any, id, Arc::new(f) as AnyFn<S>, true)
        })
    }

    /// Adds a listener of events whose arguments do not fit their
    /// listener's type: without one, such an event would be dropped
    /// unseen.
    pub fn on_mismatch<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&S, &str, &serde_json::Error) + MaybeSend + MaybeSync + 'static,
    {
        self.add(|l, id| {
            let list = l.mismatch.get_or_insert_with(|| Arc::new([]));
            push(list, id, Arc::new(f) as MismatchFn<S>, false)
        })
    }

    /// Removes every listener of `event` (`off(event)`,
    /// `removeAllListeners(event)`).
    pub fn off(&self, event: &str) {
        let mut l = lock(&self.lists);
        if let Some(list) = l.events.remove(event) {
            for (id, _) in list.iter() {
                l.once.remove(id);
            }
        }
    }

    /// Removes every catch-all listener (`offAny()`).
    pub fn off_any(&self) {
        lock(&self.lists).any = None;
    }

    /// Removes one listener, of an event, catch-all or mismatch; returns
    /// whether it was there.
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        let mut l = lock(&self.lists);
        l.once.remove(&id);
        let Lists {
            events,
            any,
            mismatch,
            ..
        } = &mut *l;
        if any.as_mut().is_some_and(|a| without(a, id))
            || mismatch.as_mut().is_some_and(|m| without(m, id))
        {
            return true;
        }
        let found = events
            .iter_mut()
            .find_map(|(name, list)| without(list, id).then(|| (name.clone(), list.is_empty())));
        if let Some((name, true)) = &found {
            events.remove(name);
        }
        found.is_some()
    }

    /// How many listeners `event` has (`listenerCount`).
    pub fn listener_count(&self, event: &str) -> usize {
        lock(&self.lists).events.get(event).map_or(0, |l| l.len())
    }

    /// An EVENT for `socket`: its catch-all listeners, then each of its
    /// listeners in order. A listener whose type the arguments do not fit
    /// is skipped, and the mismatch listeners (and a `tracing` warning)
    /// say so.
    pub fn dispatch(&self, socket: &S, packet: &Packet) {
        let Some(name) = packet.event_name() else {
            return;
        };
        let (any, listeners) = {
            let mut l = lock(&self.lists);
            let listeners = l.events.get(name).cloned();
            // `once` listeners go before they are called, as Node's.
            if !l.once.is_empty() {
                for (id, _) in listeners.iter().flat_map(|l| l.iter()) {
                    if l.once.remove(id) {
                        if let Some(list) = l.events.get_mut(name) {
                            without(list, *id);
                        }
                    }
                }
                if l.events.get(name).is_some_and(|list| list.is_empty()) {
                    l.events.remove(name);
                }
            }
            (l.any.clone().filter(|a| !a.is_empty()), listeners)
        };
        for (_, f) in any.iter().flat_map(|a| a.iter()) {
            f(socket, name, packet);
        }
        let answered = match (&listeners, packet.id()) {
            (Some(l), Some(_)) => Answered::for_listeners(l.len()),
            _ => Answered::default(),
        };
        for (_, h) in listeners.iter().flat_map(|l| l.iter()) {
            match h(socket.clone(), packet, &answered) {
                Ok(fut) => run_or_spawn(fut),
                Err(e) => self.mismatch(socket, name, &e),
            }
        }
    }

    fn mismatch(&self, socket: &S, event: &str, e: &serde_json::Error) {
        #[cfg(feature = "tracing")]
        tracing::warn!(event, error = %e, "event arguments do not fit the listener's type; listener skipped");
        let listeners = lock(&self.lists).mismatch.clone();
        for (_, f) in listeners.iter().flat_map(|l| l.iter()) {
            f(socket, event, e);
        }
    }
}

/// Runs `fut` to completion right here if it never waits; else spawns it,
/// already polled once, on its own task. A handler that only computes and
/// queues messages then costs no task and no hop.
pub fn run_or_spawn(mut fut: BoxFuture) {
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        crate::rt::spawn(fut);
    }
}

// tokio-driven; natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn event(text: &'static str) -> Packet {
        let mut d = Decoder::default();
        feed(
            &mut d,
            Payload::Text(socketio_proto::Utf8Bytes::from_static(text)),
        )
        .unwrap();
        d.poll_packet().unwrap()
    }

    #[derive(Clone, Default)]
    struct Calls(Arc<AtomicUsize>);

    #[tokio::test]
    async fn listeners_then_the_handler_inline_and_a_waiting_one_spawned() {
        let handlers = Handlers::<Calls>::default();
        let calls = Calls::default();
        handlers.on_any(|c: &Calls, name, p| {
            assert_eq!(Some(name), p.event_name());
            c.0.fetch_add(1, Ordering::Relaxed);
        });
        handlers.on_raw("e", |c: Calls, _| async move {
            c.0.fetch_add(10, Ordering::Relaxed);
        });
        handlers.dispatch(&calls, &event(r#"2["e"]"#));
        // Never waited: done before dispatch returned.
        assert_eq!(calls.0.load(Ordering::Relaxed), 11);

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rx = Arc::new(Mutex::new(Some(rx)));
        handlers.on_raw("wait", move |c: Calls, _| {
            let rx = lock(&rx).take();
            async move {
                let _ = rx.unwrap().await;
                c.0.fetch_add(100, Ordering::Relaxed);
            }
        });
        handlers.dispatch(&calls, &event(r#"2["wait"]"#));
        assert_eq!(calls.0.load(Ordering::Relaxed), 12);
        tx.send(()).unwrap();
        while calls.0.load(Ordering::Relaxed) != 112 {
            tokio::task::yield_now().await;
        }
    }

    impl AckSocket for Calls {
        type Error = socketio_proto::BuildError;
        fn namespace(&self) -> &str {
            "/"
        }
        fn send_ack(&self, _: Packet) -> Result<(), Self::Error> {
            self.0.fetch_add(1000, Ordering::Relaxed);
            Ok(())
        }
    }

    #[test]
    fn one_answer_per_event_however_many_listeners_ack() {
        let handlers = Handlers::<Calls>::default();
        let calls = Calls::default();
        for _ in 0..3 {
            handlers.on(
                "q",
                |_: Calls, (): (), ack: Option<AckSender<Calls>>| async move {
                    ack.unwrap().send(&("a",)).unwrap();
                },
            );
        }
        handlers.dispatch(&calls, &event(r#"21["q"]"#));
        assert_eq!(calls.0.load(Ordering::Relaxed), 1000, "one ACK sent");
        handlers.dispatch(&calls, &event(r#"22["q"]"#));
        assert_eq!(
            calls.0.load(Ordering::Relaxed),
            2000,
            "one for the next event"
        );
    }

    #[test]
    fn several_listeners_in_order_removed_one_or_all() {
        let handlers = Handlers::<Calls>::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        let log = |tag: &'static str| {
            let order = order.clone();
            move |_: Calls, _: Packet| {
                lock(&order).push(tag);
                async {}
            }
        };
        let log_any = |tag: &'static str| {
            let order = order.clone();
            move |_: &Calls, _: &str, _: &Packet| lock(&order).push(tag)
        };
        let first = handlers.on_raw("e", log("first"));
        handlers.on_raw("e", log("second"));
        handlers.on_any(log_any("any"));
        handlers.prepend_any(log_any("prepended"));
        assert_eq!(handlers.listener_count("e"), 2);
        handlers.dispatch(&Calls::default(), &event(r#"2["e"]"#));
        assert_eq!(*lock(&order), ["prepended", "any", "first", "second"]);

        lock(&order).clear();
        assert!(handlers.remove_listener(first));
        assert!(!handlers.remove_listener(first), "already gone");
        handlers.off_any();
        handlers.dispatch(&Calls::default(), &event(r#"2["e"]"#));
        assert_eq!(*lock(&order), ["second"]);

        lock(&order).clear();
        handlers.off("e");
        assert_eq!(handlers.listener_count("e"), 0);
        handlers.dispatch(&Calls::default(), &event(r#"2["e"]"#));
        assert!(lock(&order).is_empty());
    }

    #[test]
    fn a_once_listener_runs_for_the_next_event_only() {
        let handlers = Handlers::<Calls>::default();
        let calls = Calls::default();
        handlers.once("e", |c: Calls, (): (), _| async move {
            c.0.fetch_add(1, Ordering::Relaxed);
        });
        handlers.on("e", |c: Calls, (): (), _| async move {
            c.0.fetch_add(10, Ordering::Relaxed);
        });
        handlers.dispatch(&calls, &event(r#"2["e"]"#));
        handlers.dispatch(&calls, &event(r#"2["e"]"#));
        assert_eq!(calls.0.load(Ordering::Relaxed), 21);
        assert_eq!(handlers.listener_count("e"), 1);
    }

    #[test]
    fn arguments_that_do_not_fit_reach_the_mismatch_listeners() {
        let handlers = Handlers::<Calls>::default();
        let calls = Calls::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        handlers.on("n", |c: Calls, (n,): (u32,), _ack| async move {
            c.0.fetch_add(n as usize, Ordering::Relaxed);
        });
        let s = seen.clone();
        handlers.on_mismatch(move |_, event, e| lock(&s).push((event.to_owned(), e.to_string())));
        handlers.dispatch(&calls, &event(r#"2["n",5]"#));
        handlers.dispatch(&calls, &event(r#"2["n","five"]"#));
        assert_eq!(calls.0.load(Ordering::Relaxed), 5);
        let seen = lock(&seen);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "n");
        assert!(seen[0].1.contains("invalid type"), "{}", seen[0].1);
    }
}
