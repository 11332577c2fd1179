//! The heartbeat, for both sides of a session.
//!
//! The server pings every `interval` and expects the pong within `timeout`
//! of when the ping left (never earlier than when it was due; see
//! [`Heartbeat::handle_timeout`]); the client expects each ping within
//! `interval + timeout` of the previous one (or of the handshake). One type
//! with a [`Side`], as the two sessions share it.

use std::time::Duration;

use crate::Instant;

/// Which end of the session keeps this heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Sends pings, waits for pongs.
    Server,
    /// Waits for pings (and answers them).
    Client,
}

/// What a timer tick asks of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Send a ping now (server).
    Ping,
    /// The other side missed its deadline: close with "ping timeout".
    Expired,
}

#[derive(Clone, Debug)]
pub(crate) struct Heartbeat {
    side: Side,
    interval: Duration,
    timeout: Duration,
    /// Server: when the next ping is due. Client: by when the next ping
    /// must have come.
    next: Option<Instant>,
    /// Server: a ping is out; its pong is due by then.
    pong_due: Option<Instant>,
}

impl Heartbeat {
    /// A heartbeat starting at `now`.
    pub(crate) fn new(side: Side, interval: Duration, timeout: Duration, now: Instant) -> Self {
        let next = match side {
            Side::Server => now + interval,
            Side::Client => now + interval + timeout,
        };
        Heartbeat {
            side,
            interval,
            timeout,
            next: Some(next),
            pong_due: None,
        }
    }

    /// The other side answered (server: a pong) or called (client: a ping).
    pub(crate) fn handle_beat(&mut self, now: Instant) {
        match self.side {
            Side::Server => {
                self.pong_due = None;
                self.next = Some(now + self.interval);
            }
            Side::Client => self.next = Some(now + self.interval + self.timeout),
        }
    }

    /// What is due at `now`. `leaves_now`: a ping made now goes straight
    /// out (a WebSocket, or a GET waiting or arriving to carry it).
    ///
    /// Its pong is then due `timeout` after now, as the official server's
    /// timer starts when the ping is sent: a server that was busy and pinged
    /// late still gives the client its whole `timeout`. A ping that must
    /// wait for the client's next GET counts from when it was due, so a
    /// client that stops polling is let go on time; and one whose deadline
    /// has passed before it could leave at all expires at once.
    pub(crate) fn handle_timeout(&mut self, now: Instant, leaves_now: bool) -> Option<Beat> {
        match self.side {
            Side::Server => {
                let mut beat = None;
                if let Some(due) = self.next.filter(|&t| now >= t) {
                    self.next = None;
                    let late = now >= due + self.timeout;
                    let from = if leaves_now && !late { now } else { due };
                    self.pong_due = Some(from + self.timeout);
                    beat = Some(Beat::Ping);
                }
                if self.pong_due.is_some_and(|d| now >= d) {
                    beat = Some(Beat::Expired);
                }
                beat
            }
            Side::Client => self.next.is_some_and(|d| now >= d).then_some(Beat::Expired),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.next, self.pong_due].into_iter().flatten().min()
    }

    /// The session ended: no more deadlines.
    pub(crate) fn stop(&mut self) {
        self.next = None;
        self.pong_due = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_millis(300);
    const T: Duration = Duration::from_millis(200);

    #[test]
    fn a_ping_that_waits_for_a_get_counts_from_when_it_was_due() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(Side::Server, I, T, t0);
        assert_eq!(h.deadline(), Some(t0 + I));
        assert_eq!(h.handle_timeout(t0 + I - T, false), None);
        // 100 ms late, and no GET to carry it: the pong is still due at I + T.
        assert_eq!(h.handle_timeout(t0 + I + T / 2, false), Some(Beat::Ping));
        assert_eq!(h.deadline(), Some(t0 + I + T));
        assert_eq!(h.handle_timeout(t0 + I + T, false), Some(Beat::Expired));
        // A pong in time restarts the interval.
        let mut h = Heartbeat::new(Side::Server, I, T, t0);
        assert_eq!(h.handle_timeout(t0 + I, false), Some(Beat::Ping));
        h.handle_beat(t0 + I + T / 2);
        assert_eq!(h.deadline(), Some(t0 + I + T / 2 + I));
    }

    #[test]
    fn a_ping_that_leaves_late_gives_the_client_its_whole_timeout() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(Side::Server, I, T, t0);
        // The server was busy: the ping leaves 100 ms after it was due.
        let sent = t0 + I + T / 2;
        assert_eq!(h.handle_timeout(sent, true), Some(Beat::Ping));
        assert_eq!(h.deadline(), Some(sent + T));
        assert_eq!(h.handle_timeout(t0 + I + T, true), None);
        assert_eq!(h.handle_timeout(sent + T, true), Some(Beat::Expired));
    }

    #[test]
    fn a_ping_past_its_whole_deadline_expires_at_once() {
        let t0 = Instant::now();
        for leaves_now in [false, true] {
            let mut h = Heartbeat::new(Side::Server, I, T, t0);
            assert_eq!(
                h.handle_timeout(t0 + I + T, leaves_now),
                Some(Beat::Expired)
            );
        }
    }

    #[test]
    fn the_client_waits_interval_plus_timeout_for_each_ping() {
        let t0 = Instant::now();
        let mut h = Heartbeat::new(Side::Client, I, T, t0);
        assert_eq!(
            h.handle_timeout(t0 + I + T - Duration::from_millis(1), false),
            None
        );
        h.handle_beat(t0 + I);
        assert_eq!(h.handle_timeout(t0 + I + T, false), None);
        assert_eq!(h.handle_timeout(t0 + I + I + T, false), Some(Beat::Expired));
        h.stop();
        assert_eq!(h.deadline(), None);
    }
}
