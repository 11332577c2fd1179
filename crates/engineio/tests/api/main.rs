//! engineio's integration tests, one binary.

mod props;
mod server;
