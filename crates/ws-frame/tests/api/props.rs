//! Property tests: round trips, chunking invariance, masking fast path.

use bytes::Bytes;
use proptest::prelude::*;
use ws_frame::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use ws_frame::mask::{apply_mask, apply_mask_reference};
use ws_frame::{Error, Message};

use crate::peers::*;

fn header() -> impl Strategy<Value = FrameHeader> {
    let data = (
        any::<bool>(),
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary)
        ],
        prop_oneof![0..126u64, 126..0x1_0000u64, 0x1_0000..(1u64 << 63)],
    );
    let control = (
        Just(true),
        prop_oneof![Just(OpCode::Close), Just(OpCode::Ping), Just(OpCode::Pong)],
        0..126u64,
    );
    (prop_oneof![data, control], any::<Option<[u8; 4]>>()).prop_map(
        |((fin, opcode, payload_len), mask)| FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        },
    )
}

/// A message as the test sends it: the message, where to cut it into
/// fragments, and whether a ping goes between its first two fragments.
#[derive(Clone, Debug)]
struct Sent {
    msg: Message,
    cuts: Vec<usize>,
    ping_inside: bool,
}

fn sent() -> impl Strategy<Value = Sent> {
    let msg = prop_oneof![
        ".{0,40}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|p| Message::Ping(p.into())),
    ];
    (
        msg,
        proptest::collection::vec(any::<usize>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(msg, cuts, ping_inside)| Sent {
            msg,
            cuts,
            ping_inside,
        })
}

/// Encodes the messages as fragmented client frames; returns the wire and the
/// messages a server must report, in order.
fn encode(sent: &[Sent]) -> (Vec<u8>, Vec<Message>) {
    let (mut wire, mut expect) = (Vec::new(), Vec::new());
    for s in sent {
        let (opcode, payload) = match &s.msg {
            Message::Text(t) => (OpCode::Text, t.as_bytes().clone()),
            Message::Binary(b) => (OpCode::Binary, b.clone()),
            Message::Ping(p) => {
                wire.extend(client_frame(true, OpCode::Ping, p));
                expect.push(s.msg.clone());
                continue;
            }
            _ => unreachable!(),
        };
        let mut cuts: Vec<usize> = s.cuts.iter().map(|c| c % (payload.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(payload.len());
        let mut start = 0;
        for (i, &end) in cuts.iter().enumerate() {
            let last = i + 1 == cuts.len();
            let op = if i == 0 { opcode } else { OpCode::Continuation };
            wire.extend(client_frame(last, op, &payload[start..end]));
            if i == 0 && !last && s.ping_inside {
                wire.extend(client_frame(true, OpCode::Ping, b"between"));
                expect.push(Message::Ping(Bytes::from_static(b"between")));
            }
            start = end;
        }
        expect.push(s.msg.clone());
    }
    (wire, expect)
}

fn split<'a>(wire: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(wire.len());
    let mut start = 0;
    cuts.iter()
        .map(|&end| {
            let piece = &wire[start..end];
            start = end;
            piece
        })
        .collect()
}

fn error_kind(e: &Option<Error>) -> Option<String> {
    e.as_ref().map(|e| format!("{e:?}"))
}

proptest! {
    #[test]
    fn header_roundtrip(h in header()) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        prop_assert_eq!(FrameHeader::decode(&buf[..n]).unwrap(), Some((h, n)));
    }

    #[test]
    fn masking_fast_path_equals_reference(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        key in any::<[u8; 4]>(),
        offset in 0usize..64,
    ) {
        let (mut fast, mut reference) = (data.clone(), data);
        apply_mask(&mut fast, key, offset);
        apply_mask_reference(&mut reference, key, offset);
        prop_assert_eq!(fast, reference);
    }

    /// Messages, fragmented and with pings between fragments, come out as sent
    /// whatever the read boundaries.
    #[test]
    fn messages_survive_fragmentation_and_any_chunking(
        sent in proptest::collection::vec(sent(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (wire, expect) = encode(&sent);
        let (got, err) = feed_chunks(&mut server(), &split(&wire, &cuts));
        prop_assert!(err.is_none(), "{:?}", err);
        prop_assert_eq!(got, expect);
    }

    /// Our encoder and decoder agree: what a client sends, a server reads.
    #[test]
    fn client_to_server_roundtrip(sent in proptest::collection::vec(sent(), 0..8)) {
        let mut c = client();
        let expect: Vec<Message> = sent.iter().map(|s| s.msg.clone()).collect();
        for m in &expect {
            c.send(m.clone()).unwrap();
        }
        let (got, err) = feed(&mut server(), &drain(&mut c));
        prop_assert!(err.is_none());
        prop_assert_eq!(got, expect);
    }

    /// Arbitrary bytes: the same messages and the same verdict in any split.
    #[test]
    fn any_input_gives_the_same_events_in_any_split(
        wire in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        masked in any::<bool>(),
    ) {
        // Half the cases start with a valid masked header so they get further.
        let wire = if masked { [&[0x81u8, 0x85, 1, 2, 3, 4][..], &wire].concat() } else { wire };
        let (whole, whole_err) = feed(&mut server(), &wire);
        let (pieces, pieces_err) = feed_chunks(&mut server(), &split(&wire, &cuts));
        prop_assert_eq!(whole, pieces);
        prop_assert_eq!(error_kind(&whole_err), error_kind(&pieces_err));
    }

    /// Text validity is decided as `str::from_utf8` decides it, however the
    /// text is fragmented.
    #[test]
    fn text_validation_agrees_with_std(
        payload in proptest::collection::vec(prop_oneof![any::<u8>(), 0x80u8..0xC0], 0..60),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        let sent = Sent { msg: Message::binary(payload.clone()), cuts, ping_inside: false };
        let (wire, _) = encode(&[sent]);
        // Re-type the first frame as text: byte 0 is its opcode.
        let mut wire = wire;
        wire[0] = (wire[0] & 0xF0) | 0x1;
        let (got, err) = feed(&mut server(), &wire);
        match std::str::from_utf8(&payload) {
            Ok(s) => prop_assert_eq!(got, vec![Message::text(s)]),
            Err(_) => prop_assert!(matches!(err, Some(Error::Protocol(ws_frame::ProtocolError::InvalidUtf8)))),
        }
    }

    /// Output taken as slices and advanced by writes of any size is the same
    /// byte stream `poll_transmit` gives, large frames (queued apart from
    /// their headers) included, in either role.
    #[test]
    fn vectored_output_equals_chunked_output(
        sizes in proptest::collection::vec(prop_oneof![0..200usize, 4000..9000usize], 0..6),
        writes in proptest::collection::vec(1..20_000usize, 1..40),
        max_slices in 1..5usize,
        client_role in any::<bool>(),
    ) {
        let make = || if client_role { client() } else { server() };
        let (mut a, mut b) = (make(), make());
        for (i, n) in sizes.iter().enumerate() {
            let m = Message::binary(vec![i as u8; *n]);
            a.send(m.clone()).unwrap();
            b.send(m).unwrap();
        }
        let want = drain(&mut a);
        let mut got = Vec::new();
        let mut writes = writes.iter().cycle();
        loop {
            let mut slices = [std::io::IoSlice::new(&[]); 4];
            let k = b.transmit_slices(&mut slices[..max_slices.min(4)]);
            if k == 0 {
                break;
            }
            // A write takes some prefix of what it is offered.
            let offered: usize = slices[..k].iter().map(|s| s.len()).sum();
            let n = (*writes.next().unwrap()).min(offered);
            let mut left = n;
            for s in &slices[..k] {
                let take = left.min(s.len());
                got.extend_from_slice(&s[..take]);
                left -= take;
            }
            prop_assert!(offered <= b.transmit_len());
            b.advance_transmit(n);
        }
        prop_assert_eq!(b.transmit_len(), 0);
        prop_assert_eq!(got, want);
    }
}
