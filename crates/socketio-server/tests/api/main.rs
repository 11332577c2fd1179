//! socketio-server's integration tests, one binary.

mod features;
mod protocol_suite;
