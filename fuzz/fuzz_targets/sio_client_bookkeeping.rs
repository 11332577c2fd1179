//! The client's Socket.IO bookkeeping, the two pure state machines a client
//! manager keeps beside its decoder: [`ClientNamespaces`] (joins, the
//! server's answers, rejoining after a reconnect) fed arbitrary decoded
//! server packets, and [`PendingAcks`] (ack ids and deadlines, with a fake
//! clock). Oracle: both agree, step by step, with a plain model of what their
//! docs promise: states, events, the CONNECT packets a rejoin sends (with
//! each namespace's auth), ack ids, expiry order and the next deadline.
#![no_main]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{
    ClientNamespaces, Decoder, Json, Kind, NamespaceEvent, NamespaceState, Packet, PendingAcks,
};

const MAX_OPS: usize = 256;
const NSPS: [&str; 4] = ["/", "/a", "/b", "/a/b"];
const AUTHS: [Option<&str>; 3] = [None, Some(r#"{"token":"t"}"#), Some("{}")];
/// Server packets worth a template; the input may also bring its own text.
const FROM_SERVER: [&str; 12] = [
    r#"0{"sid":"x"}"#,
    r#"0/a,{"sid":"y"}"#,
    r#"0/b,{"sid":1}"#,
    "0/a/b,",
    r#"4{"message":"no"}"#,
    r#"4/a,{"message":"no","data":[1]}"#,
    "1",
    "1/b,",
    r#"2/a,["e",1]"#,
    "3/a,7[]",
    r#"0/a/b,{"sid":"z","pid":"p"}"#,
    r#"0/b,{"sid":"w"}"#,
];

/// What the namespace bookkeeping should hold: state and auth per name.
type Model = BTreeMap<String, (NamespaceState, Option<Json>)>;

fn auth(i: u8) -> Option<Json> {
    AUTHS[i as usize % AUTHS.len()].map(|a| {
        let v: serde_json::Value = serde_json::from_str(a).expect("valid JSON");
        Json::from_value(&v).expect("serializable")
    })
}

/// What `handle_packet` should do to the model, and the event it reports.
fn expected(model: &mut Model, p: &Packet) -> Option<NamespaceEvent> {
    let nsp = p.nsp().to_owned();
    let (state, _) = model.get_mut(&nsp)?;
    match p.kind() {
        Kind::Connect if *state == NamespaceState::Connecting => {
            let v: serde_json::Value = serde_json::from_slice(p.raw_data()?.as_bytes()).ok()?;
            let sid = v.as_object()?.get("sid")?.as_str()?.to_owned();
            *state = NamespaceState::Connected { sid: sid.clone() };
            Some(NamespaceEvent::Connected { nsp, sid })
        }
        Kind::ConnectError => {
            model.remove(&nsp);
            Some(NamespaceEvent::ConnectError {
                nsp,
                data: p.raw_data().cloned(),
            })
        }
        Kind::Disconnect => {
            model.remove(&nsp);
            Some(NamespaceEvent::Disconnected { nsp })
        }
        _ => None,
    }
}

fn decode(text: Bytes) -> Option<Packet> {
    let mut d = Decoder::default();
    d.handle_text(text).ok()?;
    if d.is_waiting_for_attachments() {
        d.handle_binary(Bytes::from_static(b"att")).ok()?;
    }
    d.poll_packet()
}

/// The ack model: id -> (deadline, value).
#[derive(Default)]
struct AckModel {
    next: u64,
    waiting: BTreeMap<u64, (Option<Instant>, u32)>,
}

impl AckModel {
    fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().filter_map(|(d, _)| *d).min()
    }

    /// Expired entries in the order they must come out: by deadline, then id.
    fn expired(&mut self, now: Instant) -> Vec<(u64, u32)> {
        let mut due: Vec<(Instant, u64)> = self
            .waiting
            .iter()
            .filter_map(|(id, (d, _))| d.filter(|d| *d <= now).map(|d| (d, *id)))
            .collect();
        due.sort();
        due.into_iter()
            .map(|(_, id)| (id, self.waiting.remove(&id).expect("present").1))
            .collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, ops)) = data.split_first() else {
        return;
    };
    // Long enough for any state; longer inputs only slow the search down.
    let mut ops = &ops[..ops.len().min(MAX_OPS)];
    // Ids are either all allocated here or all chosen elsewhere, as each
    // runtime does; mixing them is not a use the type supports.
    let chosen_ids = head & 1 == 1;
    let start = Instant::now();
    let mut now = start;
    let mut ns = ClientNamespaces::default();
    let mut model = Model::new();
    let mut acks = PendingAcks::<u32>::default();
    let mut ack_model = AckModel::default();
    let mut value = 0u32;

    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        let arg = op / 12;
        match op % 12 {
            0 => {
                let nsp = NSPS[arg as usize % NSPS.len()];
                let a = auth(arg / 4);
                let p = ns.connect(nsp, a.clone()).expect("a valid namespace");
                assert_eq!(
                    (p.kind(), p.nsp(), p.raw_data()),
                    (Kind::Connect, nsp, a.as_ref())
                );
                model.insert(nsp.to_owned(), (NamespaceState::Connecting, a));
            }
            1 => {
                let nsp = NSPS[arg as usize % NSPS.len()];
                let p = ns.disconnect(nsp);
                let was = model.remove(nsp).is_some();
                assert_eq!(p.is_some(), was, "DISCONNECT only for a namespace wanted");
                if let Some(p) = p {
                    assert_eq!((p.kind(), p.nsp()), (Kind::Disconnect, nsp));
                }
            }
            2 | 3 => {
                let text = if op % 12 == 2 {
                    Bytes::from_static(FROM_SERVER[arg as usize % FROM_SERVER.len()].as_bytes())
                } else {
                    let (&len, rest) = ops.split_first().unwrap_or((&0, &[]));
                    let len = (len as usize % 64).min(rest.len());
                    let (raw, rest) = rest.split_at(len);
                    ops = rest;
                    Bytes::copy_from_slice(raw)
                };
                if let Some(p) = decode(text) {
                    let want = expected(&mut model, &p);
                    assert_eq!(ns.handle_packet(&p), want, "event for {:?}", p.encode());
                }
            }
            4 => {
                let got: Vec<String> = ns.rejoin().iter().map(Packet::encode).collect();
                let want: Vec<String> = model
                    .iter_mut()
                    .map(|(nsp, (state, auth))| {
                        *state = NamespaceState::Connecting;
                        Packet::connect(nsp, auth.clone()).expect("valid").encode()
                    })
                    .collect();
                assert_eq!(
                    got, want,
                    "rejoin asks again for every namespace still wanted, with its auth"
                );
            }
            5 | 6 => {
                let deadline =
                    (op % 12 == 5).then(|| now + Duration::from_millis(u64::from(arg % 8) * 10));
                value += 1;
                if chosen_ids {
                    let id = u64::from(arg % 6);
                    let fresh = !ack_model.waiting.contains_key(&id);
                    assert_eq!(acks.insert_with_id(id, deadline, value), fresh);
                    if fresh {
                        ack_model.waiting.insert(id, (deadline, value));
                    }
                } else {
                    let id = acks.insert(deadline, value);
                    assert_eq!(id, ack_model.next, "ids count up from 0");
                    ack_model.next += 1;
                    ack_model.waiting.insert(id, (deadline, value));
                }
            }
            7 => {
                let id = if chosen_ids {
                    u64::from(arg % 6)
                } else {
                    ack_model.next.saturating_sub(u64::from(arg % 6) + 1)
                };
                assert_eq!(
                    acks.handle_ack(id),
                    ack_model.waiting.remove(&id).map(|(_, v)| v)
                );
            }
            8 => now += Duration::from_millis(u64::from(arg) * 3),
            9 => {
                let mut got: Vec<(u64, u32)> = acks.drain().collect();
                got.sort();
                let want: Vec<(u64, u32)> = std::mem::take(&mut ack_model.waiting)
                    .into_iter()
                    .map(|(id, (_, v))| (id, v))
                    .collect();
                assert_eq!(got, want, "drain gives everything still waiting");
            }
            _ => {}
        }
        // The acks a driver would expire now, in order, and the next wake-up.
        let got: Vec<(u64, u32)> = std::iter::from_fn(|| acks.poll_expired(now)).collect();
        assert_eq!(got, ack_model.expired(now), "expired at {:?}", now - start);
        assert_eq!(acks.poll_timeout(), ack_model.next_deadline());
        assert_eq!(acks.len(), ack_model.waiting.len());
        for nsp in NSPS {
            assert_eq!(
                ns.state(nsp),
                model.get(nsp).map(|(s, _)| s),
                "state of {nsp}"
            );
        }
    }
});
