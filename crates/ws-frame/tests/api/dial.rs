//! `connect_url` over real TCP: `ws://`, and `wss://` against a tokio-rustls
//! server whose certificate is made for the test.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use ws_frame::{ConnectOptions, Error, Message};

/// Accepts one WebSocket from `listener`, through `wrap` (TLS or not), and
/// echoes its data messages until it ends.
async fn echo_one<S, F, Fut>(listener: TcpListener, wrap: F) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    F: FnOnce(tokio::net::TcpStream) -> Fut,
    Fut: Future<Output = std::io::Result<S>>,
{
    let (tcp, _) = listener.accept().await?;
    let mut ws = ws_frame::accept(wrap(tcp).await?).await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_data() {
            ws.send(msg).await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn ws_url_dials_tcp_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(echo_one(listener, |tcp| async { Ok(tcp) }));
    let url = format!("ws://127.0.0.1:{port}/echo");
    let (mut ws, resp) = ws_frame::connect_url(&url, &ConnectOptions::default())
        .await
        .unwrap();
    assert_eq!(resp.status(), 101);
    assert!(ws.get_ref().get_ref().nodelay().unwrap());
    ws.send(Message::text("plain")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("plain"));
    ws.close().await.unwrap();
    while ws.next().await.is_some() {}
    server.await.unwrap().unwrap();
}

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn wss_without_the_tls_feature_says_which_feature() {
    // Nothing listens there: the error comes before any dialing.
    let err = ws_frame::connect_url("wss://127.0.0.1:1/", &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TlsNotEnabled), "{err:?}");
    assert!(err.to_string().contains("`tls` feature"), "{err}");
}

#[cfg(feature = "tls")]
mod tls {
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};
    use ws_frame::tls::rustls::{self, CertificateError};
    use ws_frame::tls::tokio_rustls::TlsAcceptor;
    use ws_frame::tls::{ClientTls, TlsError, server_config_from_pem};
    use ws_frame::{ConnectOptions, Error, MaybeTlsStream, Message};

    use super::echo_one;

    /// A self-signed certificate for `localhost` and `127.0.0.1`: its PEM,
    /// which the client trusts as a root, and a TLS echo server using it.
    async fn tls_echo_server() -> (String, u16, tokio::task::JoinHandle<Result<(), Error>>) {
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let config = server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(echo_one(listener, move |tcp| acceptor.accept(tcp)));
        (cert_pem, port, server)
    }

    fn trusting(root_pem: &str) -> ConnectOptions {
        let mut options = ConnectOptions::default();
        options.tls = Some(ClientTls::with_root_pem(root_pem.as_bytes()).unwrap());
        options
    }

    #[tokio::test]
    async fn wss_with_a_private_root_by_name_and_by_address() {
        for host in ["localhost", "127.0.0.1"] {
            let (root, port, server) = tls_echo_server().await;
            let url = format!("wss://{host}:{port}/echo");
            let (mut ws, resp) = ws_frame::connect_url(&url, &trusting(&root)).await.unwrap();
            assert_eq!(resp.status(), 101);
            let MaybeTlsStream::Tls(tls) = ws.get_ref() else {
                panic!("wss:// must speak TLS");
            };
            // Both sides speak HTTP/1.1, and say so.
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
            for msg in [Message::text("secret"), Message::binary(vec![9u8; 100_000])] {
                ws.send(msg.clone()).await.unwrap();
                assert_eq!(ws.next().await.unwrap().unwrap(), msg, "over {host}");
            }
            ws.close().await.unwrap();
            while ws.next().await.is_some() {}
            server.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn wss_with_only_the_webpki_roots_refuses_a_private_certificate() {
        let (_, port, server) = tls_echo_server().await;
        let url = format!("wss://localhost:{port}/");
        let err = ws_frame::connect_url(&url, &ConnectOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Tls(TlsError::Handshake(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                )))
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("certificate"), "{err}");
        // The server sees the client's alert, not a hang.
        let server_err = server.await.unwrap().unwrap_err();
        assert!(matches!(server_err, Error::Io(_)), "{server_err:?}");
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_refused() {
        let (root, port, _server) = tls_echo_server().await;
        let tls = ClientTls::with_root_pem(root.as_bytes()).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let err = tls.connect("other.test", tcp).await.unwrap_err();
        let err = TlsError::from_io_error(err).unwrap();
        assert!(
            matches!(
                err,
                TlsError::Handshake(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                ))
            ),
            "{err:?}"
        );
    }
}
