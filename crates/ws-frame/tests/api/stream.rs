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

/// A transport that takes at most `chunk` bytes a call and records how it
/// was written to.
#[derive(Default)]
struct Recorder {
    /// Handed out by reads, then reads wait forever.
    input: Vec<u8>,
    bytes: Vec<u8>,
    chunk: usize,
    vectored_calls: usize,
    plain_calls: usize,
    /// Calls to poll_read, those that found nothing included.
    reads: usize,
}

impl tokio::io::AsyncRead for Recorder {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.reads += 1;
        if this.input.is_empty() {
            return std::task::Poll::Pending;
        }
        let n = this.input.len().min(buf.remaining());
        buf.put_slice(&this.input[..n]);
        this.input.drain(..n);
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Recorder {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.plain_calls += 1;
        let n = buf.len().min(this.chunk);
        this.bytes.extend_from_slice(&buf[..n]);
        std::task::Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.vectored_calls += 1;
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(this.chunk - n);
            this.bytes.extend_from_slice(&b[..take]);
            n += take;
        }
        std::task::Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_large_frame_goes_out_with_its_header_in_one_vectored_write() {
    let wire = |chunk: usize, sizes: &'static [usize]| async move {
        let io = Recorder {
            chunk,
            ..Recorder::default()
        };
        let mut ws = ws_frame::WebSocketStream::from_parts(
            io,
            ws_frame::Connection::server(Config::default()),
            bytes::BytesMut::new(),
        );
        for (i, &n) in sizes.iter().enumerate() {
            ws.feed(Message::binary(vec![i as u8; n])).await.unwrap();
        }
        ws.flush().await.unwrap();
        let io = ws.get_ref();
        (io.bytes.clone(), io.vectored_calls, io.plain_calls)
    };
    // Header (10 bytes) + 64 KiB payload kept apart: one call.
    let (bytes, vectored, plain) = wire(usize::MAX, &[65_536]).await;
    assert_eq!((vectored, plain), (1, 0));
    assert_eq!(bytes.len(), 10 + 65_536);
    assert_eq!(&bytes[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0][..]);
    // Small frames coalesce into one plain write.
    let (_, vectored, plain) = wire(usize::MAX, &[10, 20, 30]).await;
    assert_eq!((vectored, plain), (0, 1));
    // Short writes split anywhere (inside headers too) lose nothing.
    let sizes: &'static [usize] = &[5, 70_000, 3, 9_000, 0, 100_000];
    let (whole, ..) = wire(usize::MAX, sizes).await;
    for chunk in [1, 3, 1000, 4099, 65_536] {
        let (bytes, ..) = wire(chunk, sizes).await;
        assert_eq!(bytes, whole, "writes of {chunk}");
    }
    let mut expect = ws_frame::Connection::server(Config::default());
    for (i, &n) in sizes.iter().enumerate() {
        expect.send(Message::binary(vec![i as u8; n])).unwrap();
    }
    let mut want = Vec::new();
    while let Some(c) = expect.poll_transmit() {
        want.extend_from_slice(&c);
    }
    assert_eq!(whole, want);
}

#[tokio::test]
async fn pipelined_messages_are_known_to_be_buffered() {
    let (a, mut b) = duplex(1 << 16);
    // The server reports each text message as it takes it, and whether
    // another was already read behind it.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        let mut ws = ws_frame::accept(a).await.unwrap();
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                let more = ws.has_buffered_message();
                seen_tx.send((t.as_str().to_owned(), more)).unwrap();
            }
        }
    });
    let mut next = async || seen.recv().await.unwrap();
    // A client request and three masked frames written at once; then half a
    // frame, whose rest comes once the server has taken the three.
    let req = ClientRequest::new(URL, [7; 16]).unwrap();
    b.write_all(&req.encode()).await.unwrap();
    let mut head = [0u8; 1024];
    let mut got = 0;
    while !head[..got].ends_with(b"\r\n\r\n") {
        got += b.read(&mut head[got..]).await.unwrap();
    }
    let frame = |p: &[u8]| {
        let key = [1, 2, 3, 4];
        let mut f = vec![0x81, 0x80 | p.len() as u8];
        f.extend_from_slice(&key);
        f.extend(p.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    };
    let batch = [frame(b"a"), frame(b"b"), frame(b"c")].concat();
    let last = frame(b"d");
    b.write_all(&[&batch[..], &last[..4]].concat())
        .await
        .unwrap();
    assert_eq!(next().await, ("a".to_owned(), true));
    assert_eq!(next().await, ("b".to_owned(), true));
    assert_eq!(next().await, ("c".to_owned(), false), "half a frame behind");
    b.write_all(&last[4..]).await.unwrap();
    assert_eq!(next().await, ("d".to_owned(), false), "nothing behind");
    b.write_all(&[0x88, 0x80, 0, 0, 0, 0]).await.unwrap();
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"\x88\x00", "the close echo, then the end");
    server.await.unwrap();
}

