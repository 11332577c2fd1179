//! Connection state recovery, as socket.io 4.6+ does it: a socket whose
//! connection dropped comes back with its id, rooms and data, and gets the
//! events it missed, in order, once.
//!
//! How it works on the wire: with recovery on, the CONNECT answer carries a
//! private session id (`pid`) beside the socket id, and every event the
//! server sends without an ack id and not volatile ends with one more
//! argument, a string offset, recorded with the event. The client keeps the
//! last offset it saw; when it rejoins it sends `{pid, offset}` in its
//! CONNECT payload, and the server sends what was recorded after that offset
//! for the socket's rooms, then the CONNECT answer with the same ids.
//!
//! The storage is the adapter's ([`Adapter::persist_session`],
//! [`Adapter::restore_session`], [`Adapter::store_packet`]): the in-memory
//! adapter keeps it in this process, bounded in time, bytes and sessions
//! ([`RecoveryOptions`]); a cluster adapter may keep it where every node
//! finds it.
//!
//! [`Adapter::persist_session`]: crate::Adapter::persist_session
//! [`Adapter::restore_session`]: crate::Adapter::restore_session
//! [`Adapter::store_packet`]: crate::Adapter::store_packet

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use socketio_proto::{Json, Kind, Packet};

use crate::adapter::BroadcastOptions;

/// Connection state recovery settings (`connectionStateRecovery`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryOptions {
    /// How long a disconnected socket's session is kept for it to come
    /// back. Default 2 minutes, as socket.io.
    pub max_disconnection_duration: Duration,
    /// Whether a socket that comes back skips the namespace's middleware
    /// (it passed it when it first connected). Default true, as socket.io.
    pub skip_middlewares: bool,
    /// How many bytes of recorded events the in-memory adapter keeps per
    /// namespace; past it the oldest go (a client that needs them gets a
    /// fresh session, as when its offset is too old; one event larger than
    /// the whole bound is sent but not kept). Default 32 MiB. socket.io
    /// bounds them by time only.
    pub max_stored_bytes: usize,
    /// How many disconnected sessions the in-memory adapter keeps per
    /// namespace; past it the oldest go. Default 100 000: without a bound,
    /// clients that connect and drop in a loop would hold memory for
    /// `max_disconnection_duration` each.
    pub max_sessions: usize,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        RecoveryOptions {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_stored_bytes: 32 << 20,
            max_sessions: 100_000,
        }
    }
}

impl RecoveryOptions {
    /// Sets [`max_disconnection_duration`](Self::max_disconnection_duration).
    pub fn max_disconnection_duration(mut self, d: Duration) -> Self {
        self.max_disconnection_duration = d;
        self
    }

    /// Sets [`skip_middlewares`](Self::skip_middlewares).
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// Sets [`max_stored_bytes`](Self::max_stored_bytes).
    pub fn max_stored_bytes(mut self, bytes: usize) -> Self {
        self.max_stored_bytes = bytes;
        self
    }

    /// Sets [`max_sessions`](Self::max_sessions).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }
}

/// What a disconnected socket leaves behind for its return.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionState {
    /// The socket id it gets back.
    pub sid: String,
    /// The private session id the client presents.
    pub pid: String,
    /// Its rooms (its own id among them).
    pub rooms: Vec<String>,
    /// `socket.data` ([`Socket::set_data`](crate::Socket::set_data)).
    pub data: Option<serde_json::Value>,
    /// The typed values of [`Socket::insert`](crate::Socket::insert): kept
    /// by the in-memory adapter; a cluster adapter, which cannot serialize
    /// them, may drop them.
    pub extensions: http::Extensions,
}

impl SessionState {
    /// A session to persist.
    pub fn new(sid: String, pid: String, rooms: Vec<String>) -> SessionState {
        SessionState {
            sid,
            pid,
            rooms,
            data: None,
            extensions: http::Extensions::new(),
        }
    }
}

/// A session found again, with the events it missed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RestoredSession {
    /// The session as it was left.
    pub session: SessionState,
    /// The events recorded after the client's offset for its rooms, in
    /// order, each ending with its offset.
    pub missed: Vec<Packet>,
}

impl RestoredSession {
    /// A restored session.
    pub fn new(session: SessionState, missed: Vec<Packet>) -> RestoredSession {
        RestoredSession { session, missed }
    }
}

/// `packet` (an EVENT) with `offset` appended as its last argument, as
/// recovery sends it; `None` for a packet that is not an event.
pub fn append_offset(packet: &Packet, offset: &str) -> Option<Packet> {
    if packet.kind() != Kind::Event {
        return None;
    }
    let data = packet.raw_data()?.as_bytes();
    let body = data.strip_suffix(b"]")?;
    let mut out = Vec::with_capacity(data.len() + offset.len() + 3);
    out.extend_from_slice(body);
    out.push(b',');
    serde_json::to_writer(&mut out, offset).ok()?;
    out.push(b']');
    let json = Json::from_bytes(out.into()).ok()?;
    Packet::from_parts(
        Kind::Event,
        packet.nsp(),
        packet.id(),
        Some(json),
        packet.attachments().to_vec(),
    )
    .ok()
}

