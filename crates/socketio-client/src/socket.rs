//! A socket: one namespace on a manager's connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::{Json, Packet};
use socketio_runtime::dispatch::DisconnectFn;
use socketio_runtime::{AckSocket, Handlers, lock};
use tokio::sync::oneshot;

use crate::error::{AckError, DisconnectReason, EmitError};
use crate::manager::{Cmd, Manager};

type ConnectFn = Arc<dyn Fn(Socket) + Send + Sync>;
type ConnectErrorFn = Arc<dyn Fn(Socket, Option<Json>) + Send + Sync>;

/// Answers an event the server sent with an ack id.
pub type AckSender = socketio_runtime::AckSender<Socket>;

/// A socket in one namespace. Cheap to clone; every clone is the same socket.
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) manager: Manager,
}

pub(crate) struct SocketShared {
    pub(crate) nsp: String,
    pub(crate) id: Mutex<Option<String>>,
    pub(crate) connected: AtomicBool,
    pub(crate) ack_ids: AtomicU64,
    pub(crate) handlers: Handlers<Socket>,
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

impl SocketShared {
    pub(crate) fn new(nsp: &str) -> Self {
        SocketShared {
            nsp: nsp.to_owned(),
            id: Mutex::new(None),
            connected: AtomicBool::new(false),
            ack_ids: AtomicU64::new(0),
            handlers: Handlers::default(),
            on_connect: Mutex::new(Vec::new()),
            on_disconnect: Mutex::new(Vec::new()),
            on_connect_error: Mutex::new(Vec::new()),
        }
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

    pub(crate) fn fire_connect(&self) {
        let fs = lock(&self.shared.on_connect).clone();
        fs.iter().for_each(|f| f(self.clone()));
    }

    pub(crate) fn fire_disconnect(&self, reason: DisconnectReason) {
        let fs = lock(&self.shared.on_disconnect).clone();
        fs.iter().for_each(|f| f(self.clone(), reason));
    }

    pub(crate) fn fire_connect_error(&self, data: Option<Json>) {
        let fs = lock(&self.shared.on_connect_error).clone();
        fs.iter().for_each(|f| f(self.clone(), data.clone()));
    }

    /// Emits `event` with `args` (a tuple, array or `Vec`; one non-sequence
    /// value is one argument). While the namespace is not joined, the emit
    /// waits in the manager's buffer and goes out, in order, once it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        let packet = Packet::event(&self.shared.nsp, event, args)?;
        self.manager.command(Cmd::Emit {
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
        self.manager.command(Cmd::Emit {
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
        let (tx, rx) = oneshot::channel();
        self.manager.command(Cmd::EmitWithAck {
            nsp: self.shared.nsp.clone(),
            packet,
            ack: tx,
        })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(ack)) => ack.ack_args().map_err(AckError::Deserialize),
            Ok(Err(_)) => Err(AckError::Closed),
            Err(_) => {
                let _ = self.manager.command(Cmd::ForgetAck {
                    nsp: self.shared.nsp.clone(),
                    id,
                });
                Err(AckError::Timeout)
            }
        }
    }

    /// Leaves the namespace ("io client disconnect"); it is not re-joined.
    pub fn disconnect(&self) {
        let _ = self.manager.command(Cmd::Leave(self.shared.nsp.clone()));
    }

    /// Joins the namespace again after a refusal or a disconnect, with `auth`.
    pub fn connect(&self, auth: Option<serde_json::Value>) {
        let _ = self.manager.command(Cmd::Join {
            shared: self.shared.clone(),
            auth: auth.and_then(|a| Json::from_value(&a).ok()),
        });
    }
}

impl AckSocket for Socket {
    type Error = EmitError;

    fn namespace(&self) -> &str {
        &self.shared.nsp
    }

    fn send_ack(&self, packet: Packet) -> Result<(), EmitError> {
        self.manager.command(Cmd::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            // An ack is for the connection it was asked on: not replayed later.
            volatile: true,
        })
    }
}