/// A server stream reading `input` from a [`Recorder`] that takes any write.
fn server_reading(input: Vec<u8>) -> ws_frame::WebSocketStream<Recorder> {
    let io = Recorder {
        input,
        chunk: usize::MAX,
        ..Recorder::default()
    };
    ws_frame::WebSocketStream::from_parts(
        io,
        ws_frame::Connection::server(Config::default()),
        bytes::BytesMut::new(),
    )
}

/// Echoes `n` messages as a batching server does: feed each answer, flush
/// when nothing more is already read. Returns what it echoed.
async fn echo_batched(ws: &mut ws_frame::WebSocketStream<Recorder>, n: usize) -> Vec<Message> {
    let mut seen = Vec::new();
    for _ in 0..n {
        let msg = ws.next().await.unwrap().unwrap();
        seen.push(msg.clone());
        ws.feed(msg).await.unwrap();
        if !ws.has_buffered_message() {
            ws.flush().await.unwrap();
        }
    }
    seen
}

#[tokio::test]
async fn answers_to_a_pipelined_batch_go_out_in_one_write() {
    let input = [&b"one"[..], b"two", b"three"].map(masked_binary).concat();
    let mut ws = server_reading(input);
    echo_batched(&mut ws, 3).await;
    let io = ws.get_ref();
    assert_eq!(
        io.plain_calls + io.vectored_calls,
        1,
        "one write for three answers"
    );
    let want: Vec<u8> = [&b"one"[..], b"two", b"three"]
        .iter()
        .flat_map(|p| [&[0x82, p.len() as u8][..], p].concat())
        .collect();
    assert_eq!(io.bytes, want);
}

fn masked_binary(p: &[u8]) -> Vec<u8> {
    let key = [9, 8, 7, 6];
    let mut f = vec![0x82];
    match p.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n @ 126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(p.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

#[tokio::test]
async fn a_batch_larger_than_one_read_is_answered_in_one_write() {
    // 40 KiB of 1 KiB messages: more than the first read and the next take.
    let payloads: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1024]).collect();
    let mut ws = server_reading(payloads.iter().flat_map(|p| masked_binary(p)).collect());
    let seen = echo_batched(&mut ws, payloads.len()).await;
    assert_eq!(
        seen,
        payloads
            .into_iter()
            .map(Message::binary)
            .collect::<Vec<_>>()
    );
    let io = ws.get_ref();
    assert_eq!(
        io.plain_calls + io.vectored_calls,
        1,
        "one write for 40 answers"
    );
    assert_eq!(io.bytes.len(), 40 * (4 + 1024));
    // 4 KiB, then room for four times that (16 KiB, filled), then for four
    // times all so far: the rest.
    assert_eq!(io.reads, 3, "reads for 41 KiB pipelined");
}

#[tokio::test]
async fn a_pipelined_batch_of_16_kib_takes_two_reads() {
    let payloads: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 1024]).collect();
    let mut ws = server_reading(payloads.iter().flat_map(|p| masked_binary(p)).collect());
    let seen = echo_batched(&mut ws, payloads.len()).await;
    assert_eq!(seen.len(), 16);
    let io = ws.get_ref();
    assert_eq!(io.reads, 2, "the first read, then one for the rest");
    assert_eq!(io.plain_calls + io.vectored_calls, 1);
}

#[tokio::test]
async fn a_large_frame_is_taken_in_a_read_sized_to_it_and_no_more() {
    let payload = vec![7u8; 100_000];
    let mut ws = server_reading(masked_binary(&payload));
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(payload));
    // The first read, then the rest of the frame: no read to see whether
    // more has come, which one message at a time costs a system call each.
    assert_eq!(ws.get_ref().reads, 2);
}

