#![cfg(not(target_arch = "wasm32"))]
//! socketio-client's integration tests, one binary.

mod backoff;
mod close;
mod connect;
mod ours;
mod recovery;
mod tls;
