//! The hyper front door: Engine.IO mounted with `EngineIoLayer` in a plain
//! hyper 1.x server (no axum) beside another route, behind a tower
//! middleware that puts an authenticated user in the request's extensions.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use engineio::client::{Client, ClientOptions};
use engineio::server::{
    Context, Cors, EngineIoLayer, Handler, Refusal, ServerOptions, Service, SessionInfo,
};
use engineio::{ClientEvent, Payload, Transport};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_layer::Layer;

/// Echoes each message, after a first one saying who the session is for
/// and from where (what the opening request carried).
struct Greeter {
    greeting: Option<String>,
}

impl Handler for Greeter {
    type Command = ();

    async fn on_open(&mut self, ctx: &mut Context<'_>) {
        if let Some(g) = self.greeting.take() {
            ctx.send(Payload::Text(g.into()));
        }
    }

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

/// What the middleware below puts in each request.
#[derive(Clone, Debug)]
struct User(&'static str);

/// A tower middleware: the user from `Authorization`, as an auth layer would.
#[derive(Clone)]
struct Authenticate<S>(S);

impl<S, B> tower_service::Service<http::Request<B>> for Authenticate<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> S::Future {
        if req
            .headers()
            .get("authorization")
            .is_some_and(|v| v == "alice")
        {
            req.extensions_mut().insert(User("alice"));
        }
        self.0.call(req)
    }
}

/// The application's own route: "hello" for every path.
#[derive(Clone)]
struct Hello;

impl<B> tower_service::Service<http::Request<B>> for Hello {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        Box::pin(async { Ok(http::Response::new(Full::new(Bytes::from("hello")))) })
    }
}

/// A hyper server: `Authenticate(EngineIoLayer(Hello))`, the peer address
/// as a `SocketAddr` extension. Returns its address.
async fn hyper_server(options: ServerOptions) -> SocketAddr {
    let engine = Service::new(options, |info: SessionInfo<()>| {
        let user = info.request.extensions().get::<User>().map(|u| u.0);
        Greeter {
            greeting: Some(format!("{user:?} from {}", info.remote_addr.ip())),
        }
    });
    let app = Authenticate(EngineIoLayer::new(engine).layer(Hello));
    serve(app).await
}

