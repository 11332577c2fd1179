//! The client's transports against a hand-driven server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use ws_frame::Message;

use super::{Client, ClientOptions};
use crate::client_session::ClientEvent;
use crate::{CloseReason, Transport};

const OPEN: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// Closing a WebSocket session waits for the server's close frame: the
/// connection then ends with the client's FIN, not with a reset that the
/// kernel sends when the server's close frame reaches a socket already
/// dropped.
#[tokio::test]
async fn websocket_close_reads_the_servers_close_frame_before_dropping() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = ws_frame::accept(tcp).await.unwrap();
        ws.send(Message::Text(OPEN.into())).await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Close(_))) => {}
            other => panic!("expected the client's close frame, got {other:?}"),
        }
        // The stream answers with our close frame and shuts our side.
        assert!(ws.next().await.is_none(), "the stream ends after the echo");
        let tcp = ws.get_mut();
        let mut rest = [0u8; 16];
        let n = tcp
            .read(&mut rest)
            .await
            .expect("the client's end of stream");
        (n, tcp.take_error().unwrap().map(|e| e.kind()))
    });
    let mut options = ClientOptions::default();
    options.session.initial = Transport::WebSocket;
    options.session.upgrade = false;
    let mut client = Client::connect(&url, options).await.unwrap();
    client.close().await;
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(5), client.recv())
            .await
            .expect("the close is reported")
        {
            Some(ClientEvent::Closed(r)) => break r,
            Some(_) => {}
            None => panic!("no close event"),
        }
    };
    assert_eq!(reason, CloseReason::ForcedClose);
    let (n, error) = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server sees the connection end")
        .unwrap();
    assert_eq!(n, 0, "nothing after the close frame, then the client's FIN");
    assert_eq!(error, None, "the connection was not reset");
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn https_without_the_tls_feature_says_which_feature() {
    let err = Client::connect("https://127.0.0.1:1", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, super::ConnectError::TlsNotEnabled(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("`tls` feature"), "{err}");
}

/// Over TLS, against hand-driven servers whose certificate is made here.
#[cfg(feature = "tls")]
mod tls {
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use ws_frame::Message;
    use ws_frame::tls::rustls::{self, CertificateError};
    use ws_frame::tls::tokio_rustls::{TlsAcceptor, server::TlsStream};
    use ws_frame::tls::{ClientTls, TlsError, server_config_from_pem};

    use super::OPEN;
    use crate::Transport;
    use crate::client::{Client, ClientOptions, ConnectError};

    /// A listener and a TLS acceptor with a self-signed certificate for
    /// `localhost` and `127.0.0.1`; the URL's host is `localhost`. Returns
    /// the URL, the certificate's PEM (to trust as a root) and the pieces.
    async fn tls_listener() -> (String, String, TcpListener, TlsAcceptor) {
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let config = server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        (url, cert_pem, listener, TlsAcceptor::from(Arc::new(config)))
    }

    async fn accept(
        listener: &TcpListener,
        acceptor: &TlsAcceptor,
    ) -> TlsStream<tokio::net::TcpStream> {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        // The client named the host it wanted.
        assert_eq!(tls.get_ref().1.server_name(), Some("localhost"));
        tls
    }

    fn trusting(root: &str, transport: Transport) -> ClientOptions {
        let mut options = ClientOptions::default();
        options.session.initial = transport;
        options.session.upgrade = false;
        options.tls = Some(ClientTls::with_root_pem(root.as_bytes()).unwrap());
        options
    }

    #[tokio::test]
    async fn polling_over_https() {
        let (url, root, listener, acceptor) = tls_listener().await;
        let server = tokio::spawn(async move {
            let mut tls = accept(&listener, &acceptor).await;
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                assert_eq!(tls.read(&mut byte).await.unwrap(), 1);
                head.push(byte[0]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{OPEN}",
                OPEN.len()
            );
            tls.write_all(answer.as_bytes()).await.unwrap();
            tls.flush().await.unwrap();
            String::from_utf8(head).unwrap()
        });
        let client = Client::connect(&url, trusting(&root, Transport::Polling))
            .await
            .unwrap();
        assert_eq!(client.sid(), "s1");
        let head = server.await.unwrap();
        assert!(
            head.starts_with("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn websocket_over_wss() {
        let (url, root, listener, acceptor) = tls_listener().await;
        let server = tokio::spawn(async move {
            let tls = accept(&listener, &acceptor).await;
            let mut ws = ws_frame::accept(tls).await.unwrap();
            ws.send(Message::Text(OPEN.into())).await.unwrap();
            // The client's message, echoed.
            let msg = ws.next().await.unwrap().unwrap();
            ws.send(msg.clone()).await.unwrap();
            while ws.next().await.is_some() {}
            msg
        });
        let mut client = Client::connect(&url, trusting(&root, Transport::WebSocket))
            .await
            .unwrap();
        client
            .send(crate::Payload::Text("over tls".into()))
            .await
            .unwrap();
        loop {
            match client.recv().await.unwrap() {
                crate::ClientEvent::Message(p) => {
                    break assert_eq!(p, crate::Payload::Text("over tls".into()));
                }
                crate::ClientEvent::Closed(r) => panic!("closed: {r}"),
                _ => {}
            }
        }
        client.close().await;
        assert_eq!(server.await.unwrap(), Message::text("4over tls"));
    }

    /// A certificate no root vouches for ends the connect with that reason,
    /// over either transport, at once.
    #[tokio::test]
    async fn an_unknown_issuer_is_the_connect_error() {
        for transport in [Transport::Polling, Transport::WebSocket] {
            let (url, _, listener, acceptor) = tls_listener().await;
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                acceptor.accept(tcp).await.is_err()
            });
            let mut options = ClientOptions::default();
            options.session.initial = transport;
            let err = Client::connect(&url, options).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    ConnectError::Tls(TlsError::Handshake(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer
                    )))
                ),
                "over {transport:?}: {err:?}"
            );
            assert!(err.to_string().contains("certificate"), "{err}");
            assert!(server.await.unwrap(), "the server saw the handshake fail");
        }
    }
}

