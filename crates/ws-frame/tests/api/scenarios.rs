//! Deterministic two-peer scenarios: every rule of RFC 6455 the connection
//! enforces, and the wire reaction to each.

use bytes::Bytes;
use ws_frame::frame::OpCode;
use ws_frame::{
    CloseCode, CloseFrame, Config, Connection, EncodedFrame, Error, Message, ProtocolError, State,
    UserError,
};

use crate::peers::*;

fn expect_failure(conn: &mut Connection, wire: &[u8], want: ProtocolError, code: u16) {
    let (_, err) = feed(conn, wire);
    match err {
        Some(Error::Protocol(e)) => assert_eq!(e, want),
        other => panic!("expected {want:?}, got {other:?}"),
    }
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(
        queued_close_code(conn),
        Some(code),
        "close code for {want:?}"
    );
    // Nothing more is read after a failure.
    assert_eq!(
        feed(conn, &client_frame(true, OpCode::Text, b"late")).0,
        vec![]
    );
}

#[test]
fn messages_flow_both_ways() {
    let (mut c, mut s) = (client(), server());
    c.send(Message::text("hi")).unwrap();
    c.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    c.send(Message::binary(vec![7u8; 70_000])).unwrap();
    let (got, err) = feed(&mut s, &drain(&mut c));
    assert!(err.is_none());
    assert_eq!(
        got,
        [
            Message::text("hi"),
            Message::binary(vec![1u8, 2, 3]),
            Message::binary(vec![7u8; 70_000])
        ]
    );
    s.send(Message::text("back")).unwrap();
    assert_eq!(feed(&mut c, &drain(&mut s)).0, [Message::text("back")]);
}

#[test]
fn fragments_reassemble_with_control_frames_between() {
    let mut s = server();
    let mut wire = client_frame(false, OpCode::Text, "κό".as_bytes());
    wire.extend(client_frame(true, OpCode::Ping, b"p"));
    // A code point split across fragments is fine.
    wire.extend(client_frame(
        false,
        OpCode::Continuation,
        &"σμε".as_bytes()[..3],
    ));
    wire.extend(client_frame(
        true,
        OpCode::Continuation,
        &"σμε".as_bytes()[3..],
    ));
    let (got, err) = feed(&mut s, &wire);
    assert!(err.is_none());
    assert_eq!(
        got,
        [
            Message::Ping(Bytes::from_static(b"p")),
            Message::text("κόσμε")
        ]
    );
    // The ping was answered: an unmasked pong with the same payload.
    assert_eq!(drain(&mut s), b"\x8a\x01p");
}

#[test]
fn each_violation_gets_its_close_code() {
    use ProtocolError::*;
    let cases: Vec<(Vec<u8>, ProtocolError, u16)> = vec![
        (
            raw_frame(true, OpCode::Text, b"x", None),
            UnmaskedFrameFromClient,
            1002,
        ),
        (
            client_frame(true, OpCode::Continuation, b"x"),
            UnexpectedContinuation,
            1002,
        ),
        (
            [
                client_frame(false, OpCode::Text, b"a"),
                client_frame(true, OpCode::Binary, b"b"),
            ]
            .concat(),
            ExpectedContinuation,
            1002,
        ),
        (vec![0x83, 0x80, 0, 0, 0, 0], ReservedOpCode(3), 1002),
        (vec![0xC1, 0x80, 0, 0, 0, 0], ReservedBitsSet(4), 1002),
        (
            client_frame(false, OpCode::Ping, b""),
            FragmentedControlFrame,
            1002,
        ),
        (
            client_frame(true, OpCode::Ping, &[0; 126]),
            ControlFrameTooLong,
            1002,
        ),
        (client_frame(true, OpCode::Text, b"\xff"), InvalidUtf8, 1007),
        (
            client_frame(true, OpCode::Text, b"ok\xe2\x82"),
            InvalidUtf8,
            1007,
        ),
        (
            client_frame(true, OpCode::Close, b"\x03"),
            CloseFrameTooShort,
            1002,
        ),
        (
            client_frame(true, OpCode::Close, &1005u16.to_be_bytes()),
            InvalidCloseCode(1005),
            1002,
        ),
        (
            client_frame(true, OpCode::Close, &999u16.to_be_bytes()),
            InvalidCloseCode(999),
            1002,
        ),
        (
            client_frame(true, OpCode::Close, b"\x03\xe8\xff"),
            InvalidCloseReason,
            1007,
        ),
    ];
    for (wire, want, code) in cases {
        expect_failure(&mut server(), &wire, want, code);
    }
    // The client role refuses masked frames.
    let mut c = client();
    let (_, err) = feed(&mut c, &client_frame(true, OpCode::Text, b"x"));
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::MaskedFrameFromServer))
    ));
}