/// The reasons after which a socket may come back (socket.io's
/// `RECOVERABLE_DISCONNECT_REASONS`): its connection failed, not its will.
pub(crate) fn recoverable(reason: crate::DisconnectReason) -> bool {
    use crate::DisconnectReason as R;
    matches!(
        reason,
        R::TransportClose
            | R::TransportError
            | R::PingTimeout
            | R::ForcedClose
            | R::ServerShuttingDown
    )
}

/// The `{pid, offset}` a client sends in its CONNECT payload to come back.
pub(crate) fn recovery_request(auth: Option<&Json>) -> Option<(String, String)> {
    let ask: serde_json::Value = auth?.parse().ok()?;
    let pid = ask.get("pid")?.as_str()?;
    let offset = ask.get("offset")?.as_str()?;
    Some((pid.to_owned(), offset.to_owned()))
}

struct Stored {
    seq: u64,
    at: Instant,
    packet: Packet,
    rooms: Vec<String>,
    except: Vec<String>,
    bytes: usize,
}

/// The in-memory adapter's recovery store for one namespace: recorded
/// events (a queue numbered by sequence, so an offset finds its place
/// without a search) and disconnected sessions, each bounded.
pub(crate) struct Store {
    options: RecoveryOptions,
    /// Offsets are `prefix` + sequence: the prefix, random per store, keeps
    /// an offset from another process (or namespace) from meaning anything
    /// here.
    prefix: String,
    next: u64,
    packets: VecDeque<Stored>,
    bytes: usize,
    sessions: HashMap<String, (Instant, SessionState)>,
    /// Sessions by time of disconnection, oldest first; an entry whose
    /// time no longer matches its session (persisted again since) is stale.
    expiry: VecDeque<(Instant, String)>,
}

impl Store {
    pub(crate) fn new(options: RecoveryOptions) -> Store {
        let prefix: String = format!("{:08x}-", rand::random::<u32>());
        Store {
            options,
            prefix,
            next: 0,
            packets: VecDeque::new(),
            bytes: 0,
            sessions: HashMap::new(),
            expiry: VecDeque::new(),
        }
    }

    fn prune(&mut self, now: Instant) {
        let max = self.options.max_disconnection_duration;
        while let Some(p) = self.packets.front() {
            if now.saturating_duration_since(p.at) <= max
                && self.bytes <= self.options.max_stored_bytes
            {
                break;
            }
            self.bytes -= p.bytes;
            self.packets.pop_front();
        }
        while let Some((at, pid)) = self.expiry.front() {
            let over = self.sessions.len() > self.options.max_sessions
                || self.expiry.len() > 2 * self.options.max_sessions.max(1);
            if !over && now.saturating_duration_since(*at) <= max {
                break;
            }
            if self.sessions.get(pid).is_some_and(|(t, _)| t == at) {
                self.sessions.remove(pid);
            }
            self.expiry.pop_front();
        }
    }

    /// Records an event for replay; returns it with its offset appended.
    pub(crate) fn store(
        &mut self,
        packet: &Packet,
        opts: &BroadcastOptions,
        now: Instant,
    ) -> Option<Packet> {
        let seq = self.next;
        let packet = append_offset(packet, &format!("{}{seq}", self.prefix))?;
        self.next += 1;
        let bytes = packet.encoded_len_hint()
            + packet.attachments().iter().map(|a| a.len()).sum::<usize>()
            + opts
                .rooms
                .iter()
                .chain(&opts.except)
                .map(|r| r.len())
                .sum::<usize>()
            + 64;
        self.bytes += bytes;
        self.packets.push_back(Stored {
            seq,
            at: now,
            packet: packet.clone(),
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
            bytes,
        });
        self.prune(now);
        Some(packet)
    }

    pub(crate) fn persist(&mut self, session: SessionState, now: Instant) {
        self.expiry.push_back((now, session.pid.clone()));
        self.sessions.insert(session.pid.clone(), (now, session));
        self.prune(now);
    }

