//! One Engine.IO session carrying Socket.IO: the handler that runs on the
//! session's own task, decodes packets, hands them to its sockets, and
//! keeps their deadlines (joining a namespace, attachments, acks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use engineio::server::{Context, Handler, SessionInfo, SessionSender};
use engineio::{CloseReason, Payload};
use socketio_proto::{Decoder, Json, Kind, Packet};
use socketio_runtime::dispatch::feed;
use socketio_runtime::{TransportReason, now};

use crate::command::{Command, Wire};
use crate::error::DisconnectReason;
use crate::handshake::Handshake;
use crate::registry::Registry;
use crate::socket::Socket;

pub(crate) struct Conn {
    registry: Arc<Registry>,
    request: Arc<http::Request<()>>,
    remote: SocketAddr,
    sender: SessionSender<Command>,
    decoder: Decoder,
    sockets: HashMap<String, Socket>,
    connect_deadline: Option<Instant>,
    /// When a binary packet still waiting for attachments is given up on.
    attachment_deadline: Option<Instant>,
}

impl Conn {
    pub(crate) fn new(registry: Arc<Registry>, info: SessionInfo<Command>) -> Self {
        Conn {
            decoder: Decoder::new(registry.options().decoder.clone()),
            connect_deadline: Some(now() + registry.options().connect_timeout),
            attachment_deadline: None,
            registry,
            request: Arc::new(info.request),
            remote: info.remote_addr,
            sender: info.sender,
            sockets: HashMap::new(),
        }
    }

    fn write(ctx: &mut Context<'_>, p: &Packet) {
        Wire::new(p).send(ctx);
    }

    fn on_packet(&mut self, ctx: &mut Context<'_>, p: Packet) {
        match p.kind() {
            Kind::Connect => self.on_connect(ctx, p),
            Kind::Disconnect => {
                if let Some(s) = self.sockets.remove(p.nsp()) {
                    s.finish(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            Kind::Event => {
                if let Some(s) = self.sockets.get(p.nsp()) {
                    s.dispatch(&p);
                }
            }
            Kind::Ack => {
                if let Some(s) = self.sockets.get(p.nsp()) {
                    s.handle_ack(p);
                }
            }
            // A client never sends these; ignore as the official server does.
            Kind::ConnectError => {}
        }
    }

    fn on_connect(&mut self, ctx: &mut Context<'_>, p: Packet) {
        let nsp = p.nsp().to_owned();
        let refuse = |ctx: &mut Context<'_>, message: &str, data: Option<&serde_json::Value>| {
            if let Ok(packet) = Packet::connect_error_message(&nsp, message, data) {
                Self::write(ctx, &packet);
            }
        };
        let Some(ns) = self.registry.resolve(&nsp) else {
            return refuse(ctx, "Invalid namespace", None);
        };
        if self.sockets.contains_key(&nsp) {
            return;
        }
        let handshake = Handshake {
            auth: p.raw_data().cloned(),
            request: self.request.clone(),
            address: self.remote,
            issued: std::time::SystemTime::now(),
        };
        let mut data = http::Extensions::new();
        if let Err(e) = ns.check(&handshake, &mut data) {
            return refuse(ctx, &e.message, e.data.as_ref());
        }
        let id =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>());
        let socket = Socket::new(
            id.clone(),
            ns.clone(),
            self.sender.clone(),
            handshake,
            data,
            self.registry.options().slow_client,
        );
        let accepted = Json::from_value(&serde_json::json!({ "sid": id })).ok();
        if let Ok(packet) = Packet::connect(&nsp, accepted) {
            Self::write(ctx, &packet);
        }
        ns.insert(&socket);
        self.sockets.insert(nsp, socket.clone());
        self.connect_deadline = None;
        if let Some(f) = ns.connect_handler() {
            f(socket);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // `on_close` finished every socket, unless it was cut short (a
        // shutdown's deadline aborted the session, a handler panicked): then
        // they leave their namespace and rooms here, and hear why.
        let reason = if self.registry.is_shutting_down() {
            DisconnectReason::ServerShuttingDown
        } else {
            DisconnectReason::ForcedClose
        };
        for (_, s) in self.sockets.drain() {
            s.end_ack_waits();
            s.finish(reason);
        }
    }
}

impl Handler for Conn {
    type Command = Command;

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        if feed(&mut self.decoder, msg).is_err() {
            // Not Socket.IO: the official server closes the connection.
            return ctx.close();
        }
        while let Some(p) = self.decoder.poll_packet() {
            self.on_packet(ctx, p);
        }
        // The clock is read only when a binary packet starts waiting.
        self.attachment_deadline = match self.attachment_deadline {
            _ if !self.decoder.is_pending() => None,
            Some(d) => Some(d),
            None => Some(now() + self.registry.options().attachment_timeout),
        };
    }

    async fn on_command(&mut self, ctx: &mut Context<'_>, cmd: Command) {
        match cmd {
            Command::Send(wire) => wire.send(ctx),
            Command::Disconnect(nsp) => {
                if let Some(s) = self.sockets.remove(&nsp) {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        Self::write(ctx, &p);
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
            }
            Command::CloseConnection => {
                // As the official server's disconnect(true): each namespace
                // is told first (its client does not reconnect), then the
                // connection closes.
                for (nsp, s) in self.sockets.drain() {
                    if let Ok(p) = Packet::disconnect(&nsp) {
                        Self::write(ctx, &p);
                    }
                    s.finish(DisconnectReason::ServerNamespaceDisconnect);
                }
                ctx.close();
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let acks = self.sockets.values().filter_map(Socket::poll_ack_timeout);
        [self.connect_deadline, self.attachment_deadline]
            .into_iter()
            .flatten()
            .chain(acks)
            .min()
    }

    async fn on_timeout(&mut self, ctx: &mut Context<'_>, now: Instant) {
        for s in self.sockets.values() {
            s.handle_ack_timeout(now);
        }
        if self.attachment_deadline.is_some_and(|d| d <= now) {
            // Attachments that never came. The official server would hold
            // them as long as the connection lives; ending it is its answer
            // to a packet it cannot decode (a forced close).
            self.attachment_deadline = None;
            return ctx.close();
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            // No namespace joined within connect_timeout: the official
            // server closes the connection.
            self.connect_deadline = None;
            if self.sockets.is_empty() {
                ctx.close();
            }
        }
    }

    async fn on_close(&mut self, reason: CloseReason) {
        let reason = match DisconnectReason::from_engine(reason) {
            DisconnectReason::ForcedClose if self.registry.is_shutting_down() => {
                DisconnectReason::ServerShuttingDown
            }
            r => r,
        };
        for (_, s) in self.sockets.drain() {
            s.finish(reason);
        }
    }
}
