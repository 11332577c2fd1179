//! A socket: one namespace on a manager's connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::{Json, Packet};
use socketio_runtime::ack::{self, NoAnswer};
use socketio_runtime::dispatch::DisconnectFn;
use socketio_runtime::{AckSocket, Handlers, lock};

use crate::command::Command;
use crate::error::{AckError, DisconnectReason, EmitError};
use crate::manager::Manager;

type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
type ConnectErrorFn = Arc<dyn Fn(Socket, Option<Json>) + Send + Sync>;

/// Answers an event the server sent with an ack id.
pub type AckSender = socketio_runtime::AckSender<Socket>;

/// A socket in one namespace. Cheap to clone; every clone is the same socket.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<SocketShared>,
    manager: Manager,
}

struct SocketShared {
    nsp: String,
    id: Mutex<Option<String>>,
    connected: AtomicBool,
    ack_ids: AtomicU64,
    handlers: Handlers<Socket>,
    on_connect: Mutex<Vec<ConnectFn>>,
    on_disconnect: Mutex<Vec<DisconnectFn<Socket, DisconnectReason>>>,
    on_connect_error: Mutex<Vec<ConnectErrorFn>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.shared.nsp
    }

    /// The id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        lock(&self.shared.id).clone()
    }

    /// Whether the namespace is joined now.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// The manager (the connection) this socket rides on.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Registers the handler of `event`. Its arguments deserialize into `T`:
    /// a tuple, `Vec` or array takes them all, `()` none, any other type the
    /// first. `ack` is set when the server asked for an acknowledgement.
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.handlers.on(event, handler);
    }

    /// Registers a handler of the raw packet of `event`: its JSON as sent,
    /// attachments included (for payloads of no fixed shape, or relaying).
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Socket, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.handlers.on_raw(event, handler);
    }

    /// Called for every incoming event, before its own handler (`onAny`).
    pub fn on_any<F>(&self, f: F)
    where
        F: Fn(&Socket, &str, &Packet) + Send + Sync + 'static,
    {
        self.shared.handlers.on_any(f);
    }

    /// Called each time the namespace is joined (again, after a reconnect).
    pub fn on_connect<F: Fn(Socket) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.on_connect).push(Arc::new(f));
    }

    /// Called each time the socket disconnects, with the reason.
    pub fn on_disconnect<F: Fn(Socket, DisconnectReason) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.on_disconnect).push(Arc::new(f));
    }

    /// Called when the server refuses the namespace (CONNECT_ERROR), with its
    /// payload (`{"message", "data"}` from the official server).
    pub fn on_connect_error<F: Fn(Socket, Option<Json>) + Send + Sync + 'static>(&self, f: F) {
        lock(&self.shared.on_connect_error).push(Arc::new(f));
    }

    /// Emits `event` with `args` (a tuple, array or `Vec`; one non-sequence
    /// value is one argument). While the namespace is not joined, the emit
    /// waits in the manager's buffer and goes out, in order, once it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = Packet::event(&self.shared.nsp, event, args)?;
        self.manager.command(Command::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            volatile: false,
        })
    }

    /// Like [`emit`](Self::emit), but dropped, not buffered, while the
    /// namespace is not joined.
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(&self.shared.nsp, event, args)?;
        self.manager.command(Command::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            volatile: true,
        })
    }

    /// Emits and waits for the server's acknowledgement, deserialized into
    /// `R`, for at most `timeout` (counted from now, buffering included).
    pub async fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.shared.ack_ids.fetch_add(1, Ordering::Relaxed);
        let packet = Packet::event(&self.shared.nsp, event, args)
            .map_err(EmitError::from)?
            .with_id(id);
        let (slot, wait) = ack::wait();
        self.manager.command(Command::EmitWithAck {
            nsp: self.shared.nsp.clone(),
            packet,
            deadline: socketio_runtime::now() + timeout,
            ack: slot,
        })?;
        match wait.answer().await {
            Ok(ack) => ack.ack_args().map_err(AckError::Deserialize),
            Err(NoAnswer::Timeout) => Err(AckError::Timeout),
            Err(NoAnswer::Gone) => Err(AckError::Closed),
        }
    }

    /// Leaves the namespace ("io client disconnect"); it is not re-joined.
    pub fn disconnect(&self) {
        let _ = self
            .manager
            .command(Command::Leave(self.shared.nsp.clone()));
    }

    /// Joins the namespace again after a refusal or a disconnect, with `auth`.
    pub fn connect(&self, auth: Option<serde_json::Value>) {
        let _ = self.manager.command(Command::Join {
            nsp: self.shared.nsp.clone(),
            auth: auth.and_then(|a| Json::from_value(&a).ok()),
        });
    }
}

/// What the manager's task does with a socket.
impl Socket {
    pub(crate) fn new(nsp: &str, manager: Manager) -> Socket {
        let shared = SocketShared {
            nsp: nsp.to_owned(),
            id: Mutex::new(None),
            connected: AtomicBool::new(false),
            ack_ids: AtomicU64::new(0),
            handlers: Handlers::default(),
            on_connect: Mutex::new(Vec::new()),
            on_disconnect: Mutex::new(Vec::new()),
            on_connect_error: Mutex::new(Vec::new()),
        };
        Socket {
            shared: Arc::new(shared),
            manager,
        }
    }

    /// An EVENT from the server: its listeners and its handler.
    pub(crate) fn dispatch(&self, event: &Packet) {
        self.shared.handlers.dispatch(self, event);
    }

    /// The server accepted the namespace, with socket id `sid`.
    pub(crate) fn mark_connected(&self, sid: String) {
        *lock(&self.shared.id) = Some(sid);
        self.shared.connected.store(true, Ordering::Release);
        let fs = lock(&self.shared.on_connect).clone();
        fs.iter().for_each(|f| f(self.clone()));
    }

    /// The namespace is left, for `reason`; the disconnect handlers run if
    /// it was joined.
    pub(crate) fn mark_disconnected(&self, reason: DisconnectReason) {
        if self.shared.connected.swap(false, Ordering::AcqRel) {
            *lock(&self.shared.id) = None;
            let fs = lock(&self.shared.on_disconnect).clone();
            fs.iter().for_each(|f| f(self.clone(), reason));
        }
    }

    /// The server refused the namespace, or the connection failed.
    pub(crate) fn connect_error(&self, data: Option<Json>) {
        let fs = lock(&self.shared.on_connect_error).clone();
        fs.iter().for_each(|f| f(self.clone(), data.clone()));
    }
}

impl AckSocket for Socket {
    type Error = EmitError;

    fn namespace(&self) -> &str {
        &self.shared.nsp
    }

    fn send_ack(&self, packet: Packet) -> Result<(), EmitError> {
        self.manager.command(Command::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            // An ack is for the connection it was asked on: not replayed later.
            volatile: true,
        })
    }
}