    /// The session `pid` (taken: it comes back once) and what it missed
    /// after `offset`; `None` when the session expired or is unknown, or the
    /// offset is not one of the events still kept.
    pub(crate) fn restore(
        &mut self,
        pid: &str,
        offset: &str,
        now: Instant,
    ) -> Option<RestoredSession> {
        self.prune(now);
        let (_, session) = self.sessions.remove(pid)?;
        let seq: u64 = offset.strip_prefix(&self.prefix)?.parse().ok()?;
        let first = self.packets.front().map_or(self.next, |p| p.seq);
        if seq < first || seq >= self.next {
            return None;
        }
        let from = usize::try_from(seq - first).ok()? + 1;
        let missed = self
            .packets
            .iter()
            .skip(from)
            .filter(|p| {
                let included =
                    p.rooms.is_empty() || session.rooms.iter().any(|r| p.rooms.contains(r));
                included && !session.rooms.iter().any(|r| p.except.contains(r))
            })
            .map(|p| p.packet.clone())
            .collect();
        Some(RestoredSession { session, missed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> Packet {
        Packet::event("/", "tick", &(n,)).unwrap()
    }

    fn to(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        }
    }

    fn offset_of(p: &Packet) -> String {
        let args: Vec<serde_json::Value> = p.event_args().unwrap();
        args.last().unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn offsets_are_appended_binary_kept() {
        let p = Packet::event(
            "/x",
            "e",
            &(
                1,
                socketio_proto::Binary(bytes::Bytes::from_static(b"\x01")),
            ),
        )
        .unwrap();
        let with = append_offset(&p, "o-1").unwrap();
        assert_eq!(
            with.encode(),
            r#"51-/x,["e",1,{"_placeholder":true,"num":0},"o-1"]"#
        );
        assert_eq!(with.attachments().len(), 1);
        let bare = Packet::event("/", "ping", &()).unwrap();
        assert_eq!(
            append_offset(&bare, "o").unwrap().encode(),
            r#"2["ping","o"]"#
        );
        assert!(append_offset(&Packet::ack("/", 1, &()).unwrap(), "o").is_none());
    }

    #[test]
    fn restores_once_with_what_its_rooms_missed_in_order() {
        let t0 = Instant::now();
        let mut st = Store::new(RecoveryOptions::default());
        let seen = st.store(&event(0), &to(&[], &[]), t0).unwrap();
        let mut s = SessionState::new("sid".into(), "pid".into(), vec!["sid".into(), "red".into()]);
        s.data = Some(serde_json::json!({"n": 1}));
        st.persist(s, t0);
        st.store(&event(1), &to(&["red"], &[]), t0);
        st.store(&event(2), &to(&["blue"], &[]), t0);
        st.store(&event(3), &to(&[], &["red"]), t0);
        st.store(&event(4), &to(&["sid"], &[]), t0);
        st.store(&event(5), &to(&[], &[]), t0);
        assert!(st.restore("pid", "nope", t0).is_none(), "unknown offset");
        // The failed attempt took the session: a second try finds nothing.
        assert!(st.restore("pid", &offset_of(&seen), t0).is_none());

        let mut s = SessionState::new("sid".into(), "pid".into(), vec!["sid".into(), "red".into()]);
        s.data = Some(serde_json::json!({"n": 1}));
        st.persist(s, t0);
        let r = st.restore("pid", &offset_of(&seen), t0).unwrap();
        let ticks: Vec<u32> = r
            .missed
            .iter()
            .map(|p| p.event_args::<(u32,)>().unwrap().0)
            .collect();
        assert_eq!(ticks, [1, 4, 5]);
        assert_eq!(r.session.sid, "sid");
        assert_eq!(r.session.data, Some(serde_json::json!({"n": 1})));
        assert!(st.restore("pid", &offset_of(&seen), t0).is_none(), "once");
    }

    #[test]
    fn sessions_and_packets_expire_and_stay_bounded() {
        let t0 = Instant::now();
        let opts = RecoveryOptions {
            max_disconnection_duration: Duration::from_secs(10),
            max_stored_bytes: 2000,
            max_sessions: 3,
            ..Default::default()
        };
        let mut st = Store::new(opts);
        let first = st.store(&event(0), &to(&[], &[]), t0).unwrap();
        st.persist(SessionState::new("a".into(), "pa".into(), vec![]), t0);
        let later = t0 + Duration::from_secs(11);
        st.store(&event(1), &to(&[], &[]), later);
        assert!(
            st.restore("pa", &offset_of(&first), later).is_none(),
            "expired"
        );

        for i in 0..1000 {
            st.store(&event(i), &to(&[], &[]), later);
        }
        assert!(
            st.bytes <= 2000 && st.packets.len() < 100,
            "{} bytes",
            st.bytes
        );
        for i in 0..10 {
            st.persist(
                SessionState::new(format!("s{i}"), format!("p{i}"), vec![]),
                later,
            );
        }
        assert_eq!(st.sessions.len(), 3);
        assert!(st.expiry.len() <= 4);
    }

    /// Against a model: any sequence of records (to rooms or everyone),
    /// disconnections and returns gives back exactly the events recorded
    /// after the offset for the session's rooms, in order, once; and the
    /// store stays within its bounds.
    mod model {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            /// An event to room `r` (or everyone), `dt` ms after the last op.
            Record { room: Option<u8>, dt: u16 },
            /// Session `s` (in rooms {s, s % 3 + 10}) leaves, having seen
            /// the event at index `seen` of those recorded so far.
            Leave { s: u8, seen: u16, dt: u16 },
            /// Session `s` comes back.
            Return { s: u8, dt: u16 },
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                5 => (proptest::option::of(0u8..16), 0u16..50)
                    .prop_map(|(room, dt)| Op::Record { room, dt }),
                1 => (0u8..8, any::<u16>(), 0u16..50).prop_map(|(s, seen, dt)| Op::Leave { s, seen, dt }),
                1 => (0u8..8, 0u16..2000).prop_map(|(s, dt)| Op::Return { s, dt }),
            ]
        }

        fn rooms_of(s: u8) -> Vec<String> {
            vec![s.to_string(), (s % 3 + 10).to_string()]
        }

        proptest! {
            #[test]
            fn replays_exactly_what_the_model_says(ops in proptest::collection::vec(op(), 1..200)) {
                let opts = RecoveryOptions {
                    max_disconnection_duration: Duration::from_secs(1),
                    max_stored_bytes: 4000,
                    max_sessions: 4,
                    ..Default::default()
                };
                let mut st = Store::new(opts.clone());
                let t0 = Instant::now();
                let mut now = t0;
                // Every record: (n, its rooms, when, offset).
                let mut log: Vec<(u64, Option<String>, Instant, String)> = Vec::new();
                // Sessions away: (offset seen, index of it in the log, when it left).
                let mut away: HashMap<u8, (String, usize, Instant)> = HashMap::new();
                for op in ops {
                    match op {
                        Op::Record { room, dt } => {
                            now += Duration::from_millis(dt.into());
                            let room = room.map(|r| r.to_string());
                            let o = BroadcastOptions {
                                rooms: room.iter().cloned().collect(),
                                ..Default::default()
                            };
                            let n = log.len() as u64;
                            let p = st.store(&event(n as u32), &o, now).unwrap();
                            let args: Vec<serde_json::Value> = p.event_args().unwrap();
                            prop_assert_eq!(args[0].as_u64(), Some(n));
                            log.push((n, room, now, args[1].as_str().unwrap().to_owned()));
                            prop_assert!(st.bytes <= opts.max_stored_bytes);
                        }
                        Op::Leave { s, seen, dt } => {
                            now += Duration::from_millis(dt.into());
                            if log.is_empty() { continue; }
                            let i = usize::from(seen) % log.len();
                            let mut session = SessionState::new(format!("sid{s}"), format!("pid{s}"), rooms_of(s));
                            session.data = Some(serde_json::json!(s));
                            st.persist(session, now);
                            away.insert(s, (log[i].3.clone(), i, now));
                            prop_assert!(st.sessions.len() <= opts.max_sessions);
                        }
                        Op::Return { s, dt } => {
                            now += Duration::from_millis(dt.into());
                            let Some((offset, i, left)) = away.remove(&s) else {
                                let pid = format!("pid{s}");
                                prop_assert!(st.restore(&pid, "x", now).is_none());
                                continue;
                            };
                            let present = st.sessions.contains_key(&format!("pid{s}"));
                            let offset_gone = now.duration_since(log[i].2) > opts.max_disconnection_duration
                                || !st.packets.iter().any(|p| p.packet.event_args::<(u64,)>().unwrap().0 == log[i].0);
                            let got = st.restore(&format!("pid{s}"), &offset, now);
                            let max = opts.max_disconnection_duration;
                            let rooms = rooms_of(s);
                            let want: Vec<u64> = log[i + 1..]
                                .iter()
                                .filter(|(_, r, _, _)| r.as_ref().is_none_or(|r| rooms.contains(r)))
                                .map(|(n, _, _, _)| *n)
                                .collect();
                            match got {
                                Some(r) => {
                                    // Never after expiry; when given, exact.
                                    prop_assert!(now.duration_since(left) <= max);
                                    prop_assert_eq!(r.session.sid, format!("sid{s}"));
                                    prop_assert_eq!(r.session.data, Some(serde_json::json!(s)));
                                    let ns: Vec<u64> = r.missed.iter()
                                        .map(|p| p.event_args::<(u64,)>().unwrap().0)
                                        .collect();
                                    prop_assert_eq!(ns, want);
                                }
                                None => {
                                    // Refused only for a reason: evicted
                                    // (absent), expired, or its offset no
                                    // longer kept.
                                    let expired = now.duration_since(left) > max;
                                    prop_assert!(!present || expired || offset_gone, "refused without a reason");
                                }
                            }
                            // Once: never again.
                            let pid = format!("pid{s}");
                            prop_assert!(st.restore(&pid, &offset, now).is_none());
                        }
                    }
                }
            }
        }
    }
}
