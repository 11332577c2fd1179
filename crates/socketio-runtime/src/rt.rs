//! The runtime seam of the two Socket.IO runtimes: on native targets tokio,
//! re-exported as it is (the same types and macros, nothing wrapped); on
//! wasm32 the browser: `wasm_bindgen_futures::spawn_local`, `setTimeout`
//! timers (cleared when dropped), futures-channel channels with tokio's
//! method names, and the clock of `performance.now()`.
//!
//! Only what the runtimes use is here: [`spawn`], [`sleep`],
//! [`sleep_until`], [`timeout`], [`mpsc`], [`oneshot`], [`select!`](crate::select)
//! and [`Instant`].

use std::future::Future;
use std::time::Duration;

/// The clock deadlines are read in: std's `Instant` natively, web-time's
/// on wasm32 (std's `Instant::now` panics there).
pub use engineio::Instant;

/// A future that did not finish within its [`timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;

    pub use tokio::sync::{mpsc, oneshot};

    /// Runs `fut` on its own task.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) {
        tokio::spawn(fut);
    }

    /// Waits `duration`.
    pub fn sleep(duration: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(duration)
    }

    /// Waits until `deadline`; forever without one.
    pub async fn sleep_until(deadline: Option<Instant>) {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    }

    /// `fut`'s output, or [`Elapsed`] past `duration`.
    pub async fn timeout<F: Future>(duration: Duration, fut: F) -> Result<F::Output, Elapsed> {
        tokio::time::timeout(duration, fut)
            .await
            .map_err(|_| Elapsed)
    }

    #[doc(hidden)]
    pub mod __private {
        pub use tokio;
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;

    pub use futures_channel::oneshot;

    /// Runs `fut` on the page's event loop.
    pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
        wasm_bindgen_futures::spawn_local(fut);
    }

    /// `setTimeout` takes a signed 32-bit count of milliseconds: a longer
    /// wait (`Duration::MAX` for "never") would fire at once or throw.
    const MAX_TIMER: Duration = Duration::from_millis(i32::MAX as u64);

    /// Waits `duration` (`setTimeout`, cleared when dropped), in steps the
    /// browser's timer can take.
    pub async fn sleep(mut duration: Duration) {
        while duration > MAX_TIMER {
            gloo_timers::future::sleep(MAX_TIMER).await;
            duration -= MAX_TIMER;
        }
        gloo_timers::future::sleep(duration).await;
    }

    /// Waits until `deadline`; forever without one.
    pub async fn sleep_until(deadline: Option<Instant>) {
        match deadline {
            Some(d) => sleep(d.saturating_duration_since(Instant::now())).await,
            None => std::future::pending().await,
        }
    }

    /// `fut`'s output, or [`Elapsed`] past `duration`.
    pub async fn timeout<F: Future>(duration: Duration, fut: F) -> Result<F::Output, Elapsed> {
        let fut = std::pin::pin!(fut);
        match futures_util::future::select(fut, std::pin::pin!(sleep(duration))).await {
            futures_util::future::Either::Left((out, _)) => Ok(out),
            futures_util::future::Either::Right(_) => Err(Elapsed),
        }
    }

    /// Bounded channels with tokio's method names, over futures-channel.
    pub mod mpsc {
        use futures_util::StreamExt;
        use std::sync::Mutex;

        /// Errors, as tokio names them.
        pub mod error {
            /// The receiver is gone; the value comes back.
            #[derive(Debug)]
            pub struct SendError<T>(pub T);
            /// Why `try_send` failed; the value comes back.
            #[derive(Debug)]
            pub enum TrySendError<T> {
                /// The channel is full.
                Full(T),
                /// The receiver is gone.
                Closed(T),
            }
            /// Why `try_recv` gave nothing.
            #[derive(Debug, PartialEq, Eq)]
            pub enum TryRecvError {
                /// Nothing queued now.
                Empty,
                /// Nothing queued, and every sender is gone.
                Disconnected,
            }
        }
        use error::{SendError, TryRecvError, TrySendError};

        /// A channel holding about `buffer` values.
        pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
            // futures-channel adds one slot per sender.
            let (tx, rx) = futures_channel::mpsc::channel(buffer.saturating_sub(1));
            (Sender(Mutex::new(tx)), Receiver(rx))
        }

        /// The sending end. (A lock, never contended on the one thread a
        /// page has, keeps it `Sync` as tokio's is.)
        #[derive(Debug)]
        pub struct Sender<T>(Mutex<futures_channel::mpsc::Sender<T>>);

        impl<T> Clone for Sender<T> {
            fn clone(&self) -> Self {
                Sender(Mutex::new(self.inner().clone()))
            }
        }

        impl<T> Sender<T> {
            fn inner(&self) -> std::sync::MutexGuard<'_, futures_channel::mpsc::Sender<T>> {
                self.0.lock().unwrap_or_else(|p| p.into_inner())
            }

            /// Sends, waiting for room.
            pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
                let mut tx = self.inner().clone();
                if std::future::poll_fn(|cx| tx.poll_ready(cx)).await.is_err() {
                    return Err(SendError(value));
                }
                tx.try_send(value).map_err(|e| SendError(e.into_inner()))
            }

            /// Sends if there is room now.
            pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
                self.inner().try_send(value).map_err(|e| {
                    if e.is_disconnected() {
                        TrySendError::Closed(e.into_inner())
                    } else {
                        TrySendError::Full(e.into_inner())
                    }
                })
            }
        }

        /// The receiving end.
        #[derive(Debug)]
        pub struct Receiver<T>(futures_channel::mpsc::Receiver<T>);

        impl<T> Receiver<T> {
            /// The next value; `None` once every sender is gone.
            pub async fn recv(&mut self) -> Option<T> {
                self.0.next().await
            }

            /// The next value if one is queued.
            pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                self.0.try_recv().map_err(|e| {
                    if e.is_closed() {
                        TryRecvError::Disconnected
                    } else {
                        TryRecvError::Empty
                    }
                })
            }

            /// Refuses more values; those queued can still be taken.
            pub fn close(&mut self) {
                self.0.close();
            }
        }
    }

    #[doc(hidden)]
    pub mod __private {
        pub use futures_util;
    }
}

pub use imp::*;

/// tokio's `select!` natively (the same macro, branches polled in random
/// order); on wasm32 futures' `select_biased!` (in the order written), for
/// the form `pattern = future => expression,` with irrefutable patterns
/// and a comma after every branch.
#[cfg(not(target_arch = "wasm32"))]
#[macro_export]
macro_rules! select {
    ($($t:tt)*) => { $crate::rt::__private::tokio::select! { $($t)* } };
}

/// tokio's `select!` natively (the same macro, branches polled in random
/// order); on wasm32 futures' `select_biased!` (in the order written), for
/// the form `pattern = future => expression,` with irrefutable patterns
/// and a comma after every branch.
#[cfg(target_arch = "wasm32")]
#[macro_export]
macro_rules! select {
    ($( $pat:pat = $fut:expr => $body:expr ),+ $(,)?) => {
        $crate::rt::__private::futures_util::select_biased! {
            $( $pat = $crate::rt::__private::futures_util::FutureExt::fuse($fut) => $body, )+
        }
    };
}
