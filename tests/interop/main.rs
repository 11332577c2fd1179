//! Interop with the official Node peers, one test binary.
//!
//! The Node packages come from the workspace's `package-lock.json`; the first
//! test to need them runs `npm ci` if `node_modules` is missing or older than
//! the lock file, so `cargo test --workspace` is all the set-up there is.

mod cli;
mod client_events;
mod client_recovery;
mod client_retry;
mod cluster;
mod eio3;
mod engine_hooks;
mod engineio;
mod http_compression;
mod mount;
mod node;
mod proxy;
mod recovery;
mod server_parity;
mod socketio;
mod socketio_cases;
mod socketio_client;
mod socketio_client_cases;
mod socketio_msgpack;
mod socketio_msgpack_parser;
mod socketio_parser;
mod tls_clients;
mod ws;
mod ws_deflate;
