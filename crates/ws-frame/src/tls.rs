//! TLS with rustls (ring): the client's side of `wss://` and `https://`,
//! and a server configuration from PEM files.
//!
//! [`ClientTls`] says which roots a client trusts, and opens TLS over a
//! connected transport with the host's name for SNI and the certificate
//! check. [`connect_url`](crate::connect_url) uses it for `wss://` URLs; the
//! Engine.IO and Socket.IO clients use it for `https://`.
//! [`server_config_from_pem`] is the one place servers turn a certificate
//! chain and key into a rustls configuration.
//!
//! Every configuration built here names ring as its crypto provider, so
//! nothing depends on a process-wide default provider being installed.
//! [`rustls`] and [`tokio_rustls`] are re-exported: a configuration built by
//! hand for [`ClientTls::from_config`] must come from the same versions.

use std::io;
use std::sync::{Arc, OnceLock};

pub use rustls;
pub use tokio_rustls;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

/// The one application protocol offered and accepted over ALPN. Polling
/// and the WebSocket upgrade (RFC 6455 §4.1) are both HTTP/1.1; WebSockets
/// over HTTP/2 (RFC 8441) are not spoken, so `h2` must not be offered.
const HTTP_1_1: &[u8] = b"http/1.1";

/// What went wrong setting up or speaking TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The PEM text is malformed.
    #[error("malformed PEM: {0}")]
    Pem(#[source] pem::Error),
    /// The PEM text holds no `CERTIFICATE` section.
    #[error("no certificate in the PEM")]
    NoCertificate,
    /// The PEM text holds no private key (PKCS#8, PKCS#1 or SEC1).
    #[error("no private key (PKCS#8, PKCS#1 or SEC1) in the PEM")]
    NoPrivateKey,
    /// A certificate cannot be used as a trusted root.
    #[error("certificate not usable as a root: {0}")]
    InvalidRoot(#[source] rustls::Error),
    /// The private key cannot be used, or does not match the certificate.
    #[error("private key not usable with the certificate: {0}")]
    BadKey(#[source] rustls::Error),
    /// The host is neither a DNS name nor an IP address, so no certificate
    /// can be checked against it.
    #[error("{0:?} is not a DNS name or an IP address")]
    InvalidServerName(String),
    /// The TLS handshake failed: the server's certificate was refused (an
    /// unknown issuer, a name mismatch, expired), or the peers could not
    /// agree.
    #[error("handshake failed: {0}")]
    Handshake(#[source] rustls::Error),
}

impl TlsError {
    /// The TLS failure an error from [`ClientTls::connect`] carries: the
    /// handshake's rustls error or a bad server name. Any other error (the
    /// transport's) is given back.
    pub fn from_io_error(e: io::Error) -> Result<TlsError, io::Error> {
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Ok(TlsError::Handshake(r.clone()));
        }
        if !e.get_ref().is_some_and(|i| i.is::<TlsError>()) {
            return Err(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|i| i.downcast::<TlsError>()) {
            Some(Ok(tls)) => Ok(*tls),
            Some(Err(other)) => Err(io::Error::new(kind, other)),
            None => Err(kind.into()),
        }
    }
}

/// How a client speaks TLS: the roots it trusts, and the rustls
/// configuration around them. Cheap to clone; the connections made with one
/// value share its session cache, so a reconnect or the next polling
/// connection can resume a session.
#[derive(Clone, Debug)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
}

impl Default for ClientTls {
    /// [`ClientTls::webpki_roots`].
    fn default() -> Self {
        ClientTls::webpki_roots()
    }
}

impl ClientTls {
    /// Trusts the Mozilla root program's CAs (the `webpki-roots` crate), as
    /// a browser would; offers ALPN `http/1.1`. Built once per process.
    pub fn webpki_roots() -> Self {
        static DEFAULT: OnceLock<ClientTls> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                ClientTls::from_roots(roots)
            })
            .clone()
    }

    /// Trusts only the CA certificates in `pem` (one or more `CERTIFICATE`
    /// sections): a private CA, or a server's self-signed certificate.
    /// Offers ALPN `http/1.1`.
    pub fn with_root_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(TlsError::Pem)?;
            roots.add(cert).map_err(TlsError::InvalidRoot)?;
        }
        if roots.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        Ok(ClientTls::from_roots(roots))
    }

    /// Uses a configuration built by hand (client certificates, other
    /// verifiers), as it is: its ALPN list is left alone, and must not offer
    /// `h2` alone, since we speak HTTP/1.1.
    pub fn from_config(config: Arc<rustls::ClientConfig>) -> Self {
        ClientTls { config }
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }

    /// Opens TLS over `io`, already connected to `host`: `host` (a DNS name
    /// or an IP address, an IPv6 one with or without brackets) is sent as
    /// SNI (names only, as RFC 6066 §3 asks) and the server's certificate
    /// must be valid for it.
    ///
    /// A failure is an `io::Error`, as tokio-rustls gives it;
    /// [`TlsError::from_io_error`] tells a TLS failure from the transport's.
    pub async fn connect<S>(&self, host: &str, io: S) -> io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = server_name(host).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, io)
            .await
    }

    fn from_roots(roots: rustls::RootCertStore) -> Self {
        let mut config = rustls::ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .expect("ring supports the safe default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![HTTP_1_1.to_vec()];
        ClientTls::from_config(Arc::new(config))
    }
}

/// A server configuration from a PEM certificate chain (the server's own
/// certificate first, then its intermediates) and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1), with ring, TLS 1.2 and 1.3, no client certificates, and
/// ALPN `http/1.1` (a client that offers only `h2` is refused).
pub fn server_config_from_pem(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<rustls::ServerConfig, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsError::Pem)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey,
        e => TlsError::Pem(e),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .expect("ring supports the safe default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::BadKey)?;
    config.alpn_protocols = vec![HTTP_1_1.to_vec()];
    Ok(config)
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `host` as rustls names a server; an IPv6 address may keep the brackets
/// it has in a URL.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(bare.to_owned()).map_err(|_| TlsError::InvalidServerName(host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_url_hosts() {
        assert!(matches!(
            server_name("localhost"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("bad host"),
            Err(TlsError::InvalidServerName(h)) if h == "bad host"
        ));
    }

    #[test]
    fn pem_that_holds_nothing_usable() {
        assert!(matches!(
            ClientTls::with_root_pem(b""),
            Err(TlsError::NoCertificate)
        ));
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        assert!(ClientTls::with_root_pem(cert_pem.as_bytes()).is_ok());
        assert!(server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).is_ok());
        assert!(matches!(
            server_config_from_pem(key_pem.as_bytes(), key_pem.as_bytes()),
            Err(TlsError::NoCertificate)
        ));
        assert!(matches!(
            server_config_from_pem(cert_pem.as_bytes(), cert_pem.as_bytes()),
            Err(TlsError::NoPrivateKey)
        ));
        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(matches!(
            server_config_from_pem(cert_pem.as_bytes(), other.as_bytes()),
            Err(TlsError::BadKey(_))
        ));
        let cut = &cert_pem.as_bytes()[..cert_pem.len() - 30];
        assert!(matches!(
            ClientTls::with_root_pem(cut),
            Err(TlsError::Pem(_))
        ));
    }
}
