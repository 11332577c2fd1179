//! Socket.IO's counters, beside the Engine.IO server's: what
//! [`Server::metrics`](crate::Server::metrics) reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// A Socket.IO server's counters ([`Server::metrics`](crate::Server::metrics)):
/// a snapshot.
///
/// Each count here changes once per socket or refusal, never per message.
/// Traffic (messages and bytes each way, queue-full drops) is in
/// [`engine`](Self::engine): there it is counted per session and added to
/// the totals in batches, so it may lag by about a second of each
/// session's traffic and is exact for sessions that have ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The Engine.IO server's counters: connections, sessions by
    /// transport, upgrades, messages and bytes, drops, refused requests.
    pub engine: engineio::server::Metrics,
    /// Sockets connected now, in every namespace.
    pub sockets_open: u64,
    /// Sockets that joined a namespace (recovered ones included).
    pub sockets_total: u64,
    /// Joins refused with a CONNECT_ERROR: by a middleware, an unknown
    /// namespace, too many waiting joins, a middleware timeout.
    pub connect_refused: u64,
    /// Sockets disconnected because their client's queue was full
    /// ([`SlowClient::Disconnect`](crate::SlowClient::Disconnect)).
    pub slow_client_disconnects: u64,
}

/// The shared counts, on a cache line of their own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counters {
    sockets_open: AtomicU64,
    sockets_total: AtomicU64,
    connect_refused: AtomicU64,
    slow_client_disconnects: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self, engine: engineio::server::Metrics) -> Metrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Metrics {
            engine,
            sockets_open: get(&self.sockets_open),
            sockets_total: get(&self.sockets_total),
            connect_refused: get(&self.connect_refused),
            slow_client_disconnects: get(&self.slow_client_disconnects),
        }
    }

    pub(crate) fn socket_joined(&self) {
        self.sockets_total.fetch_add(1, Ordering::Relaxed);
        self.sockets_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn socket_left(&self) {
        self.sockets_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connect_refused(&self) {
        self.connect_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn slow_client_disconnect(&self) {
        self.slow_client_disconnects.fetch_add(1, Ordering::Relaxed);
    }
}