/// Reads one request head from `tcp`; returns it, lowercased.
#[cfg(feature = "http-compression")]
async fn read_head(tcp: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).await.unwrap(), 1, "a request head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap().to_ascii_lowercase()
}

/// A 200 poll response with `body` under `Content-Encoding: coding`.
#[cfg(feature = "http-compression")]
fn poll_response(coding: crate::compression::ContentEncoding, body: &[u8]) -> Vec<u8> {
    let z = coding.encode(body, 9).unwrap();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Encoding: {}\r\nContent-Length: {}\r\n\r\n",
        coding.as_str(),
        z.len()
    )
    .into_bytes();
    out.extend_from_slice(&z);
    out
}

/// Polling asks for gzip and deflate and inflates what comes so; a
/// response that inflates past `max_response_body` (a bomb: 16 MiB of
/// "x"s in about 16 KiB) closes the session with a transport error, having
/// inflated no more than the limit.
#[cfg(feature = "http-compression")]
#[tokio::test]
async fn polling_inflates_compressed_responses_and_refuses_a_bomb() {
    use crate::Payload;
    use crate::compression::ContentEncoding::{Deflate, Gzip};
    use tokio::io::AsyncWriteExt;

    let mut bomb = b"4".to_vec();
    bomb.resize(16 << 20, b'x');
    let answers = [
        poll_response(Gzip, OPEN.as_bytes()),
        poll_response(Deflate, b"4hello"),
        poll_response(Gzip, &bomb),
    ];
    assert!(answers[2].len() < 64 << 10, "{}", answers[2].len());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut heads = Vec::new();
        for answer in answers {
            heads.push(read_head(&mut tcp).await);
            tcp.write_all(&answer).await.unwrap();
        }
        heads
    });
    let mut options = ClientOptions::default();
    options.session.upgrade = false;
    options.max_response_body = 1_000_000;
    let mut client = Client::connect(&url, options).await.unwrap();
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), client.recv())
            .await
            .expect("events")
        {
            Some(ClientEvent::Closed(r)) => {
                events.push(format!("closed {r:?}"));
                break;
            }
            Some(ClientEvent::Message(Payload::Text(t))) => events.push(t.to_string()),
            Some(_) => {}
            None => panic!("no close event"),
        }
    }
    assert_eq!(events, ["hello", "closed TransportError"]);
    let heads = server.await.unwrap();
    for h in &heads {
        assert!(h.starts_with("get "), "{h}");
        assert!(h.contains("\r\naccept-encoding: gzip, deflate\r\n"), "{h}");
    }
}
