//! Just enough of an HTTP/1.1 client to misbehave with.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status and body.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// Reads one response to the end of the connection, within `limit`.
pub(crate) async fn read_response(tcp: &mut TcpStream, limit: Duration) -> Resp {
    let mut raw = Vec::new();
    tokio::time::timeout(limit, tcp.read_to_end(&mut raw))
        .await
        .expect("the server answers in time")
        .expect("read");
    parse(&raw)
}

pub(crate) fn parse(raw: &[u8]) -> Resp {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => panic!("not a response: {:?}", String::from_utf8_lossy(raw)),
    };
    Resp {
        status: resp.code.unwrap(),
        body: String::from_utf8_lossy(&raw[n..]).into_owned(),
    }
}

/// One request on a fresh connection, answered within `limit`.
pub(crate) async fn request(addr: &str, method: &str, query: &str, body: &str) -> Resp {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    read_response(&mut tcp, Duration::from_secs(10)).await
}

/// A polling handshake: the new session's id.
pub(crate) async fn handshake(addr: &str) -> String {
    let r = request(addr, "GET", "EIO=4&transport=polling", "").await;
    assert_eq!(r.status, 200, "{r:?}");
    let open: serde_json::Value = serde_json::from_str(&r.body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}
