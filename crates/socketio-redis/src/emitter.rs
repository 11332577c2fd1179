//! An emitter: a process with no Socket.IO server of its own (a worker, a
//! job, a script) that reaches the clients of a cluster's servers through
//! Redis, as `@socket.io/redis-emitter` 5.1 does, byte for byte.
//!
//! It speaks the classic adapter's protocol only, as upstream: the servers
//! must use [`classic`](crate::classic) (Node's `createAdapter`). The
//! sharded adapter listens on shard channels, which a `PUBLISH` never
//! reaches. The emitter only publishes: it subscribes to nothing, so no
//! server counts it as a node, and nothing it sends can be answered (no
//! acks, no fetching).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_redis::emitter::{Emitter, EmitterOptions};
//!
//! let emitter = Emitter::connect("redis://127.0.0.1:6379", EmitterOptions::default()).await?;
//! emitter.to("lobby").emit("news", &("hello",)).await?;
//! emitter.of("/admin").except("muted").volatile().emit("tick", &(1,)).await?;
//! emitter.to("lobby").sockets_join(&["hall"]).await?;
//! emitter.server_side_emit("reload", &()).await?;
//! # Ok(()) }
//! ```
//!
//! Each call resolves once Redis has taken the message, so a process may
//! exit right after the last one.

use bytes::Bytes;
use serde::Serialize;
use socketio_proto::{BuildError, Packet};

use crate::msgpack::{self, Value};
use crate::packet::{DataTooDeep, packet_to_value};
use crate::redis::{Link, LinkError, LinkOptions, Space};
use crate::wire::{Channels, Request, RequestBody, WireOptions, strings};

/// The uid an emitter's messages carry where one is needed.
const EMITTER_UID: &str = "emitter";

/// Settings of an [`Emitter`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EmitterOptions {
    /// The channel prefix of the servers' classic adapter
    /// ([`RedisAdapterOptions::key`](crate::classic::RedisAdapterOptions::key)).
    /// Default `socket.io`.
    pub key: String,
}

impl Default for EmitterOptions {
    fn default() -> Self {
        EmitterOptions {
            key: "socket.io".to_owned(),
        }
    }
}

/// Why an emitter's message was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// The event cannot be a Socket.IO event: a reserved name (`connect`,
    /// `disconnect`, ...), arguments that do not serialize, or a namespace
    /// not starting with `/`.
    #[error(transparent)]
    Packet(#[from] BuildError),
    /// The arguments nest deeper than JSON readers go (127 levels).
    #[error(transparent)]
    TooDeep(#[from] DataTooDeep),
    /// Redis did not take the message (unreachable, the queue full, ...).
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// Emits to the clients and servers of a cluster, for one namespace (`/`
/// at first; [`of`](Self::of) for another). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Emitter {
    link: Link,
    target: Target,
}

/// An emit to some of a namespace's sockets: rooms, exceptions and flags,
/// chained from an [`Emitter`] (a `BroadcastOperator` in Node).
#[derive(Clone, Debug)]
pub struct Broadcast {
    link: Link,
    target: Target,
}

impl Emitter {
    /// An emitter publishing through `link`, to namespace `/`.
    pub fn new(link: &Link, options: EmitterOptions) -> Emitter {
        Emitter {
            link: link.clone(),
            target: Target::new(options.key, "/".to_owned()),
        }
    }

    /// Connects to the Redis at `url` (a [`Link`] with default
    /// [`LinkOptions`]). Fails if Redis cannot be reached now. Call it
    /// within a tokio runtime.
    pub async fn connect(url: &str, options: EmitterOptions) -> Result<Emitter, LinkError> {
        let link = Link::connect(url, LinkOptions::default()).await?;
        Ok(Emitter::new(&link, options))
    }

    /// The same emitter for namespace `nsp` (a leading `/` is added when
    /// missing, as Node does).
    pub fn of(&self, nsp: &str) -> Emitter {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Emitter {
            link: self.link.clone(),
            target: Target::new(self.target.key.clone(), nsp),
        }
    }

    /// The namespace it emits to.
    pub fn nsp(&self) -> &str {
        &self.target.nsp
    }

    fn broadcast(&self) -> Broadcast {
        Broadcast {
            link: self.link.clone(),
            target: self.target.clone(),
        }
    }

    /// An emit to the sockets in `room` (`to` and `in` in Node).
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// An emit to every socket but those in `room`.
    pub fn except(&self, room: &str) -> Broadcast {
        self.broadcast().except(room)
    }

    /// An emit that clients which cannot take it now miss.
    pub fn volatile(&self) -> Broadcast {
        self.broadcast().volatile()
    }

    /// An emit compressed, or not, where the transport can.
    pub fn compress(&self, compress: bool) -> Broadcast {
        self.broadcast().compress(compress)
    }

    /// Emits `event` with `args` (a tuple, or anything serializing to an
    /// array of arguments; [`Binary`](socketio_proto::Binary) values travel
    /// as bytes) to every socket of the namespace.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        self.broadcast().emit(event, args).await
    }

    /// Makes every socket of the namespace join `rooms`.
    pub async fn sockets_join(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        self.broadcast().sockets_join(rooms).await
    }

    /// Makes every socket of the namespace leave `rooms`.
    pub async fn sockets_leave(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        self.broadcast().sockets_leave(rooms).await
    }

    /// Disconnects every socket of the namespace (`close`: their whole
    /// connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.broadcast().disconnect_sockets(close).await
    }

    /// Emits `event` with `args` to the servers' own handlers of the
    /// namespace (`serverSideEmit`; `on_server_side` in
    /// `socketio-server`). Nobody answers an emitter.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        let (channel, bytes) = self.target.server_side_emit(event, args)?;
        send(&self.link, channel, bytes).await
    }
}

