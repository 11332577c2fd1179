//! Time-driven behaviour over in-memory pipes on paused time, where real
//! time would make the outcome depend on scheduling: heartbeat deadlines,
//! and handlers that stop making progress (a call that never returns, or a
//! handler that is never ready again), after which the session must still
//! end, answer its requests and free itself.

use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use engineio::server::{Context, Handler, ServerOptions, Service};
use engineio::{CloseReason, Payload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::http::Echo;

const LIMIT: Duration = Duration::from_secs(3);

/// How the handler misbehaves on the first message.
#[derive(Clone, Copy)]
enum Stall {
    /// `on_message` never returns.
    Call,
    /// `poll_ready` says "not now" for ever after the first message.
    Ready,
}

struct Stuck {
    how: Stall,
    got_one: bool,
    closed: mpsc::UnboundedSender<CloseReason>,
}

impl Handler for Stuck {
    type Command = ();

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<()> {
        match (self.how, self.got_one) {
            (Stall::Ready, true) => Poll::Pending,
            _ => Poll::Ready(()),
        }
    }

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        self.got_one = true;
        ctx.send(msg);
        if let Stall::Call = self.how {
            std::future::pending::<()>().await;
        }
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}

    async fn on_close(&mut self, reason: CloseReason) {
        let _ = self.closed.send(reason);
    }
}

/// One request over a fresh in-memory connection: status and body.
async fn request(service: &Service, method: &str, query: &str, body: &str) -> (u16, String) {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    service.serve_io(server, SocketAddr::from(([127, 0, 0, 1], 1)));
    let req = format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    client.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, body.to_owned())
}

async fn stalled_session_ends(how: Stall) {
    let mut options = ServerOptions::default();
    options.handler_timeout = LIMIT;
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let service = Service::new(options, move |_| Stuck {
        how,
        got_one: false,
        closed: closed_tx.clone(),
    });
    let (status, open) = request(&service, "GET", "EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let q = format!(
        "EIO=4&transport=polling&sid={}",
        open["sid"].as_str().unwrap()
    );
    let start = tokio::time::Instant::now();
    assert_eq!(
        request(&service, "POST", &q, "4a\x1e4b").await,
        (200, "ok".into())
    );
    // The GET waits while the handler is stuck, then carries what was
    // queued before, or the close.
    let (status, body) = request(&service, "GET", &q, "").await;
    assert_eq!(status, 200);
    assert!(body == "4a" || body == "1", "{body:?}");
    let reason = closed.recv().await.unwrap();
    assert_eq!(reason, CloseReason::ForcedClose);
    assert!(
        start.elapsed() >= LIMIT,
        "gave up after {:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < LIMIT * 2,
        "gave up after {:?}",
        start.elapsed()
    );
    // The client learns of the close (if the GET above did not carry it),
    // and then the session is gone.
    let mut last = request(&service, "GET", &q, "").await;
    if last == (200, "1".into()) {
        last = request(&service, "GET", &q, "").await;
    }
    assert_eq!(last.0, 400, "{last:?}");
    for _ in 0..100 {
        if service.session_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(service.session_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_handler_call_that_never_returns_ends_its_session() {
    stalled_session_ends(Stall::Call).await;
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_is_never_ready_again_ends_its_session() {
    stalled_session_ends(Stall::Ready).await;
}

#[tokio::test(start_paused = true)]
async fn a_polling_session_that_does_not_pong_is_closed_at_the_deadline() {
    let mut options = ServerOptions::default();
    options.session.ping_interval = Duration::from_millis(300);
    options.session.ping_timeout = Duration::from_millis(200);
    let service = Service::new(options, |_| Echo);
    let (_, open) = request(&service, "GET", "EIO=4&transport=polling", "").await;
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let q = format!(
        "EIO=4&transport=polling&sid={}",
        open["sid"].as_str().unwrap()
    );
    let start = tokio::time::Instant::now();
    // The ping comes at the interval.
    assert_eq!(request(&service, "GET", &q, "").await, (200, "2".into()));
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    // A pong just in time keeps it; the next ping is an interval later.
    tokio::time::sleep(Duration::from_millis(199)).await;
    assert_eq!(request(&service, "POST", &q, "3").await, (200, "ok".into()));
    assert_eq!(request(&service, "GET", &q, "").await, (200, "2".into()));
    assert_eq!(start.elapsed(), Duration::from_millis(799));
    // No pong: at the deadline the session is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(request(&service, "POST", &q, "3").await.0, 400);
}
