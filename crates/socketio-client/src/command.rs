//! What the handles (the manager and its sockets) ask of the manager's task.

use std::time::Duration;

use socketio_runtime::rt::Instant;

use socketio_proto::Packet;
use socketio_runtime::ack::AckSlot;
use socketio_runtime::rt::oneshot;

use crate::error::AckError;

pub(crate) enum Command {
    /// Join namespace `nsp` (its socket says with what auth), unless it is
    /// joined or being joined; opens the connection if it was not yet.
    Join(String),
    /// Leave the namespace; it is not re-joined.
    Leave(String),
    /// Send a packet once its namespace is joined; `volatile`: only if it
    /// is joined now.
    Emit {
        nsp: String,
        packet: Packet,
        volatile: bool,
        /// socket.io's `compress` flag: false keeps it out of the
        /// WebSocket's permessage-deflate.
        compress: bool,
    },
    /// Send an event that asks for an ack, and wait for the ack until
    /// `deadline`.
    EmitWithAck {
        nsp: String,
        packet: Packet,
        deadline: Instant,
        ack: AckSlot,
        compress: bool,
    },
    /// With retries: an event (no ack id yet) for the namespace's queue,
    /// sent once the ones before it are acknowledged; each try waits
    /// `try_timeout` for its ack; `done` hears the end.
    Enqueue {
        nsp: String,
        packet: Packet,
        try_timeout: Option<Duration>,
        done: Option<oneshot::Sender<Result<Packet, AckError>>>,
    },
    /// Close the connection for good.
    Close,
}
