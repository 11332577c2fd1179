//! The manager: one Engine.IO connection, the namespaces on it, and the task
//! that keeps it up.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use engineio::client::Client;
use engineio::{ClientEvent, Payload};
use socketio_proto::{
    ClientNamespaces, Decoder, DecoderConfig, Json, Kind, NamespaceEvent, Packet, PendingAcks,
};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{TransportReason, lock};
use tokio::sync::{mpsc, oneshot};

use crate::backoff::Backoff;
use crate::error::{DisconnectReason, EmitError};
use crate::socket::{Socket, SocketShared};

/// Client settings, with socket.io-client's defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The Engine.IO layer: transports, upgrade, path (default `/socket.io/`),
    /// query, headers.
    pub engine: engineio::client::ClientOptions,
    /// Reconnect when the connection is lost. Default true.
    pub reconnection: bool,
    /// Attempts before giving up (`reconnect_failed`); `None`: forever.
    pub reconnection_attempts: Option<u32>,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Emits that may wait for a connection (and commands in flight to the
    /// manager). Past it, emits fail with `EmitError::BufferFull`. Default 1024.
    pub max_buffered: usize,
    /// Limits on binary attachments from the server.
    pub decoder: DecoderConfig,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let mut engine = engineio::client::ClientOptions::default();
        engine.path = "/socket.io/".to_owned();
        ClientOptions {
            engine,
            reconnection: true,
            reconnection_attempts: None,
            backoff: Backoff::default(),
            max_buffered: 1024,
            decoder: DecoderConfig::default(),
        }
    }
}

pub(crate) enum Cmd {
    Join {
        shared: Arc<SocketShared>,
        auth: Option<Json>,
    },
    Leave(String),
    Emit {
        nsp: String,
        packet: Packet,
        volatile: bool,
    },
    EmitWithAck {
        nsp: String,
        packet: Packet,
        ack: oneshot::Sender<Packet>,
    },
    ForgetAck {
        nsp: String,
        id: u64,
    },
    Close,
}

type CountFn = Arc<dyn Fn(u32) + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&str) + Send + Sync>;
type DoneFn = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Listeners {
    reconnect_attempt: Vec<CountFn>,
    reconnect: Vec<CountFn>,
    reconnect_error: Vec<ErrorFn>,
    reconnect_failed: Vec<DoneFn>,
}

pub(crate) struct ManagerShared {
    cmds: mpsc::Sender<Cmd>,
    listeners: Mutex<Listeners>,
    sockets: Mutex<HashMap<String, Socket>>,
    /// Emits waiting in the task's offline buffer.
    buffered: AtomicUsize,
    max_buffered: usize,
}

/// One connection to a Socket.IO server, shared by the sockets of every
/// namespace on it. Cheap to clone. Dropping every handle does not close it:
/// call [`close`](Self::close).
#[derive(Clone)]
pub struct Manager {
    shared: Arc<ManagerShared>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl Manager {
    /// Starts connecting to `url` (`http://host:port`). Must be called on a
    /// tokio runtime.
    pub fn new(url: &str, options: ClientOptions) -> Manager {
        let (tx, rx) = mpsc::channel(options.max_buffered.max(1));
        let shared = Arc::new(ManagerShared {
            cmds: tx,
            listeners: Mutex::new(Listeners::default()),
            sockets: Mutex::new(HashMap::new()),
            buffered: AtomicUsize::new(0),
            max_buffered: options.max_buffered,
        });
        let task = Task {
            url: url.to_owned(),
            decoder: Decoder::new(options.decoder.clone()),
            options,
            rx,
            shared: shared.clone(),
            namespaces: ClientNamespaces::default(),
            joined: HashMap::new(),
            buffer: VecDeque::new(),
            acks: HashMap::new(),
            closing: false,
        };
        tokio::spawn(task.run());
        Manager { shared }
    }

    /// The socket of namespace `nsp`, joining it with `auth` (one socket per
    /// namespace, as socket.io-client's Manager).
    pub fn socket(&self, nsp: &str, auth: Option<serde_json::Value>) -> Socket {
        let socket = {
            let mut sockets = lock(&self.shared.sockets);
            sockets
                .entry(nsp.to_owned())
                .or_insert_with(|| Socket {
                    shared: Arc::new(SocketShared::new(nsp)),
                    manager: self.clone(),
                })
                .clone()
        };
        socket.connect(auth);
        socket
    }

    /// Closes the connection; its sockets disconnect with "io client
    /// disconnect" and it is not re-opened.
    pub fn close(&self) {
        let _ = self.shared.cmds.try_send(Cmd::Close);
    }

    /// Called before each reconnection attempt, with its number (from 1).
    pub fn on_reconnect_attempt<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_attempt
            .push(Arc::new(f));
    }

