//! The RFC 6455 §5.2 frame header: decode and encode.
//!
//! This is the lowest layer: it knows the wire layout and the rules that a
//! header alone can break (reserved opcodes, non-minimal lengths, oversized or
//! fragmented control frames, RSV bits without an extension). What a header
//! means for the connection (masking by role, fragment sequencing, limits) is
//! the job of [`Connection`](crate::Connection).

use crate::error::ProtocolError;

/// The largest header: 2 fixed bytes, 8 bytes of extended length, 4 of mask.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved values never get this far:
/// the decoder rejects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: a continuation fragment of a data message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: connection close.
    Close,
    /// `0x9`: ping.
    Ping,
    /// `0xA`: pong.
    Pong,
}

impl OpCode {
    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Parses a 4-bit wire value; `None` for the reserved ones.
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// Control frames (close, ping, pong) have the high opcode bit set.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The FIN bit: this is the last frame of its message.
    pub fin: bool,
    /// The RSV1..RSV3 bits, in the low three bits (RSV1 = `0b100`).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header for a final frame with no RSV bits.
    pub fn new(opcode: OpCode, payload_len: u64, mask: Option<[u8; 4]>) -> Self {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len,
        }
    }

    /// Decodes a header from the front of `src`.
    ///
    /// Returns `Ok(None)` when `src` holds only part of a header, and
    /// `Ok(Some((header, header_len)))` once it is complete. It never consumes:
    /// the caller advances by `header_len`. Every rule a header can break on its
    /// own is checked here; RSV bits are rejected, as without an extension.
    pub fn decode(src: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        Self::decode_with_rsv(src, 0)
    }

    /// [`decode`](Self::decode), allowing the RSV bits in `allowed` (RSV1 =
    /// `0b100`), those a negotiated extension defines (RFC 7692: RSV1).
    pub fn decode_with_rsv(
        src: &[u8],
        allowed: u8,
    ) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *src else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpCode(b0 & 0x0F))?;
        if rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBitsSet(rsv));
        }
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if len7 as usize > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        let ext_len = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext_len + if masked { 4 } else { 0 };
        if src.len() < header_len {
            return Ok(None);
        }
        let payload_len = match len7 {
            126 => {
                let n = u16::from_be_bytes([src[2], src[3]]) as u64;
                if n < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                n
            }
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&src[2..10]);
                let n = u64::from_be_bytes(b);
                if n >> 63 != 0 {
                    return Err(ProtocolError::LengthHighBitSet);
                }
                if n <= u16::MAX as u64 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                n
            }
            n => n as u64,
        };
        let mask = masked.then(|| {
            let at = 2 + ext_len;
            [src[at], src[at + 1], src[at + 2], src[at + 3]]
        });
        Ok(Some((
            FrameHeader {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// The encoded size of this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes this header into `dst` (at least [`MAX_HEADER_LEN`] bytes) with
    /// the minimal length form, and returns the number of bytes written.
    pub fn encode(&self, dst: &mut [u8; MAX_HEADER_LEN]) -> usize {
        dst[0] = (self.fin as u8) << 7 | (self.rsv & 0x7) << 4 | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = match self.payload_len {
            n @ 0..=125 => {
                dst[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                dst[1] = mask_bit | 126;
                dst[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                dst[1] = mask_bit | 127;
                dst[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            dst[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(h: FrameHeader) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        assert_eq!(n, h.encoded_len());
        assert_eq!(FrameHeader::decode(&buf[..n]).unwrap(), Some((h, n)));
        for cut in 0..n {
            assert_eq!(FrameHeader::decode(&buf[..cut]).unwrap(), None, "cut {cut}");
        }
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
        let (h, n) = FrameHeader::decode(&[0x81, 0x05, 0x48]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.payload_len, h.mask, n),
            (true, OpCode::Text, 5, None, 2)
        );
        // A masked "Hello".
        let src = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
        let (h, n) = FrameHeader::decode(&src).unwrap().unwrap();
        assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
        // First fragment of "Hel".
        let (h, _) = FrameHeader::decode(&[0x01, 0x03]).unwrap().unwrap();
        assert!(!h.fin);
        // 256 bytes binary: 16-bit length; 64 KiB: 64-bit length.
        let (h, n) = FrameHeader::decode(&[0x82, 0x7E, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (256, 4));
        let src = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let (h, n) = FrameHeader::decode(&src).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
    }

    #[test]
    fn roundtrips_every_length_form() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 40] {
            for mask in [None, Some([1, 2, 3, 4])] {
                roundtrip(FrameHeader::new(OpCode::Binary, len, mask));
            }
        }
        roundtrip(FrameHeader {
            fin: false,
            ..FrameHeader::new(OpCode::Text, 3, None)
        });
    }

    #[test]
    fn rejects_header_rule_violations() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError)] = &[
            (&[0x83, 0x00], ReservedOpCode(3)),
            (&[0x8B, 0x00], ReservedOpCode(0xB)),
            (&[0xC1, 0x00], ReservedBitsSet(4)),
            (&[0x91, 0x00], ReservedBitsSet(1)),
            (&[0x09, 0x00], FragmentedControlFrame),
            (&[0x89, 0x7E], ControlFrameTooLong),
            (&[0x82, 0x7E, 0x00, 0x7D], NonMinimalLength),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                NonMinimalLength,
            ),
            (&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], LengthHighBitSet),
        ];
        for (src, want) in cases {
            assert_eq!(FrameHeader::decode(src).unwrap_err(), *want, "{src:x?}");
        }
    }
}
