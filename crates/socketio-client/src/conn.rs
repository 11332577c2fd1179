//! The manager's task: one Engine.IO connection at a time, reconnected
//! with backoff; the namespaces on it; the emits that wait while it is
//! away; the retry queues; and the acks awaited, each until its deadline.
//!
//! Commands from the handles are taken the same way online and offline
//! (while waiting to reconnect, and while connecting): only whether a
//! packet can go out now differs.

use socketio_runtime::rt::{self, Instant, mpsc};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use engineio::client::Client;
use engineio::{ClientEvent, Payload};
use socketio_proto::{
    ClientNamespaces, Decoder, Kind, NamespaceEvent, NamespaceState, Packet, Parser,
};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{Acks, TransportReason};

use crate::ClientOptions;
use crate::command::Command;
use crate::error::{ConnectError, DisconnectReason};
use crate::manager::ManagerShared;
use crate::retry::{Queued, RetryQueue};
use crate::socket::Socket;

pub(crate) struct Conn {
    url: String,
    options: ClientOptions,
    commands: mpsc::Receiver<Command>,
    shared: Arc<ManagerShared>,
    namespaces: ClientNamespaces,
    /// The sockets of the namespaces wanted, by namespace.
    joined: HashMap<String, Socket>,
    /// Emits waiting for their namespace to be joined, in order.
    /// Emits waiting for their namespace, with their compress flag.
    buffer: VecDeque<(String, Packet, bool)>,
    /// With retries: each namespace's queue.
    queues: HashMap<String, RetryQueue>,
    /// Events that came for a namespace before the server's CONNECT answer
    /// (with recovery, the missed ones), dispatched right after it.
    early: HashMap<String, VecDeque<Packet>>,
    /// Namespaces whose early events overflowed `max_early_events`.
    early_overflow: HashSet<String>,
    acks: HashMap<String, Acks>,
    decoder: Decoder,
    /// A namespace asked for the connection (always, with `auto_connect`).
    open_wanted: bool,
    closing: bool,
}

impl Conn {
    pub(crate) fn new(
        url: &str,
        options: ClientOptions,
        commands: mpsc::Receiver<Command>,
        shared: Arc<ManagerShared>,
    ) -> Conn {
        Conn {
            url: url.to_owned(),
            decoder: Decoder::with_parser(options.decoder.clone(), options.parser),
            open_wanted: options.auto_connect,
            options,
            commands,
            shared,
            namespaces: ClientNamespaces::default(),
            joined: HashMap::new(),
            buffer: VecDeque::new(),
            queues: HashMap::new(),
            early: HashMap::new(),
            early_overflow: HashSet::new(),
            acks: HashMap::new(),
            closing: false,
        }
    }

