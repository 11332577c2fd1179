//! socketio-server against the official Node `socket.io-client`.

use std::time::{Duration, Instant};

use socketio_server::{AckError, ConnectError, DisconnectReason, Server, ServerOptions};
use tokio::sync::mpsc;

use crate::node::NodePeer;

/// The scenario server; returns its URL and the disconnect reasons it saw.
async fn scenario_server() -> (String, Server, mpsc::UnboundedReceiver<String>) {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let url = format!("http://{}", server.local_addr());
    let rx = scenario_handlers(&server);
    (url, server, rx)
}

/// The scenario's namespaces and handlers, on any server (embedded listener,
/// TLS, an axum mount); returns the disconnect reasons it will see.
pub(crate) fn scenario_handlers(server: &Server) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let main = server.of("/");
    main.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a) if a["token"] == "ok" => Ok(()),
        _ => Err(ConnectError::new("not authorized").with_data(serde_json::json!({"code": 401}))),
    });
    main.on_connect(move |socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |s, reason| {
            let _ = tx.send(format!("{} {reason}", s.ns().name()));
        });
        let _ = socket.emit("welcome", &(socket.id(),));
        socket.on_raw("echo", |s, p| async move {
            s.emit_raw_args("echo-back", &p).unwrap();
        });
        socket.on_raw("ack-me", |s, p| async move {
            s.ack_raw_args(p.id().unwrap(), &p).unwrap();
        });
        socket.on("ask", |s, (): (), _| async move {
            let answer: (serde_json::Value,) = s
                .emit_with_ack("question", &("how old?",), Duration::from_secs(5))
                .await
                .unwrap();
            s.emit("answer-received", &answer).unwrap();
        });
        socket.on("join", |s, (room,): (String,), ack| async move {
            s.join(&room);
            ack.unwrap().send(&()).unwrap();
        });
        socket.on("shout", |s, (room, text): (String, String), _| async move {
            s.to(&room).emit("shouted", &(text,)).unwrap();
        });
        socket.on("bye", |s, (): (), _| async move { s.disconnect() });
        socket.on("ask-silent", |s, (): (), _| async move {
            let asked = Instant::now();
            let r = s
                .emit_with_ack::<_, ()>("unanswered", &(), Duration::from_millis(300))
                .await;
            let waited = asked.elapsed();
            let verdict = match r {
                Err(AckError::Timeout) if waited >= Duration::from_millis(300) => "ok".to_owned(),
                r => format!("{r:?} after {waited:?}"),
            };
            s.emit("server-ack-timeout", &(verdict,)).unwrap();
        });
        socket.on("vol-please", |s, (): (), _| async move {
            s.emit_volatile("vol", &()).unwrap();
        });
        socket.on("drop-me", |s, (): (), _| async move { s.close_transport() });
    });
    let admin = server.of("/admin");
    admin.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a) if a["admin"] == true => Ok(()),
        _ => Err(ConnectError::new("admins only")),
    });
    admin.on_connect(|socket| {
        let _ = socket.emit("welcome", &(socket.id(),));
    });
    rx
}

async fn scenario(transports: &str) {
    let (url, _server, reasons) = scenario_server().await;
    scenario_at(&url, reasons, transports, &[]).await;
}

/// The official client's scenario against the server at `url`, set up with
/// [`scenario_handlers`]; `env` for the Node process (a CA to trust).
pub(crate) async fn scenario_at(
    url: &str,
    mut reasons: mpsc::UnboundedReceiver<String>,
    transports: &str,
    env: &[(&str, &str)],
) {
    let mut node = NodePeer::spawn_with_env("sio_client.js", &[url, transports], env);
    for want in [
        r#"refused not authorized {"code":401}"#,
        "welcome",
        "echo ok",
        "ack ok",
        r#"answer {"age":30,"q":"how old?"}"#,
        "admin refused admins only",
        "admin ok",
        "room ok hi room",
        "disconnected io server disconnect",
    ] {
        assert_eq!(node.line().await, want, "over {transports}");
    }
    assert!(node.success().await);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let r = tokio::time::timeout(Duration::from_secs(5), reasons.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(r);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            format!("/ {}", DisconnectReason::ClientNamespaceDisconnect),
            format!("/ {}", DisconnectReason::ServerNamespaceDisconnect),
        ]
    );
}

#[tokio::test]
async fn socket_io_client_over_polling() {
    scenario("polling").await;
}

#[tokio::test]
async fn socket_io_client_over_websocket() {
    scenario("websocket").await;
}

#[tokio::test]
async fn socket_io_client_with_upgrade() {
    scenario("polling,websocket").await;
}

async fn resilience(transports: &str) {
    let (url, _server, mut reasons) = scenario_server().await;
    let mut node = NodePeer::spawn("sio_resilience.js", &[&url, transports]);
    for want in [
        "broadcast ok 9",
        "client ack timeout operation has timed out",
        "server ack timeout ok",
        "volatile ok",
        "dropped transport close",
        "reconnected",
    ] {
        assert_eq!(node.line().await, want, "over {transports}");
    }
    assert!(node.success().await);
    // The dropped connection; the client that closed its transport; the
    // eight others and the reconnected one leaving the namespace.
    let mut want = vec![format!("/ {}", DisconnectReason::ForcedClose)];
    want.push(format!("/ {}", DisconnectReason::TransportClose));
    want.extend(std::iter::repeat_n(
        format!("/ {}", DisconnectReason::ClientNamespaceDisconnect),
        9,
    ));
    let mut seen = Vec::new();
    while seen.len() < want.len() {
        let r = tokio::time::timeout(Duration::from_secs(5), reasons.recv())
            .await
            .unwrap_or_else(|_| panic!("only {seen:?}"))
            .unwrap();
        seen.push(r);
    }
    seen.sort();
    want.sort();
    assert_eq!(seen, want, "over {transports}");
}

#[tokio::test]
async fn resilience_over_polling() {
    resilience("polling").await;
}

#[tokio::test]
async fn resilience_over_websocket() {
    resilience("websocket").await;
}

#[tokio::test]
async fn resilience_with_upgrade() {
    resilience("polling,websocket").await;
}
