//! socketio-client's integration tests, one binary.

mod backoff;
mod ours;
mod tls;
