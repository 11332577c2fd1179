//! Event handlers, as both runtimes keep them: a typed closure turned into
//! a function of the raw packet. No runtime here: the runtimes run the
//! futures these return.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::packet::Packet;

/// A handler's work, boxed.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handler of one event for sockets of type `S`: `None` when the packet's
/// arguments do not fit the handler's type (the event is then ignored).
pub type EventFn<S> = Arc<dyn Fn(S, &Packet) -> Option<BoxFuture> + Send + Sync>;

/// A handler whose arguments deserialize into `T` (see
/// [`Packet::event_args`]); `ack` makes the acknowledgement sender of the
/// runtime from the socket and the packet's ack id, when it has one.
pub fn typed<S, T, A, F, Fut>(handler: F, ack: fn(&S, u64) -> A) -> EventFn<S>
where
    S: Clone + Send + 'static,
    T: DeserializeOwned + Send + 'static,
    A: Send + 'static,
    F: Fn(S, T, Option<A>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket: S, packet: &Packet| {
        let args = packet.event_args::<T>().ok()?;
        let ack = packet.id().map(|id| ack(&socket, id));
        Some(Box::pin(handler(socket, args, ack)) as BoxFuture)
    })
}

/// A handler that gets the packet itself.
pub fn raw<S, F, Fut>(handler: F) -> EventFn<S>
where
    S: Send + 'static,
    F: Fn(S, Packet) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket: S, packet: &Packet| {
        Some(Box::pin(handler(socket, packet.clone())) as BoxFuture)
    })
}
