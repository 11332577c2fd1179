//! An event's arguments passed on unchanged: for relaying and echoing.
//! Binary attachments stay valid, since their placeholders keep their
//! numbers.

use serde_json::value::RawValue;
use socketio_proto::{BuildError, Json, Kind, Packet};

/// The arguments of an event packet, without its name, as a JSON array.
pub fn args(packet: &Packet) -> Result<Json, BuildError> {
    let data = packet.raw_data().ok_or(BuildError::InvalidPayload)?;
    let all: Vec<&RawValue> = serde_json::from_slice(data.as_bytes())?;
    let rest = all.get(1..).unwrap_or_default();
    Ok(Json::from_value(&rest)?)
}

/// The event `event` of namespace `nsp`, with the arguments of `from`.
pub fn event(nsp: &str, event: &str, from: &Packet) -> Result<Packet, BuildError> {
    let args = args(from)?;
    let mut data = Vec::with_capacity(event.len() + args.as_bytes().len() + 4);
    data.push(b'[');
    serde_json::to_writer(&mut data, event)?;
    if args.as_bytes().len() > 2 {
        data.push(b',');
        data.extend_from_slice(&args.as_bytes()[1..]);
    } else {
        data.push(b']');
    }
    let json = Json::from_bytes(data.into())?;
    Packet::from_parts(
        Kind::Event,
        nsp,
        None,
        Some(json),
        from.attachments().to_vec(),
    )
}

/// The acknowledgement of ack id `id` in namespace `nsp`, with the
/// arguments of `from`.
pub fn ack(nsp: &str, id: u64, from: &Packet) -> Result<Packet, BuildError> {
    Packet::from_parts(
        Kind::Ack,
        nsp,
        Some(id),
        Some(args(from)?),
        from.attachments().to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn arguments_and_attachments_pass_unchanged() {
        let from = Packet::event(
            "/",
            "up",
            &(1, socketio_proto::Binary(Bytes::from_static(b"\x01"))),
        )
        .unwrap();
        assert_eq!(
            event("/x", "down", &from).unwrap().encode(),
            r#"51-/x,["down",1,{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(
            ack("/", 4, &from).unwrap().encode(),
            r#"61-4[1,{"_placeholder":true,"num":0}]"#
        );
        let bare = Packet::event("/", "ping", &()).unwrap();
        assert_eq!(event("/", "pong", &bare).unwrap().encode(), r#"2["pong"]"#);
    }
}