/// A masked ping with a 125-byte payload, as a client sends it.
fn masked_ping() -> Vec<u8> {
    let mut f = vec![0x89, 0x80 | 125, 1, 2, 3, 4];
    f.extend((0..125u8).map(|i| i ^ [1, 2, 3, 4][usize::from(i) % 4]));
    f
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_pings_without_reading_is_held_back() {
    const MARK: usize = 16 << 10;
    const PONG: usize = 2 + 125;
    let mut config = Config::default();
    config.write_buffer_mark = MARK;
    let (mut peer, io) = duplex(4096);
    let mut ws = ws_frame::WebSocketStream::from_parts(
        io,
        ws_frame::Connection::server(config),
        bytes::BytesMut::new(),
    );
    // Our side is driven by the stream alone, as a session loop drives it
    // while it has nothing of its own to write.
    let ours = tokio::spawn(async move {
        let (mut pings, mut most_owed) = (0usize, 0);
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                other => return (pings, most_owed, other),
            }
            most_owed = most_owed.max(ws.connection().transmit_len());
        }
    });
    // 4 MiB of pings, written as fast as the pipe takes them; never a read.
    let ping = masked_ping();
    let mut sent = 0usize;
    let flood = async {
        for _ in 0..32_000 {
            peer.write_all(&ping).await.unwrap();
            sent += 1;
        }
    };
    // Paused time moves on only once every task waits: the timeout fires
    // when the flood can go no further.
    let done = tokio::time::timeout(std::time::Duration::from_secs(60), flood).await;
    assert!(done.is_err(), "all {sent} pings were taken");
    // What got through: the answered pings up to the mark, the pongs in the
    // pipe back, one read's worth and the pipe in.
    assert!(sent * ping.len() < MARK + (32 << 10), "{sent} pings taken");
    drop(peer);
    let (pings, most_owed, end) = ours.await.unwrap();
    assert!(most_owed < MARK + PONG, "{most_owed} bytes owed");
    assert!(pings * PONG >= MARK, "answered up to the mark: {pings}");
    assert!(
        matches!(end, Some(Err(Error::Io(ref e))) if e.kind() == std::io::ErrorKind::BrokenPipe),
        "the vanished reader is a failed write: {end:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_handshakes_are_closed_at_the_deadline_while_others_are_served() {
    use std::time::Duration;
    const LIMIT: Duration = Duration::from_secs(3);
    let mut hs = HandshakeConfig::default();
    hs.timeout = LIMIT;
    let start = tokio::time::Instant::now();
    let accept = move |io, hs: HandshakeConfig| async move {
        let got = ws_frame::accept_with(io, Config::default(), &hs, |_, r| Ok(r)).await;
        (got, start.elapsed())
    };
    // Five clients that send their request a byte a second, and read what
    // comes back until the connection closes.
    let mut slow = Vec::new();
    for _ in 0..5 {
        let (a, b) = duplex(4096);
        let server = tokio::spawn(accept(a, hs.clone()));
        let client = tokio::spawn(async move {
            let (mut rd, mut wr) = tokio::io::split(b);
            let request = ClientRequest::new(URL, [5; 16]).unwrap().encode();
            let dribble = async {
                for byte in request {
                    if wr.write_all(&[byte]).await.is_err() {
                        // Closed: the read sees the end.
                        return std::future::pending().await;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                panic!("the whole request went out");
            };
            let mut answer = String::new();
            tokio::select! {
                _ = rd.read_to_string(&mut answer) => {}
                () = dribble => {}
            }
            (answer, start.elapsed())
        });
        slow.push((server, client));
    }
    // A client that comes a second later is served at once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (a, b) = duplex(4096);
    let server = tokio::spawn(async move {
        let (got, _) = accept(a, HandshakeConfig::default()).await;
        let mut ws = got.unwrap();
        let msg = ws.next().await.unwrap().unwrap();
        ws.send(msg).await.unwrap();
    });
    let (mut ws, _) = ws_frame::connect(b, URL).await.unwrap();
    ws.send(Message::text("still served")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still served")
    );
    server.await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "served without waiting"
    );
    let at_deadline = |t: Duration| LIMIT <= t && t < LIMIT + Duration::from_millis(10);
    for (server, client) in slow {
        let (got, when) = server.await.unwrap();
        assert!(
            matches!(got, Err(Error::Handshake(HandshakeError::Timeout(LIMIT)))),
            "{got:?}"
        );
        assert!(at_deadline(when), "given up after {when:?}");
        let (answer, when) = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
        assert!(at_deadline(when), "closed after {when:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_fails_the_connect_at_the_deadline() {
    use std::time::Duration;
    let mut hs = HandshakeConfig::default();
    hs.timeout = Duration::from_secs(2);
    let (a, mut b) = duplex(4096);
    // Reads the request, answers nothing, and sees the client go.
    let server = tokio::spawn(async move {
        let mut sink = Vec::new();
        b.read_to_end(&mut sink).await.unwrap();
        sink
    });
    let start = tokio::time::Instant::now();
    let req = ClientRequest::new(URL, [6; 16]).unwrap();
    let err = ws_frame::connect_with(a, &req, Config::default(), &hs)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Handshake(HandshakeError::Timeout(t)) if t == hs.timeout),
        "{err:?}"
    );
    let waited = start.elapsed();
    assert!(waited >= hs.timeout && waited < hs.timeout + Duration::from_millis(10));
    assert_eq!(
        server.await.unwrap(),
        req.encode(),
        "then the transport closed"
    );
}
