//! socketio-proto's integration tests, one binary.

mod props;
mod utf8;
