//! What a client said when it joined a namespace.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// When the socket joined its namespace.
    pub(crate) issued: SystemTime,
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

    /// The `auth` payload deserialized; a client that sent none reads as
    /// `{}`, as socket.io's `handshake.auth`.
    pub fn auth<T: DeserializeOwned>(&self) -> Option<T> {
        match &self.auth {
            Some(a) => a.parse().ok(),
            None => serde_json::from_str("{}").ok(),
        }
    }

    /// When the socket joined its namespace (`issued`, in milliseconds
    /// since the epoch in socket.io).
    pub fn issued(&self) -> SystemTime {
        self.issued
    }

    /// [`issued`](Self::issued) as socket.io's `time` writes it, a
    /// JavaScript date string in UTC: `Mon Nov 30 2026 12:06:10 GMT+0000
    /// (Coordinated Universal Time)`.
    pub fn time(&self) -> String {
        js_date(self.issued_ms() / 1000)
    }

    fn issued_ms(&self) -> u64 {
        self.issued
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Whether the connection is TLS (the embedded listener's `bind_tls`).
    pub fn secure(&self) -> bool {
        self.request
            .extensions()
            .get::<engineio::server::Secure>()
            .is_some()
    }

    /// Whether the request came from a page of another origin (it carries
    /// an `Origin` header), as the official server's `xdomain`.
    pub fn xdomain(&self) -> bool {
        self.headers().contains_key(http::header::ORIGIN)
    }

    /// The opening request's path and query (`url`).
    pub fn url(&self) -> String {
        self.uri()
            .path_and_query()
            .map_or_else(|| self.uri().path().to_owned(), |p| p.as_str().to_owned())
    }

    /// The handshake as the official server describes it to other nodes
    /// (`socket.handshake`): `headers`, `time`, `address`, `xdomain`,
    /// `secure`, `issued` (ms), `url`, `query`, `auth`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        for name in self.headers().keys() {
            let values: Vec<&str> = self
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.insert(name.as_str().to_owned(), values.join(", ").into());
        }
        let mut query = serde_json::Map::new();
        for kv in self
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty())
        {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            query.insert(k.to_owned(), v.into());
        }
        let ms = self.issued_ms();
        let auth = self
            .auth
            .as_ref()
            .and_then(|a| a.parse::<serde_json::Value>().ok())
            .unwrap_or_else(|| serde_json::json!({}));
        serde_json::json!({
            "headers": headers,
            "time": js_date(ms / 1000),
            "address": self.address.ip().to_string(),
            "xdomain": self.xdomain(),
            "secure": self.secure(),
            "issued": ms,
            "url": self.url(),
            "query": query,
            "auth": auth,
        })
    }
}

/// A time as JavaScript's `Date.prototype.toString` writes it in UTC:
/// `Mon Nov 30 2026 12:06:10 GMT+0000 (Coordinated Universal Time)`.
fn js_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        h,
        m,
        s
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_as_javascript_writes_them() {
        assert_eq!(
            super::js_date(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // new Date(1796040370123).toString() in Node, TZ=UTC.
        assert_eq!(
            super::js_date(1_796_040_370),
            "Mon Nov 30 2026 12:06:10 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            super::js_date(951_782_400),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
