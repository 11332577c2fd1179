//! The crate's integration tests, one binary.

#[cfg(feature = "adapter")]
mod classic;
mod props;
#[cfg(feature = "adapter")]
mod redis_server;
