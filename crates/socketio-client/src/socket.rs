//! A socket: one namespace on a manager's connection.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use socketio_proto::{Json, Packet};
use socketio_runtime::ack::{self, NoAnswer};
use socketio_runtime::dispatch::DisconnectFn;
use socketio_runtime::rt::oneshot;
use socketio_runtime::{AckSocket, Handlers, ListenerId, MaybeSend, MaybeSync, lock};

use crate::command::Command;
use crate::error::{AckError, ConnectError, DisconnectReason, EmitError};
use crate::manager::Manager;

type ConnectFn = socketio_runtime::shared_fn!(Fn(Socket));
type ConnectErrorFn = socketio_runtime::shared_fn!(Fn(Socket, ConnectError));
type AuthFn = socketio_runtime::shared_fn!(Fn() -> Option<serde_json::Value>);
type Waiter = oneshot::Sender<Result<(), ConnectError>>;

/// Answers an event the server sent with an ack id.
pub type AckSender = socketio_runtime::AckSender<Socket>;

/// What a CONNECT carries.
#[derive(Clone, Default)]
enum Auth {
    #[default]
    None,
    Value(serde_json::Value),
    Fn(AuthFn),
}

/// A socket in one namespace. Cheap to clone; every clone is the same socket.
///
/// # Listeners
///
/// Any number of listeners per event, called in order of registration
/// ([`on`](Self::on), [`on_raw`](Self::on_raw)), after the catch-all ones
/// ([`on_any`](Self::on_any), [`prepend_any`](Self::prepend_any)), as a
/// Node `EventEmitter`. Each registration returns a [`ListenerId`] for
/// [`remove_listener`](Self::remove_listener); [`off`](Self::off) and
/// [`off_any`](Self::off_any) remove them all. Every listener gets the
/// socket, so an `async` one needs no clone of its own.
///
/// # Connection state recovery
///
/// Against a server with recovery on (the official server's
/// `connectionStateRecovery`), the CONNECT answer carries a private id
/// (`pid`); from then on the last argument of each event, when it is a
/// string, is taken as the offset the server gave that event, and each
/// re-join sends `{pid, offset}` merged into the auth. If the server could
/// restore the session it sends the missed events first, then the CONNECT
/// answer with the same `pid`: the missed events reach the listeners before
/// `on_connect`, and [`recovered`](Self::recovered) is true.
///
/// The offset stays in the arguments, as socket.io-client leaves it: a
/// `Vec` (or `serde_json::Value` array) listener sees it as the last
/// element; a tuple listener ignores arguments past its own.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<SocketShared>,
    manager: Manager,
}

struct SocketShared {
    nsp: String,
    id: Mutex<Option<String>>,
    connected: AtomicBool,
    recovered: AtomicBool,
    /// Recovery: the server's private session id, and the last offset seen.
    pid: Mutex<Option<String>>,
    offset: Mutex<Option<String>>,
    auth: Mutex<Auth>,
    ack_ids: AtomicU64,
    /// The retry queue, as the task last left it.
    queue_len: AtomicUsize,
    head_tries: AtomicU32,
    handlers: Handlers<Socket>,
    on_connect: Mutex<Vec<ConnectFn>>,
    on_disconnect: Mutex<Vec<DisconnectFn<Socket, DisconnectReason>>>,
    on_connect_error: Mutex<Vec<ConnectErrorFn>>,
    /// `connect().await`s waiting.
    waiters: Mutex<Vec<Waiter>>,
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

    /// Whether the last join restored the previous session (connection
    /// state recovery): the server knew the `pid` sent, kept the socket's
    /// id and rooms, and sent the events missed meanwhile. False on a first
    /// join, and when the server could not (or does not) recover.
    pub fn recovered(&self) -> bool {
        self.shared.recovered.load(Ordering::Acquire)
    }