#[test]
fn invalid_text_fails_before_the_message_ends() {
    // The invalid byte is in the first fragment; the final one never comes.
    let mut s = server();
    let (_, err) = feed(&mut s, &client_frame(false, OpCode::Text, b"abc\xc0"));
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    ));
    // Inside one frame, only part of which has arrived.
    let mut s = server();
    let frame = client_frame(
        true,
        OpCode::Text,
        &[b"hello".as_slice(), b"\xf5", &[b'a'; 100]].concat(),
    );
    let (_, err) = feed(&mut s, &frame[..12]);
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::InvalidUtf8))
    ));
}

#[test]
fn limits_answer_1009() {
    let mut config = Config::default();
    config.max_frame_size = 100;
    config.max_message_size = 150;
    // The header alone is enough to refuse an oversized frame.
    let mut s = Connection::server(config.clone());
    let frame = client_frame(true, OpCode::Binary, &[0; 101]);
    let (_, err) = feed(&mut s, &frame[..8]);
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::FrameTooLarge {
            size: 101,
            max: 100
        }))
    ));
    assert_eq!(queued_close_code(&mut s), Some(1009));
    // Fragments that add up past the message limit.
    let mut s = Connection::server(config);
    let wire = [
        client_frame(false, OpCode::Binary, &[0; 100]),
        client_frame(true, OpCode::Continuation, &[0; 51]),
    ]
    .concat();
    let (_, err) = feed(&mut s, &wire);
    assert!(matches!(
        err,
        Some(Error::Protocol(ProtocolError::MessageTooLarge {
            size: 151,
            ..
        }))
    ));
    assert_eq!(queued_close_code(&mut s), Some(1009));
}

#[test]
fn close_handshake_from_the_client() {
    let (mut c, mut s) = (client(), server());
    let frame = CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "bye".into(),
    };
    c.close(Some(frame.clone())).unwrap();
    assert_eq!(c.state(), State::CloseSent);
    assert_eq!(
        c.send(Message::text("late")),
        Err(UserError::SendAfterClose)
    );
    let (got, _) = feed(&mut s, &drain(&mut c));
    assert_eq!(got, [Message::Close(Some(frame))]);
    assert_eq!(s.state(), State::Closed);
    // The server echoes the code; the client sees the handshake end.
    let (got, _) = feed(&mut c, &drain(&mut s));
    assert_eq!(
        got,
        [Message::Close(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "".into()
        }))]
    );
    assert_eq!(c.state(), State::Closed);
    assert!(c.poll_transmit().is_none());
}