    pub(crate) async fn run(mut self) {
        // Without auto_connect: nothing until a socket asks.
        while !self.open_wanted && !self.closing {
            let deadline = self.poll_timeout();
            socketio_runtime::select! {
                cmd = self.commands.recv() => self.on_command(None, cmd).await,
                () = sleep_until(deadline) => self.handle_timeout(),
            }
        }
        let mut attempt: u32 = 0;
        while !self.closing {
            if attempt > 0 {
                let listeners = self.shared.listeners().reconnect_attempt;
                listeners.iter().for_each(|f| f(attempt));
                let delay = self.options.backoff.delay(attempt - 1, jitter());
                #[cfg(feature = "tracing")]
                tracing::debug!(attempt, ?delay, "reconnecting after a delay");
                if self.offline(rt::sleep(delay)).await.is_none() {
                    break;
                }
            }
            let url = self.url.clone();
            let mut engine = self.options.engine.clone();
            engine.connect_timeout = self.options.timeout;
            engine.session.ping_events = true;
            let timeout = self.options.timeout;
            let opening = async move {
                match rt::timeout(timeout, Client::connect(&url, engine)).await {
                    Ok(Ok(client)) => Ok(client),
                    Ok(Err(engineio::client::ConnectError::Timeout)) | Err(_) => {
                        Err(ConnectError::Timeout)
                    }
                    Ok(Err(e)) => Err(ConnectError::Transport(e.to_string())),
                }
            };
            let Some(connected) = self.offline(opening).await else {
                break;
            };
            match connected {
                Err(e) => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(attempt, error = %e, "connection attempt failed");
                    let listeners = self.shared.listeners();
                    listeners.error.iter().for_each(|f| f(&e));
                    // As socket.io-client: every socket not joined hears
                    // each failed attempt as a connect_error.
                    for s in self.joined.values() {
                        s.connect_error(e.clone());
                    }
                    if attempt > 0 {
                        let message = e.to_string();
                        listeners.reconnect_error.iter().for_each(|f| f(&message));
                    }
                    let exhausted = self
                        .options
                        .reconnection_attempts
                        .is_some_and(|max| attempt >= max);
                    if !self.options.reconnection || exhausted {
                        if attempt > 0 {
                            listeners.reconnect_failed.iter().for_each(|f| f());
                        }
                        #[cfg(feature = "tracing")]
                        tracing::info!(attempt, "giving up connecting");
                        break;
                    }
                    attempt += 1;
                }
                Ok(mut client) => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(attempt, "connected");
                    let listeners = self.shared.listeners();
                    listeners.open.iter().for_each(|f| f());
                    if attempt > 0 {
                        listeners.reconnect.iter().for_each(|f| f(attempt));
                    }
                    let reason = self.connected(&mut client).await;
                    #[cfg(feature = "tracing")]
                    tracing::debug!(%reason, "connection ended");
                    self.connection_ended(reason);
                    if !self.options.reconnection {
                        self.closing = true;
                    }
                    attempt = 1;
                }
            }
        }
        self.shutdown();
    }

    /// What one connection's end does: sockets disconnected, acks and
    /// tries in flight failed, early events dropped (a recovering server
    /// sends them again).
    fn connection_ended(&mut self, reason: DisconnectReason) {
        for s in self.joined.values() {
            s.mark_disconnected(reason);
        }
        // Acks asked on that connection will not come; those of emits
        // still waiting to be sent will, once they go (`_clearAcks`).
        let unsent: HashSet<(&str, u64)> = self
            .buffer
            .iter()
            .filter_map(|(n, p, _)| Some((n.as_str(), p.id()?)))
            .collect();
        for (nsp, acks) in self.acks.iter_mut() {
            acks.clear_except(|id| unsent.contains(&(nsp.as_str(), id)));
        }
        self.early.clear();
        self.early_overflow.clear();
        let retries = self.options.retries.unwrap_or(0);
        for q in self.queues.values_mut() {
            q.handle_disconnect(retries);
        }
        self.sync_queues();
        let listeners = self.shared.listeners().close;
        listeners.iter().for_each(|f| f(reason));
    }

    fn shutdown(&mut self) {
        self.closing = true;
        self.buffer.clear();
        self.queues.clear();
        self.sync_queues();
        self.acks.clear();
        self.commands.close();
        // Commands still queued are dropped (an ack's wait ends as gone);
        // every socket's `connect().await` fails, joined or not.
        while self.commands.try_recv().is_ok() {}
        for s in self.shared.all_sockets() {
            s.fail_waiters(ConnectError::Closed);
        }
    }

    /// Waits for `fut` with no connection, taking commands and ending
    /// overdue acks meanwhile; `None` when the manager closed first.
    async fn offline<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        loop {
            let deadline = self.poll_timeout();
            socketio_runtime::select! {
                out = &mut fut => return Some(out),
                cmd = self.commands.recv() => self.on_command(None, cmd).await,
                () = sleep_until(deadline) => self.handle_timeout(),
            }
            if self.closing {
                return None;
            }
        }
    }

    /// Runs one connection until it ends; returns why it ended.
    async fn connected(&mut self, client: &mut Client) -> DisconnectReason {
        self.decoder = Decoder::with_parser(self.options.decoder.clone(), self.options.parser);
        // Each namespace again, its CONNECT built now: the auth function
        // called anew, and the recovery's pid and offset.
        let wanted: Vec<Socket> = self
            .joined
            .iter()
            .filter(|(nsp, _)| self.namespaces.state(nsp).is_some())
            .map(|(_, s)| s.clone())
            .collect();
        for s in wanted {
            if let Ok(p) = self.namespaces.connect(s.nsp(), s.connect_payload()) {
                send(client, self.decoder.parser(), &p, true).await;
            }
        }
        loop {
            let deadline = self.poll_timeout();
            socketio_runtime::select! {
                event = client.recv() => match event {
                    Some(ClientEvent::Message(m)) => {
                        if let Err(_e) = feed(&mut self.decoder, m) {
                            #[cfg(feature = "tracing")]
                            tracing::info!(error = %_e, "not a Socket.IO packet; closing the connection");
                            client.close().await;
                            return DisconnectReason::ParseError;
                        }
                        while let Some(p) = self.decoder.poll_packet() {
                            self.on_packet(client, p).await;
                        }
                    }
                    Some(ClientEvent::Ping) => {
                        let listeners = self.shared.listeners().ping;
                        listeners.iter().for_each(|f| f());
                    }
                    Some(ClientEvent::Closed(r)) => return DisconnectReason::from_engine(r),
                    Some(_) => {}
                    None => return DisconnectReason::TransportClose,
                },
                cmd = self.commands.recv() => {
                    self.on_command(Some(client), cmd).await;
                    if self.closing {
                        // What was sent before the close goes out first: the
                        // manager is closed once the engine says so (or
                        // after the connect timeout, 5 s at most), as socket.io-client's
                        // close waits for its write buffer to drain.
                        let closed = async {
                            while let Some(e) = client.recv().await {
                                if matches!(e, ClientEvent::Closed(_)) {
                                    break;
                                }
                            }
                        };
                        let wait = self.options.timeout.min(std::time::Duration::from_secs(5));
                        let _ = rt::timeout(wait, closed).await;
                        return DisconnectReason::IoClientDisconnect;
                    }
                },
                () = sleep_until(deadline) => {
                    self.handle_timeout();
                    self.drain_all(client).await;
                },
            }
        }
    }

    /// A command from a handle; `client` is the connection, if there is one.
    async fn on_command(&mut self, client: Option<&Client>, cmd: Option<Command>) {
        match cmd {
            None | Some(Command::Close) => {
                self.closing = true;
                if let Some(c) = client {
                    c.close().await;
                }
            }
            Some(Command::Join(nsp)) => {
                self.open_wanted = true;
                // Joined between the caller's look and this command.
                if self.is_joined(&nsp) {
                    if let Some(s) = self.joined.get(&nsp) {
                        s.resolve_waiters();
                    }
                    return;
                }
                // Offline, the CONNECT goes with the next connection.
                if let (Some(p), Some(c)) = (self.want(&nsp, client.is_some()), client) {
                    send(c, self.decoder.parser(), &p, true).await;
                }
            }
            Some(Command::Leave(nsp)) => {
                if let (Some(p), Some(c)) = (self.leave(&nsp), client) {
                    send(c, self.decoder.parser(), &p, true).await;
                }
            }
            Some(Command::Emit {
                nsp,
                packet,
                volatile,
                compress,
            }) => match client.filter(|_| self.is_joined(&nsp)) {
                Some(c) => send(c, self.decoder.parser(), &packet, compress).await,
                None if !volatile => self.hold(nsp, packet, compress),
                None => {}
            },
            Some(Command::EmitWithAck {
                nsp,
                packet,
                deadline,
                ack,
                compress,
            }) => {
                if let Some(id) = packet.id() {
                    let acks = self.acks.entry(nsp.clone()).or_default();
                    acks.insert(id, deadline, ack);
                }
                match client.filter(|_| self.is_joined(&nsp)) {
                    Some(c) => send(c, self.decoder.parser(), &packet, compress).await,
                    None => self.hold(nsp, packet, compress),
                }
            }
            Some(Command::Enqueue {
                nsp,
                packet,
                try_timeout,
                done,
            }) => {
                if self.queued() >= self.options.max_buffered {
                    // Dropping `done` fails its wait as closed.
                    return;
                }
                let queue = self.queues.entry(nsp.clone()).or_default();
                queue.push(Queued::new(packet, try_timeout, done));
                self.sync_queues();
                if let Some(c) = client {
                    self.drain(c, &nsp).await;
                }
            }
        }
    }

    /// Records a namespace as wanted; `online`, returns its CONNECT packet,
    /// unless it is joined or being joined already. Offline the payload is
    /// left for the connection's re-join to build (the auth function is
    /// called once per CONNECT sent).
    fn want(&mut self, nsp: &str, online: bool) -> Option<Packet> {
        let socket = self.shared.socket(nsp)?;
        if self.joined.contains_key(nsp) && self.namespaces.state(nsp).is_some() {
            return None;
        }
        self.joined.insert(nsp.to_owned(), socket.clone());
        let payload = if online {
            socket.connect_payload()
        } else {
            None
        };
        let packet = self.namespaces.connect(nsp, payload).ok();
        packet.filter(|_| online)
    }

    /// Leaves a namespace; returns its DISCONNECT packet if it was joined.
    fn leave(&mut self, nsp: &str) -> Option<Packet> {
        let packet = self.namespaces.disconnect(nsp);
        if let Some(s) = self.joined.remove(nsp) {
            s.mark_disconnected(DisconnectReason::IoClientDisconnect);
            s.fail_waiters(ConnectError::Closed);
        }
        self.buffer.retain(|(n, _, _)| n != nsp);
        // The retry queue stays for the next connect(), as socket.io-client's.
        if let Some(q) = self.queues.get_mut(nsp) {
            q.handle_disconnect(self.options.retries.unwrap_or(0));
        }
        self.early.remove(nsp);
        self.sync_queues();
        self.acks.remove(nsp);
        packet
    }

    fn hold(&mut self, nsp: String, packet: Packet, compress: bool) {
        if self.queued() < self.options.max_buffered {
            self.buffer.push_back((nsp, packet, compress));
            self.sync_queues();
        }
    }

    /// Emits waiting: in the offline buffer and the retry queues.
    fn queued(&self) -> usize {
        self.buffer.len() + self.queues.values().map(RetryQueue::len).sum::<usize>()
    }

    /// Tells the handles how much waits: the manager (for `max_buffered`)
    /// and each socket (its retry queue).
    fn sync_queues(&mut self) {
        self.shared.set_buffered(self.queued());
        self.queues.retain(|_, q| q.len() > 0);
        for (nsp, s) in &self.joined {
            match self.queues.get(nsp) {
                Some(q) => s.set_queue(q.len(), q.head_tries()),
                None => s.set_queue(0, None),
            }
        }
    }

    fn is_joined(&self, nsp: &str) -> bool {
        self.joined.get(nsp).is_some_and(Socket::connected)
    }

    /// Sends the next try of `nsp`'s retry queue, if the namespace is
    /// joined and nothing of it is in flight.
    async fn drain(&mut self, client: &Client, nsp: &str) {
        let Some(socket) = self.joined.get(nsp).filter(|s| s.connected()) else {
            return;
        };
        let now = socketio_runtime::now();
        let next = self
            .queues
            .get_mut(nsp)
            .and_then(|q| q.next_try(now, || socket.next_ack_id()));
        if let Some(p) = next {
            send(client, self.decoder.parser(), &p, true).await;
        }
        self.sync_queues();
    }

    async fn drain_all(&mut self, client: &Client) {
        let nsps: Vec<String> = self.queues.keys().cloned().collect();
        for nsp in nsps {
            self.drain(client, &nsp).await;
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let acks = self.acks.values_mut().filter_map(Acks::poll_timeout);
        let tries = self.queues.values().filter_map(RetryQueue::poll_timeout);
        acks.chain(tries).min()
    }

    fn handle_timeout(&mut self) {
        let now = socketio_runtime::now();
        for acks in self.acks.values_mut() {
            acks.handle_timeout(now);
        }
        let retries = self.options.retries.unwrap_or(0);
        for q in self.queues.values_mut() {
            q.handle_timeout(now, retries);
        }
        self.sync_queues();
    }

    async fn on_packet(&mut self, client: &Client, p: Packet) {
        match p.kind() {
            Kind::Connect | Kind::ConnectError | Kind::Disconnect => {
                match self.namespaces.handle_packet(&p) {
                    Some(NamespaceEvent::Connected { nsp, sid }) => {
                        self.on_joined(client, &nsp, sid, connect_pid(&p)).await;
                    }
                    Some(NamespaceEvent::ConnectError { nsp, data }) => {
                        #[cfg(feature = "tracing")]
                        tracing::info!(
                            nsp = nsp.as_str(),
                            "namespace connection refused by the server"
                        );
                        self.early.remove(&nsp);
                        // Refused: not re-joined until connect() again.
                        if let Some(s) = self.joined.remove(&nsp) {
                            let payload = data.and_then(|d| d.parse().ok());
                            s.connect_error(ConnectError::refused(payload));
                        }
                    }
                    Some(NamespaceEvent::Disconnected { nsp }) => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(
                            nsp = nsp.as_str(),
                            "the server disconnected the namespace"
                        );
                        if let Some(s) = self.joined.remove(&nsp) {
                            s.mark_disconnected(DisconnectReason::IoServerDisconnect);
                        }
                        self.acks.remove(&nsp);
                        if let Some(q) = self.queues.get_mut(&nsp) {
                            q.handle_disconnect(self.options.retries.unwrap_or(0));
                        }
                        self.sync_queues();
                    }
                    _ => {}
                }
            }
            Kind::Event => {
                let Some(s) = self.joined.get(p.nsp()) else {
                    return;
                };
                if s.connected() {
                    s.dispatch(&p);
                } else if self.namespaces.state(p.nsp()) == Some(&NamespaceState::Connecting) {
                    // Before the CONNECT answer (`receiveBuffer`): kept,
                    // up to the limit, for right after it.
                    let early = self.early.entry(p.nsp().to_owned()).or_default();
                    if early.len() < self.options.max_early_events {
                        early.push_back(p);
                    } else {
                        // Lost: the socket will not say it came back whole.
                        #[cfg(feature = "tracing")]
                        tracing::warn!(
                            nsp = p.nsp(),
                            max_early_events = self.options.max_early_events,
                            "events before the namespace's CONNECT answer past the limit; dropped"
                        );
                        self.early_overflow.insert(p.nsp().to_owned());
                    }
                }
            }
            Kind::Ack => {
                let nsp = p.nsp().to_owned();
                let ours = self.queues.get_mut(&nsp).is_some_and(|q| q.handle_ack(&p));
                if ours {
                    self.drain(client, &nsp).await;
                } else if let Some(acks) = self.acks.get_mut(&nsp) {
                    acks.handle_ack(p);
                }
            }
        }
    }

    /// The server accepted `nsp` (`onconnect`): the events that came
    /// before its answer, then what waited to be sent, then the retry
    /// queue's head, then the connect listeners.
    async fn on_joined(&mut self, client: &Client, nsp: &str, sid: String, pid: Option<String>) {
        let Some(s) = self.joined.get(nsp).cloned() else {
            return;
        };
        #[cfg(feature = "tracing")]
        tracing::debug!(nsp, id = sid.as_str(), "namespace joined");
        s.set_connected(sid, pid);
        if self.early_overflow.remove(nsp) {
            s.mark_not_recovered();
        }
        for e in self.early.remove(nsp).into_iter().flatten() {
            s.dispatch(&e);
        }
        let waiting = std::mem::take(&mut self.buffer);
        for (n, packet, compress) in waiting {
            if n == nsp {
                send(client, self.decoder.parser(), &packet, compress).await;
            } else {
                self.buffer.push_back((n, packet, compress));
            }
        }
        self.sync_queues();
        self.drain(client, nsp).await;
        s.notify_connected();
    }
}

