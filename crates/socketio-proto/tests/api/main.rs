//! socketio-proto's integration tests, one binary.

mod props;