#[test]
fn messages_still_arrive_while_closing() {
    let (mut c, mut s) = (client(), server());
    s.close(None).unwrap();
    c.send(Message::text("in flight")).unwrap();
    let (got, _) = feed(&mut s, &drain(&mut c));
    assert_eq!(got, [Message::text("in flight")]);
    // A ping after our close is reported but not answered (§5.5.1).
    let (got, _) = feed(&mut s, &client_frame(true, OpCode::Ping, b"?"));
    assert_eq!(got, [Message::Ping(Bytes::from_static(b"?"))]);
    assert_eq!(drain(&mut s), b"\x88\x00", "only our own close frame");
    // An empty close is echoed empty and reported without a body.
    let (got, _) = feed(&mut c, b"\x88\x00");
    assert_eq!(got, [Message::Close(None)]);
    assert_eq!(feed(&mut s, &drain(&mut c)).0, [Message::Close(None)]);
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn caller_errors_are_not_peer_errors() {
    let mut s = server();
    let bad = |code| {
        Message::Close(Some(CloseFrame {
            code: CloseCode(code),
            reason: "".into(),
        }))
    };
    assert_eq!(s.send(bad(1005)), Err(UserError::InvalidCloseCode(1005)));
    assert_eq!(s.send(bad(2999)), Err(UserError::InvalidCloseCode(2999)));
    assert_eq!(
        s.send(Message::Ping(vec![0; 126].into())),
        Err(UserError::ControlPayloadTooLong(126))
    );
    assert_eq!(s.state(), State::Open);
    assert!(s.poll_transmit().is_none(), "nothing went on the wire");
    let encoded = EncodedFrame::data(&Message::text("all")).unwrap();
    assert_eq!(
        client().send_encoded(&encoded),
        Err(UserError::EncodedFrameOnClient)
    );
}

#[test]
fn an_encoded_frame_is_shared_by_every_recipient() {
    let encoded = EncodedFrame::data(&Message::binary(vec![9u8; 10_000])).unwrap();
    let mut servers: Vec<_> = (0..3).map(|_| server()).collect();
    for s in &mut servers {
        s.send_encoded(&encoded).unwrap();
        let chunk = s.poll_transmit().unwrap();
        assert_eq!(
            chunk.as_ptr(),
            encoded.as_bytes().as_ptr(),
            "no copy per recipient"
        );
        let mut c = client();
        assert_eq!(feed(&mut c, &chunk).0, [Message::binary(vec![9u8; 10_000])]);
    }
}

#[test]
fn data_after_the_close_frame_is_ignored() {
    let mut s = server();
    let wire = [
        client_frame(true, OpCode::Close, b""),
        client_frame(true, OpCode::Text, b"x"),
    ]
    .concat();
    assert_eq!(feed(&mut s, &wire).0, [Message::Close(None)]);
}

#[test]
fn past_the_write_mark_only_the_latest_ping_is_answered() {
    let mut config = Config::default();
    config.write_buffer_mark = 1000;
    let mut s = Connection::server(config);
    // A thousand pings, each 100 bytes naming its number, never drained.
    let wire: Vec<u8> = (0..1000u16)
        .flat_map(|i| {
            client_frame(
                true,
                OpCode::Ping,
                &[i.to_be_bytes().as_slice(), &[0; 98]].concat(),
            )
        })
        .collect();
    let (got, err) = feed(&mut s, &wire);
    assert!(err.is_none());
    assert_eq!(got.len(), 1000, "every ping is reported");
    assert!(s.is_write_buffer_full());
    assert!(
        s.transmit_len() < 1000 + 102,
        "{} bytes owed",
        s.transmit_len()
    );
    // The pongs below the mark, in order, then only the latest: the one
    // that crossed the mark was replaced by each newer one.
    let out = drain(&mut s);
    let numbers: Vec<u16> = out
        .chunks(102)
        .map(|p| {
            assert_eq!(&p[..2], b"\x8a\x64", "a pong of 100 bytes");
            u16::from_be_bytes([p[2], p[3]])
        })
        .collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 999]);
    // Once written, every ping is answered again.
    assert!(!s.is_write_buffer_full());
    feed(&mut s, &client_frame(true, OpCode::Ping, b"a"));
    feed(&mut s, &client_frame(true, OpCode::Ping, b"b"));
    assert_eq!(drain(&mut s), b"\x8a\x01a\x8a\x01b");
}

#[test]
fn a_pong_partly_written_is_not_replaced() {
    let mut config = Config::default();
    config.write_buffer_mark = 1;
    let mut s = Connection::server(config);
    feed(&mut s, &client_frame(true, OpCode::Ping, b"one"));
    // A write took the pong's first byte: the rest must still follow.
    s.advance_transmit(1);
    feed(&mut s, &client_frame(true, OpCode::Ping, b"two"));
    feed(&mut s, &client_frame(true, OpCode::Ping, b"six"));
    assert_eq!(drain(&mut s), b"\x03one\x8a\x03six");
}