    /// Called when a reconnection succeeded, with the attempt number.
    pub fn on_reconnect<F: Fn(u32) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).reconnect.push(Arc::new(f));
    }

    /// Called when a reconnection attempt failed.
    pub fn on_reconnect_error<F: Fn(&str) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_error
            .push(Arc::new(f));
    }

    /// Called when `reconnection_attempts` ran out.
    pub fn on_reconnect_failed<F: Fn() + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_failed
            .push(Arc::new(f));
    }

    pub(crate) fn command(&self, cmd: Cmd) -> Result<(), EmitError> {
        if matches!(
            cmd,
            Cmd::Emit {
                volatile: false,
                ..
            } | Cmd::EmitWithAck { .. }
        ) && self.shared.buffered.load(Ordering::Relaxed) >= self.shared.max_buffered
        {
            return Err(EmitError::BufferFull);
        }
        self.shared.cmds.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => EmitError::BufferFull,
            mpsc::error::TrySendError::Closed(_) => EmitError::Closed,
        })
    }
}

struct Task {
    url: String,
    options: ClientOptions,
    rx: mpsc::Receiver<Cmd>,
    shared: Arc<ManagerShared>,
    namespaces: ClientNamespaces,
    /// The sockets of the namespaces wanted, by namespace.
    joined: HashMap<String, Socket>,
    /// Emits waiting for their namespace to be joined, in order.
    buffer: VecDeque<(String, Packet)>,
    acks: HashMap<String, PendingAcks<oneshot::Sender<Packet>>>,
    decoder: Decoder,
    closing: bool,
}

