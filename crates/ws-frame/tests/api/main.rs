//! ws-frame's integration tests, one binary (link once, run all).

mod peers;
mod props;
mod scenarios;
#[cfg(feature = "tokio")]
mod stream;
