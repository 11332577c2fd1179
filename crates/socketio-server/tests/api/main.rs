//! socketio-server's integration tests, one binary.

mod attachments;
mod churn;
mod features;
mod protocol_suite;
mod runtime;
#[cfg(feature = "tracing")]
mod tracing;
mod waiting;
