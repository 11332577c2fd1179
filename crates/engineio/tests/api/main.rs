//! engineio's integration tests, one binary.

#[cfg(feature = "server")]
mod http;
mod props;
mod server;
