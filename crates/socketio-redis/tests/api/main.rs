//! The crate's integration tests, one binary.

#[cfg(feature = "adapter")]
mod classic;
#[cfg(feature = "adapter")]
mod emitter;
mod props;
#[cfg(feature = "adapter")]
mod redis_server;
#[cfg(feature = "adapter")]
mod servers;
#[cfg(feature = "adapter")]
mod sharded;