    /// The manager (the connection) this socket rides on.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Adds a listener of `event`. Its arguments deserialize into `T`: a
    /// tuple, `Vec` or array takes them all (a tuple ignores arguments past
    /// its own), `()` none, any other type the first. `ack` is set when the
    /// server asked for an acknowledgement. Arguments that do not fit `T`
    /// skip this listener and go to [`on_mismatch`](Self::on_mismatch) (and
    /// a `tracing` warning, with the `tracing` feature).
    pub fn on<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + MaybeSend + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        self.shared.handlers.on(event, handler)
    }

    /// Adds a listener of the raw packet of `event`: its JSON as sent,
    /// attachments included (for payloads of no fixed shape, or relaying).
    pub fn on_raw<F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        F: Fn(Socket, Packet) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        self.shared.handlers.on_raw(event, handler)
    }

    /// Adds a listener of every incoming event, called before the event's
    /// own listeners (`onAny`).
    pub fn on_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &Packet) + MaybeSend + MaybeSync + 'static,
    {
        self.shared.handlers.on_any(f)
    }

    /// Like [`on_any`](Self::on_any), called before the catch-all listeners
    /// already there (`prependAny`).
    pub fn prepend_any<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &Packet) + MaybeSend + MaybeSync + 'static,
    {
        self.shared.handlers.prepend_any(f)
    }

    /// Hears of each event whose arguments do not fit a listener's type
    /// (the listener is skipped): the socket, the event, the error.
    /// Without it such an event would pass unseen but for the `tracing`
    /// warning.
    pub fn on_mismatch<F>(&self, f: F) -> ListenerId
    where
        F: Fn(&Socket, &str, &serde_json::Error) + MaybeSend + MaybeSync + 'static,
    {
        self.shared.handlers.on_mismatch(f)
    }

    /// Like [`on`](Self::on), for the next such event only (`once`).
    pub fn once<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + MaybeSend + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + MaybeSend + MaybeSync + 'static,
        Fut: Future<Output = ()> + MaybeSend + 'static,
    {
        self.shared.handlers.once(event, handler)
    }

    /// Removes every listener of `event` (`off(event)`).
    pub fn off(&self, event: &str) {
        self.shared.handlers.off(event);
    }

    /// Removes every catch-all listener (`offAny()`).
    pub fn off_any(&self) {
        self.shared.handlers.off_any();
    }

    /// Removes one listener (of an event, catch-all or mismatch); returns
    /// whether it was there.
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.shared.handlers.remove_listener(id)
    }

    /// How many listeners `event` has (`listenerCount`).
    pub fn listener_count(&self, event: &str) -> usize {
        self.shared.handlers.listener_count(event)
    }

    /// Called each time the namespace is joined (again, after a reconnect),
    /// after the events that came before the server's answer (with
    /// recovery, the missed ones).
    pub fn on_connect<F: Fn(Socket) + MaybeSend + MaybeSync + 'static>(&self, f: F) {
        lock(&self.shared.on_connect).push(Arc::new(f));
    }

    /// Called each time the socket disconnects, with the reason.
    pub fn on_disconnect<F: Fn(Socket, DisconnectReason) + MaybeSend + MaybeSync + 'static>(
        &self,
        f: F,
    ) {
        lock(&self.shared.on_disconnect).push(Arc::new(f));
    }

    /// Called when the server refuses the namespace
    /// ([`ConnectError::Refused`], with the middleware's message and
    /// data), and each time the connection cannot be opened (timeout,
    /// transport error) while the namespace is not joined, as
    /// socket.io-client's `connect_error`.
    pub fn on_connect_error<F: Fn(Socket, ConnectError) + MaybeSend + MaybeSync + 'static>(
        &self,
        f: F,
    ) {
        lock(&self.shared.on_connect_error).push(Arc::new(f));
    }

    /// Emits `event` with `args` (a tuple, array or `Vec`; one non-sequence
    /// value is one argument). While the namespace is not joined, the emit
    /// waits in the manager's buffer and goes out, in order, once it is.
    /// With `ClientOptions::retries` it goes through the retry queue
    /// instead: sent with an ack id, again until acknowledged.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.emit_with(event, args, true)
    }

    fn emit_with<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        compress: bool,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(&self.shared.nsp, event, args)?;
        if self.manager.retries().is_some() {
            return self.enqueue(packet, self.manager.ack_timeout(), None);
        }
        self.manager.command(Command::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            volatile: false,
            compress,
        })
    }

    /// The next emit with socket.io-client's `compress` flag
    /// (`socket.compress(false).emit(...)`): with `false` it is not
    /// compressed by a WebSocket with permessage-deflate. Polling requests
    /// are never compressed, as with the official client; emits through
    /// the retry queue (`ClientOptions::retries`) go compressible.
    pub fn compress(&self, compress: bool) -> SocketFlags<'_> {
        SocketFlags {
            socket: self,
            compress,
        }
    }

    /// Emits a `message` event (`socket.send(...)`), heard by the server's
    /// `socket.on("message")`.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Like [`emit`](Self::emit), but dropped, not buffered, while the
    /// namespace is not joined; never retried.
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.emit_volatile_with(event, args, true)
    }

    fn emit_volatile_with<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        compress: bool,
    ) -> Result<(), EmitError> {
        let packet = Packet::event(&self.shared.nsp, event, args)?;
        self.manager.command(Command::Emit {
            nsp: self.shared.nsp.clone(),
            packet,
            volatile: true,
            compress,
        })
    }

    /// Emits and waits for the server's acknowledgement, deserialized into
    /// `R`, for at most `timeout` (counted from now, buffering included).
    ///
    /// With `ClientOptions::retries`, `timeout` is each try's (as
    /// `socket.timeout(ms).emitWithAck(...)` with `retries`), and the wait
    /// lasts until a try is acknowledged or the tries run out
    /// ([`AckError::RetriesExhausted`]).
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
        self.emit_with_ack_with(event, args, timeout, true).await
    }

    async fn emit_with_ack_with<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
        compress: bool,
    ) -> Result<R, AckError>
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let packet = Packet::event(&self.shared.nsp, event, args).map_err(EmitError::from)?;
        if self.manager.retries().is_some() {
            let (tx, rx) = oneshot::channel();
            self.enqueue(packet, Some(timeout), Some(tx))?;
            let ack = rx.await.map_err(|_| AckError::Closed)??;
            return ack.ack_args().map_err(AckError::Deserialize);
        }
        let packet = packet.with_id(self.next_ack_id());
        let (slot, wait) = ack::wait();
        self.manager.command(Command::EmitWithAck {
            nsp: self.shared.nsp.clone(),
            packet,
            deadline: socketio_runtime::now() + timeout,
            ack: slot,
            compress,
        })?;
        match wait.answer().await {
            Ok(ack) => ack.ack_args().map_err(AckError::Deserialize),
            Err(NoAnswer::Timeout) => Err(AckError::Timeout),
            Err(NoAnswer::Gone) => Err(AckError::Closed),
        }
    }

    fn enqueue(
        &self,
        packet: Packet,
        try_timeout: Option<Duration>,
        done: Option<oneshot::Sender<Result<Packet, AckError>>>,
    ) -> Result<(), EmitError> {
        self.manager.command(Command::Enqueue {
            nsp: self.shared.nsp.clone(),
            packet,
            try_timeout,
            done,
        })
    }

    /// With `ClientOptions::retries`: how many emits wait in this socket's
    /// retry queue, the one in flight included.
    pub fn queue_len(&self) -> usize {
        self.shared.queue_len.load(Ordering::Acquire)
    }

    /// With `ClientOptions::retries`: how many times the queue's head was
    /// sent so far (socket.io-client's `tryCount`); `None` when the queue
    /// is empty. A head dropped after its last try fails its
    /// `emit_with_ack` with [`AckError::RetriesExhausted`], which carries
    /// the same count.
    pub fn queue_head_tries(&self) -> Option<u32> {
        (self.queue_len() > 0).then(|| self.shared.head_tries.load(Ordering::Acquire))
    }

    /// Leaves the namespace ("io client disconnect"); it is not re-joined
    /// until [`connect`](Self::connect).
    pub fn disconnect(&self) {
        let _ = self
            .manager
            .command(Command::Leave(self.shared.nsp.clone()));
    }

    /// Joins the namespace (opening the manager's connection if
    /// `auto_connect` was off), and returns a future that resolves once it
    /// is joined, or fails with the first [`ConnectError`]: the server's
    /// refusal, the connect timeout, a transport error. The join starts at
    /// once, whether or not the future is awaited; awaiting it is how to
    /// wait. Already joined: it resolves at once. After a failure the
    /// manager goes on reconnecting (unless `reconnection` is off), and
    /// the namespace is joined when the connection comes back, except
    /// after a refusal.
    pub fn connect(&self) -> impl Future<Output = Result<(), ConnectError>> + MaybeSend + 'static {
        let (tx, rx) = oneshot::channel();
        if self.connected() {
            let _ = tx.send(Ok(()));
        } else {
            lock(&self.shared.waiters).push(tx);
            match self.manager.command(Command::Join(self.shared.nsp.clone())) {
                Ok(()) => {}
                // Emits fill the channel now: the join waits its turn.
                Err(EmitError::BufferFull) => self
                    .manager
                    .command_later(Command::Join(self.shared.nsp.clone())),
                Err(_) => self.fail_waiters(ConnectError::Closed),
            }
        }
        async move { rx.await.unwrap_or(Err(ConnectError::Closed)) }
    }

    /// The auth every later join sends (`auth` in socket.io-client): a
    /// value, or `None` for none.
    pub fn set_auth(&self, auth: Option<serde_json::Value>) {
        *lock(&self.shared.auth) = auth.map_or(Auth::None, Auth::Value);
    }

    /// The auth as a function, called at every join and re-join (a token
    /// that expires is fetched anew each time).
    ///
    /// It is a plain function, called on the manager's task right before
    /// the CONNECT goes: an `async` one would hold every namespace of the
    /// connection (and its heartbeat answers) while it waits. To refresh a
    /// token over the network, do it elsewhere (a task, or
    /// `Manager::on_reconnect_attempt`) and have this return the newest.
    pub fn set_auth_fn<F>(&self, f: F)
    where
        F: Fn() -> Option<serde_json::Value> + MaybeSend + MaybeSync + 'static,
    {
        *lock(&self.shared.auth) = Auth::Fn(Arc::new(f));
    }
}

