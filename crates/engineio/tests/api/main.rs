//! engineio's integration tests, one binary.

#[cfg(feature = "server")]
mod http;
mod pair;
mod props;
mod server;
#[cfg(feature = "server")]
mod stall;
