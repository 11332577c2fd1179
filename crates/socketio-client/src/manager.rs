//! The manager: the handle to one connection and the namespaces on it. Its
//! task (`conn`) does the work; the handle and the sockets send it
//! commands.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_runtime::rt::{self, mpsc};
use socketio_runtime::{MaybeSend, MaybeSync, lock};

use crate::ClientOptions;
use crate::command::Command;
use crate::conn::Conn;
use crate::error::{ConnectError, DisconnectReason, EmitError};
use crate::socket::Socket;

type CountFn = socketio_runtime::shared_fn!(Fn(u32));
type TextFn = socketio_runtime::shared_fn!(Fn(&str));
type DoneFn = socketio_runtime::shared_fn!(Fn());
type CloseFn = socketio_runtime::shared_fn!(Fn(DisconnectReason));
type ErrorFn = socketio_runtime::shared_fn!(Fn(&ConnectError));

/// The manager's listeners.
#[derive(Clone, Default)]
pub(crate) struct Listeners {
    pub(crate) reconnect_attempt: Vec<CountFn>,
    pub(crate) reconnect: Vec<CountFn>,
    pub(crate) reconnect_error: Vec<TextFn>,
    pub(crate) reconnect_failed: Vec<DoneFn>,
    pub(crate) open: Vec<DoneFn>,
    pub(crate) close: Vec<CloseFn>,
    pub(crate) error: Vec<ErrorFn>,
    pub(crate) ping: Vec<DoneFn>,
}

/// What the handles and the task share.
pub(crate) struct ManagerShared {
    commands: mpsc::Sender<Command>,
    listeners: Mutex<Listeners>,
    sockets: Mutex<HashMap<String, Socket>>,
    /// Emits waiting in the task's offline buffer and retry queues.
    buffered: AtomicUsize,
    max_buffered: usize,
    retries: Option<u32>,
    ack_timeout: Option<Duration>,
    auto_connect: bool,
    auth: Option<serde_json::Value>,
}

impl ManagerShared {
    /// The listeners as they are now, to call outside the lock.
    pub(crate) fn listeners(&self) -> Listeners {
        lock(&self.listeners).clone()
    }

    /// Every socket made on this manager.
    pub(crate) fn all_sockets(&self) -> Vec<Socket> {
        lock(&self.sockets).values().cloned().collect()
    }

    /// The socket of namespace `nsp`.
    pub(crate) fn socket(&self, nsp: &str) -> Option<Socket> {
        lock(&self.sockets).get(nsp).cloned()
    }

    /// The task's offline buffer and queues hold `n` emits now.
    pub(crate) fn set_buffered(&self, n: usize) {
        self.buffered.store(n, Ordering::Relaxed);
    }
}

