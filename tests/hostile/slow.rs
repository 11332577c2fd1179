//! Slow clients: a request head or body dribbled a byte at a time, or a
//! connection that says nothing, holds a connection no longer than the
//! configured deadline, while everybody else is served.

use std::time::{Duration, Instant};

use engineio::server::{ServerOptions, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::echo::Echo;
use crate::http::{handshake, parse};

const HEADER_TIMEOUT: Duration = Duration::from_millis(400);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(800);

/// What a slow client ends with: the bytes the server sent before it
/// closed, and when it closed.
async fn dribble(addr: String, bytes: Vec<u8>) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    for b in bytes.iter().cycle().take(100) {
        // A byte every 50 ms, until the server closes.
        let _ = tcp.write_all(&[*b]).await;
        match tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(0) | Err(_)) => return (got, start.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    panic!("still open after 5 s: {:?}", String::from_utf8_lossy(&got));
}

#[tokio::test]
async fn slow_heads_bodies_and_silent_connections_are_cut_at_their_deadline() {
    let mut options = ServerOptions::default();
    options.http.timeout = HEADER_TIMEOUT;
    options.request_timeout = REQUEST_TIMEOUT;
    let listening = serve("127.0.0.1:0", options, |_| Echo).await.unwrap();
    let addr = listening.local_addr().to_string();

    let head = b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n".to_vec();
    let upgrade =
        b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            .to_vec();
    let slow: Vec<_> = (0..60)
        .map(|i| {
            let bytes = if i % 2 == 0 {
                head.clone()
            } else {
                upgrade.clone()
            };
            tokio::spawn(dribble(addr.clone(), bytes))
        })
        .collect();
    // Meanwhile, a client that behaves is served at once.
    let sid = handshake(&addr).await;
    assert_eq!(sid.len(), 20);

    for task in slow {
        let (got, took) = task.await.unwrap();
        assert_eq!(parse(&got).status, 408, "{}", String::from_utf8_lossy(&got));
        assert!(took >= HEADER_TIMEOUT, "cut after {took:?}");
        assert!(
            took < HEADER_TIMEOUT + Duration::from_secs(2),
            "cut after {took:?}"
        );
    }

    // Silent connections are closed without a word at the header deadline.
    let start = Instant::now();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), silent.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .unwrap();
    assert!(rest.is_empty());
    assert!(start.elapsed() >= HEADER_TIMEOUT);
}

#[tokio::test]
async fn a_body_dribbled_after_a_prompt_head_is_cut_at_the_request_deadline() {
    let mut options = ServerOptions::default();
    options.http.timeout = HEADER_TIMEOUT;
    options.request_timeout = REQUEST_TIMEOUT;
    let listening = serve("127.0.0.1:0", options, |_| Echo).await.unwrap();
    let addr = listening.local_addr().to_string();
    let sid = handshake(&addr).await;
    let start = Instant::now();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (got, took) = {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let _ = tcp.write_all(b"4").await;
            match tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut buf)).await {
                Err(_) => assert!(start.elapsed() < Duration::from_secs(5), "never cut"),
                Ok(Ok(0) | Err(_)) => break (got, start.elapsed()),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    assert_eq!(parse(&got).status, 408);
    assert!(took >= REQUEST_TIMEOUT, "cut after {took:?}");
    assert!(
        took < REQUEST_TIMEOUT + Duration::from_secs(2),
        "cut after {took:?}"
    );
}
