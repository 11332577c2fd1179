//! The manager's task: one Engine.IO connection at a time, reconnected
//! with backoff; the namespaces on it; the emits that wait while it is
//! away; and the acks awaited, each until its deadline.
//!
//! Commands from the handles are taken the same way online and offline
//! (while waiting to reconnect, and while connecting): only whether a
//! packet can go out now differs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use engineio::client::Client;
use engineio::{ClientEvent, Payload};
use socketio_proto::{ClientNamespaces, Decoder, Json, Kind, NamespaceEvent, Packet};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{Acks, TransportReason};
use tokio::sync::mpsc;

use crate::ClientOptions;
use crate::command::Command;
use crate::error::DisconnectReason;
use crate::manager::ManagerShared;
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
    buffer: VecDeque<(String, Packet)>,
    acks: HashMap<String, Acks>,
    decoder: Decoder,
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
            decoder: Decoder::new(options.decoder.clone()),
            options,
            commands,
            shared,
            namespaces: ClientNamespaces::default(),
            joined: HashMap::new(),
            buffer: VecDeque::new(),
            acks: HashMap::new(),
            closing: false,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut attempt: u32 = 0;
        while !self.closing {
            if attempt > 0 {
                let listeners = self.shared.listeners().reconnect_attempt;
                listeners.iter().for_each(|f| f(attempt));
                let delay = self
                    .options
                    .backoff
                    .delay(attempt - 1, rand::random::<f64>());
                if self.offline(tokio::time::sleep(delay)).await.is_none() {
                    break;
                }
            }
            let (url, engine) = (self.url.clone(), self.options.engine.clone());
            let Some(connected) = self
                .offline(async move { Client::connect(&url, engine).await })
                .await
            else {
                break;
            };
            match connected {
                Err(e) => {
                    let message = e.to_string();
                    if attempt == 0 {
                        let data =
                            Json::from_value(&serde_json::json!({ "message": message })).ok();
                        for s in self.joined.values() {
                            s.connect_error(data.clone());
                        }
                    } else {
                        let listeners = self.shared.listeners().reconnect_error;
                        listeners.iter().for_each(|f| f(&message));
                    }
                    let exhausted = self
                        .options
                        .reconnection_attempts
                        .is_some_and(|max| attempt >= max);
                    if !self.options.reconnection || exhausted {
                        if attempt > 0 {
                            let listeners = self.shared.listeners().reconnect_failed;
                            listeners.iter().for_each(|f| f());
                        }
                        break;
                    }
                    attempt += 1;
                }
                Ok(mut client) => {
                    if attempt > 0 {
                        let listeners = self.shared.listeners().reconnect;
                        listeners.iter().for_each(|f| f(attempt));
                    }
                    let reason = self.connected(&mut client).await;
                    for s in self.joined.values() {
                        s.mark_disconnected(reason);
                    }
                    // Acks asked on that connection will not come.
                    self.acks.clear();
                    if !self.options.reconnection {
                        self.closing = true;
                    }
                    attempt = 1;
                }
            }
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.closing = true;
        self.buffer.clear();
        self.shared.set_buffered(0);
        self.acks.clear();
        self.commands.close();
    }

    /// Waits for `fut` with no connection, taking commands and ending
    /// overdue acks meanwhile; `None` when the manager closed first.
    async fn offline<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        loop {
            let deadline = self.poll_ack_timeout();
            tokio::select! {
                out = &mut fut => return Some(out),
                cmd = self.commands.recv() => self.on_command(None, cmd).await,
                () = sleep_until(deadline) => self.handle_ack_timeout(),
            }
            if self.closing {
                return None;
            }
        }
    }

    /// Runs one connection until it ends; returns why it ended.
    async fn connected(&mut self, client: &mut Client) -> DisconnectReason {
        self.decoder = Decoder::new(self.options.decoder.clone());
        for p in self.namespaces.rejoin() {
            send(client, &p).await;
        }
        loop {
            let deadline = self.poll_ack_timeout();
            tokio::select! {
                event = client.recv() => match event {
                    Some(ClientEvent::Message(m)) => {
                        if feed(&mut self.decoder, m).is_err() {
                            client.close().await;
                            return DisconnectReason::ParseError;
                        }
                        while let Some(p) = self.decoder.poll_packet() {
                            self.on_packet(client, p).await;
                        }
                    }
                    Some(ClientEvent::Closed(r)) => return DisconnectReason::from_engine(r),
                    Some(_) => {}
                    None => return DisconnectReason::TransportClose,
                },
                cmd = self.commands.recv() => {
                    self.on_command(Some(client), cmd).await;
                    if self.closing {
                        return DisconnectReason::IoClientDisconnect;
                    }
                }
                () = sleep_until(deadline) => self.handle_ack_timeout(),
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
            Some(Command::Join { nsp, auth }) => {
                // Offline, the CONNECT goes with the next connection's rejoin.
                if let (Some(p), Some(c)) = (self.want(&nsp, auth), client) {
                    send(c, &p).await;
                }
            }
            Some(Command::Leave(nsp)) => {
                if let (Some(p), Some(c)) = (self.leave(&nsp), client) {
                    send(c, &p).await;
                }
            }
            Some(Command::Emit {
                nsp,
                packet,
                volatile,
            }) => match client.filter(|_| self.is_joined(&nsp)) {
                Some(c) => send(c, &packet).await,
                None if !volatile => self.hold(nsp, packet),
                None => {}
            },
            Some(Command::EmitWithAck {
                nsp,
                packet,
                deadline,
                ack,
            }) => {
                if let Some(id) = packet.id() {
                    let acks = self.acks.entry(nsp.clone()).or_default();
                    acks.insert(id, deadline, ack);
                }
                match client.filter(|_| self.is_joined(&nsp)) {
                    Some(c) => send(c, &packet).await,
                    None => self.hold(nsp, packet),
                }
            }
        }
    }

    /// Records a namespace as wanted; returns its CONNECT packet.
    fn want(&mut self, nsp: &str, auth: Option<Json>) -> Option<Packet> {
        let socket = self.shared.socket(nsp)?;
        self.joined.insert(nsp.to_owned(), socket);
        self.namespaces.connect(nsp, auth).ok()
    }

    /// Leaves a namespace; returns its DISCONNECT packet if it was joined.
    fn leave(&mut self, nsp: &str) -> Option<Packet> {
        let packet = self.namespaces.disconnect(nsp);
        if let Some(s) = self.joined.remove(nsp) {
            s.mark_disconnected(DisconnectReason::IoClientDisconnect);
        }
        self.buffer.retain(|(n, _)| n != nsp);
        self.shared.set_buffered(self.buffer.len());
        self.acks.remove(nsp);
        packet
    }

    fn hold(&mut self, nsp: String, packet: Packet) {
        if self.buffer.len() < self.options.max_buffered {
            self.buffer.push_back((nsp, packet));
            self.shared.set_buffered(self.buffer.len());
        }
    }

    fn is_joined(&self, nsp: &str) -> bool {
        self.joined.get(nsp).is_some_and(Socket::connected)
    }

    fn poll_ack_timeout(&mut self) -> Option<Instant> {
        self.acks.values_mut().filter_map(Acks::poll_timeout).min()
    }

    fn handle_ack_timeout(&mut self) {
        let now = socketio_runtime::now();
        for acks in self.acks.values_mut() {
            acks.handle_timeout(now);
        }
    }

    async fn on_packet(&mut self, client: &Client, p: Packet) {
        match p.kind() {
            Kind::Connect | Kind::ConnectError | Kind::Disconnect => {
                match self.namespaces.handle_packet(&p) {
                    Some(NamespaceEvent::Connected { nsp, sid }) => {
                        let Some(s) = self.joined.get(&nsp).cloned() else {
                            return;
                        };
                        s.mark_connected(sid);
                        // What waited for this namespace goes out now, in order.
                        let waiting = std::mem::take(&mut self.buffer);
                        let mut left = waiting.len();
                        for (n, packet) in waiting {
                            if n == nsp {
                                send(client, &packet).await;
                                left -= 1;
                                self.shared.set_buffered(left);
                            } else {
                                self.buffer.push_back((n, packet));
                            }
                        }
                    }
                    Some(NamespaceEvent::ConnectError { nsp, data }) => {
                        if let Some(s) = self.joined.get(&nsp) {
                            s.connect_error(data);
                        }
                    }
                    Some(NamespaceEvent::Disconnected { nsp }) => {
                        if let Some(s) = self.joined.remove(&nsp) {
                            s.mark_disconnected(DisconnectReason::IoServerDisconnect);
                        }
                        self.acks.remove(&nsp);
                    }
                    _ => {}
                }
            }
            Kind::Event => {
                if let Some(s) = self.joined.get(p.nsp()) {
                    s.dispatch(&p);
                }
            }
            Kind::Ack => {
                if let Some(acks) = self.acks.get_mut(p.nsp()) {
                    acks.handle_ack(p);
                }
            }
        }
    }
}

async fn send(client: &Client, p: &Packet) {
    let _ = client.send(Payload::Text(p.encode().into())).await;
    for a in p.attachments() {
        let _ = client.send(Payload::Binary(a.clone())).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
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