impl Task {
    async fn run(mut self) {
        let mut attempt: u32 = 0;
        while !self.closing {
            if attempt > 0 {
                let listeners = lock(&self.shared.listeners).reconnect_attempt.clone();
                listeners.iter().for_each(|f| f(attempt));
                let delay = self
                    .options
                    .backoff
                    .delay(attempt - 1, rand::random::<f64>());
                let sleep = tokio::time::sleep(delay);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        cmd = self.rx.recv() => self.offline(cmd),
                    }
                    if self.closing {
                        return self.shutdown();
                    }
                }
            }
            match Client::connect(&self.url, self.options.engine.clone()).await {
                Err(e) => {
                    let message = e.to_string();
                    if attempt == 0 {
                        let data =
                            Json::from_value(&serde_json::json!({ "message": message })).ok();
                        for s in self.joined.values() {
                            s.fire_connect_error(data.clone());
                        }
                    } else {
                        let listeners = lock(&self.shared.listeners).reconnect_error.clone();
                        listeners.iter().for_each(|f| f(&message));
                    }
                    let exhausted = self
                        .options
                        .reconnection_attempts
                        .is_some_and(|max| attempt >= max);
                    if !self.options.reconnection || exhausted {
                        if attempt > 0 {
                            let listeners = lock(&self.shared.listeners).reconnect_failed.clone();
                            listeners.iter().for_each(|f| f());
                        }
                        return self.shutdown();
                    }
                    attempt += 1;
                }
                Ok(mut client) => {
                    if attempt > 0 {
                        let listeners = lock(&self.shared.listeners).reconnect.clone();
                        listeners.iter().for_each(|f| f(attempt));
                    }
                    let reason = self.connected(&mut client).await;
                    for s in self.joined.values() {
                        if s.shared.connected.swap(false, Ordering::AcqRel) {
                            *lock(&s.shared.id) = None;
                            s.fire_disconnect(reason);
                        }
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
        self.shared.buffered.store(0, Ordering::Relaxed);
        self.acks.clear();
        self.rx.close();
    }

    /// Handles a command while there is no connection.
    fn offline(&mut self, cmd: Option<Cmd>) {
        match cmd {
            None | Some(Cmd::Close) => self.closing = true,
            Some(Cmd::Join { shared, auth }) => {
                self.want(shared, auth);
            }
            Some(Cmd::Leave(nsp)) => {
                self.leave(&nsp);
            }
            Some(Cmd::Emit {
                nsp,
                packet,
                volatile,
            }) => {
                if !volatile {
                    self.hold(nsp, packet);
                }
            }
            Some(Cmd::EmitWithAck { nsp, packet, ack }) => {
                self.expect(&nsp, &packet, ack);
                self.hold(nsp, packet);
            }
            Some(Cmd::ForgetAck { nsp, id }) => self.forget(&nsp, id),
        }
    }

    /// Records a namespace as wanted; returns its CONNECT packet.
    fn want(&mut self, shared: Arc<SocketShared>, auth: Option<Json>) -> Option<Packet> {
        let nsp = shared.nsp.clone();
        let socket = lock(&self.shared.sockets).get(&nsp).cloned()?;
        self.joined.insert(nsp.clone(), socket);
        self.namespaces.connect(&nsp, auth).ok()
    }

    fn leave(&mut self, nsp: &str) -> Option<Packet> {
        let packet = self.namespaces.disconnect(nsp);
        if let Some(s) = self.joined.remove(nsp) {
            if s.shared.connected.swap(false, Ordering::AcqRel) {
                *lock(&s.shared.id) = None;
                s.fire_disconnect(DisconnectReason::IoClientDisconnect);
            }
        }
        let before = self.buffer.len();
        self.buffer.retain(|(n, _)| n != nsp);
        self.shared
            .buffered
            .fetch_sub(before - self.buffer.len(), Ordering::Relaxed);
        self.acks.remove(nsp);
        packet
    }

    fn hold(&mut self, nsp: String, packet: Packet) {
        if self.buffer.len() < self.options.max_buffered {
            self.buffer.push_back((nsp, packet));
            self.shared.buffered.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn expect(&mut self, nsp: &str, packet: &Packet, ack: oneshot::Sender<Packet>) {
        if let Some(id) = packet.id() {
            self.acks
                .entry(nsp.to_owned())
                .or_default()
                .insert_with_id(id, None, ack);
        }
    }

    fn forget(&mut self, nsp: &str, id: u64) {
        if let Some(a) = self.acks.get_mut(nsp) {
            a.handle_ack(id);
        }
    }

    fn is_joined(&self, nsp: &str) -> bool {
        self.joined.get(nsp).is_some_and(Socket::connected)
    }

    /// Runs one connection until it ends; returns why it ended.
    async fn connected(&mut self, client: &mut Client) -> DisconnectReason {
        self.decoder = Decoder::new(self.options.decoder.clone());
        for p in self.namespaces.rejoin() {
            send(client, &p).await;
        }
        loop {
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
                cmd = self.rx.recv() => match cmd {
                    None | Some(Cmd::Close) => {
                        self.closing = true;
                        client.close().await;
                        return DisconnectReason::IoClientDisconnect;
                    }
                    Some(Cmd::Join { shared, auth }) => {
                        if let Some(p) = self.want(shared, auth) {
                            send(client, &p).await;
                        }
                    }
                    Some(Cmd::Leave(nsp)) => {
                        if let Some(p) = self.leave(&nsp) {
                            send(client, &p).await;
                        }
                    }
                    Some(Cmd::Emit { nsp, packet, volatile }) => {
                        if self.is_joined(&nsp) {
                            send(client, &packet).await;
                        } else if !volatile {
                            self.hold(nsp, packet);
                        }
                    }
                    Some(Cmd::EmitWithAck { nsp, packet, ack }) => {
                        self.expect(&nsp, &packet, ack);
                        if self.is_joined(&nsp) {
                            send(client, &packet).await;
                        } else {
                            self.hold(nsp, packet);
                        }
                    }
                    Some(Cmd::ForgetAck { nsp, id }) => self.forget(&nsp, id),
                },
            }
        }
    }

    async fn on_packet(&mut self, client: &mut Client, p: Packet) {
        match p.kind() {
            Kind::Connect | Kind::ConnectError | Kind::Disconnect => {
                match self.namespaces.handle_packet(&p) {
                    Some(NamespaceEvent::Connected { nsp, sid }) => {
                        let Some(s) = self.joined.get(&nsp).cloned() else {
                            return;
                        };
                        *lock(&s.shared.id) = Some(sid);
                        s.shared.connected.store(true, Ordering::Release);
                        s.fire_connect();
                        // What waited for this namespace goes out now, in order.
                        let mut keep = VecDeque::with_capacity(self.buffer.len());
                        for (n, packet) in std::mem::take(&mut self.buffer) {
                            if n == nsp {
                                send(client, &packet).await;
                                self.shared.buffered.fetch_sub(1, Ordering::Relaxed);
                            } else {
                                keep.push_back((n, packet));
                            }
                        }
                        self.buffer = keep;
                    }
                    Some(NamespaceEvent::ConnectError { nsp, data }) => {
                        if let Some(s) = self.joined.get(&nsp) {
                            s.fire_connect_error(data);
                        }
                    }
                    Some(NamespaceEvent::Disconnected { nsp }) => {
                        if let Some(s) = self.joined.remove(&nsp) {
                            s.shared.connected.store(false, Ordering::Release);
                            *lock(&s.shared.id) = None;
                            s.fire_disconnect(DisconnectReason::IoServerDisconnect);
                        }
                        self.acks.remove(&nsp);
                    }
                    _ => {}
                }
            }
            Kind::Event => {
                if let Some(s) = self.joined.get(p.nsp()) {
                    s.shared.handlers.dispatch(s, &p);
                }
            }
            Kind::Ack => {
                let Some(id) = p.id() else { return };
                if let Some(tx) = self.acks.get_mut(p.nsp()).and_then(|a| a.handle_ack(id)) {
                    let _ = tx.send(p);
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
