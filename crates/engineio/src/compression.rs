//! HTTP compression of long-polling payloads, as the official server's
//! `httpCompression`: which coding a request accepts (`Accept-Encoding`,
//! negotiated as Node's `negotiator` does), and the codings themselves,
//! gzip and deflate (zlib format, as Node's `zlib.createDeflate`). Pure: no
//! I/O; the server's transport decides when to use it.

use std::io::{Read, Write};

/// A content coding a polling response may be sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentEncoding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `deflate`: the zlib format (RFC 1950), as Node sends it.
    Deflate,
}

/// The codings the server offers, in its order of preference on a tie.
const OFFERED: [ContentEncoding; 2] = [ContentEncoding::Gzip, ContentEncoding::Deflate];

impl ContentEncoding {
    /// Its name in `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
        }
    }

    /// The coding to answer a request with `Accept-Encoding: accept`, as the
    /// official server picks it (`accepts(req).encodings(["gzip",
    /// "deflate"])`): the highest `q`, then an exact name over `*`, then
    /// the one named first in the header, then gzip. `None` when neither
    /// is acceptable (no header, `identity` only, `q=0`).
    pub fn negotiate(accept: &str) -> Option<ContentEncoding> {
        // (name, q, position in the header)
        let specs: Vec<(&str, f64, usize)> = accept
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| parse_spec(item).map(|(name, q)| (name, q, i)))
            .collect();
        // Each offered coding's best match: (specificity, q, position).
        let priorities = OFFERED.map(|coding| {
            let mut best = (0u8, 0.0f64, -1isize);
            for &(name, q, o) in &specs {
                let s = if name.eq_ignore_ascii_case(coding.as_str()) {
                    1
                } else if name == "*" {
                    0
                } else {
                    continue;
                };
                let spec = (s, q, o as isize);
                // negotiator: replace when (s, q, o) is greater, where a
                // difference that is NaN counts as no difference (JS `||`).
                let ds = f64::from(best.0) - f64::from(spec.0);
                let dq = best.1 - spec.1;
                let d = first_difference(&[ds, dq, (best.2 - spec.2) as f64]);
                if d < 0.0 {
                    best = spec;
                }
            }
            best
        });
        let mut accepted: Vec<(usize, (u8, f64, isize))> = priorities
            .into_iter()
            .enumerate()
            .filter(|(_, p)| p.1 > 0.0)
            .collect();
        // compareSpecs: q descending, specificity descending, position in
        // the header ascending, then the server's order.
        accepted.sort_by(|(ia, a), (ib, b)| {
            let d = first_difference(&[
                b.1 - a.1,
                f64::from(b.0) - f64::from(a.0),
                (a.2 - b.2) as f64,
                *ia as f64 - *ib as f64,
            ]);
            d.partial_cmp(&0.0).unwrap_or(std::cmp::Ordering::Equal)
        });
        accepted.first().map(|(i, _)| OFFERED[*i])
    }

    /// `body` compressed at `level` (0-9), or `None` if the coder failed.
    pub fn encode(self, body: &[u8], level: u32) -> Option<Vec<u8>> {
        let level = flate2::Compression::new(level.min(9));
        let out = Vec::with_capacity(body.len() / 2 + 64);
        match self {
            ContentEncoding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(out, level);
                e.write_all(body).ok()?;
                e.finish().ok()
            }
            ContentEncoding::Deflate => {
                let mut e = flate2::write::ZlibEncoder::new(out, level);
                e.write_all(body).ok()?;
                e.finish().ok()
            }
        }
    }

    /// `body` decompressed, refusing to produce more than `max` bytes: a
    /// small hostile body that inflates without end costs at most `max`
    /// bytes of memory. `deflate` is read as zlib, or as raw deflate when
    /// it has no zlib header (some servers send that).
    pub fn decode(self, body: &[u8], max: usize) -> Result<Vec<u8>, DecompressError> {
        let limit = max.saturating_add(1) as u64;
        let mut out = Vec::new();
        let read = match self {
            ContentEncoding::Gzip => flate2::read::GzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out),
            ContentEncoding::Deflate if has_zlib_header(body) => {
                flate2::read::ZlibDecoder::new(body)
                    .take(limit)
                    .read_to_end(&mut out)
            }
            ContentEncoding::Deflate => flate2::read::DeflateDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out),
        };
        match read {
            Err(_) => Err(DecompressError::Corrupt),
            Ok(_) if out.len() > max => Err(DecompressError::TooLarge),
            Ok(_) => Ok(out),
        }
    }

    /// The coding named by a `Content-Encoding` value; `None` for any other
    /// (`identity` included).
    pub fn from_name(name: &str) -> Option<ContentEncoding> {
        let name = name.trim();
        OFFERED
            .into_iter()
            .find(|c| name.eq_ignore_ascii_case(c.as_str()))
    }
}

