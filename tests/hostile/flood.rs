//! A WebSocket ping flood from a client that never reads: the server must
//! stop reading from it (backpressure) instead of queueing pongs without
//! bound, and go on serving others.

use std::time::Duration;

use engineio::server::{ServerOptions, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::echo::Echo;
use crate::http::handshake;

/// A masked ping frame with a 125-byte payload (the largest a ping may carry).
fn ping() -> Vec<u8> {
    let mut f = vec![0x89, 0x80 | 125, 1, 2, 3, 4];
    f.extend((0..125u8).map(|i| i ^ [1, 2, 3, 4][usize::from(i % 4)]));
    f
}

#[tokio::test]
async fn a_ping_flood_that_never_reads_is_backpressured() {
    let listening = serve("127.0.0.1:0", ServerOptions::default(), |_| Echo)
        .await
        .unwrap();
    let addr = listening.local_addr().to_string();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let req = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");

    // 64 KiB of pings per write; the kernel's buffers on both sides take a
    // few MiB. A server that keeps reading (and queueing a pong for each)
    // takes all 256 MiB; one that stops reading stalls the writes long
    // before that.
    let chunk: Vec<u8> = ping().repeat(65536 / 131);
    let mut written = 0usize;
    let stalled = loop {
        if written >= 256 << 20 {
            break false;
        }
        match tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&chunk)).await {
            Ok(Ok(())) => written += chunk.len(),
            Ok(Err(e)) => panic!("the server dropped the flood instead: {e}"),
            Err(_) => break true,
        }
    };
    assert!(stalled, "wrote {} MiB without backpressure", written >> 20);
    assert!(
        written < 64 << 20,
        "{} MiB taken before stalling",
        written >> 20
    );

    // The flood holds only its own session: others are served.
    let sid = handshake(&addr).await;
    assert_eq!(sid.len(), 20);
}

/// Bytes pipelined behind a long-poll GET are kept for the next request,
/// but only up to one request's worth: a client that streams behind its
/// waiting GET is cut off, not buffered without bound.
#[tokio::test]
async fn data_streamed_behind_a_waiting_get_is_cut_off() {
    let listening = serve("127.0.0.1:0", ServerOptions::default(), |_| Echo)
        .await
        .unwrap();
    let addr = listening.local_addr().to_string();
    let sid = handshake(&addr).await;
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let get =
        format!("GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n");
    tcp.write_all(get.as_bytes()).await.unwrap();
    let junk = vec![b'x'; 64 << 10];
    let mut written = 0usize;
    let cut = loop {
        if written >= 64 << 20 {
            break false;
        }
        match tokio::time::timeout(Duration::from_secs(2), tcp.write_all(&junk)).await {
            Ok(Ok(())) => written += junk.len(),
            Ok(Err(_)) => break true,
            Err(_) => panic!(
                "stalled after {} KiB instead of being cut off",
                written >> 10
            ),
        }
    };
    assert!(cut, "took {} MiB behind a waiting GET", written >> 20);
    // A MB of head room plus what the kernel buffers on both sides.
    assert!(
        written < 16 << 20,
        "took {} MiB before cutting off",
        written >> 20
    );
}
