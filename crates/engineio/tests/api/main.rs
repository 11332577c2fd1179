//! engineio's integration tests, one binary.

#[cfg(feature = "hyper")]
mod hooks;
#[cfg(feature = "server")]
mod http;
#[cfg(all(feature = "hyper", feature = "client"))]
mod hyper;
mod pair;
mod props;
mod server;
#[cfg(feature = "server")]
mod shutdown;
#[cfg(feature = "server")]
mod stall;
