//! The runtimes' clock: tokio's, so that paused time in tests moves every
//! deadline (joining a namespace, attachments, acks) with the timers that
//! wait for them.

use std::time::Instant;

/// Now, on tokio's clock, in the `Instant` the pure types take.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
