//! The runtimes' clock: tokio's, so that paused time in tests moves every
//! deadline (joining a namespace, attachments, acks) with the timers that
//! wait for them; on wasm32 the browser's.

use crate::rt::Instant;

/// Now, on tokio's clock, in the `Instant` the pure types take.
#[cfg(not(target_arch = "wasm32"))]
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Now, on the browser's clock (`performance.now()`).
#[cfg(target_arch = "wasm32")]
pub fn now() -> Instant {
    Instant::now()
}
