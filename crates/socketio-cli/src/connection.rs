//! What the Socket.IO commands share: the URL split into server and
//! namespace, the client's options, joining a namespace (with a spinner and
//! a deadline), and `--verbose`'s view of the packets.
//!
//! The client gives no hook on its wire, so the packets shown are
//! re-encoded by socketio-proto from what the client hands over: events
//! received (exactly as they came, ack id included), events sent (as built
//! here, with the ack id the socket gives: its ids count from 0, one per
//! `emit_with_ack`), acks received (re-encoded from their arguments), and
//! the CONNECT, its answer and DISCONNECT as the protocol writes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use socketio_client::{
    AckError, ClientOptions, ConnectError, DisconnectReason, EmitError, Packet, Socket,
};

use crate::Failure;
use crate::cli::{ClientArgs, TransportArg};
use crate::payload::{Arg, shown_list};
use crate::terminal::{Term, Tone};

/// A URL as the JS client reads it: the server, and the namespace as its
/// path.
#[derive(Debug, PartialEq)]
pub(crate) struct Target {
    /// `scheme://host[:port]`.
    pub(crate) server: String,
    /// `/` or `/admin`.
    pub(crate) ns: String,
    /// The URL's query, sent with every request.
    pub(crate) query: Vec<(String, String)>,
}

impl Target {
    pub(crate) fn parse(url: &str, ns: Option<&str>) -> Result<Target, Failure> {
        let bad = || {
            Failure(format!(
                "`{url}` is not a URL like http://localhost:3000/admin"
            ))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        if !matches!(scheme, "http" | "https" | "ws" | "wss") {
            return Err(Failure(format!(
                "`{url}`: use http://, https://, ws:// or wss://"
            )));
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(bad());
        }
        let tail = tail.split('#').next().unwrap_or_default();
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let from_url = match path.trim_end_matches('/') {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        let ns = match ns {
            Some(n) if n.starts_with('/') => n.to_owned(),
            Some(n) => format!("/{n}"),
            None => from_url,
        };
        let query = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Ok(Target {
            server: format!("{scheme}://{authority}"),
            ns,
            query,
        })
    }
}

/// The client's options from the command line: no connection until
/// [`join`], `timeout` to open the connection.
pub(crate) fn options(args: &ClientArgs, target: &Target, timeout: Duration) -> ClientOptions {
    let mut options = ClientOptions::default()
        .auto_connect(false)
        .timeout(timeout)
        .path(args.path.clone());
    options = match args.transport {
        Some(TransportArg::Polling) => options.transports(["polling"]),
        Some(TransportArg::Websocket) => options.transports(["websocket"]),
        None => options,
    };
    for (k, v) in &target.query {
        options = options.query(k.clone(), v.clone());
    }
    for (name, value) in &args.headers {
        options = options.extra_header(name.clone(), value.clone());
    }
    if let Some(auth) = &args.auth {
        options = options.auth(auth.clone());
    }
    options
}

/// `nsp,` as the wire writes a namespace before the payload (nothing for `/`).
fn ns_prefix(ns: &str) -> String {
    match ns {
        "/" => String::new(),
        ns => format!("{ns},"),
    }
}

/// Joins `socket`'s namespace within `timeout`, with a spinner meanwhile.
/// `auth` is what its CONNECT carries, for `--verbose`.
pub(crate) async fn join(
    socket: &Socket,
    server: &str,
    auth: Option<&serde_json::Value>,
    term: &Term,
    timeout: Duration,
) -> Result<(), Failure> {
    let ns = socket.nsp().to_owned();
    let auth_text = auth.map(|a| a.to_string()).unwrap_or_default();
    term.wire(true, &format!("0{}{auth_text}", ns_prefix(&ns)));
    let spinner = term.spinner(format!("connecting to {server}{}", shown_ns(&ns)));
    let joined = tokio::time::timeout(timeout, socket.connect()).await;
    drop(spinner);
    match joined {
        Ok(Ok(())) => {
            let id = socket.id().unwrap_or_default();
            let sid = serde_json::json!({ "sid": id });
            term.wire(false, &format!("0{}{sid}", ns_prefix(&ns)));
            Ok(())
        }
        Ok(Err(ConnectError::Refused { message, data })) => {
            // As the official server writes it: the message, then the data
            // when there is one.
            let data_field = data.as_ref().map(|d| format!(",\"data\":{d}"));
            let payload = format!(
                "{{\"message\":{}{}}}",
                serde_json::Value::from(message.as_str()),
                data_field.unwrap_or_default()
            );
            term.wire(false, &format!("4{}{payload}", ns_prefix(&ns)));
            let data = data.map(|d| format!(" {d}")).unwrap_or_default();
            Err(Failure(format!(
                "connect_error on {ns}: refused by the server: {message}{data}"
            )))
        }
        Ok(Err(ConnectError::Timeout)) | Err(_) => Err(Failure(format!(
            "timeout: {ns} on {server} not joined within {}",
            human(timeout)
        ))),
        Ok(Err(ConnectError::Transport(why))) => {
            Err(Failure(format!("cannot connect to {server}: {why}")))
        }
        Ok(Err(e)) => Err(Failure(format!("{ns} on {server}: {e}"))),
    }
}

/// ` (namespace /x)`, or nothing for `/`.
fn shown_ns(ns: &str) -> String {
    match ns {
        "/" => String::new(),
        ns => format!(" (namespace {ns})"),
    }
}

/// `500ms`, `5s`, `1.5s`.
pub(crate) fn human(d: Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{}s", d.as_secs()),
        _ if d < Duration::from_secs(1) => format!("{}ms", d.as_millis()),
        _ => format!("{}s", d.as_secs_f64()),
    }
}

/// One event as `sio listen` prints it.
#[derive(Serialize)]
struct EventLine<'a> {
    ns: &'a str,
    event: &'a str,
    args: crate::payload::Shown<'a>,
}