/// What the manager and its task do with a socket.
impl Socket {
    pub(crate) fn new(nsp: &str, manager: Manager) -> Socket {
        let shared = SocketShared {
            nsp: nsp.to_owned(),
            id: Mutex::new(None),
            connected: AtomicBool::new(false),
            recovered: AtomicBool::new(false),
            pid: Mutex::new(None),
            offset: Mutex::new(None),
            auth: Mutex::new(Auth::None),
            ack_ids: AtomicU64::new(0),
            queue_len: AtomicUsize::new(0),
            head_tries: AtomicU32::new(0),
            handlers: Handlers::default(),
            on_connect: Mutex::new(Vec::new()),
            on_disconnect: Mutex::new(Vec::new()),
            on_connect_error: Mutex::new(Vec::new()),
            waiters: Mutex::new(Vec::new()),
        };
        Socket {
            shared: Arc::new(shared),
            manager,
        }
    }

    /// Whether an auth was set (the manager's default applies if not).
    pub(crate) fn has_auth(&self) -> bool {
        !matches!(*lock(&self.shared.auth), Auth::None)
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.shared.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// The CONNECT payload now: the auth (the function called), with
    /// `{pid, offset}` under it once the server gave a pid
    /// (`_sendConnectPacket`: the auth's own keys win).
    pub(crate) fn connect_payload(&self) -> Option<Json> {
        let auth = match lock(&self.shared.auth).clone() {
            Auth::None => None,
            Auth::Value(v) => Some(v),
            Auth::Fn(f) => f(),
        };
        let payload = match lock(&self.shared.pid).clone() {
            None => auth,
            Some(pid) => {
                let mut m = serde_json::Map::new();
                m.insert("pid".into(), pid.into());
                if let Some(offset) = lock(&self.shared.offset).clone() {
                    m.insert("offset".into(), offset.into());
                }
                if let Some(serde_json::Value::Object(a)) = auth {
                    m.extend(a);
                }
                Some(serde_json::Value::Object(m))
            }
        };
        payload.and_then(|p| Json::from_value(&p).ok())
    }

    /// An EVENT from the server: its listeners; then, with recovery, its
    /// last argument as the offset (`emitEvent`).
    pub(crate) fn dispatch(&self, event: &Packet) {
        self.shared.handlers.dispatch(self, event);
        // An event asking for an ack ends with its callback in Node, never
        // a string: it sets no offset (and the server records none).
        if event.id().is_none() && lock(&self.shared.pid).is_some() {
            if let Some(offset) = last_string(event) {
                *lock(&self.shared.offset) = Some(offset);
            }
        }
    }

    /// The server accepted the namespace, with socket id `sid` and, with
    /// recovery, private id `pid`. The listeners are told later
    /// ([`notify_connected`](Self::notify_connected)), once what waited
    /// was dispatched and sent.
    pub(crate) fn set_connected(&self, sid: String, pid: Option<String>) {
        *lock(&self.shared.id) = Some(sid);
        let mut known = lock(&self.shared.pid);
        let recovered = pid.is_some() && *known == pid;
        *known = pid;
        drop(known);
        self.shared.recovered.store(recovered, Ordering::Release);
        self.shared.connected.store(true, Ordering::Release);
    }

    /// The connect listeners, then the `connect().await`s.
    pub(crate) fn notify_connected(&self) {
        let fs = lock(&self.shared.on_connect).clone();
        fs.iter().for_each(|f| f(self.clone()));
        for w in std::mem::take(&mut *lock(&self.shared.waiters)) {
            let _ = w.send(Ok(()));
        }
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
    pub(crate) fn connect_error(&self, error: ConnectError) {
        let fs = lock(&self.shared.on_connect_error).clone();
        fs.iter().for_each(|f| f(self.clone(), error.clone()));
        self.fail_waiters(error);
    }

    /// Some events sent before the CONNECT answer were dropped (past
    /// `max_early_events`): the socket did not come back whole.
    pub(crate) fn mark_not_recovered(&self) {
        self.shared.recovered.store(false, Ordering::Release);
    }

    /// The `connect().await`s resolve: the namespace is joined already.
    pub(crate) fn resolve_waiters(&self) {
        for w in std::mem::take(&mut *lock(&self.shared.waiters)) {
            let _ = w.send(Ok(()));
        }
    }

    /// The `connect().await`s fail with `error`.
    pub(crate) fn fail_waiters(&self, error: ConnectError) {
        for w in std::mem::take(&mut *lock(&self.shared.waiters)) {
            let _ = w.send(Err(error.clone()));
        }
    }

    /// The retry queue's length and its head's tries, for the getters.
    pub(crate) fn set_queue(&self, len: usize, head_tries: Option<u32>) {
        self.shared
            .head_tries
            .store(head_tries.unwrap_or(0), Ordering::Release);
        self.shared.queue_len.store(len, Ordering::Release);
    }
}

/// The last element of an event's payload when it is a string, as
/// socket.io-client reads the offset (with no arguments that is the event
/// name, as there too). Reads the JSON without building it.
fn last_string(event: &Packet) -> Option<String> {
    struct Last;
    impl<'de> Visitor<'de> for Last {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an event's payload")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut last = None;
            while let Some(item) = seq.next_element::<StringOrNot>()? {
                last = item.0;
            }
            Ok(last)
        }
    }
    struct StringOrNot(Option<String>);
    impl<'de> serde::Deserialize<'de> for StringOrNot {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StringVisitor)
        }
    }
    struct StringVisitor;
    impl<'de> Visitor<'de> for StringVisitor {
        type Value = StringOrNot;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_str<E>(self, s: &str) -> Result<StringOrNot, E> {
            Ok(StringOrNot(Some(s.to_owned())))
        }
        fn visit_bool<E>(self, _: bool) -> Result<StringOrNot, E> {
            Ok(StringOrNot(None))
        }
        fn visit_i64<E>(self, _: i64) -> Result<StringOrNot, E> {
            Ok(StringOrNot(None))
        }
        fn visit_u64<E>(self, _: u64) -> Result<StringOrNot, E> {
            Ok(StringOrNot(None))
        }
        fn visit_f64<E>(self, _: f64) -> Result<StringOrNot, E> {
            Ok(StringOrNot(None))
        }
        fn visit_unit<E>(self) -> Result<StringOrNot, E> {
            Ok(StringOrNot(None))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrNot, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(StringOrNot(None))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<StringOrNot, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(StringOrNot(None))
        }
    }
    let text = event.raw_data()?.as_str();
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_seq(&mut de, Last).ok()?
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
            compress: true,
        })
    }
}

