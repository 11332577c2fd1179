//! Counters for metrics: what [`Service::metrics`](super::Service::metrics)
//! reads.
//!
//! Gauges (connections and sessions open) and rare events (an upgrade, a
//! timeout, a refused request) change shared atomics as they happen. What
//! happens per message does not: each session counts its messages and bytes
//! in a [`Tally`] of plain integers on its own task, and adds them to the
//! shared totals in one batch: after a write round once [`FLUSH_INTERVAL`]
//! has passed since its last batch, every [`FLUSH_EVERY`] messages, and
//! when it ends. A shared counter changed per message (or per write round,
//! which is one message when clients send one at a time) would bounce its
//! cache line between every core that runs a session.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Transport;

/// A server's counters, read with
/// [`Service::metrics`](super::Service::metrics): a snapshot.
///
/// Totals count from the server's start. Per-message totals
/// (`messages_*`, `bytes_*`, `queue_full`) are added by each session in
/// batches: they lag the truth by at most about a second of each
/// session's traffic (its next write round after a second, and a session
/// writes at least once per `ping_interval`, for its ping) or 256 messages,
/// and are exact once the sessions they concern have ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Connections the embedded front door serves now ([`listen`](super::listen),
    /// [`Service::serve_io`](super::Service::serve_io)); a hyper front
    /// door's connections are hyper's and not counted.
    pub connections_open: u64,
    /// Connections the embedded front door has taken.
    pub connections_total: u64,
    /// Sessions open now on long-polling (a probing WebSocket included).
    pub sessions_polling: u64,
    /// Sessions open now on WebSocket.
    pub sessions_websocket: u64,
    /// Sessions opened.
    pub sessions_total: u64,
    /// Sessions that moved from polling to WebSocket.
    pub upgrades: u64,
    /// Message packets received and handed to the handlers.
    pub messages_in: u64,
    /// Message packets the handlers queued for their clients.
    pub messages_out: u64,
    /// Engine.IO bytes received: polling request bodies and WebSocket data
    /// messages (without HTTP heads or WebSocket frame headers).
    pub bytes_in: u64,
    /// Engine.IO bytes sent: polling answers' bodies and WebSocket data
    /// messages.
    pub bytes_out: u64,
    /// Commands refused because a session's queue was full
    /// ([`SessionSender::try_send`](super::SessionSender::try_send)): on a
    /// Socket.IO server, messages dropped for or disconnecting a client
    /// too slow to keep up.
    pub queue_full: u64,
    /// Sessions closed because their client took no output for
    /// `write_timeout`: slow or stalled clients.
    pub write_timeouts: u64,
    /// Sessions closed because a handler call overran `handler_timeout`,
    /// or left an event waiting that long.
    pub handler_timeouts: u64,
    /// Requests answered with an error before reaching a session: unknown
    /// sid or transport, a bad handshake, `allow_request`'s refusals,
    /// malformed, oversized or timed-out requests, a shutdown's 503.
    pub refused_requests: u64,
}

/// The shared totals, on a cache line of their own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Counters {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    sessions_polling: AtomicU64,
    sessions_websocket: AtomicU64,
    sessions_total: AtomicU64,
    upgrades: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    queue_full: AtomicU64,
    write_timeouts: AtomicU64,
    handler_timeouts: AtomicU64,
    refused_requests: AtomicU64,
}

fn add(c: &AtomicU64, n: u64) {
    if n != 0 {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Counters {
    pub(super) fn snapshot(&self) -> Metrics {
        Metrics {
            connections_open: get(&self.connections_open),
            connections_total: get(&self.connections_total),
            sessions_polling: get(&self.sessions_polling),
            sessions_websocket: get(&self.sessions_websocket),
            sessions_total: get(&self.sessions_total),
            upgrades: get(&self.upgrades),
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            queue_full: get(&self.queue_full),
            write_timeouts: get(&self.write_timeouts),
            handler_timeouts: get(&self.handler_timeouts),
            refused_requests: get(&self.refused_requests),
        }
    }

    /// A connection is taken; it counts as open until the guard drops.
    pub(super) fn connection(&self) -> OpenConnection<'_> {
        add(&self.connections_total, 1);
        add(&self.connections_open, 1);
        OpenConnection(self)
    }

    fn sessions(&self, t: Transport) -> &AtomicU64 {
        match t {
            Transport::Polling => &self.sessions_polling,
            Transport::WebSocket => &self.sessions_websocket,
        }
    }

    pub(super) fn session_opened(&self, t: Transport) {
        add(&self.sessions_total, 1);
        add(self.sessions(t), 1);
    }

    pub(super) fn session_upgraded(&self) {
        add(&self.upgrades, 1);
        self.sessions_polling.fetch_sub(1, Ordering::Relaxed);
        add(&self.sessions_websocket, 1);
    }

    pub(super) fn session_ended(&self, t: Transport) {
        self.sessions(t).fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn write_timeout(&self) {
        add(&self.write_timeouts, 1);
    }

    pub(super) fn handler_timeout(&self) {
        add(&self.handler_timeouts, 1);
    }

    pub(super) fn refused(&self) {
        add(&self.refused_requests, 1);
    }
}

/// An open connection of the embedded front door.
pub(super) struct OpenConnection<'a>(&'a Counters);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many messages a session receives between two flushes of its
/// [`Tally`] at most.
pub(super) const FLUSH_EVERY: u64 = 256;

/// How long a session's counts may wait before a write round adds them.
pub(super) const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// One session's counts since it last added them to the shared totals:
/// plain integers, on the session's own task.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) messages_in: u64,
    pub(super) messages_out: u64,
    pub(super) bytes_in: u64,
    pub(super) bytes_out: u64,
}

impl Tally {
    /// A WebSocket message in: its bytes, if it is a data message.
    pub(super) fn ws_in(&mut self, m: &ws_frame::Message) {
        if m.is_data() {
            self.bytes_in += m.payload().len() as u64;
        }
    }

    /// A WebSocket message out.
    pub(super) fn ws_out(&mut self, m: &ws_frame::Message) {
        if m.is_data() {
            self.bytes_out += m.payload().len() as u64;
        }
    }

    /// Messages counted and not flushed yet.
    pub(super) fn messages(&self) -> u64 {
        self.messages_in + self.messages_out
    }

    /// Adds the counts, and `queue_full` refusals, to `to`; starts again
    /// from zero.
    pub(super) fn flush(&mut self, to: &Counters, queue_full: u64) {
        let t = std::mem::take(self);
        add(&to.messages_in, t.messages_in);
        add(&to.messages_out, t.messages_out);
        add(&to.bytes_in, t.bytes_in);
        add(&to.bytes_out, t.bytes_out);
        add(&to.queue_full, queue_full);
    }
}
