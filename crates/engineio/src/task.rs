//! Running handler futures where they were called.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

/// Runs `fut` to completion right here if it never waits; else spawns it,
/// already polled once, on its own task. A handler that only computes and
/// queues messages then costs no task and no hop.
pub fn run_or_spawn(mut fut: Pin<Box<dyn Future<Output = ()> + Send>>) {
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}
