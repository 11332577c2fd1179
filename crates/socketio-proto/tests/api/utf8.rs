//! Text is UTF-8: no byte string that is not can become a payload, wherever
//! in the JSON the bad bytes sit (skipped values included).

use bytes::Bytes;
use proptest::prelude::*;
use socketio_proto::{DecodeError, Decoder, Json};

/// The inside of a JSON string: any bytes JSON allows there unescaped, so
/// most of them are not UTF-8; or text that is.
fn string_body() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![0x20u8..=0x21, 0x23u8..=0x5b, 0x5du8..=0xff];
    prop_oneof![
        proptest::collection::vec(byte, 0..8),
        "[^\"\\\\\\x00-\\x1f]{0,6}".prop_map(String::into_bytes),
    ]
}

/// Packets with `s` at places the one-pass check walks differently: a
/// value, a key, inside what it skips as a placeholder's flag or index.
const PACKETS: [&str; 7] = [
    r#"2["e","S"]"#,
    r#"2["S"]"#,
    r#"2["e",{"S":1}]"#,
    r#"2["e",{"_placeholder":["S"]}]"#,
    r#"51-["e",{"_placeholder":true,"num":0},{"num":{"k":"S"}}]"#,
    r#"0{"_placeholder":{"k":"S"}}"#,
    r#"4"S""#,
];

fn fill(template: &str, s: &[u8]) -> Bytes {
    let (a, b) = template.split_once('S').unwrap();
    [a.as_bytes(), s, b.as_bytes()].concat().into()
}

proptest! {
    #[test]
    fn a_decoded_packet_is_utf8(template in 0..PACKETS.len(), s in string_body()) {
        let text = fill(PACKETS[template], &s);
        let utf8 = std::str::from_utf8(&text).is_ok();
        let mut d = Decoder::default();
        let r = d.handle_text(text.clone());
        if !utf8 {
            prop_assert_eq!(r, Err(DecodeError::InvalidUtf8), "{:x?}", text);
        }
        if let Some(p) = d.poll_packet() {
            let data = p.raw_data().unwrap();
            prop_assert!(text.ends_with(data.as_str().as_bytes()));
        }
    }

    #[test]
    fn json_from_bytes_is_utf8(template in 0..PACKETS.len(), s in string_body()) {
        // The payload alone: from the first `[`, `{` or `"`.
        let text = fill(PACKETS[template], &s);
        let start = text.iter().position(|c| b"[{\"".contains(c)).unwrap();
        let text = text.slice(start..);
        let utf8 = std::str::from_utf8(&text).is_ok();
        let r = Json::from_bytes(text.clone());
        prop_assert!(utf8 || r.is_err(), "{:x?} accepted", text);
        if let Ok(json) = r {
            prop_assert_eq!(json.as_str().as_bytes(), &text[..]);
        }
    }
}
