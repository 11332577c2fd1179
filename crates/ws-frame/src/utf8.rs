//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! RFC 6455 §8.1 lets an endpoint fail the connection as soon as invalid text is
//! seen, and the Autobahn suite checks that it does (cases 6.4.*). The validator
//! keeps at most three bytes of an incomplete code point between pieces and
//! leans on `core::str::from_utf8`, whose error says whether the input is
//! invalid or just cut short.

/// Validates a byte stream as UTF-8, piece by piece.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// Equal when both wait on the same incomplete code point (or none).
impl PartialEq for Utf8Validator {
    fn eq(&self, other: &Self) -> bool {
        self.partial[..self.partial_len as usize] == other.partial[..other.partial_len as usize]
    }
}

/// The bytes seen so far are not a prefix of any valid UTF-8 text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// Feeds the next piece. Fails as soon as the stream cannot be valid.
    pub(crate) fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = self.partial_len as usize;
            let need = width(self.partial[0]) - have;
            let take = need.min(input.len());
            self.partial[have..have + take].copy_from_slice(&input[..take]);
            input = &input[take..];
            match std::str::from_utf8(&self.partial[..have + take]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    self.partial_len = (have + take) as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let rest = &input[e.valid_up_to()..];
                self.partial[..rest.len()].copy_from_slice(rest);
                self.partial_len = rest.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the stream: an incomplete code point at the end is invalid.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }
}

/// The length of the sequence a (valid) lead byte starts.
fn width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_every_split(bytes: &[u8]) -> bool {
        let whole = std::str::from_utf8(bytes).is_ok();
        for cut in 0..=bytes.len() {
            for cut2 in cut..=bytes.len() {
                let mut v = Utf8Validator::default();
                let ok = v.feed(&bytes[..cut]).is_ok()
                    && v.feed(&bytes[cut..cut2]).is_ok()
                    && v.feed(&bytes[cut2..]).is_ok()
                    && v.finish().is_ok();
                assert_eq!(ok, whole, "{bytes:x?} split at {cut},{cut2}");
            }
        }
        whole
    }

    #[test]
    fn agrees_with_std_on_every_split() {
        assert!(check_every_split("κόσμε€𝄞".as_bytes()));
        assert!(!check_every_split(
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
        ));
        assert!(!check_every_split(b"\xf4\x90\x80\x80"));
        assert!(!check_every_split(b"ab\xe2\x82"));
        assert!(!check_every_split(b"\xc0\xaf"));
    }

    #[test]
    fn fails_fast_before_the_end() {
        // Autobahn 6.4.1: the invalid byte arrives in the middle piece.
        let mut v = Utf8Validator::default();
        v.feed("κόσμε".as_bytes()).unwrap();
        assert_eq!(v.feed(b"\xf4\x90\x80\x80"), Err(InvalidUtf8));
        let mut v = Utf8Validator::default();
        v.feed(b"\xf4").unwrap();
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
    }
}
