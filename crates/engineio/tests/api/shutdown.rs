//! Graceful shutdown at its edges: a handshake in flight when it begins, a
//! session whose handler never returns, and the answers refused requests
//! get.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use engineio::Payload;
use engineio::server::{Context, Handler, Refusal, ServerOptions, Service, SessionInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Echo;

impl Handler for Echo {
    type Command = ();
    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }
    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

/// Never returns from its first message.
struct Stuck;

impl Handler for Stuck {
    type Command = ();
    async fn on_message(&mut self, _: &mut Context<'_>, _: Payload) {
        std::future::pending::<()>().await
    }
    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

async fn listen(service: &Service) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listening = engineio::server::listen(listener, service.clone()).unwrap();
    let addr = listening.local_addr().to_string();
    // Accepting for as long as the test's runtime lives.
    std::mem::forget(listening);
    addr
}

/// One request on a fresh connection; the whole response.
async fn exchange(addr: &str, req: String) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("answered in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn get(path_query: &str) -> String {
    format!("GET {path_query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// A handshake whose `allow_request` is still deciding when the shutdown
/// begins is refused, not opened after the shutdown has looked.
#[tokio::test]
async fn a_handshake_in_flight_when_shutdown_begins_is_refused() {
    let mut options = ServerOptions::default();
    let checks = Arc::new(AtomicUsize::new(0));
    let seen = checks.clone();
    options.allow_request(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        }
    });
    let service = Service::new(options, |_: SessionInfo<()>| Echo);
    let addr = listen(&service).await;
    let handshake = tokio::spawn({
        let addr = addr.clone();
        async move { exchange(&addr, get("/engine.io/?EIO=4&transport=polling")).await }
    });
    while checks.load(Ordering::Relaxed) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(service.shutdown(Duration::from_secs(2)).await, 0);
    let answer = handshake.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(service.session_count(), 0);
}

/// At the deadline a session whose handler never returns is dropped: what
/// waits in its queue is answered, its queue refuses more (even while
/// others still hold its sender, as Socket.IO sockets do), nothing is left
/// registered.
#[tokio::test]
async fn a_stuck_session_is_dropped_at_the_deadline_and_its_requests_answered() {
    let senders = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = senders.clone();
    let service = Service::new(ServerOptions::default(), move |info: SessionInfo<()>| {
        kept.lock().unwrap().push(info.sender);
        Stuck
    });
    let addr = listen(&service).await;
    let open = exchange(&addr, get("/engine.io/?EIO=4&transport=polling")).await;
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let q = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let post =
        format!("POST {q} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n4x");
    // The handler takes the message and never comes back.
    assert!(exchange(&addr, post).await.starts_with("HTTP/1.1 200"));
    let waiting_get = tokio::spawn({
        let (addr, q) = (addr.clone(), q.clone());
        async move { exchange(&addr, get(&q)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let dropped = service.shutdown(Duration::from_millis(300)).await;
    assert_eq!(dropped, 1);
    assert_eq!(service.session_count(), 0);
    let answer = tokio::time::timeout(Duration::from_secs(2), waiting_get)
        .await
        .expect("the queued GET is answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let sender = senders.lock().unwrap()[0].clone();
    assert_eq!(
        sender.try_send(()),
        Err(engineio::server::TrySendError::Closed)
    );
}

/// `begin_shutdown` (what `close()` does) refuses new sessions for good.
#[tokio::test]
async fn begin_shutdown_refuses_new_sessions() {
    let service = Service::new(ServerOptions::default(), |_: SessionInfo<()>| Echo);
    let addr = listen(&service).await;
    service.begin_shutdown();
    let answer = exchange(&addr, get("/engine.io/?EIO=4&transport=polling")).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
}

/// A WebSocket request without upgrade headers is the official "Bad
/// request", before `allow_request` is asked; a refusal's status must be
/// an error status.
#[tokio::test]
async fn bad_upgrades_skip_allow_request_and_refusals_use_error_statuses() {
    let mut options = ServerOptions::default();
    let checks = Arc::new(AtomicUsize::new(0));
    let seen = checks.clone();
    options.allow_request(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
        async { Err(Refusal::new(1000, "no")) }
    });
    let service = Service::new(options, |_: SessionInfo<()>| Echo);
    let addr = listen(&service).await;
    let plain = exchange(&addr, get("/engine.io/?EIO=4&transport=websocket")).await;
    assert!(plain.starts_with("HTTP/1.1 400"), "{plain}");
    assert!(
        plain.ends_with(r#"{"code":3,"message":"Bad request"}"#),
        "{plain}"
    );
    assert_eq!(checks.load(Ordering::Relaxed), 0);
    let refused = exchange(&addr, get("/engine.io/?EIO=4&transport=polling")).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused.ends_with(r#"{"code":4,"message":"no"}"#),
        "{refused}"
    );
}
