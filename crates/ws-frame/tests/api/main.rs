//! ws-frame's integration tests, one binary (link once, run all).

#[cfg(feature = "deflate")]
mod deflate;
#[cfg(feature = "tokio")]
mod dial;
mod peers;
mod props;
mod scenarios;
#[cfg(feature = "tokio")]
mod stream;