/// A socket's next emit with flags ([`Socket::compress`]), as
/// socket.io-client's `socket.compress(false).emit(...)`.
#[derive(Debug, Clone, Copy)]
#[must_use = "the flags apply to an emit made through them"]
pub struct SocketFlags<'a> {
    socket: &'a Socket,
    compress: bool,
}

impl SocketFlags<'_> {
    /// [`Socket::emit`] with these flags.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.socket.emit_with(event, args, self.compress)
    }

    /// [`Socket::send`] with these flags.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// [`Socket::emit_volatile`] with these flags.
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.socket.emit_volatile_with(event, args, self.compress)
    }

    /// [`Socket::emit_with_ack`] with these flags.
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
        self.socket
            .emit_with_ack_with(event, args, timeout, self.compress)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &'static str) -> Packet {
        let mut d = socketio_proto::Decoder::default();
        d.handle_text(bytes::Bytes::from_static(text.as_bytes()))
            .unwrap();
        d.poll_packet().unwrap()
    }

    #[test]
    fn the_offset_is_the_last_string_of_the_payload() {
        assert_eq!(
            last_string(&event(r#"2["tick",5,"abc-1"]"#)),
            Some("abc-1".into())
        );
        assert_eq!(last_string(&event(r#"2["tick",{"a":[1,"x"]}]"#)), None);
        assert_eq!(last_string(&event(r#"2["tick","x",[1]]"#)), None);
        // No arguments: the name, as socket.io-client reads it.
        assert_eq!(last_string(&event(r#"2["tick"]"#)), Some("tick".into()));
    }
}
