//! The tokio adapter over in-memory duplex pipes.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
use ws_frame::handshake::{ClientRequest, HandshakeConfig};
use ws_frame::{CloseCode, CloseFrame, Config, Error, HandshakeError, Message, ProtocolError};

const URL: &str = "ws://example.test/chat";

#[tokio::test]
async fn echo_and_close_handshake() {
    let (a, b) = duplex(64 << 10);
    let server = tokio::spawn(async move {
        let mut ws = ws_frame::accept(a).await.unwrap();
        let mut seen = Vec::new();
        while let Some(msg) = ws.next().await {
            let msg = msg.unwrap();
            seen.push(msg.clone());
            if msg.is_data() {
                ws.send(msg).await.unwrap();
            }
        }
        seen
    });
    let (mut ws, resp) = ws_frame::connect(b, URL).await.unwrap();
    assert_eq!(resp.status(), 101);
    let big = Message::binary(vec![0xAB; 1 << 20]);
    for msg in [Message::text("one"), big.clone(), Message::text("three")] {
        ws.send(msg.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), msg);
    }
    let bye = CloseFrame {
        code: CloseCode::NORMAL,
        reason: "done".into(),
    };
    ws.send(Message::Close(Some(bye.clone()))).await.unwrap();
    let echo = ws.next().await.unwrap().unwrap();
    assert!(matches!(echo, Message::Close(Some(ref f)) if f.code == CloseCode::NORMAL));
    assert!(
        ws.next().await.is_none(),
        "the stream ends after the handshake"
    );
    let seen = server.await.unwrap();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3], Message::Close(Some(bye)));
}

#[tokio::test]
async fn a_bad_request_is_answered_with_its_status() {
    let (a, mut b) = duplex(4096);
    let server = tokio::spawn(ws_frame::accept(a));
    b.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    b.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("sec-websocket-version: 13"));
    let err = server.await.unwrap().unwrap_err();
    assert!(matches!(
        err,
        Error::Handshake(HandshakeError::UnsupportedVersion)
    ));
}

#[tokio::test]
async fn the_accept_hook_can_refuse_an_origin() {
    let (a, b) = duplex(4096);
    let server = tokio::spawn(async move {
        ws_frame::accept_with(
            a,
            Config::default(),
            &HandshakeConfig::default(),
            |req, resp| match req.origin() {
                Some("https://good.example") => Ok(resp),
                _ => Err(403),
            },
        )
        .await
    });
    let req = ClientRequest::new(URL, [1; 16]).unwrap().header(
        http::header::ORIGIN,
        http::HeaderValue::from_static("https://evil.example"),
    );
    let err = ws_frame::connect_with(b, &req, Config::default(), &HandshakeConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake(HandshakeError::UnexpectedStatus(403))),
        "{err:?}"
    );
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Handshake(HandshakeError::Rejected(403)))
    ));
}

#[tokio::test]
async fn a_protocol_error_sends_its_close_frame_first() {
    let (a, mut b) = duplex(4096);
    let server = tokio::spawn(async move {
        let mut ws = ws_frame::accept(a).await.unwrap();
        let first = ws.next().await.unwrap();
        (first, ws.next().await.is_none())
    });
    let req = ClientRequest::new(URL, [2; 16]).unwrap();
    b.write_all(&req.encode()).await.unwrap();
    let mut head = vec![0u8; 4096];
    let n = b.read(&mut head).await.unwrap();
    assert!(
        req.parse_response(&head[..n], &HandshakeConfig::default())
            .unwrap()
            .is_some()
    );
    // An unmasked text frame from a "client".
    b.write_all(b"\x81\x02hi").await.unwrap();
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).await.unwrap();
    let (h, n) = ws_frame::frame::FrameHeader::decode(&rest)
        .unwrap()
        .unwrap();
    assert_eq!(h.opcode, ws_frame::frame::OpCode::Close);
    assert_eq!(&rest[n..n + 2], 1002u16.to_be_bytes(), "close 1002");
    assert_eq!(
        &rest[n + 2..],
        b"unmasked frame from a client",
        "with the rule as reason"
    );
    let (first, ended) = server.await.unwrap();
    assert!(matches!(
        first,
        Err(Error::Protocol(ProtocolError::UnmaskedFrameFromClient))
    ));
    assert!(ended);
}

#[tokio::test]
async fn a_vanished_peer_is_an_abnormal_closure() {
    let (a, b) = duplex(4096);
    let server = tokio::spawn(async move {
        let mut ws = ws_frame::accept(a).await.unwrap();
        ws.next().await
    });
    let (ws, _) = ws_frame::connect(b, URL).await.unwrap();
    drop(ws);
    assert!(matches!(
        server.await.unwrap(),
        Some(Err(Error::AbnormalClosure))
    ));
}

#[tokio::test]
async fn many_small_messages_are_batched_and_all_arrive() {
    let (a, b) = duplex(1 << 16);
    let server = tokio::spawn(async move {
        let mut ws = ws_frame::accept(a).await.unwrap();
        let mut n = 0u32;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                assert_eq!(t.as_str(), n.to_string());
                n += 1;
            }
        }
        n
    });
    let (mut ws, _) = ws_frame::connect(b, URL).await.unwrap();
    let mut all =
        futures_util::stream::iter((0..10_000u32).map(|i| Ok(Message::text(i.to_string()))));
    ws.send_all(&mut all).await.unwrap();
    ws.close().await.unwrap();
    while ws.next().await.is_some() {}
    assert_eq!(server.await.unwrap(), 10_000);
}

#[tokio::test]
async fn reads_switch_between_stack_and_own_buffer_without_losing_bytes() {
    // Sizes around the 4 KiB stack read and the 8 KiB buffer, sent both one
    // at a time (small reads) and back to back (full reads), through pipes
    // narrower and wider than a read.
    let sizes = [
        0, 1, 125, 126, 4089, 4090, 4096, 4097, 8192, 65_535, 65_536, 70_000, 3, 12_000,
    ];
    for pipe in [1000, 4096, 1 << 20] {
        let (a, b) = duplex(pipe);
        let server = tokio::spawn(async move {
            let mut ws = ws_frame::accept(a).await.unwrap();
            let mut got = Vec::new();
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Binary(b) = msg {
                    got.push(b);
                }
            }
            got
        });
        let (mut ws, _) = ws_frame::connect(b, URL).await.unwrap();
        let payload =
            |n: usize, seed: usize| -> Vec<u8> { (0..n).map(|i| (i * 31 + seed) as u8).collect() };
        let mut want = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            ws.send(Message::binary(payload(n, i))).await.unwrap();
            want.push(payload(n, i));
        }
        for (i, &n) in sizes.iter().enumerate() {
            ws.feed(Message::binary(payload(n, 100 + i))).await.unwrap();
            want.push(payload(n, 100 + i));
        }
        ws.close().await.unwrap();
        while ws.next().await.is_some() {}
        let got = server.await.unwrap();
        assert_eq!(got.len(), want.len(), "pipe {pipe}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(&g[..], &w[..], "pipe {pipe}");
        }
    }
}
