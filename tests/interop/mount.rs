//! socketio-server's other front doors against the official Node
//! `socket.io-client`: mounted in an axum app (beside the app's own routes,
//! on its port), and on the embedded listener over TLS; and the graceful
//! shutdown through each.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use socketio_server::{DisconnectReason, Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::node::NodePeer;
use crate::socketio::{scenario_at, scenario_handlers};

/// `server` mounted with `.layer()` in an axum Router that has its own
/// `GET /health`; returns its address.
async fn axum_app(server: &Server) -> SocketAddr {
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .layer(server.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// One plain HTTP/1.1 GET; the whole response.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

async fn mounted(transports: &str) {
    let server = Server::new(ServerOptions::default());
    let reasons = scenario_handlers(&server);
    let addr = axum_app(&server).await;
    // The app's own route answers on the same port.
    let health = get(addr, "/health").await;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok"),
        "{health}"
    );
    let missing = get(addr, "/nope").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    scenario_at(&format!("http://{addr}"), reasons, transports, &[]).await;
}

#[tokio::test]
async fn node_client_against_axum_mount_over_polling() {
    mounted("polling").await;
}

#[tokio::test]
async fn node_client_against_axum_mount_over_websocket() {
    mounted("websocket").await;
}

#[tokio::test]
async fn node_client_against_axum_mount_with_upgrade() {
    mounted("polling,websocket").await;
}

/// Mounted, CORS may be left to tower-http's `CorsLayer` around the whole
/// app (the server's own `cors` left `None`): the layer answers preflights
/// and adds its headers to Socket.IO's answers too.
#[tokio::test]
async fn under_tower_http_cors_layer() {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let server = Server::new(ServerOptions::default());
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .layer(server.layer())
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(["https://app.test".parse().unwrap()]))
                .allow_credentials(true),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let ask = |method: &str| {
        format!(
            "{method} /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\
Origin: https://app.test\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"
        )
    };
    let send = |req: String| async move {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        tcp.read_to_string(&mut out).await.unwrap();
        out.to_lowercase()
    };
    let preflight = send(ask("OPTIONS")).await;
    assert!(preflight.starts_with("http/1.1 200"), "{preflight}");
    assert!(
        preflight.contains("access-control-allow-origin: https://app.test"),
        "{preflight}"
    );
    let open = send(ask("GET")).await;
    assert!(open.contains("\r\n\r\n0{\"sid\":"), "{open}");
    assert!(
        open.contains("access-control-allow-origin: https://app.test")
            && open.contains("access-control-allow-credentials: true"),
        "{open}"
    );
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, made now,
/// written to a fresh directory: (certificate path, key path).
pub(crate) fn test_certificate(tag: &str) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen makes a certificate");
    let dir = std::env::temp_dir().join(format!("realtime-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

async fn tls_server(tag: &str) -> (Server, PathBuf) {
    tls_server_with(tag, ServerOptions::default()).await
}

async fn tls_server_with(tag: &str, options: ServerOptions) -> (Server, PathBuf) {
    let (cert, key) = test_certificate(tag);
    let config = socketio_server::tls::server_config_from_pem(
        &std::fs::read(&cert).unwrap(),
        &std::fs::read(&key).unwrap(),
    )
    .unwrap();
    let server = Server::bind_tls("127.0.0.1:0", options, std::sync::Arc::new(config))
        .await
        .unwrap();
    (server, cert)
}

async fn over_tls(transports: &str) {
    let (server, cert) = tls_server(transports).await;
    let reasons = scenario_handlers(&server);
    // `localhost`, so that the certificate's name is checked too.
    let url = format!("https://localhost:{}", server.local_addr().port());
    let ca = cert.to_str().unwrap();
    scenario_at(&url, reasons, transports, &[("NODE_EXTRA_CA_CERTS", ca)]).await;
}

#[tokio::test]
async fn node_client_over_https_polling() {
    over_tls("polling").await;
}

#[tokio::test]
async fn node_client_over_wss() {
    over_tls("websocket").await;
}

#[tokio::test]
async fn node_client_over_https_with_upgrade_to_wss() {
    over_tls("polling,websocket").await;
}

/// A TLS client that never finishes its handshake holds only its own
/// connection, and only until the head deadline.
#[tokio::test]
async fn a_stalled_tls_handshake_does_not_stop_others() {
    let mut options = ServerOptions::default();
    options.engine.http.timeout = Duration::from_millis(1500);
    let (server, cert) = tls_server_with("stall", options).await;
    let addr = server.local_addr();
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        // Half a ClientHello record header, then nothing.
        tcp.write_all(&[0x16, 0x03]).await.unwrap();
        stalled.push(tcp);
    }
    let ca = cert.to_str().unwrap();
    let url = format!("https://localhost:{}", addr.port());
    let reasons = scenario_handlers(&server);
    scenario_at(&url, reasons, "websocket", &[("NODE_EXTRA_CA_CERTS", ca)]).await;
    // Then each stalled one is closed at the deadline.
    for mut tcp in stalled {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0) | Err(_))), "closed, not {read:?}");
    }
}

/// Node clients `a` and `b` on `url`; `shutdown` runs once they are ready.
/// Each client sees its transport close (it would reconnect); each socket
/// on the server ends with "server shutting down", as Node's `io.close()`.
async fn shutdown_case<F: std::future::Future<Output = usize>>(
    server: &Server,
    url: &str,
    shutdown: impl FnOnce() -> F,
) {
    let (tx, mut reasons) = tokio::sync::mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        // The peer's real address, in both front doors (mounted: axum's
        // ConnectInfo, read with the `axum` feature).
        let address = socket.handshake().address;
        assert!(
            address.ip().is_loopback() && address.port() != 0,
            "{address}"
        );
        let tx = tx.clone();
        socket.on_disconnect(move |_, reason| {
            let _ = tx.send(reason);
        });
    });
    let mut node = NodePeer::spawn("sio_client_cases.js", &[url, "shutdown"]);
    assert_eq!(node.line().await, "ready");
    let dropped = tokio::time::timeout(Duration::from_secs(10), shutdown())
        .await
        .expect("the shutdown ends within its grace");
    assert_eq!(dropped, 0, "every client was closed within the grace");
    let mut lines = vec![node.line().await, node.line().await];
    lines.sort();
    assert_eq!(
        lines,
        [
            "disconnect a transport close",
            "disconnect b transport close"
        ]
    );
    for _ in 0..2 {
        let reason = tokio::time::timeout(Duration::from_secs(5), reasons.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reason, DisconnectReason::ServerShuttingDown);
        assert_eq!(reason.as_str(), "server shutting down");
    }
    assert!(node.success().await);
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn graceful_shutdown_on_the_embedded_listener() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr();
    let url = format!("http://{addr}");
    shutdown_case(&server, &url, || server.shutdown(Duration::from_secs(5))).await;
    // The listener is closed.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn graceful_shutdown_through_an_axum_mount() {
    let server = Server::new(ServerOptions::default());
    let addr = axum_app(&server).await;
    let url = format!("http://{addr}");
    shutdown_case(&server, &url, || server.shutdown(Duration::from_secs(5))).await;
    // The app goes on serving; new sessions are refused.
    let refused = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    let health = get(addr, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
}