/// Serves `app` with plain hyper (upgrades on), each request carrying the
/// peer address as a `SocketAddr` extension; returns the address.
async fn serve<S, B>(app: S) -> SocketAddr
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, remote) = listener.accept().await.unwrap();
            let app = app.clone();
            let service = hyper::service::service_fn(move |mut req| {
                req.extensions_mut().insert(remote);
                let mut app = app.clone();
                async move { app.call(req).await }
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

/// Opens a polling session; its sid.
async fn open_session(addr: SocketAddr) -> String {
    let open = exchange(
        addr,
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let sid = open.split("\"sid\":\"").nth(1).expect("a handshake");
    sid.split('"').next().unwrap().to_owned()
}

/// One request on a fresh connection; the whole response.
async fn exchange(addr: SocketAddr, req: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("answered in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

async fn next_message(c: &mut Client) -> Payload {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), c.recv())
            .await
            .expect("an event in time")
            .expect("the session is open");
        match event {
            ClientEvent::Message(m) => return m,
            ClientEvent::Closed(r) => panic!("closed: {r}"),
            _ => {}
        }
    }
}

async fn echo_through_hyper(initial: Transport, upgrade: bool) {
    let addr = hyper_server(ServerOptions::default()).await;
    let mut options = ClientOptions::default();
    options.session.initial = initial;
    options.session.upgrade = upgrade;
    options
        .headers
        .push(("authorization".into(), "alice".into()));
    let mut c = Client::connect(&format!("http://{addr}"), options)
        .await
        .unwrap();
    // The handler saw the middleware's extension and the peer address.
    assert_eq!(
        next_message(&mut c).await,
        Payload::Text("Some(\"alice\") from 127.0.0.1".into())
    );
    for i in 0..20 {
        let text = Payload::Text(format!("m{i}").into());
        c.send(text.clone()).await.unwrap();
        assert_eq!(next_message(&mut c).await, text);
    }
    let bin = Payload::Binary(Bytes::from_static(&[0, 1, 2, 255]));
    c.send(bin.clone()).await.unwrap();
    assert_eq!(next_message(&mut c).await, bin);
    c.close().await;
}

#[tokio::test]
async fn polling_through_hyper() {
    echo_through_hyper(Transport::Polling, false).await;
}

#[tokio::test]
async fn websocket_through_hyper() {
    echo_through_hyper(Transport::WebSocket, false).await;
}

#[tokio::test]
async fn upgrade_through_hyper() {
    echo_through_hyper(Transport::Polling, true).await;
}

#[tokio::test]
async fn other_paths_reach_the_inner_service() {
    let addr = hyper_server(ServerOptions::default()).await;
    let resp = exchange(
        addr,
        "GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        resp.starts_with("HTTP/1.1 200") && resp.ends_with("hello"),
        "{resp}"
    );
}

/// An async `allow_request` sees what tower middleware put in the request
/// and refuses with its own status and message.
#[tokio::test]
async fn allow_request_sees_extensions_and_refuses_with_status_and_message() {
    let mut options = ServerOptions::default();
    options.allow_request(|req| {
        let user = req.extensions().get::<User>().cloned();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            match user {
                Some(_) => Ok(()),
                None => Err(Refusal::new(401, "who are you?")),
            }
        }
    });
    let addr = hyper_server(options).await;
    let refused = exchange(
        addr,
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(
        refused.ends_with(r#"{"code":4,"message":"who are you?"}"#),
        "{refused}"
    );
    let admitted = exchange(
        addr,
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nAuthorization: alice\r\n\
Connection: close\r\n\r\n",
    )
    .await;
    assert!(admitted.starts_with("HTTP/1.1 200"), "{admitted}");
    assert!(admitted.contains("\r\n\r\n0{\"sid\":"), "{admitted}");
}

/// A POST that declares a body over the limit is refused before any of it
/// is sent.
#[tokio::test]
async fn a_declared_body_over_max_payload_gets_413_before_it_is_sent() {
    let mut options = ServerOptions::default();
    options.session.max_payload = 1000;
    let addr = hyper_server(options).await;
    let sid = open_session(addr).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
Content-Length: 100000000\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf))
        .await
        .expect("answered without the body")
        .unwrap();
    let resp = String::from_utf8_lossy(&buf[..n]);
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
}

/// A client that goes away while its long-poll waits ends its session
/// ("transport error"), as through the embedded listener: hyper drops the
/// response future, and the session hears of it.
#[tokio::test]
async fn a_long_poll_dropped_by_hyper_closes_the_session() {
    let (tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
    struct Watch(tokio::sync::mpsc::UnboundedSender<engineio::CloseReason>);
    impl Handler for Watch {
        type Command = ();
        async fn on_message(&mut self, _: &mut Context<'_>, _: Payload) {}
        async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
        async fn on_close(&mut self, reason: engineio::CloseReason) {
            let _ = self.0.send(reason);
        }
    }
    let engine = Service::new(ServerOptions::default(), move |_: SessionInfo<()>| {
        Watch(tx.clone())
    });
    let app = EngineIoLayer::new(engine.clone()).layer(Hello);
    let addr = serve(app).await;
    let sid = open_session(addr).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let poll =
        format!("GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n");
    tcp.write_all(poll.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(tcp);
    let reason = tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("the session closed")
        .unwrap();
    assert_eq!(reason, engineio::CloseReason::TransportError);
}

#[tokio::test]
async fn a_body_over_max_payload_gets_413() {
    let mut options = ServerOptions::default();
    options.session.max_payload = 1000;
    let addr = hyper_server(options).await;
    let sid = open_session(addr).await;
    let body = "4".repeat(2000);
    let resp = exchange(
        addr,
        &format!(
            "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
}

/// CORS as the `cors` options of the official server: a list of origins,
/// credentials, allowed and exposed headers, max age; the same in both
/// front doors (one implementation), checked here through hyper.
#[tokio::test]
async fn cors_list_credentials_headers_and_max_age() {
    let mut options = ServerOptions::default();
    options.cors = Some(
        Cors::origins(["https://app.test", "https://admin.test"])
            .with_credentials()
            .with_allowed_headers(["authorization", "x-trace"])
            .with_exposed_headers(["x-served-by"])
            .with_max_age(Duration::from_secs(600)),
    );
    let addr = hyper_server(options).await;
    let get = |origin: &str| {
        format!(
            "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
Connection: close\r\n\r\n"
        )
    };
    let allowed = exchange(addr, &get("https://admin.test"))
        .await
        .to_lowercase();
    for h in [
        "access-control-allow-origin: https://admin.test",
        "access-control-allow-credentials: true",
        "access-control-expose-headers: x-served-by",
        "vary: origin",
    ] {
        assert!(allowed.contains(h), "{h} in {allowed}");
    }
    let other = exchange(addr, &get("https://evil.test"))
        .await
        .to_lowercase();
    assert!(other.starts_with("http/1.1 200"), "{other}");
    assert!(!other.contains("access-control-allow-origin"), "{other}");
    let preflight = exchange(
        addr,
        "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://app.test\r\n\
Access-Control-Request-Headers: x-anything\r\nConnection: close\r\n\r\n",
    )
    .await
    .to_lowercase();
    assert!(preflight.starts_with("http/1.1 204"), "{preflight}");
    for h in [
        "access-control-allow-origin: https://app.test",
        "access-control-allow-headers: authorization, x-trace",
        "access-control-max-age: 600",
        "access-control-allow-methods: get, post",
    ] {
        assert!(preflight.contains(h), "{h} in {preflight}");
    }
}

/// `Cors::any` with credentials echoes the origin (browsers refuse `*`
/// with credentials); a predicate decides per origin.
#[tokio::test]
async fn cors_any_with_credentials_and_predicate() {
    let get = |origin: &str| {
        format!(
            "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
Connection: close\r\n\r\n"
        )
    };
    let mut options = ServerOptions::default();
    options.cors = Some(Cors::any().with_credentials());
    let addr = hyper_server(options).await;
    let resp = exchange(addr, &get("https://a.test")).await.to_lowercase();
    assert!(
        resp.contains("access-control-allow-origin: https://a.test"),
        "{resp}"
    );

    let mut options = ServerOptions::default();
    options.cors = Some(Cors::predicate(|o| o.ends_with(".example.com")));
    let addr = hyper_server(options).await;
    let yes = exchange(addr, &get("https://eu.example.com"))
        .await
        .to_lowercase();
    assert!(
        yes.contains("access-control-allow-origin: https://eu.example.com"),
        "{yes}"
    );
    let no = exchange(addr, &get("https://example.org"))
        .await
        .to_lowercase();
    assert!(!no.contains("access-control-allow-origin"), "{no}");
}

/// A graceful shutdown through the mount: sessions get their close, new
/// ones are refused with 503, the rest of the app goes on.
#[tokio::test]
async fn shutdown_through_hyper() {
    let engine = Service::new(ServerOptions::default(), |_: SessionInfo<()>| Greeter {
        greeting: None,
    });
    let app = EngineIoLayer::new(engine.clone()).layer(Hello);
    let addr = serve(app).await;
    let mut clients = Vec::new();
    for initial in [Transport::Polling, Transport::WebSocket] {
        let mut options = ClientOptions::default();
        options.session.initial = initial;
        options.session.upgrade = false;
        clients.push(
            Client::connect(&format!("http://{addr}"), options)
                .await
                .unwrap(),
        );
    }
    assert_eq!(engine.session_count(), 2);
    let dropped = engine.shutdown(Duration::from_secs(5)).await;
    assert_eq!(dropped, 0);
    assert_eq!(engine.session_count(), 0);
    for c in &mut clients {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), c.recv()).await {
                Ok(Some(ClientEvent::Closed(_)) | None) => break,
                Ok(Some(_)) => {}
                Err(_) => panic!("the client was told"),
            }
        }
    }
    let refused = exchange(
        addr,
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    let hello = exchange(
        addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(hello.ends_with("hello"), "{hello}");
}