/// Why a compressed body could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// It inflates past the allowed size (the client's `max_payload`).
    #[error("compressed body inflates past the payload limit")]
    TooLarge,
    /// It is not valid gzip or deflate data.
    #[error("invalid compressed body")]
    Corrupt,
}

/// The official server's `httpCompression`: long-polling responses of at
/// least `threshold` bytes are sent gzip- or deflate-compressed to clients
/// that accept it. On by default in the server, as in Node
/// (`{ threshold: 1024 }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpCompression {
    /// The smallest payload, in bytes, that is compressed. Default 1024,
    /// as the official server: below it the saving does not pay for the
    /// CPU or the header.
    pub threshold: usize,
    /// The zlib level, 0 (store) to 9 (smallest). Default 6, zlib's
    /// default, as Node uses when no `level` is given.
    pub level: u32,
}

impl Default for HttpCompression {
    fn default() -> Self {
        HttpCompression {
            threshold: 1024,
            level: 6,
        }
    }
}

impl HttpCompression {
    /// Compression from `threshold` bytes on, at the default level.
    pub fn new(threshold: usize) -> HttpCompression {
        HttpCompression {
            threshold,
            ..Default::default()
        }
    }

    /// With zlib level `level` (0-9; higher is clamped to 9).
    pub fn level(mut self, level: u32) -> HttpCompression {
        self.level = level.min(9);
        self
    }

    /// The coding for a payload of `len` bytes that may be compressed
    /// (`compress`, engine.io's rule: any of its packets wants it), to a
    /// request with `Accept-Encoding: accept` (`None`: no such header).
    pub fn coding_for(
        &self,
        len: usize,
        compress: bool,
        accept: Option<&str>,
    ) -> Option<ContentEncoding> {
        if !compress || len < self.threshold {
            return None;
        }
        ContentEncoding::negotiate(accept?)
    }
}

/// One `Accept-Encoding` item as negotiator reads it
/// (`^\s*([^\s;]+)\s*(?:;(.*))?$`): its name and `q` (NaN when `q` is
/// not a number, which makes it unacceptable).
fn parse_spec(item: &str) -> Option<(&str, f64)> {
    let item = item.trim_start();
    let end = item
        .find(|c: char| c.is_whitespace() || c == ';')
        .unwrap_or(item.len());
    let (name, rest) = item.split_at(end);
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    let params = match rest.strip_prefix(';') {
        Some(params) => params,
        None if rest.is_empty() => return Some((name, 1.0)),
        None => return None,
    };
    let mut q = 1.0;
    for p in params.split(';') {
        let mut kv = p.trim().split('=');
        if kv.next() == Some("q") {
            q = parse_float(kv.next().unwrap_or(""));
            break;
        }
    }
    Some((name, q))
}