/// One connection to a Socket.IO server, shared by the sockets of every
/// namespace on it (socket.io-client's `Manager`). Cheap to clone. Dropping
/// every handle does not close it: call [`close`](Self::close).
///
/// Its events: [`on_open`](Self::on_open), [`on_close`](Self::on_close),
/// [`on_error`](Self::on_error), [`on_ping`](Self::on_ping), and the
/// reconnection's ([`on_reconnect_attempt`](Self::on_reconnect_attempt),
/// [`on_reconnect`](Self::on_reconnect),
/// [`on_reconnect_error`](Self::on_reconnect_error),
/// [`on_reconnect_failed`](Self::on_reconnect_failed)).
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
    /// A manager of the server at `url` (`http://host:port`, or `https://`
    /// with the `tls` feature). It connects at once unless
    /// `options.auto_connect` is off; then at the first
    /// [`Socket::connect`]. Natively it must be called on a tokio runtime; in
    /// the browser anywhere (it spawns on the page's event loop).
    pub fn new(url: &str, options: ClientOptions) -> Manager {
        let (tx, rx) = mpsc::channel(options.max_buffered.max(1));
        let shared = Arc::new(ManagerShared {
            commands: tx,
            listeners: Mutex::new(Listeners::default()),
            sockets: Mutex::new(HashMap::new()),
            buffered: AtomicUsize::new(0),
            max_buffered: options.max_buffered,
            retries: options.retries,
            ack_timeout: options.ack_timeout,
            auto_connect: options.auto_connect,
            auth: options.auth.clone(),
        });
        rt::spawn(Conn::new(url, options, rx, shared.clone()).run());
        Manager { shared }
    }

    /// The socket of namespace `nsp` (one per namespace, as
    /// socket.io-client's Manager), joining it with `auth` (`None`: the
    /// options' `auth`). With `auto_connect` off it is not joined until
    /// [`Socket::connect`], so its listeners can come first.
    pub fn socket(&self, nsp: &str, auth: Option<serde_json::Value>) -> Socket {
        let socket = self.socket_entry(nsp);
        if auth.is_some() || !socket.has_auth() {
            socket.set_auth(auth.or_else(|| self.shared.auth.clone()));
        }
        self.maybe_join(&socket);
        socket
    }

    /// Like [`socket`](Self::socket), the auth a function called at every
    /// join and re-join (see [`Socket::set_auth_fn`]).
    pub fn socket_with_auth<F>(&self, nsp: &str, auth: F) -> Socket
    where
        F: Fn() -> Option<serde_json::Value> + MaybeSend + MaybeSync + 'static,
    {
        let socket = self.socket_entry(nsp);
        socket.set_auth_fn(auth);
        self.maybe_join(&socket);
        socket
    }

    fn socket_entry(&self, nsp: &str) -> Socket {
        lock(&self.shared.sockets)
            .entry(nsp.to_owned())
            .or_insert_with(|| Socket::new(nsp, self.clone()))
            .clone()
    }

    fn maybe_join(&self, socket: &Socket) {
        if self.shared.auto_connect {
            // The join starts now; whoever wants to wait calls connect().
            drop(socket.connect());
        }
    }

    /// Closes the connection; its sockets disconnect with "io client
    /// disconnect" and it is not re-opened.
    pub fn close(&self) {
        let _ = self.shared.commands.try_send(Command::Close);
    }

    /// Called each time the Engine.IO connection opens (`open`).
    pub fn on_open<F: Fn() + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).open.push(Arc::new(f));
    }

    /// Called each time the Engine.IO connection closes, with why
    /// (`close`).
    pub fn on_close<F: Fn(DisconnectReason) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).close.push(Arc::new(f));
    }

    /// Called each time a connection attempt fails (`error`):
    /// [`ConnectError::Timeout`] past `ClientOptions::timeout`, else
    /// [`ConnectError::Transport`]. Reconnection goes on.
    pub fn on_error<F: Fn(&ConnectError) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).error.push(Arc::new(f));
    }

    /// Called for each heartbeat ping from the server (`ping`).
    pub fn on_ping<F: Fn() + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).ping.push(Arc::new(f));
    }

    /// Called before each reconnection attempt, with its number (from 1).
    pub fn on_reconnect_attempt<F: Fn(u32) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_attempt
            .push(Arc::new(f));
    }

    /// Called when a reconnection succeeded, with the attempt number.
    pub fn on_reconnect<F: Fn(u32) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners).reconnect.push(Arc::new(f));
    }

    /// Called when a reconnection attempt failed, with the reason.
    pub fn on_reconnect_error<F: Fn(&str) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_error
            .push(Arc::new(f));
    }

    /// Called when `reconnection_attempts` ran out.
    pub fn on_reconnect_failed<F: Fn() + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.listeners)
            .reconnect_failed
            .push(Arc::new(f));
    }

    pub(crate) fn retries(&self) -> Option<u32> {
        self.shared.retries
    }

    pub(crate) fn ack_timeout(&self) -> Option<Duration> {
        self.shared.ack_timeout
    }

    /// Sends `cmd` once the task's channel has room (a join must not fail
    /// because emits fill the channel now).
    pub(crate) fn command_later(&self, cmd: Command) {
        let commands = self.shared.commands.clone();
        rt::spawn(async move {
            // Closed: the shutdown fails every waiter itself.
            let _ = commands.send(cmd).await;
        });
    }

    pub(crate) fn command(&self, cmd: Command) -> Result<(), EmitError> {
        if matches!(
            cmd,
            Command::Emit {
                volatile: false,
                ..
            } | Command::EmitWithAck { .. }
                | Command::Enqueue { .. }
        ) && self.shared.buffered.load(Ordering::Relaxed) >= self.shared.max_buffered
        {
            return Err(EmitError::BufferFull);
        }
        self.shared.commands.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => EmitError::BufferFull,
            mpsc::error::TrySendError::Closed(_) => EmitError::Closed,
        })
    }
}