/// The `pid` of a CONNECT answer: there when the server recovers sessions.
fn connect_pid(p: &Packet) -> Option<String> {
    let answer: serde_json::Value = p.raw_data()?.parse().ok()?;
    Some(answer.get("pid")?.as_str()?.to_owned())
}

/// Sends `p` (text, then attachments; or one MessagePack message) with
/// socket.io's `compress` flag.
async fn send(client: &Client, parser: Parser, p: &Packet, compress: bool) {
    match parser.encode_binary(p) {
        None => {}
        Some(Ok(message)) => {
            let _ = client
                .send_with(Payload::Binary(message.into()), compress)
                .await;
            return;
        }
        Some(Err(_e)) => {
            // Only a payload nesting past 125 levels: nothing to send.
            #[cfg(feature = "tracing")]
            tracing::warn!(error = %_e, "packet not sent");
            return;
        }
    }
    let _ = client
        .send_with(Payload::Text(p.encode().into()), compress)
        .await;
    for a in p.attachments() {
        let _ = client.send_with(Payload::Binary(a.clone()), compress).await;
    }
}

use rt::sleep_until;

/// The backoff's random factor in [0, 1).
#[cfg(not(target_arch = "wasm32"))]
fn jitter() -> f64 {
    rand::random::<f64>()
}

/// The backoff's random factor in [0, 1): only jitter, so the browser's
/// `Math.random` does.
#[cfg(target_arch = "wasm32")]
fn jitter() -> f64 {
    js_sys::Math::random()
}

// tokio-driven; natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::time::Duration;

    use crate::{AckError, ClientOptions, Manager};

    #[tokio::test(start_paused = true)]
    async fn an_ack_waiting_offline_times_out_on_the_task_timer() {
        // A port nothing listens on: the manager never connects.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let manager = Manager::new(&url, ClientOptions::default());
        let socket = manager.socket("/", None);
        let start = tokio::time::Instant::now();
        let r = socket
            .emit_with_ack::<_, ()>("q", &(), Duration::from_secs(3))
            .await;
        assert!(matches!(r, Err(AckError::Timeout)), "{r:?}");
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        manager.close();
    }
}
