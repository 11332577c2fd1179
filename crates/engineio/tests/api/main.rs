//! engineio's integration tests, one binary.

#[cfg(feature = "hyper")]
mod hooks;
#[cfg(feature = "server")]
mod http;
#[cfg(all(feature = "hyper", feature = "client"))]
mod hyper;
#[cfg(feature = "server")]
mod metrics;
mod pair;
mod props;
mod server;
#[cfg(feature = "server")]
mod shutdown;
#[cfg(feature = "server")]
mod stall;
