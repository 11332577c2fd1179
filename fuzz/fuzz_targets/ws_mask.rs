//! Masking differential: the fast path equals the byte-at-a-time definition,
//! for every length, key and offset.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_frame::mask::{apply_mask, apply_mask_reference};

fuzz_target!(|data: &[u8]| {
    let [k0, k1, k2, k3, off, rest @ ..] = data else { return };
    let key = [*k0, *k1, *k2, *k3];
    let (mut fast, mut reference) = (rest.to_vec(), rest.to_vec());
    apply_mask(&mut fast, key, *off as usize);
    apply_mask_reference(&mut reference, key, *off as usize);
    assert_eq!(fast, reference);
});
