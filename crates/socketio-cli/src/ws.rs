//! `sio ws`: a raw WebSocket on ws-frame, stdin lines out, messages in.

use std::hash::{BuildHasher, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderName, HeaderValue};
use tokio::io::{AsyncBufReadExt, BufReader};
use ws_frame::handshake::ClientRequest;
use ws_frame::{CloseCode, CloseFrame, ConnectOptions, Message};

use crate::Failure;
use crate::cli::{BinaryFormat, WsArgs};
use crate::terminal::{Term, Tone};

/// 16 bytes for `Sec-WebSocket-Key`: a nonce, not a secret (RFC 6455
/// §4.1), so the standard library's randomly seeded hasher will do.
fn nonce() -> [u8; 16] {
    let mut key = [0u8; 16];
    for half in key.chunks_mut(8) {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u64(0x5eed);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    key
}

fn request(args: &WsArgs) -> Result<ClientRequest, Failure> {
    let mut req = ClientRequest::new(&args.url, nonce())
        .map_err(|e| Failure(format!("`{}`: {e}", args.url)))?;
    if !args.subprotocols.is_empty() {
        req = req.protocols(args.subprotocols.iter().cloned());
    }
    for (name, value) in &args.headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|e| Failure(format!("header `{name}`: {e}")))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|e| Failure(format!("header `{name}`: {e}")))?;
        req = req.header(name, value);
    }
    Ok(req)
}

/// A binary message as printed.
fn binary_line(bytes: &[u8], format: BinaryFormat) -> String {
    let encoded = match format {
        BinaryFormat::Base64 => BASE64.encode(bytes),
        BinaryFormat::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    };
    format!("binary:{encoded}")
}

fn close_text(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(f) if f.reason.is_empty() => format!("{}", f.code),
        Some(f) => format!("{} {}", f.code, f.reason),
        None => format!("{} (no status)", CloseCode::NO_STATUS),
    }
}

pub(crate) async fn run(args: WsArgs, term: Term) -> Result<(), Failure> {
    let req = request(&args)?;
    let mut options = ConnectOptions::default();
    options.handshake.timeout = args.timeout;
    let spinner = term.spinner(format!("connecting to {}", args.url));
    let connected = ws_frame::connect_request(&req, &options).await;
    drop(spinner);
    let (ws, response) =
        connected.map_err(|e| Failure(format!("cannot connect to {}: {e}", args.url)))?;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(|p| format!(" (subprotocol {p})"))
        .unwrap_or_default();
    term.note(Tone::Good, &format!("connected to {}{protocol}", args.url));

    let (mut sink, mut stream) = ws.split();
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    term.wire(true, &format!("text, {} bytes", line.len()));
                    sink.send(Message::text(line))
                        .await
                        .map_err(|e| Failure(format!("sending: {e}")))?;
                }
                // End of input: close, then wait for the server's close.
                Ok(None) | Err(_) => {
                    stdin_open = false;
                    term.wire(true, "close 1000");
                    let bye = Message::Close(Some(CloseFrame {
                        code: CloseCode::NORMAL,
                        reason: "".into(),
                    }));
                    sink.send(bye).await.map_err(|e| Failure(format!("closing: {e}")))?;
                }
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    term.wire(false, &format!("text, {} bytes", t.len()));
                    term.out(t.as_str());
                }
                Some(Ok(Message::Binary(b))) => {
                    term.wire(false, &format!("binary, {} bytes", b.len()));
                    term.out(&binary_line(&b, args.binary_format));
                }
                Some(Ok(Message::Ping(p))) => term.wire(false, &format!("ping, {} bytes", p.len())),
                Some(Ok(Message::Pong(p))) => term.wire(false, &format!("pong, {} bytes", p.len())),
                Some(Ok(Message::Close(frame))) => {
                    term.wire(false, &format!("close {}", close_text(frame.as_ref())));
                    term.note(Tone::Warn, &format!("closed {}", close_text(frame.as_ref())));
                    // Send the echo (ws-frame queued it) before leaving.
                    let _ = sink.close().await;
                    return Ok(());
                }
                Some(Err(e)) => return Err(Failure(format!("connection failed: {e}"))),
                None => {
                    return Err(Failure(format!(
                        "connection lost without a close frame ({})",
                        CloseCode::ABNORMAL
                    )));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_is_base64_or_hex() {
        assert_eq!(
            binary_line(&[0, 1, 255], BinaryFormat::Base64),
            "binary:AAH/"
        );
        assert_eq!(
            binary_line(&[0, 1, 255], BinaryFormat::Hex),
            "binary:0001ff"
        );
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
    }
}
