//! socketio-server's integration tests, one binary.

mod churn;
mod features;
mod protocol_suite;
mod runtime;
