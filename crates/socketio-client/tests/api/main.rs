//! socketio-client's integration tests, one binary.

// tokio and a native server; the browser's tests are tests/browser.rs.
#![cfg(not(target_arch = "wasm32"))]

mod backoff;
mod close;
mod connect;
mod ours;
mod recovery;
mod tls;
