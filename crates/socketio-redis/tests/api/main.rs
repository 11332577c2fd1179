//! The crate's integration tests, one binary.

mod classic;
mod props;
mod redis_server;
