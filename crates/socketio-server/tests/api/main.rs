//! socketio-server's integration tests, one binary.

mod protocol_suite;
