//! The engine-level hooks with the official client: a cookie set by
//! `initial_headers` is kept by engine.io-client in Node (`withCredentials:
//! true`, engine.io-client 6.5+: its own cookie jar) and comes back on the
//! client's later requests, where the `headers` hook sees it.

use std::sync::{Arc, Mutex};

use engineio::server::{Server, ServerOptions};
use engineio::{Event, Transport};
use hyper::header::HeaderValue;

use crate::node::NodePeer;

/// What the `headers` hook saw of one request: whether it carried a sid,
/// its transport, and its `Cookie` header.
#[derive(Debug)]
struct Seen {
    sid: bool,
    transport: String,
    cookie: Option<String>,
}

/// Our server, setting `io=abc` on the response that opens a session and
/// echoing messages; its URL and what the `headers` hook saw.
async fn cookie_server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut options = ServerOptions::default();
    options.on_initial_headers(|_, headers| {
        headers.insert("set-cookie", HeaderValue::from_static("io=abc; Path=/"));
    });
    let log = seen.clone();
    options.on_headers(move |req, _| {
        let query = req.uri().query().unwrap_or("");
        let param = |key: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let cookie = req
            .headers()
            .get("cookie")
            .map(|c| c.to_str().unwrap().to_owned());
        log.lock().unwrap().push(Seen {
            sid: param("sid").is_some(),
            transport: param("transport").unwrap_or_default(),
            cookie,
        });
    });
    let mut server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(async move {
        while let Some(mut socket) = server.accept().await {
            tokio::spawn(async move {
                while let Some(event) = socket.recv().await {
                    if let Event::Message(m) = event {
                        let _ = socket.send(m).await;
                    }
                }
            });
        }
    });
    (url, seen)
}

async fn run(transports: &str, want: Transport) -> Vec<Seen> {
    let (url, seen) = cookie_server().await;
    let mut node = NodePeer::spawn("eio_cookie_client.js", &[&url, transports]);
    assert_eq!(
        node.line().await,
        "jar io=abc",
        "the client kept the cookie"
    );
    assert_eq!(node.line().await, format!("echo ok {}", want.as_str()));
    assert!(node.success().await);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let (open, later) = seen.split_first().expect("a handshake");
    assert!(!open.sid && open.cookie.is_none(), "{open:?}");
    assert!(!later.is_empty(), "{seen:?}");
    for s in later {
        assert!(s.sid, "{seen:?}");
        assert_eq!(s.cookie.as_deref(), Some("io=abc"), "{s:?} of {seen:?}");
    }
    seen
}

#[tokio::test]
async fn node_client_returns_the_initial_cookie_on_its_polling_requests() {
    let seen = run("polling", Transport::Polling).await;
    assert!(
        seen[1..].iter().all(|s| s.transport == "polling"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn node_client_returns_the_initial_cookie_on_its_upgrade() {
    let seen = run("polling,websocket", Transport::WebSocket).await;
    assert!(
        seen.iter().any(|s| s.transport == "websocket"),
        "the upgrade's 101 went through the hook: {seen:?}"
    );
}
