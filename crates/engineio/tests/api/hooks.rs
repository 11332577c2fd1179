//! The engine-level hooks (Node's `initial_headers`, `headers` and
//! `connection_error` events), over real HTTP and WebSocket, through both
//! front doors: the embedded listener and the hyper service.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio::server::{
    ConnectionError, EngineIoService, ErrorContext, Refusal, ServerOptions, Service,
};
use http::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::Echo;

/// The two front doors a server can be reached through.
#[derive(Clone, Copy, Debug)]
enum Door {
    Embedded,
    Hyper,
}

const DOORS: [Door; 2] = [Door::Embedded, Door::Hyper];

/// A server with `options` behind `door`, echoing messages; its address.
/// It lives as long as the test's runtime.
async fn start(door: Door, options: ServerOptions) -> SocketAddr {
    match door {
        Door::Embedded => {
            let listening = engineio::server::serve("127.0.0.1:0", options, |_| Echo)
                .await
                .unwrap();
            let addr = listening.local_addr();
            tokio::spawn(async move {
                let _listening = listening;
                std::future::pending::<()>().await
            });
            addr
        }
        Door::Hyper => {
            let app = EngineIoService::new(Service::new(options, |_| Echo));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let app = app.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let mut app = app.clone();
                        async move { tower_service::Service::call(&mut app, req).await }
                    });
                    tokio::spawn(
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                            .with_upgrades(),
                    );
                }
            });
            addr
        }
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    /// Every value of the header `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Sends `raw` on a fresh connection and reads the response: its head
/// and `Content-Length` bytes of body (none for a 101).
async fn exchange(addr: SocketAddr, raw: &str) -> Resp {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let read = async {
        loop {
            if let Some(resp) = parse(&buf) {
                return resp;
            }
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "cut short: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("answered in time")
}

/// The response in `buf`, once all of it is there.
fn parse(buf: &[u8]) -> Option<Resp> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(n) = resp.parse(buf).unwrap() else {
        return None;
    };
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).into_owned();
            (h.name.to_ascii_lowercase(), value)
        })
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
    (buf.len() >= n + len).then(|| Resp {
        status: resp.code.unwrap(),
        headers,
        body: String::from_utf8_lossy(&buf[n..n + len]).into_owned(),
    })
}

async fn get(addr: SocketAddr, query: &str) -> Resp {
    let raw = format!(
        "GET /engine.io/?{query} HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\nConnection: close\r\n\r\n"
    );
    exchange(addr, &raw).await
}