/// JS `parseFloat`: the longest number at the start (after whitespace),
/// NaN when there is none.
fn parse_float(s: &str) -> f64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0))
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    (1..=end)
        .rev()
        .find_map(|e| s[..e].parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// The first difference that JS `a || b || ...` would pick: not zero, not
/// NaN; 0 when there is none.
fn first_difference(ds: &[f64]) -> f64 {
    ds.iter()
        .copied()
        .find(|d| *d != 0.0 && !d.is_nan())
        .unwrap_or(0.0)
}

/// RFC 1950's header check: compression method 8, and the check bits.
fn has_zlib_header(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::ContentEncoding::{Deflate, Gzip};
    use super::*;

    /// Each checked against negotiator 0.6 (`accepts(req).encodings(["gzip",
    /// "deflate"])` in the official server).
    #[test]
    fn negotiates_as_the_official_server() {
        let cases: &[(&str, Option<ContentEncoding>)] = &[
            ("", None),
            ("identity", None),
            ("gzip", Some(Gzip)),
            ("deflate", Some(Deflate)),
            ("gzip, deflate", Some(Gzip)),
            ("deflate, gzip", Some(Deflate)),
            ("gzip, deflate, br", Some(Gzip)),
            ("br", None),
            ("*", Some(Gzip)),
            ("GZIP", Some(Gzip)),
            ("gzip;q=0.5, deflate", Some(Deflate)),
            ("gzip;q=0, *", Some(Deflate)),
            ("gzip;q=0", None),
            ("*;q=0", None),
            ("deflate;q=0.5, *;q=0.8", Some(Gzip)),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", Some(Gzip)),
            ("gzip;q=abc, deflate", Some(Deflate)),
            ("gzip ;q=0.2, deflate;q=0.1", Some(Gzip)),
            ("gzip deflate", None),
            (" , gzip", Some(Gzip)),
            ("deflate;level=1;q=1, gzip;q=1", Some(Deflate)),
        ];
        for (accept, want) in cases {
            assert_eq!(ContentEncoding::negotiate(accept), *want, "{accept:?}");
        }
    }

    #[test]
    fn compresses_only_what_may_be_and_reaches_the_threshold() {
        let c = HttpCompression::default();
        assert_eq!(c.threshold, 1024);
        let gzip = Some("gzip, deflate");
        assert_eq!(c.coding_for(1024, true, gzip), Some(Gzip));
        assert_eq!(c.coding_for(1023, true, gzip), None, "below the threshold");
        assert_eq!(c.coding_for(5000, false, gzip), None, "compress(false)");
        assert_eq!(c.coding_for(5000, true, None), None, "no Accept-Encoding");
        assert_eq!(c.coding_for(5000, true, Some("identity")), None);
        assert_eq!(
            HttpCompression::new(0).coding_for(1, true, gzip),
            Some(Gzip)
        );
        assert_eq!(HttpCompression::default().level(42).level, 9);
    }

    #[test]
    fn round_trips_and_bounds_inflation() {
        let body = "4hello world ".repeat(500).into_bytes();
        for coding in OFFERED {
            let z = coding.encode(&body, 6).unwrap();
            assert!(z.len() < body.len() / 10);
            assert_eq!(coding.decode(&z, body.len()).unwrap(), body);
            assert_eq!(
                coding.decode(&z, body.len() - 1),
                Err(DecompressError::TooLarge)
            );
            assert_eq!(
                coding.decode(b"not compressed", 100),
                Err(DecompressError::Corrupt)
            );
        }
        // A bomb: 8 MiB of zeros in about 8 KiB, read with a 1 MB limit.
        let zeros = vec![0u8; 8 << 20];
        let bomb = Gzip.encode(&zeros, 9).unwrap();
        assert!(bomb.len() < 16 << 10);
        assert_eq!(
            Gzip.decode(&bomb, 1_000_000),
            Err(DecompressError::TooLarge)
        );
        // Raw deflate under `deflate` is read too.
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        raw.write_all(&body).unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(Deflate.decode(&raw, body.len()).unwrap(), body);
        assert_eq!(ContentEncoding::from_name(" GZip"), Some(Gzip));
        assert_eq!(ContentEncoding::from_name("identity"), None);
    }
}
