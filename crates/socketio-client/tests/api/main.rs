//! socketio-client's integration tests, one binary.

mod backoff;
mod connect;
mod ours;
mod recovery;
mod tls;
