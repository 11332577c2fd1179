//! Our three clients over TLS against Node's `https` server
//! (`tests/js/https_peers.js`): ws-frame on `wss://`, engineio on
//! `https://` over each transport mode, socketio-client on `https://`. The
//! certificate is made here, for `localhost` and `127.0.0.1`; the clients
//! trust it as their only root. With the webpki roots alone, each client is
//! refused at once with the certificate's reason, and Node sees the alert.

use std::time::Duration;

use bytes::Bytes;
use engineio::client::tls::ClientTls;
use engineio::client::{Client, ClientOptions, ConnectError};
use engineio::{ClientEvent, Payload, Transport};
use futures_util::{SinkExt, StreamExt};
use rustls::CertificateError;
use socketio_client::Manager;
use tokio::sync::mpsc;
use ws_frame::tls::TlsError;
use ws_frame::{ConnectOptions, Message};

use crate::node::NodePeer;

/// The Node server on a fresh certificate: the peer, its port, and the
/// certificate's PEM, which the clients trust as their root.
async fn https_peers() -> (NodePeer, u16, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let dir = std::env::temp_dir().join(format!(
        "realtime-tls-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, &key_pem).unwrap();
    let mut node = NodePeer::spawn(
        "https_peers.js",
        &[cert_path.to_str().unwrap(), key_path.to_str().unwrap()],
    );
    let port = node.line().await;
    // Node has read the files by the time it listens.
    let _ = std::fs::remove_dir_all(&dir);
    let port = port.strip_prefix("port ").unwrap().parse().unwrap();
    (node, port, cert_pem)
}

/// Distinct per call within this process, for the temporary directory.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn trusting(root: &str) -> ClientTls {
    ClientTls::with_root_pem(root.as_bytes()).unwrap()
}

/// What a refused certificate must look like: rustls's unknown issuer.
fn is_unknown_issuer(e: &TlsError) -> bool {
    matches!(
        e,
        TlsError::Handshake(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    )
}

/// Node's view of a client that refused its certificate: rustls sends the
/// `unknown_ca` alert.
async fn node_saw_unknown_ca(node: &mut NodePeer) {
    let line = node.line().await;
    assert!(
        line.starts_with("tls error") && line.contains("UNKNOWN_CA"),
        "{line}"
    );
}

#[tokio::test]
async fn ws_frame_wss_against_node_ws() {
    let (_node, port, root) = https_peers().await;
    let mut options = ConnectOptions::default();
    options.tls = Some(trusting(&root));
    let url = format!("wss://localhost:{port}/ws");
    let (mut ws, resp) = ws_frame::connect_url(&url, &options).await.unwrap();
    assert_eq!(resp.status(), 101);
    for msg in [
        Message::text("héllo over tls"),
        Message::binary(vec![7u8; 200_000]),
    ] {
        ws.send(msg.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), msg);
    }
    ws.close().await.unwrap();
    while ws.next().await.is_some() {}
}

async fn next_message(c: &mut Client) -> Payload {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.recv())
            .await
            .expect("a message in time")
        {
            Some(ClientEvent::Message(p)) => return p,
            Some(ClientEvent::Upgraded) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Our engineio client on `https://127.0.0.1` (the certificate's IP
/// address): echoes, and Node's log of the transport (`opened`).
async fn engineio_over_tls(transport: Transport, upgrade: bool, opened: &[&str]) {
    let (mut node, port, root) = https_peers().await;
    let mut options = ClientOptions::default();
    options.session.initial = transport;
    options.session.upgrade = upgrade;
    options.tls = Some(trusting(&root));
    let url = format!("https://127.0.0.1:{port}");
    let mut c = Client::connect(&url, options).await.unwrap();
    let sent = [
        Payload::Text("hello over tls".into()),
        Payload::Binary(Bytes::from_static(&[0, 1, 2, 255])),
        Payload::Text("z".repeat(100_000).into()),
    ];
    for p in &sent {
        c.send(p.clone()).await.unwrap();
    }
    for p in &sent {
        assert_eq!(&next_message(&mut c).await, p);
    }
    for want in opened {
        assert_eq!(node.line().await, *want);
    }
    if upgrade {
        // After the upgrade, the WebSocket (over TLS) carries the echo.
        c.send(Payload::Text("upgraded".into())).await.unwrap();
        assert_eq!(next_message(&mut c).await, Payload::Text("upgraded".into()));
    }
    c.close().await;
}

#[tokio::test]
async fn engineio_https_polling_only() {
    engineio_over_tls(Transport::Polling, false, &["eio connection polling"]).await;
}

#[tokio::test]
async fn engineio_wss_websocket_only() {
    engineio_over_tls(Transport::WebSocket, false, &["eio connection websocket"]).await;
}

#[tokio::test]
async fn engineio_https_polling_then_upgrade() {
    engineio_over_tls(
        Transport::Polling,
        true,
        &["eio connection polling", "eio upgrade websocket"],
    )
    .await;
}

#[tokio::test]
async fn socketio_client_https_echo_with_ack() {
    let (_node, port, root) = https_peers().await;
    let mut options = socketio_client::ClientOptions::default();
    options.engine.tls = Some(trusting(&root));
    options.reconnection = false;
    let manager = Manager::new(&format!("https://localhost:{port}"), options);
    let socket = manager.socket("/", None);
    // Emitted before the connection is up: it waits, then goes over TLS.
    let (text, n): (String, u32) = socket
        .emit_with_ack("echo", &("over tls", 42), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((text.as_str(), n), ("over tls", 42));
    manager.close();
}

/// With only the webpki roots, each client is refused at once with the
/// certificate's reason, and Node sees the alert each time.
#[tokio::test]
async fn with_the_webpki_roots_alone_each_client_is_refused() {
    let (mut node, port, _) = https_peers().await;
    let in_time = Duration::from_secs(5);

    let url = format!("wss://localhost:{port}/ws");
    let err = tokio::time::timeout(
        in_time,
        ws_frame::connect_url(&url, &ConnectOptions::default()),
    )
    .await
    .expect("refused, not hung")
    .unwrap_err();
    assert!(
        matches!(&err, ws_frame::Error::Tls(e) if is_unknown_issuer(e)),
        "{err:?}"
    );
    node_saw_unknown_ca(&mut node).await;

    for transport in [Transport::Polling, Transport::WebSocket] {
        let mut options = ClientOptions::default();
        options.session.initial = transport;
        let url = format!("https://127.0.0.1:{port}");
        let err = tokio::time::timeout(in_time, Client::connect(&url, options))
            .await
            .expect("refused, not hung")
            .unwrap_err();
        assert!(
            matches!(&err, ConnectError::Tls(e) if is_unknown_issuer(e)),
            "{transport:?}: {err:?}"
        );
        node_saw_unknown_ca(&mut node).await;
    }

    let mut options = socketio_client::ClientOptions::default();
    options.reconnection = false;
    let manager = Manager::new(&format!("https://localhost:{port}"), options);
    let (tx, mut errors) = mpsc::unbounded_channel();
    manager.socket("/", None).on_connect_error(move |_, data| {
        let _ = tx.send(data.to_string());
    });
    let error = tokio::time::timeout(in_time, errors.recv())
        .await
        .expect("refused, not hung")
        .unwrap();
    assert!(error.contains("invalid peer certificate"), "{error}");
    node_saw_unknown_ca(&mut node).await;
    manager.close();
}