impl Broadcast {
    /// Also the sockets in `room`.
    pub fn to(mut self, room: &str) -> Broadcast {
        add(&mut self.target.rooms, room);
        self
    }

    /// Not the sockets in `room`.
    pub fn except(mut self, room: &str) -> Broadcast {
        add(&mut self.target.except, room);
        self
    }

    /// Clients which cannot take it now miss it.
    pub fn volatile(mut self) -> Broadcast {
        self.target.set_flag("volatile", Value::Bool(true));
        self
    }

    /// Compressed, or not, where the transport can.
    pub fn compress(mut self, compress: bool) -> Broadcast {
        self.target.set_flag("compress", Value::Bool(compress));
        self
    }

    /// Emits `event` with `args` to the sockets chosen.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        let (channel, bytes) = self.target.broadcast(event, args)?;
        send(&self.link, channel, bytes).await
    }

    /// Makes the sockets chosen join `rooms`.
    pub async fn sockets_join(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        let (channel, bytes) = self.target.join(rooms);
        send(&self.link, channel, bytes).await
    }

    /// Makes the sockets chosen leave `rooms`.
    pub async fn sockets_leave(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        let (channel, bytes) = self.target.leave(rooms);
        send(&self.link, channel, bytes).await
    }

    /// Disconnects the sockets chosen (`close`: their whole connections).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        let (channel, bytes) = self.target.disconnect(close);
        send(&self.link, channel, bytes).await
    }
}

async fn send(link: &Link, channel: String, bytes: Bytes) -> Result<(), EmitterError> {
    Ok(link
        .publish_confirmed(Space::Classic, channel, bytes)
        .await?)
}

/// A room added to a list once, in order (Node keeps sets).
fn add(list: &mut Vec<String>, room: &str) {
    if !list.iter().any(|r| r == room) {
        list.push(room.to_owned());
    }
}

/// Where an emit goes and how it is written: everything but the link.
#[derive(Clone, Debug)]
struct Target {
    key: String,
    nsp: String,
    channels: Channels,
    rooms: Vec<String>,
    except: Vec<String>,
    /// In the order set, as Node's object keeps them.
    flags: Vec<(String, Value)>,
}

impl Target {
    fn new(key: String, nsp: String) -> Target {
        Target {
            channels: Channels::new(&key, &nsp),
            key,
            nsp,
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Vec::new(),
        }
    }