/// An event's arguments, bytes resolved.
pub(crate) fn event_args(packet: &Packet) -> Result<Vec<Arg>, String> {
    packet
        .event_args::<Vec<Arg>>()
        .map_err(|e| format!("arguments not understood: {e}"))
}

/// `{"ns":"/","event":"chat","args":["hi"]}`.
pub(crate) fn event_line(ns: &str, event: &str, args: &[Arg]) -> String {
    let line = EventLine {
        ns,
        event,
        args: shown_list(args),
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// A packet received, with `--verbose`: its text, then one line per
/// attachment.
pub(crate) fn show_received(term: &Term, packet: &Packet) {
    if !term.verbose() {
        return;
    }
    term.wire(false, &packet.encode());
    for a in packet.attachments() {
        term.wire(false, &format!("<binary attachment, {} bytes>", a.len()));
    }
}

/// Reports how the socket goes away and comes back, on stderr.
pub(crate) fn report_lifecycle(socket: &Socket, term: &Term) {
    let t = term.clone();
    socket.on_disconnect(move |s, reason| {
        match reason {
            DisconnectReason::IoServerDisconnect => {
                t.wire(false, &format!("1{}", ns_prefix(s.nsp())))
            }
            // Asked for here: nothing to report.
            DisconnectReason::IoClientDisconnect => return,
            _ => {}
        }
        t.note(Tone::Warn, &format!("{}: disconnected ({reason})", s.nsp()));
    });
    let t = term.clone();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    socket.on_connect(move |s| {
        // The first join is reported by whoever asked for it.
        if !first.swap(false, Ordering::AcqRel) {
            t.note(
                Tone::Good,
                &format!(
                    "{}: connected again as {}",
                    s.nsp(),
                    s.id().unwrap_or_default()
                ),
            );
        }
    });
}

/// Sends events the way `--verbose` can see them: mirrors the socket's ack
/// ids (one counter per socket, from 0, as socket.io-client's).
pub(crate) struct Emitter {
    socket: Socket,
    ack_ids: AtomicU64,
}

impl Emitter {
    pub(crate) fn new(socket: Socket) -> Emitter {
        Emitter {
            socket,
            ack_ids: AtomicU64::new(0),
        }
    }

    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }

    fn show_sent(&self, term: &Term, event: &str, args: &[Arg], id: Option<u64>) {
        if !term.verbose() {
            return;
        }
        if let Ok(mut p) = Packet::event(self.socket.nsp(), event, args) {
            if let Some(id) = id {
                p = p.with_id(id);
            }
            term.wire(true, &p.encode());
            for a in p.attachments() {
                term.wire(true, &format!("<binary attachment, {} bytes>", a.len()));
            }
        }
    }

    /// One event, no ack.
    pub(crate) fn emit(&self, term: &Term, event: &str, args: &[Arg]) -> Result<(), Failure> {
        self.socket
            .emit(event, args)
            .map_err(|e| Failure(emit_failure(event, &e)))?;
        self.show_sent(term, event, args, None);
        Ok(())
    }

    /// One event, and its ack's arguments.
    pub(crate) async fn emit_with_ack(
        &self,
        term: &Term,
        event: &str,
        args: &[Arg],
        timeout: Duration,
    ) -> Result<Vec<Arg>, Failure> {
        // Whether the socket will take an id (a packet it can build).
        Packet::event(self.socket.nsp(), event, args)
            .map_err(|e| Failure(emit_failure(event, &EmitError::Build(e))))?;
        let id = self.ack_ids.fetch_add(1, Ordering::Relaxed);
        self.show_sent(term, event, args, Some(id));
        let answer = self
            .socket
            .emit_with_ack::<_, Vec<Arg>>(event, args, timeout)
            .await;
        match answer {
            Ok(answer) => {
                if let Ok(p) = Packet::ack(self.socket.nsp(), id, &answer) {
                    show_received(term, &p);
                }
                Ok(answer)
            }
            Err(AckError::Timeout) => Err(Failure(format!(
                "timeout: no ack for `{event}` within {}",
                human(timeout)
            ))),
            Err(AckError::Emit(e)) => Err(Failure(emit_failure(event, &e))),
            Err(e) => Err(Failure(format!("no ack for `{event}`: {e}"))),
        }
    }
}

fn emit_failure(event: &str, e: &EmitError) -> String {
    format!("cannot emit `{event}`: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str, ns: Option<&str>) -> Target {
        Target::parse(url, ns).unwrap()
    }

    #[test]
    fn the_namespace_is_the_path() {
        assert_eq!(
            t("http://localhost:3000", None),
            Target {
                server: "http://localhost:3000".into(),
                ns: "/".into(),
                query: vec![],
            }
        );
        assert_eq!(t("http://h:1/", None).ns, "/");
        assert_eq!(t("http://h:1/admin", None).ns, "/admin");
        assert_eq!(t("https://h/admin/", None).ns, "/admin");
        assert_eq!(t("http://h:1/admin", Some("/x")).ns, "/x");
        assert_eq!(t("http://h:1", Some("x")).ns, "/x");
        let q = t("ws://h:1/chat?room=a&debug#frag", None);
        assert_eq!((q.server.as_str(), q.ns.as_str()), ("ws://h:1", "/chat"));
        assert_eq!(
            q.query,
            [("room".into(), "a".into()), ("debug".into(), String::new())]
        );
        assert!(Target::parse("localhost:3000", None).is_err());
        assert!(Target::parse("ftp://h", None).is_err());
        assert!(Target::parse("http:///x", None).is_err());
    }

    #[test]
    fn durations_read_back() {
        assert_eq!(human(Duration::from_millis(500)), "500ms");
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn event_lines() {
        let args = crate::payload::parse_line(r#"hi {"$binary":"AQI="}"#).unwrap();
        assert_eq!(
            event_line("/", "chat", &args),
            r#"{"ns":"/","event":"chat","args":["hi",{"$binary":"AQI="}]}"#
        );
    }
}