async fn post(addr: SocketAddr, query: &str, body: &str) -> Resp {
    let raw = format!(
        "POST /engine.io/?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, &raw).await
}

/// A WebSocket opening handshake; the 101 (or the refusal).
async fn websocket(addr: SocketAddr, query: &str) -> Resp {
    let raw = format!(
        "GET /engine.io/?{query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    exchange(addr, &raw).await
}

/// A polling handshake's sid.
fn sid_of(handshake: &Resp) -> String {
    assert_eq!(handshake.status, 200, "{handshake:?}");
    let open: serde_json::Value = serde_json::from_str(&handshake.body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn initial_headers_set_a_cookie_on_the_responses_that_open_a_session_only() {
    for door in DOORS {
        let mut options = ServerOptions::default();
        options.on_initial_headers(|_, headers| {
            headers.insert("set-cookie", HeaderValue::from_static("io=abc; Path=/"));
        });
        let addr = start(door, options).await;

        let open = get(addr, "EIO=4&transport=polling").await;
        assert_eq!(open.all("set-cookie"), ["io=abc; Path=/"], "{door:?}");
        let sid = sid_of(&open);

        let sent = post(addr, &format!("EIO=4&transport=polling&sid={sid}"), "4hi").await;
        assert_eq!((sent.status, sent.body.as_str()), (200, "ok"), "{door:?}");
        assert!(sent.all("set-cookie").is_empty(), "{door:?}: {sent:?}");
        let echoed = get(addr, &format!("EIO=4&transport=polling&sid={sid}")).await;
        assert_eq!(
            (echoed.status, echoed.body.as_str()),
            (200, "4hi"),
            "{door:?}"
        );
        assert!(echoed.all("set-cookie").is_empty(), "{door:?}: {echoed:?}");

        // Upgrading that session opens none.
        let upgrade = websocket(addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
        assert_eq!(upgrade.status, 101, "{door:?}");
        assert!(
            upgrade.all("set-cookie").is_empty(),
            "{door:?}: {upgrade:?}"
        );

        let direct = websocket(addr, "EIO=4&transport=websocket").await;
        assert_eq!(direct.status, 101, "{door:?}");
        assert_eq!(direct.all("set-cookie"), ["io=abc; Path=/"], "{door:?}");
        // Still a valid handshake around it.
        assert_eq!(direct.all("upgrade"), ["websocket"], "{door:?}");
    }
}

#[tokio::test]
async fn headers_runs_for_every_response_of_a_session_after_initial_headers() {
    for door in DOORS {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut options = ServerOptions::default();
        options.on_initial_headers(|_, headers| {
            headers.insert("x-initial", HeaderValue::from_static("1"));
        });
        let log = seen.clone();
        options.on_headers(move |req, headers| {
            // It runs after initial_headers, on the same map.
            let after_initial = headers.contains_key("x-initial");
            log.lock()
                .unwrap()
                .push((req.method().clone(), after_initial));
            headers.insert("x-engine", HeaderValue::from_static("yes"));
            // Replaces the engine's own header of that name.
            headers.insert("content-type", HeaderValue::from_static("text/x-hooked"));
            // The server's framing is not the hook's to change.
            headers.insert("content-length", HeaderValue::from_static("1"));
        });
        let addr = start(door, options).await;

        let open = get(addr, "EIO=4&transport=polling").await;
        let sid = sid_of(&open);
        let query = format!("EIO=4&transport=polling&sid={sid}");
        let sent = post(addr, &query, "4hi").await;
        let echoed = get(addr, &query).await;
        assert_eq!((sent.body.as_str(), echoed.body.as_str()), ("ok", "4hi"));
        let upgrade = websocket(addr, &format!("EIO=4&transport=websocket&sid={sid}")).await;
        let direct = websocket(addr, "EIO=4&transport=websocket").await;
        for (what, r) in [
            ("handshake", &open),
            ("POST", &sent),
            ("GET", &echoed),
            ("upgrade", &upgrade),
            ("direct", &direct),
        ] {
            assert_eq!(r.all("x-engine"), ["yes"], "{door:?} {what}: {r:?}");
            assert_eq!(r.all("content-length").len(), (r.status != 101) as usize);
        }
        for r in [&open, &sent, &echoed] {
            assert_eq!(r.all("content-type"), ["text/x-hooked"], "{door:?}: {r:?}");
        }
        assert_eq!(open.all("x-initial"), ["1"]);
        assert!(sent.all("x-initial").is_empty());

        use http::Method;
        assert_eq!(
            *seen.lock().unwrap(),
            [
                (Method::GET, true),
                (Method::POST, false),
                (Method::GET, false),
                (Method::GET, false),
                (Method::GET, true),
            ],
            "{door:?}"
        );

        // A refusal is no session's response.
        let refused = get(addr, "EIO=4&transport=polling&sid=nope").await;
        assert_eq!(refused.status, 400);
        assert!(refused.all("x-engine").is_empty(), "{door:?}: {refused:?}");
        assert_eq!(seen.lock().unwrap().len(), 5, "{door:?}");
    }
}

/// What the connection_error hook saw: code, message, context, and the
/// request's query and `X-Test` header.
type Seen = (u8, &'static str, ErrorContext, String, Option<String>);

fn seen(err: &ConnectionError) -> Seen {
    let req = err.request();
    let test = req
        .headers()
        .get("x-test")
        .map(|v| v.to_str().unwrap().to_owned());
    let query = req.uri().query().unwrap_or("").to_owned();
    (
        err.code(),
        err.message(),
        err.context().clone(),
        query,
        test,
    )
}

#[tokio::test]
async fn connection_error_reports_each_refusal_with_its_code_and_context() {
    for door in DOORS {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut options = ServerOptions::default();
        options.allow_request(|req| {
            let deny = req.uri().query().is_some_and(|q| q.contains("deny"));
            async move {
                match deny {
                    true => Err(Refusal::forbidden("go away")),
                    false => Ok(()),
                }
            }
        });
        let hook_log = log.clone();
        options.on_connection_error(move |err| hook_log.lock().unwrap().push(seen(err)));
        let addr = start(door, options).await;

        let ok = get(addr, "EIO=4&transport=polling").await;
        sid_of(&ok);
        assert!(
            log.lock().unwrap().is_empty(),
            "{door:?}: a handshake is no error"
        );

        let cases: [(&str, u16, u8, &str, ErrorContext); 4] = [
            (
                "EIO=4&transport=polling&sid=nope",
                400,
                1,
                "Session ID unknown",
                ErrorContext::Sid("nope".into()),
            ),
            (
                "EIO=4&transport=pigeon",
                400,
                0,
                "Transport unknown",
                ErrorContext::Transport("pigeon".into()),
            ),
            (
                "EIO=4&transport=polling&deny",
                403,
                4,
                "go away",
                ErrorContext::Refused(Refusal::forbidden("go away")),
            ),
            (
                "EIO=3&transport=polling",
                400,
                5,
                "Unsupported protocol version",
                ErrorContext::Protocol("3".into()),
            ),
        ];
        for (query, status, code, body_message, context) in cases {
            let r = get(addr, query).await;
            assert_eq!(r.status, status, "{door:?} {query}");
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["code"], code, "{door:?} {query}");
            assert_eq!(body["message"], body_message, "{door:?} {query}");
            let official = match code {
                0 => "Transport unknown",
                1 => "Session ID unknown",
                4 => "Forbidden",
                _ => "Unsupported protocol version",
            };
            let mut log = log.lock().unwrap();
            let want = (
                code,
                official,
                context,
                query.to_owned(),
                Some("yes".into()),
            );
            assert_eq!(
                log.drain(..).collect::<Vec<_>>(),
                [want],
                "{door:?} {query}"
            );
        }

        // An unknown sid on a WebSocket, too.
        let r = websocket(addr, "EIO=4&transport=websocket&sid=gone").await;
        assert_eq!(r.status, 400, "{door:?}");
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "{door:?}");
        assert_eq!(
            (log[0].0, &log[0].2),
            (1, &ErrorContext::Sid("gone".into()))
        );
    }
}

#[tokio::test]
async fn a_panicking_hook_leaves_the_server_answering() {
    for door in DOORS {
        let mut options = ServerOptions::default();
        options.on_initial_headers(|_, headers| {
            headers.insert("x-kept", HeaderValue::from_static("1"));
        });
        options.on_headers(|_, headers| {
            headers.insert("x-dropped", HeaderValue::from_static("1"));
            panic!("a hook panicking on purpose");
        });
        options.on_connection_error(|_| panic!("a hook panicking on purpose"));
        let addr = start(door, options).await;
        for _ in 0..2 {
            let open = get(addr, "EIO=4&transport=polling").await;
            sid_of(&open);
            // What the panicking call set is dropped, the rest kept.
            assert_eq!(open.all("x-kept"), ["1"], "{door:?}");
            assert!(open.all("x-dropped").is_empty(), "{door:?}");
            let direct = websocket(addr, "EIO=4&transport=websocket").await;
            assert_eq!(direct.status, 101, "{door:?}");
            let refused = get(addr, "EIO=4&transport=polling&sid=nope").await;
            assert_eq!(refused.status, 400, "{door:?}");
        }
    }
}
