//! Which namespaces a client has joined, and what each packet means for them.

use std::collections::BTreeMap;

use crate::json::Json;
use crate::packet::{Kind, Packet};

/// Where one namespace stands for a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceState {
    /// CONNECT sent, no answer yet (or waiting to be resent after a reconnect).
    Connecting,
    /// The server accepted; `sid` is the socket's id in that namespace.
    Connected {
        /// The socket id the server gave.
        sid: String,
    },
}

/// What a packet from the server did to a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceEvent {
    /// Joined.
    Connected {
        /// The namespace.
        nsp: String,
        /// The socket id.
        sid: String,
    },
    /// The server refused the join, with its CONNECT_ERROR payload; the
    /// namespace is forgotten.
    ConnectError {
        /// The namespace.
        nsp: String,
        /// The payload (`{"message", "data"}` from the official server).
        data: Option<Json>,
    },
    /// The server disconnected the socket (reason `"io server disconnect"`);
    /// the namespace is forgotten and not rejoined.
    Disconnected {
        /// The namespace.
        nsp: String,
    },
}

/// The namespaces of one client connection (a manager, in socket.io-client
/// terms): joins, answers, and rejoining after the transport reconnects.
#[derive(Debug, Default)]
pub struct ClientNamespaces {
    joined: BTreeMap<String, (NamespaceState, Option<Json>)>,
}

impl ClientNamespaces {
    /// Starts joining `nsp` with `auth`; returns the CONNECT packet to send.
    pub fn connect(&mut self, nsp: &str, auth: Option<Json>) -> Result<Packet, crate::BuildError> {
        let packet = Packet::connect(nsp, auth.clone())?;
        self.joined
            .insert(nsp.to_owned(), (NamespaceState::Connecting, auth));
        Ok(packet)
    }

    /// Leaves `nsp`; returns the DISCONNECT packet to send if it was joined.
    pub fn disconnect(&mut self, nsp: &str) -> Option<Packet> {
        self.joined.remove(nsp)?;
        Packet::disconnect(nsp).ok()
    }

    /// A packet from the server. CONNECT, CONNECT_ERROR and DISCONNECT change
    /// the state; events and acks do not. A CONNECT without a `sid`, or for
    /// a namespace not being joined, is ignored, as socket.io-client does.
    pub fn handle_packet(&mut self, packet: &Packet) -> Option<NamespaceEvent> {
        let nsp = packet.nsp();
        let state = &mut self.joined.get_mut(nsp)?.0;
        match packet.kind() {
            Kind::Connect if *state == NamespaceState::Connecting => {
                let data: serde_json::Value = packet.raw_data()?.parse().ok()?;
                let sid = data.get("sid")?.as_str()?.to_owned();
                *state = NamespaceState::Connected { sid: sid.clone() };
                Some(NamespaceEvent::Connected {
                    nsp: nsp.to_owned(),
                    sid,
                })
            }
            Kind::ConnectError => {
                self.joined.remove(nsp);
                Some(NamespaceEvent::ConnectError {
                    nsp: nsp.to_owned(),
                    data: packet.raw_data().cloned(),
                })
            }
            Kind::Disconnect => {
                self.joined.remove(nsp);
                Some(NamespaceEvent::Disconnected {
                    nsp: nsp.to_owned(),
                })
            }
            _ => None,
        }
    }

    /// The transport reconnected: every namespace still wanted goes back to
    /// connecting, and these CONNECT packets (with the same auth) rejoin them.
    pub fn rejoin(&mut self) -> Vec<Packet> {
        self.joined
            .iter_mut()
            .filter_map(|(nsp, (state, auth))| {
                *state = NamespaceState::Connecting;
                Packet::connect(nsp, auth.clone()).ok()
            })
            .collect()
    }

    /// The state of `nsp`, if it is wanted.
    pub fn state(&self, nsp: &str) -> Option<&NamespaceState> {
        self.joined.get(nsp).map(|(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn from_server(text: &'static str) -> Packet {
        let mut d = crate::Decoder::default();
        d.handle_text(Bytes::from_static(text.as_bytes())).unwrap();
        d.poll_packet().unwrap()
    }

    #[test]
    fn join_refuse_rejoin() {
        let mut ns = ClientNamespaces::default();
        let auth = Json::from_value(&serde_json::json!({"token": "t"})).unwrap();
        assert_eq!(
            ns.connect("/admin", Some(auth)).unwrap().encode(),
            "0/admin,{\"token\":\"t\"}"
        );
        ns.connect("/", None).unwrap();
        assert_eq!(
            ns.handle_packet(&from_server("0/admin,{\"sid\":\"abc\"}")),
            Some(NamespaceEvent::Connected {
                nsp: "/admin".into(),
                sid: "abc".into()
            })
        );
        assert_eq!(
            ns.handle_packet(&from_server("0/admin,{\"sid\":\"again\"}")),
            None
        );
        let refused = ns.handle_packet(&from_server("4{\"message\":\"nope\"}"));
        assert!(
            matches!(refused, Some(NamespaceEvent::ConnectError { ref nsp, .. }) if nsp == "/")
        );
        assert_eq!(ns.state("/"), None);
        // After a reconnect, the joined namespace is asked for again, with its auth.
        let again: Vec<String> = ns.rejoin().iter().map(Packet::encode).collect();
        assert_eq!(again, ["0/admin,{\"token\":\"t\"}"]);
        assert_eq!(ns.state("/admin"), Some(&NamespaceState::Connecting));
        assert_eq!(
            ns.handle_packet(&from_server("1/admin,")),
            Some(NamespaceEvent::Disconnected {
                nsp: "/admin".into()
            })
        );
        assert!(ns.rejoin().is_empty());
    }
}
