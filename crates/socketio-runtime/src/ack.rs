//! Acknowledgements: answering the peer's ([`AckSender`]).

use serde::Serialize;
use socketio_proto::{BuildError, Packet};

use crate::relay;

/// A socket an acknowledgement can be sent on: each runtime's `Socket`.
pub trait AckSocket: Clone + Send + 'static {
    /// Why a send failed.
    type Error: From<BuildError>;
    /// The socket's namespace.
    fn namespace(&self) -> &str;
    /// Sends an ACK packet the way the runtime sends an answer.
    fn send_ack(&self, packet: Packet) -> Result<(), Self::Error>;
}

/// Answers an event the peer sent with an ack id.
#[derive(Debug)]
pub struct AckSender<S> {
    socket: S,
    id: u64,
}

impl<S: AckSocket> AckSender<S> {
    pub(crate) fn new(socket: S, id: u64) -> Self {
        AckSender { socket, id }
    }

    /// Sends the acknowledgement with `args` (a tuple, array or `Vec`).
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), S::Error> {
        let packet = Packet::ack(self.socket.namespace(), self.id, args)?;
        self.socket.send_ack(packet)
    }

    /// Sends the acknowledgement with the raw arguments of a packet (its
    /// event arguments), attachments included: for echoing.
    pub fn send_raw_args(self, packet: &Packet) -> Result<(), S::Error> {
        let packet = relay::ack(self.socket.namespace(), self.id, packet)?;
        self.socket.send_ack(packet)
    }
}
