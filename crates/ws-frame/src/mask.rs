//! Payload masking (RFC 6455 §5.3): `byte[i] ^= key[i % 4]`.
//!
//! [`apply_mask`] is the fast path: it XORs sixteen bytes at a time with safe,
//! unaligned loads that LLVM turns into vector code; [`apply_mask_reference`]
//! is the byte-at-a-time definition it is tested (proptest) and fuzzed against.

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the payload.
///
/// The offset lets a payload be unmasked in pieces as it arrives.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    // A short head keeps the tiny-frame case free of the word loop's setup.
    if buf.len() < 8 {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[i & 3];
        }
        return;
    }
    let k32 = u32::from_ne_bytes(key);
    let k64 = u64::from(k32) | u64::from(k32) << 32;
    // `from_ne_bytes(key ++ key)` keeps the byte order whatever the endianness.
    let k64 = if cfg!(target_endian = "little") {
        k64
    } else {
        k64.rotate_left(32)
    };
    let k128 = u128::from(k64) | u128::from(k64) << 64;
    // Sixteen bytes a step: LLVM unrolls it into fewer, wider vector
    // steps than it makes of an eight-byte loop.
    let mut wide = buf.chunks_exact_mut(16);
    for c in &mut wide {
        let mut w = [0u8; 16];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u128::from_ne_bytes(w) ^ k128).to_ne_bytes());
    }
    let mut chunks = wide.into_remainder().chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ k64;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    // Chunks are 16 and 8 bytes, multiples of 4, so the tail starts at key[0].
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// The definition of masking, one byte at a time. The fast path must agree.
pub fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(i + offset) % 4];
    }
}

fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(offset % 4);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut buf = *b"Hello";
        apply_mask(&mut buf, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn fast_matches_reference_for_every_length_and_offset() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        for len in 0..70 {
            for offset in 0..8 {
                let src: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let (mut a, mut b) = (src.clone(), src);
                apply_mask(&mut a, key, offset);
                apply_mask_reference(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn pieces_equal_whole() {
        let key = [1, 2, 3, 4];
        let mut whole: Vec<u8> = (0..100).collect();
        let mut pieces = whole.clone();
        apply_mask(&mut whole, key, 0);
        let (a, b) = pieces.split_at_mut(37);
        apply_mask(a, key, 0);
        apply_mask(b, key, 37);
        assert_eq!(whole, pieces);
    }
}
