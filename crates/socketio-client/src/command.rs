//! What the handles (the manager and its sockets) ask of the manager's task.

use std::time::Instant;

use socketio_proto::{Json, Packet};
use socketio_runtime::ack::AckSlot;

pub(crate) enum Command {
    /// Join namespace `nsp` (again) with `auth`.
    Join { nsp: String, auth: Option<Json> },
    /// Leave the namespace; it is not re-joined.
    Leave(String),
    /// Send a packet once its namespace is joined; `volatile`: only if it
    /// is joined now.
    Emit {
        nsp: String,
        packet: Packet,
        volatile: bool,
    },
    /// Send an event that asks for an ack, and wait for the ack until
    /// `deadline`.
    EmitWithAck {
        nsp: String,
        packet: Packet,
        deadline: Instant,
        ack: AckSlot,
    },
    /// Close the connection for good.
    Close,
}
