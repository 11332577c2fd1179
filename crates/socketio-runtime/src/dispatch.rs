//! From an Engine.IO message to a running handler: the decoder's feed, a
//! socket's event handlers, and a handler run right where it was called
//! when it never waits.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use engineio::Payload;
use serde::de::DeserializeOwned;
use socketio_proto::{DecodeError, Decoder, Packet};

use crate::ack::{AckSender, AckSocket};
use crate::lock;

/// A handler's work, boxed.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The handler of one event for sockets of type `S`: `None` when the
/// packet's arguments do not fit the handler's type (the event is then
/// ignored).
pub type EventFn<S> = Arc<dyn Fn(S, &Packet) -> Option<BoxFuture> + Send + Sync>;

/// A catch-all listener: the socket, the event name, the whole packet.
pub type AnyFn<S> = Arc<dyn Fn(&S, &str, &Packet) + Send + Sync>;

/// Called when a socket disconnects, with the runtime's reason `R`.
pub type DisconnectFn<S, R> = Arc<dyn Fn(S, R) + Send + Sync>;

/// Feeds one Engine.IO message to the decoder; whole packets then come
/// from [`Decoder::poll_packet`]. An error means the peer does not speak
/// Socket.IO, and both runtimes close the connection.
pub fn feed(decoder: &mut Decoder, msg: Payload) -> Result<(), DecodeError> {
    match msg {
        Payload::Text(t) => decoder.handle_text(t),
        Payload::Binary(b) => decoder.handle_binary(b),
    }
}

/// A socket's event handlers: one per event name, and catch-all listeners
/// called before it. Any task may register; [`dispatch`](Self::dispatch)
/// calls what it took out of the locks, so a handler may register more.
pub struct Handlers<S> {
    events: Mutex<HashMap<String, EventFn<S>>>,
    any: Mutex<Vec<AnyFn<S>>>,
}

impl<S> Default for Handlers<S> {
    fn default() -> Self {
        Handlers {
            events: Mutex::new(HashMap::new()),
            any: Mutex::new(Vec::new()),
        }
    }
}

impl<S> fmt::Debug for Handlers<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handlers")
            .field("events", &lock(&self.events).len())
            .field("any", &lock(&self.any).len())
            .finish()
    }
}

impl<S: Clone + Send + 'static> Handlers<S> {
    /// Sets the handler of `event`. Its arguments deserialize into `T` (see
    /// [`Packet::event_args`]); it gets an [`AckSender`] when the peer asked
    /// for an acknowledgement.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        S: AckSocket,
        T: DeserializeOwned + Send + 'static,
        F: Fn(S, T, Option<AckSender<S>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: EventFn<S> = Arc::new(move |socket: S, packet: &Packet| {
            let args = packet.event_args::<T>().ok()?;
            let ack = packet.id().map(|id| AckSender::new(socket.clone(), id));
            Some(Box::pin(handler(socket, args, ack)) as BoxFuture)
        });
        lock(&self.events).insert(event.to_owned(), f);
    }

    /// Sets a handler of the raw packet of `event`.
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(S, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: EventFn<S> = Arc::new(move |socket: S, packet: &Packet| {
            Some(Box::pin(handler(socket, packet.clone())) as BoxFuture)
        });
        lock(&self.events).insert(event.to_owned(), f);
    }

    /// Adds a listener of every event, called before the event's handler.
    pub fn on_any<F>(&self, f: F)
    where
        F: Fn(&S, &str, &Packet) + Send + Sync + 'static,
    {
        lock(&self.any).push(Arc::new(f));
    }

    /// An EVENT for `socket`: its catch-all listeners, then its handler.
    pub fn dispatch(&self, socket: &S, packet: &Packet) {
        let Some(name) = packet.event_name() else {
            return;
        };
        let any = lock(&self.any).clone();
        for f in &any {
            f(socket, name, packet);
        }
        let handler = lock(&self.events).get(name).cloned();
        if let Some(fut) = handler.and_then(|h| h(socket.clone(), packet)) {
            run_or_spawn(fut);
        }
    }
}

/// Runs `fut` to completion right here if it never waits; else spawns it,
/// already polled once, on its own task. A handler that only computes and
/// queues messages then costs no task and no hop.
fn run_or_spawn(mut fut: BoxFuture) {
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}

#[cfg(test)]
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
}
