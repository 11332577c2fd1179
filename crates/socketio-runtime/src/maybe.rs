//! `Send` and `Sync` where a runtime may move tasks between threads
//! (native targets, tokio), nothing in the browser (wasm32, one thread):
//! there handlers may hold an `Rc` or a DOM node. Natively `MaybeSend` is
//! `Send` itself (a supertrait, so every bound means exactly what `Send`
//! means), implemented for every `Send` type.

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    /// `Send` natively; nothing on wasm32.
    pub trait MaybeSend: Send {}
    impl<T: Send + ?Sized> MaybeSend for T {}

    /// `Sync` natively; nothing on wasm32.
    pub trait MaybeSync: Sync {}
    impl<T: Sync + ?Sized> MaybeSync for T {}
}

#[cfg(target_arch = "wasm32")]
mod imp {
    /// `Send` natively; nothing on wasm32.
    pub trait MaybeSend {}
    impl<T: ?Sized> MaybeSend for T {}

    /// `Sync` natively; nothing on wasm32.
    pub trait MaybeSync {}
    impl<T: ?Sized> MaybeSync for T {}
}

pub use imp::{MaybeSend, MaybeSync};

/// A shared callback type: `Arc<dyn Fn(..) + Send + Sync>` natively,
/// `Arc<dyn Fn(..)>` on wasm32.
#[macro_export]
macro_rules! shared_fn {
    ($($sig:tt)*) => { $crate::__shared_fn!($($sig)*) };
}

#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __shared_fn {
    ($($sig:tt)*) => { ::std::sync::Arc<dyn $($sig)* + Send + Sync> };
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[macro_export]
macro_rules! __shared_fn {
    ($($sig:tt)*) => { ::std::sync::Arc<dyn $($sig)*> };
}
