//! What the server reports through `tracing`, captured by a layer that
//! records every event with the fields of the spans it is in: a handler's
//! events carry its session and socket, even after it waits; a refusal
//! carries its namespace and message; a disconnect its reason; no field
//! carries the `auth` payload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketio_server::{ConnectError, Server, ServerOptions};
use tokio::net::TcpStream;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use ws_frame::{Message, WebSocketStream};

type Fields = HashMap<String, String>;

#[derive(Default)]
struct Visitor(Fields);

impl Visit for Visitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// One event: its fields (`message` is its text) and, from the innermost
/// out, the spans it is in with their fields.
#[derive(Clone, Debug)]
struct Captured {
    fields: Fields,
    scope: Vec<(&'static str, Fields)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn span(&self, name: &str) -> Option<&Fields> {
        self.scope.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Capture {
    fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (bounded) for an event with this text.
    async fn wait_for(&self, message: &str) -> Captured {
        let found = async {
            loop {
                if let Some(e) = self
                    .events()
                    .into_iter()
                    .find(|e| e.field("message") == Some(message))
                {
                    return e;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), found)
            .await
            .unwrap_or_else(|_| panic!("no event {message:?} in {:#?}", self.events()))
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut v = Visitor::default();
        attrs.record(&mut v);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(v.0);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(fields) = ext.get_mut::<Fields>() {
                let mut v = Visitor(std::mem::take(fields));
                values.record(&mut v);
                *fields = v.0;
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut v = Visitor::default();
        event.record(&mut v);
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|span| {
                        let fields = span.extensions().get::<Fields>().cloned();
                        (span.name(), fields.unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().push(Captured { fields: v.0, scope });
    }
}

type Ws = WebSocketStream<TcpStream>;

async fn recv(ws: &mut Ws) -> String {
    match tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a message in time")
    {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn json_after(prefix: &str, text: &str) -> serde_json::Value {
    let rest = text
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{text:?} does not start with {prefix:?}"));
    serde_json::from_str(rest).unwrap()
}

async fn scenario(capture: Capture) {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    server
        .of("/admin")
        .use_middleware(|_| Err(ConnectError::new("admins only")));
    server.of("/").on_connect(|socket| {
        socket.on("hello", |socket, (): (), _ack| async move {
            tracing::info!("in handler");
            // Pending once: the rest runs on a task of its own.
            tokio::task::yield_now().await;
            tracing::info!("in handler after a wait");
            let _ = socket.emit("done", &());
        });
    });
    let addr = server.local_addr();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = ws_frame::connect(tcp, &url).await.unwrap();
    let sid = json_after("0", &recv(&mut ws).await)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    ws.send(Message::text(r#"40{"token":"s3cret-token"}"#))
        .await
        .unwrap();
    let id = json_after("40", &recv(&mut ws).await)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    ws.send(Message::text("40/admin,")).await.unwrap();
    let refused = json_after("44/admin,", &recv(&mut ws).await);
    assert_eq!(refused["message"], "admins only");
    ws.send(Message::text(r#"42["hello"]"#)).await.unwrap();
    assert_eq!(recv(&mut ws).await, r#"42["done"]"#);

    for text in ["in handler", "in handler after a wait"] {
        let e = capture.wait_for(text).await;
        let socket = e.span("socket").unwrap_or_else(|| panic!("{e:#?}"));
        assert_eq!(socket.get("nsp").map(String::as_str), Some("/"), "{e:#?}");
        assert_eq!(socket.get("id"), Some(&id), "{e:#?}");
        let session = e.span("session").unwrap_or_else(|| panic!("{e:#?}"));
        assert_eq!(session.get("sid"), Some(&sid), "{e:#?}");
        assert_eq!(
            session.get("transport").map(String::as_str),
            Some("websocket")
        );
    }

    let e = capture.wait_for("namespace connection refused").await;
    assert_eq!(e.field("nsp"), Some("/admin"), "{e:#?}");
    assert_eq!(e.field("refusal"), Some("admins only"), "{e:#?}");
    assert_eq!(e.span("session").and_then(|s| s.get("sid")), Some(&sid));

    let e = capture.wait_for("socket connected").await;
    assert_eq!(e.span("socket").and_then(|s| s.get("id")), Some(&id));

    // The client leaves the namespace, then the connection.
    ws.send(Message::text("41")).await.unwrap();
    let e = capture.wait_for("socket disconnected").await;
    assert_eq!(
        e.field("reason"),
        Some("client namespace disconnect"),
        "{e:#?}"
    );
    assert_eq!(e.span("socket").and_then(|s| s.get("id")), Some(&id));
    ws.send(Message::text("1")).await.unwrap();
    let e = capture.wait_for("session closed").await;
    assert_eq!(e.field("reason"), Some("transport close"), "{e:#?}");
    assert_eq!(e.span("session").and_then(|s| s.get("sid")), Some(&sid));

    // The counters saw the same. The session's counts join the totals when
    // its task ends, after "session closed" is reported: wait for that.
    let ended = async {
        while server.metrics().engine.sessions_websocket != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ended)
        .await
        .unwrap_or_else(|_| panic!("the session's task in time: {:?}", server.metrics()));
    let m = server.metrics();
    assert_eq!(
        (m.sockets_total, m.sockets_open, m.connect_refused),
        (1, 0, 1),
        "{m:?}"
    );
    assert_eq!(
        (m.engine.sessions_total, m.engine.messages_in),
        (1, 4),
        "{m:?}"
    );

    // Nothing recorded the auth payload.
    for e in capture.events() {
        let values = e
            .fields
            .values()
            .chain(e.scope.iter().flat_map(|(_, f)| f.values()));
        for v in values {
            assert!(!v.contains("s3cret"), "a secret in {e:#?}");
        }
    }
}

#[test]
fn handler_events_carry_their_session_and_socket() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    // One thread: the server's tasks run where the subscriber is the
    // default.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // With a single Dispatch in the process, tracing-core registers a
    // callsite with the default of whichever thread reaches it first
    // (tokio-rs/tracing#3611): another test's thread, with no subscriber,
    // would cache "never" for the server's callsites process-wide, and this
    // test would miss events. A second live Dispatch makes registration ask
    // every registered one.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::subscriber::with_default(subscriber, || {
        // Callsites registered while the two were being set up.
        tracing::callsite::rebuild_interest_cache();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), scenario(capture))
                .await
                .expect("the scenario in time")
        })
    });
}
