//! The manager: the handle to one connection and the namespaces on it. Its
//! task (`conn`) does the work; the handle and the sockets send it
//! commands.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use socketio_runtime::lock;
use tokio::sync::mpsc;

use crate::ClientOptions;
use crate::command::Command;
use crate::conn::Conn;
use crate::error::EmitError;
use crate::socket::Socket;

type CountFn = Arc<dyn Fn(u32) + Send + Sync>;
type ErrorFn = Arc<dyn Fn(&str) + Send + Sync>;
type DoneFn = Arc<dyn Fn() + Send + Sync>;

/// The manager's listeners.
#[derive(Clone, Default)]
pub(crate) struct Listeners {
    pub(crate) reconnect_attempt: Vec<CountFn>,
    pub(crate) reconnect: Vec<CountFn>,
    pub(crate) reconnect_error: Vec<ErrorFn>,
    pub(crate) reconnect_failed: Vec<DoneFn>,
}

/// What the handles and the task share.
pub(crate) struct ManagerShared {
    commands: mpsc::Sender<Command>,
    listeners: Mutex<Listeners>,
    sockets: Mutex<HashMap<String, Socket>>,
    /// Emits waiting in the task's offline buffer.
    buffered: AtomicUsize,
    max_buffered: usize,
}

impl ManagerShared {
    /// The listeners as they are now, to call outside the lock.
    pub(crate) fn listeners(&self) -> Listeners {
        lock(&self.listeners).clone()
    }

    /// The socket of namespace `nsp`.
    pub(crate) fn socket(&self, nsp: &str) -> Option<Socket> {
        lock(&self.sockets).get(nsp).cloned()
    }

    /// The task's offline buffer holds `n` emits now.
    pub(crate) fn set_buffered(&self, n: usize) {
        self.buffered.store(n, Ordering::Relaxed);
    }
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
    /// Starts connecting to `url` (`http://host:port`, or `https://` with
    /// the `tls` feature). Must be called on a tokio runtime.
    pub fn new(url: &str, options: ClientOptions) -> Manager {
        let (tx, rx) = mpsc::channel(options.max_buffered.max(1));
        let shared = Arc::new(ManagerShared {
            commands: tx,
            listeners: Mutex::new(Listeners::default()),
            sockets: Mutex::new(HashMap::new()),
            buffered: AtomicUsize::new(0),
            max_buffered: options.max_buffered,
        });
        tokio::spawn(Conn::new(url, options, rx, shared.clone()).run());
        Manager { shared }
    }

    /// The socket of namespace `nsp`, joining it with `auth` (one socket per
    /// namespace, as socket.io-client's Manager).
    pub fn socket(&self, nsp: &str, auth: Option<serde_json::Value>) -> Socket {
        let socket = lock(&self.shared.sockets)
            .entry(nsp.to_owned())
            .or_insert_with(|| Socket::new(nsp, self.clone()))
            .clone();
        socket.connect(auth);
        socket
    }

    /// Closes the connection; its sockets disconnect with "io client
    /// disconnect" and it is not re-opened.
    pub fn close(&self) {
        let _ = self.shared.commands.try_send(Command::Close);
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

    pub(crate) fn command(&self, cmd: Command) -> Result<(), EmitError> {
        if matches!(
            cmd,
            Command::Emit {
                volatile: false,
                ..
            } | Command::EmitWithAck { .. }
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