    fn set_flag(&mut self, key: &str, value: Value) {
        match self.flags.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.flags.push((key.to_owned(), value)),
        }
    }

    /// `["emitter", {type, data, nsp}, {rooms, flags, except}]`, on the
    /// room's channel for exactly one room (the emitter's key order, not
    /// the adapter's).
    fn broadcast<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(String, Bytes), EmitterError> {
        let packet = packet_to_value(&Packet::event(&self.nsp, event, args)?, true)?;
        let opts = Value::Map(vec![
            ("rooms".to_owned(), strings(&self.rooms)),
            ("flags".to_owned(), Value::Map(self.flags.clone())),
            ("except".to_owned(), strings(&self.except)),
        ]);
        let message = Value::Array(vec![EMITTER_UID.into(), packet, opts]);
        Ok((
            self.channels.broadcast_to(&self.rooms),
            Bytes::from(msgpack::to_vec(&message)),
        ))
    }

    /// A request without a uid: a server drops only its own.
    fn request(&self, body: RequestBody) -> (String, Bytes) {
        let req = Request {
            uid: None,
            request_id: None,
            body,
        };
        (
            self.channels.request().to_owned(),
            Bytes::from(req.encode()),
        )
    }

    fn selection(&self) -> WireOptions {
        WireOptions::selection(&self.rooms, &self.except)
    }

    fn join(&self, rooms: &[&str]) -> (String, Bytes) {
        self.request(RequestBody::Join {
            opts: self.selection(),
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        })
    }

    fn leave(&self, rooms: &[&str]) -> (String, Bytes) {
        self.request(RequestBody::Leave {
            opts: self.selection(),
            rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        })
    }

    fn disconnect(&self, close: bool) -> (String, Bytes) {
        self.request(RequestBody::Disconnect {
            opts: self.selection(),
            close,
        })
    }

    /// `{"uid":"emitter","type":6,"data":[event, ...args]}`: JSON, or
    /// MessagePack when bytes are in the arguments (Node's emitter would
    /// write a `Buffer` as `{"type":"Buffer",...}`; servers read either,
    /// and the bytes stay bytes).
    fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(String, Bytes), EmitterError> {
        let packet = packet_to_value(&Packet::event(&self.nsp, event, args)?, false)?;
        let data = match packet.get("data") {
            Some(Value::Array(data)) => data.clone(),
            _ => vec![Value::from(event)],
        };
        let req = Request {
            uid: Some(EMITTER_UID.to_owned()),
            request_id: None,
            body: RequestBody::ServerSideEmit { data },
        };
        Ok((
            self.channels.request().to_owned(),
            Bytes::from(req.encode()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use socketio_proto::Binary;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn root() -> Target {
        Target::new("socket.io".to_owned(), "/".to_owned())
    }

    fn text(b: &Bytes) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// §4.2: `em.to("r1").emit("hello", Buffer.from([1,2]))`.
    #[test]
    fn broadcast_to_one_room() {
        let mut t = root();
        add(&mut t.rooms, "r1");
        let (channel, bytes) = t
            .broadcast("hello", &(Binary(Bytes::from_static(&[1, 2])),))
            .unwrap();
        assert_eq!(channel, "socket.io#/#r1#");
        assert_eq!(
            &bytes[..],
            hex(
                "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f c4 02 01 02 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a2 72 31 a5 66 6c 61 67 73 80 a6 65 78 63 65 70 74 90"
            )
        );
    }

    /// §4.2: `em.of("admin").to(["a","b"]).except("c").volatile.emit("hey")`.
    #[test]
    fn broadcast_in_a_namespace_with_flags() {
        let mut t = Target::new("socket.io".to_owned(), "/admin".to_owned());
        for r in ["a", "b", "a"] {
            add(&mut t.rooms, r);
        }
        add(&mut t.except, "c");
        t.set_flag("volatile", Value::Bool(true));
        let (channel, bytes) = t.broadcast("hey", &()).unwrap();
        assert_eq!(channel, "socket.io#/admin#");
        assert_eq!(
            &bytes[..],
            hex(
                "93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 91 a3 68 65 79 a3 6e 73 70 a6 2f 61 64 6d 69 6e 83 a5 72 6f 6f 6d 73 92 a1 61 a1 62 a5 66 6c 61 67 73 81 a8 76 6f 6c 61 74 69 6c 65 c3 a6 65 78 63 65 70 74 91 a1 63"
            )
        );
        // Flags keep the order they were set in; setting one again keeps
        // its place.
        t.set_flag("compress", Value::Bool(false));
        t.set_flag("volatile", Value::Bool(true));
        assert_eq!(
            t.flags.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["volatile", "compress"]
        );
    }

    /// §4.3: joins, leaves and disconnects carry no uid; a server-side
    /// emit carries `"emitter"`.
    #[test]
    fn requests() {
        let mut t = root();
        add(&mut t.rooms, "r1");
        let (channel, bytes) = t.join(&["r2", "r3"]);
        assert_eq!(channel, "socket.io-request#/#");
        assert_eq!(
            text(&bytes),
            r#"{"type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2","r3"]}"#
        );
        add(&mut t.except, "x");
        let (_, bytes) = t.leave(&["r2"]);
        assert_eq!(
            text(&bytes),
            r#"{"type":3,"opts":{"rooms":["r1"],"except":["x"]},"rooms":["r2"]}"#
        );
        let (_, bytes) = root().disconnect(false);
        assert_eq!(
            text(&bytes),
            r#"{"type":4,"opts":{"rooms":[],"except":[]},"close":false}"#
        );
        let (channel, bytes) = root().server_side_emit("ping", &(1, "a")).unwrap();
        assert_eq!(channel, "socket.io-request#/#");
        assert_eq!(
            text(&bytes),
            r#"{"uid":"emitter","type":6,"data":["ping",1,"a"]}"#
        );
        // Bytes keep their bytes: MessagePack, which servers read too.
        let (_, bytes) = root()
            .server_side_emit("bin", &(Binary(Bytes::from_static(&[7])),))
            .unwrap();
        assert_eq!(bytes[0], 0x83);
        let other = Target::new("k".to_owned(), "/x".to_owned());
        assert_eq!(other.join(&[]).0, "k-request#/x#");
    }

    #[test]
    fn what_cannot_be_sent() {
        assert!(matches!(
            root().broadcast("connect", &()),
            Err(EmitterError::Packet(BuildError::ReservedEventName(_)))
        ));
        assert!(matches!(
            root().server_side_emit("disconnect", &()),
            Err(EmitterError::Packet(_))
        ));
    }
}