#[test]
fn text_changed_in_the_buffer_between_reads_is_checked_again() {
    use bytes::BytesMut;
    // Text is validated in place as it arrives; a caller that changes those
    // bytes before the frame ends must get an error, never invalid text.
    let run = |payload: &[u8], first: usize, at: usize, to: u8| {
        let mut s = server();
        let frame = client_frame(true, OpCode::Text, payload);
        // The 6-byte header and `first` bytes of payload.
        let mut buf = BytesMut::from(&frame[..6 + first]);
        s.handle_read(&mut buf).unwrap();
        assert_eq!(s.poll_message(), None);
        buf[at] = to;
        buf.extend_from_slice(&frame[6 + first..]);
        let got = s.handle_read(&mut buf);
        (got.map_err(|e| e.to_string()), s.poll_message())
    };
    let invalid = Err(Error::Protocol(ProtocolError::InvalidUtf8).to_string());
    // A byte that can never be UTF-8.
    assert_eq!(run(b"hello world", 4, 0, 0xff), (invalid.clone(), None));
    // Still valid on its own, but no longer the start of the code point
    // the rest completes: "ab\xc3" + "\xa9" became "abc" + "\xa9".
    assert_eq!(run("abé".as_bytes(), 3, 2, b'c'), (invalid, None));
    // Unchanged, the same pieces make the text.
    assert_eq!(
        run("abé".as_bytes(), 3, 2, 0xc3),
        (Ok(()), Some(Message::text("abé")))
    );
}

#[test]
fn frames_are_taken_from_the_front_and_the_rest_stays() {
    use bytes::BytesMut;
    let mut s = server();
    let third = client_frame(true, OpCode::Binary, &[3u8; 300]);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&client_frame(true, OpCode::Binary, b"one"));
    buf.extend_from_slice(&client_frame(true, OpCode::Text, b"two"));
    buf.extend_from_slice(&third[..100]);
    s.handle_read(&mut buf).unwrap();
    assert_eq!(s.poll_message(), Some(Message::binary(&b"one"[..])));
    s.handle_read(&mut buf).unwrap();
    assert_eq!(s.poll_message(), Some(Message::text("two")));
    // Part of a frame: nothing yet, its payload bytes stay (the 8-byte
    // header is consumed), and a call with nothing new changes nothing.
    s.handle_read(&mut buf).unwrap();
    s.handle_read(&mut buf).unwrap();
    assert_eq!(s.poll_message(), None);
    assert_eq!(buf.len(), 100 - 8);
    buf.extend_from_slice(&third[100..]);
    s.handle_read(&mut buf).unwrap();
    let got = s.poll_message().unwrap();
    assert_eq!(got, Message::binary(vec![3u8; 300]));
    // The frame ended the buffer: the buffer is left empty, and what is
    // read into it next does not touch the message.
    assert!(buf.is_empty());
    buf.extend_from_slice(&client_frame(true, OpCode::Binary, &[9u8; 300]));
    s.handle_read(&mut buf).unwrap();
    assert_eq!(got, Message::binary(vec![3u8; 300]));
    assert_eq!(s.poll_message(), Some(Message::binary(vec![9u8; 300])));
    s.handle_read(&mut buf).unwrap();
    assert_eq!(s.poll_message(), None);
}

#[test]
fn output_written_in_full_makes_room_for_the_next() {
    use std::io::IoSlice;
    let mut s = server();
    let mut wire = Vec::new();
    let write_all = |s: &mut Connection, wire: &mut Vec<u8>| {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = s.transmit_slices(&mut slices);
        let before = wire.len();
        for sl in &slices[..n] {
            wire.extend_from_slice(sl);
        }
        s.advance_transmit(wire.len() - before);
        assert_eq!(s.transmit_len(), 0);
    };
    s.send(Message::binary(&b"ab"[..])).unwrap();
    write_all(&mut s, &mut wire);
    s.send(Message::text("cd")).unwrap();
    // A large frame goes apart from the small ones around it.
    s.send(Message::binary(vec![5u8; 5000])).unwrap();
    s.send(Message::binary(&b"e"[..])).unwrap();
    write_all(&mut s, &mut wire);
    s.send(Message::text("f")).unwrap();
    write_all(&mut s, &mut wire);
    let (got, err) = feed(&mut client(), &wire);
    assert!(err.is_none());
    assert_eq!(
        got,
        [
            Message::binary(&b"ab"[..]),
            Message::text("cd"),
            Message::binary(vec![5u8; 5000]),
            Message::binary(&b"e"[..]),
            Message::text("f"),
        ]
    );
}
