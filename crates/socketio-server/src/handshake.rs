//! What a client said when it joined a namespace.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use socketio_proto::Json;

/// What the client said when it connected: the handshake of its Engine.IO
/// session and its CONNECT packet.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The CONNECT payload (`auth` in socket.io-client), if any.
    pub auth: Option<Json>,
    /// The request that opened the Engine.IO session, shared by every socket
    /// of the connection (one copy of its headers per connection).
    pub(crate) request: Arc<http::Request<()>>,
    /// The client's address.
    pub address: SocketAddr,
}

impl Handshake {
    /// The headers of the request that opened the connection.
    pub fn headers(&self) -> &http::HeaderMap {
        self.request.headers()
    }

    /// The extensions of the opening request: mounted in hyper/axum, what
    /// tower middleware put there (an authenticated user, a request id).
    pub fn extensions(&self) -> &http::Extensions {
        self.request.extensions()
    }

    /// The whole opening request (method, URI, version, headers,
    /// extensions), without its body.
    pub fn request(&self) -> &http::Request<()> {
        &self.request
    }

    /// Its URI (path and query string).
    pub fn uri(&self) -> &http::Uri {
        self.request.uri()
    }

    /// One query parameter of the opening request.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.uri().query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
    }

    /// The `auth` payload deserialized.
    pub fn auth<T: DeserializeOwned>(&self) -> Option<T> {
        self.auth.as_ref()?.parse().ok()
    }
}
