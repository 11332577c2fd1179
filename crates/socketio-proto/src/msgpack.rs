//! MessagePack as Node writes and reads it (notepack.io).
//!
//! One value codec for the two places Socket.IO speaks MessagePack: the
//! MessagePack parser ([`Parser::MsgPack`](crate::Parser), whose packet
//! rules are in [`crate::Packet::encode_msgpack`] and [`crate::Decoder`];
//! notepack.io 2.2 there), and `socketio-redis`, where broadcasts,
//! broadcast-with-ack requests and their acks cross Redis as MessagePack
//! written by notepack.io 3. The two versions write the values Socket.IO
//! payloads hold (JSON's, and bytes) alike. A Node receiver only needs valid
//! MessagePack, but a Node *sender* has its own habits, and matching them
//! byte for byte keeps the two sides indistinguishable on the wire: a number
//! with no fraction is written as the smallest integer form (`-0` too, as
//! `00`), other numbers always as float64, 32..=255-byte strings as str8,
//! bytes as bin, and map keys in the order given. [`encode`] follows those
//! rules; callers put keys in Node's order (`Object.keys`: integer-like keys
//! first, then insertion order) and leave out keys Node would drop (those
//! whose value is `undefined`).
//!
//! [`decode`] accepts everything notepack reads, and reads it as Node would
//! see it: strings as lossy UTF-8 (U+FFFD for bad sequences), map keys
//! turned into property names (`1` → `"1"`, `null` → `"null"`), the last of
//! duplicate keys winning at the place of the first.
//!
//! Any peer (a client, or a process that can publish to the Redis cluster)
//! can send bytes here,
//! so decoding is built for hostile input: it never recurses (an explicit
//! stack holds open containers), bounds nesting and the number of values
//! ([`DecodeConfig`]), checks that a declared length fits in the bytes left
//! before reserving anything, and never panics.

use std::fmt::{self, Write as _};

use bytes::Bytes;

/// One MessagePack value: what notepack decodes into a JavaScript value.
///
/// Equality is JavaScript's for the value the wire carries: numbers compare
/// by value whatever their variant (`Int(1) == UInt(1) == F64(1.0)`, and
/// `F64(-0.0) == Int(0)`), `NaN` equals nothing. Everything else compares
/// structurally, maps in order.
///
/// Dropping, comparing or encoding a value recurses into it; values from
/// [`decode`] are at most [`DecodeConfig::max_depth`] deep.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// `nil`: JavaScript `null` (and `undefined` in arrays).
    #[default]
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer; [`decode`] gives this for every integer from `i64::MIN`
    /// to `i64::MAX`.
    Int(i64),
    /// An integer; [`decode`] gives this only above `i64::MAX`.
    UInt(u64),
    /// A number with a fraction (or any number: [`encode`] writes integral
    /// ones as integers, as JavaScript has one number type).
    F64(f64),
    /// A string.
    Str(String),
    /// Bytes: a Node `Buffer`.
    Bin(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object: keys in order, each once.
    Map(Vec<(String, Value)>),
    /// The timestamp extension (type -1): a JavaScript `Date`.
    Timestamp(Timestamp),
    /// Any other extension: its type and data. Node decodes it as
    /// `[type, Buffer]`. (Type -1 with 4, 8 or 12 bytes reads back as a
    /// [`Value::Timestamp`].)
    Ext(i8, Bytes),
}

/// A point in time as the timestamp extension carries it: seconds since
/// the Unix epoch and nanoseconds (normally below one second; kept as
/// received when not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds after `seconds`.
    pub nanoseconds: u32,
}

/// The largest time a JavaScript `Date` holds, in ms from the epoch either way.
const JS_DATE_MAX_MS: f64 = 8.64e15;

impl Timestamp {
    /// The time a JavaScript `Date` of `ms` milliseconds holds.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp {
            seconds: ms.div_euclid(1000),
            nanoseconds: (ms.rem_euclid(1000) as u32) * 1_000_000,
        }
    }

    /// The milliseconds of the `Date` Node decodes this into, or `None` for
    /// an invalid date (beyond ±8.64e15 ms).
    pub fn to_js_millis(&self) -> Option<i64> {
        let ms = self.seconds as f64 * 1e3 + f64::from(self.nanoseconds) / 1e6;
        (ms.abs() <= JS_DATE_MAX_MS).then(|| ms.trunc() as i64)
    }

    /// What `Date.prototype.toISOString` gives (what `JSON.stringify` writes
    /// for a `Date`), or `None` for an invalid date.
    pub fn to_iso_string(&self) -> Option<String> {
        let c = Civil::from_millis(self.to_js_millis()?);
        let mut s = String::with_capacity(27);
        if (0..=9999).contains(&c.year) {
            let _ = write!(s, "{:04}", c.year);
        } else {
            let sign = if c.year < 0 { '-' } else { '+' };
            let _ = write!(s, "{sign}{:06}", c.year.unsigned_abs());
        }
        let _ = write!(
            s,
            "-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            c.month, c.day, c.hour, c.minute, c.second, c.milli
        );
        Some(s)
    }

    /// What `String(date)` gives in a process running in UTC, as when a
    /// `Date` is used as a property name; `"Invalid Date"` for an invalid one.
    pub fn to_js_string(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let Some(ms) = self.to_js_millis() else {
            return "Invalid Date".to_owned();
        };
        let c = Civil::from_millis(ms);
        let sign = if c.year < 0 { "-" } else { "" };
        format!(
            "{} {} {:02} {sign}{:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
            DAYS[c.weekday as usize],
            MONTHS[(c.month - 1) as usize],
            c.day,
            c.year.unsigned_abs(),
            c.hour,
            c.minute,
            c.second
        )
    }
}

/// A UTC calendar date and time, from milliseconds since the epoch.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// 0 is Sunday.
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
    milli: u32,
}

impl Civil {
    fn from_millis(ms: i64) -> Civil {
        let days = ms.div_euclid(86_400_000);
        let in_day = ms.rem_euclid(86_400_000) as u32;
        // Days to a proleptic Gregorian date through 400-year eras that
        // start on March 1st, so the leap day ends each year.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            milli: in_day % 1000,
        }
    }
}

impl Value {
    /// The string, for [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, for [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range (an integral
    /// [`Value::F64`] too).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::F64(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) => Some(f as i64),
            _ => None,
        }
    }

    /// The number as a `u64`, if it is a non-negative integer in range (an
    /// integral [`Value::F64`] too).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            Value::F64(f) if f.fract() == 0.0 && (0.0..TWO_64).contains(&f) => Some(f as u64),
            _ => None,
        }
    }

    /// Any number as the `f64` JavaScript would hold.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::F64(f) => Some(f),
            _ => None,
        }
    }

    /// Whether this is a number of any variant.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::UInt(_) | Value::F64(_))
    }

    /// Whether this is [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The bytes, for [`Value::Bin`].
    pub fn as_bin(&self) -> Option<&Bytes> {
        match self {
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, for [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, for [`Value::Map`].
    pub fn as_map(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key`, for a [`Value::Map`].
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// How deeply arrays and maps nest in this value: 0 for anything else,
    /// 1 for a flat array. Counted without recursion, so safe on any value.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(self, 0)];
        while let Some((v, d)) = stack.pop() {
            match v {
                Value::Array(items) => {
                    deepest = deepest.max(d + 1);
                    stack.extend(items.iter().map(|i| (i, d + 1)));
                }
                Value::Map(entries) => {
                    deepest = deepest.max(d + 1);
                    stack.extend(entries.iter().map(|(_, v)| (v, d + 1)));
                }
                _ => {}
            }
        }
        deepest
    }

    /// What JavaScript's `String(value)` gives for the value Node decodes:
    /// the property name a map key becomes.
    pub fn to_js_string(&self) -> String {
        let mut s = String::new();
        self.write_js_string(&mut s);
        s
    }

    fn write_js_string(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(_) | Value::UInt(_) | Value::F64(_) => {
                write_js_number(self.as_js_number(), out);
            }
            Value::Str(s) => out.push_str(s),
            Value::Bin(b) => out.push_str(&String::from_utf8_lossy(b)),
            Value::Array(items) => {
                // Array.prototype.join(","): null elements are empty.
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if !item.is_nil() {
                        item.write_js_string(out);
                    }
                }
            }
            Value::Map(_) => out.push_str("[object Object]"),
            Value::Timestamp(t) => out.push_str(&t.to_js_string()),
            Value::Ext(ty, data) => {
                let _ = write!(out, "{ty},{}", String::from_utf8_lossy(data));
            }
        }
    }

    /// The number as a JavaScript number: integers past 2^53 lose
    /// precision, as they do when Node decodes them.
    fn as_js_number(&self) -> JsNumber {
        match *self {
            Value::Int(i) if i.unsigned_abs() <= 1 << 53 => JsNumber::Exact(i),
            Value::UInt(u) if u <= 1 << 53 => JsNumber::Exact(u as i64),
            _ => JsNumber::Float(self.as_f64().unwrap_or(f64::NAN)),
        }
    }

    /// The key/value pairs as a [`Value::Map`], in order (no duplicate check).
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

enum JsNumber {
    Exact(i64),
    Float(f64),
}

fn write_js_number(n: JsNumber, out: &mut String) {
    match n {
        JsNumber::Exact(i) => {
            let _ = write!(out, "{i}");
        }
        JsNumber::Float(f) => out.push_str(&js_number_string(f)),
    }
}

/// `Number.prototype.toString()` for `f`: the shortest digits that read back
/// as `f`, in JavaScript's layout (`1e+21`, `1e-7`, `0.000001`,
/// `123456789012345680000`).
pub fn js_number_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    // Rust writes the shortest round-trip digits too; `{:e}` gives them as
    // `d.ddde<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    // The value is 0.<digits> × 10^n.
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        let _ = write!(out, "{int}.{frac}");
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{sign}{}", e.unsigned_abs());
    }
    out
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// A number in a form where any two compare exactly.
enum Num {
    Int(i128),
    Float(f64),
}

impl Value {
    fn num(&self) -> Option<Num> {
        match *self {
            Value::Int(i) => Some(Num::Int(i.into())),
            Value::UInt(u) => Some(Num::Int(u.into())),
            Value::F64(f) => Some(Num::Float(f)),
            _ => None,
        }
    }
}

fn num_eq(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(a), Num::Int(b)) => a == b,
        (Num::Float(a), Num::Float(b)) => a == b,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
            // Every integer here is below 2^64 in magnitude, so a float out
            // of that range cannot equal one, and one inside it converts
            // exactly when it has no fraction.
            f.fract() == 0.0 && f.abs() <= TWO_64 && f as i128 == i
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        if let (Some(a), Some(b)) = (self.num(), other.num()) {
            return num_eq(a, b);
        }
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bin(a), Value::Bin(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Ext(ta, a), Value::Ext(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int(i.into())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<u32> for Value {
    fn from(u: u32) -> Value {
        Value::Int(u.into())
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Value {
        i64::try_from(u).map_or(Value::UInt(u), Value::Int)
    }
}

impl From<usize> for Value {
    fn from(u: usize) -> Value {
        Value::from(u as u64)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::F64(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Value {
        Value::Bin(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Value {
        Value::Timestamp(t)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Value {
        Value::Array(iter.into_iter().collect())
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Value {
        Value::map(iter)
    }
}

// ---------------------------------------------------------------- encoding

/// Appends `value` to `out` as notepack.io writes the JavaScript value.
///
/// Numbers: an integral finite one takes the smallest integer form (the
/// sign decides between the unsigned and signed ladders, `-0` is `00`),
/// any other one float64 (notepack never writes float32). Integral floats
/// beyond the 64-bit integer ranges are written as float64, where notepack
/// would write wrong bits. Strings: fixstr, then str8 from 32 bytes, str16,
/// str32. Maps keep the order given.
///
/// # Panics
///
/// If a string, byte string, array, map or extension is longer than
/// `u32::MAX`, which MessagePack cannot express.
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(i) => encode_int(*i, out),
        Value::UInt(u) => encode_uint(*u, out),
        Value::F64(f) => encode_f64(*f, out),
        Value::Str(s) => {
            let n = s.len();
            if n < 32 {
                out.push(0xa0 | n as u8);
            } else {
                len_header(n, [0xd9, 0xda, 0xdb], out);
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bin(b) => {
            len_header(b.len(), [0xc4, 0xc5, 0xc6], out);
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            let n = items.len();
            if n < 16 {
                out.push(0x90 | n as u8);
            } else {
                wide_len_header(n, [0xdc, 0xdd], out);
            }
            for item in items {
                encode(item, out);
            }
        }
        Value::Map(entries) => {
            let n = entries.len();
            if n < 16 {
                out.push(0x80 | n as u8);
            } else {
                wide_len_header(n, [0xde, 0xdf], out);
            }
            for (k, v) in entries {
                let n = k.len();
                if n < 32 {
                    out.push(0xa0 | n as u8);
                } else {
                    len_header(n, [0xd9, 0xda, 0xdb], out);
                }
                out.extend_from_slice(k.as_bytes());
                encode(v, out);
            }
        }
        Value::Timestamp(t) => encode_timestamp(*t, out),
        Value::Ext(ty, data) => encode_ext(*ty, data, out),
    }
}

/// [`encode`] into a new buffer.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

fn u32_len(n: usize) -> u32 {
    u32::try_from(n).expect("MessagePack lengths are at most u32::MAX")
}

/// An 8, 16 or 32-bit length after the matching marker.
fn len_header(n: usize, markers: [u8; 3], out: &mut Vec<u8>) {
    if n < 1 << 8 {
        out.extend_from_slice(&[markers[0], n as u8]);
    } else if n < 1 << 16 {
        out.push(markers[1]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(markers[2]);
        out.extend_from_slice(&u32_len(n).to_be_bytes());
    }
}

/// A 16 or 32-bit count after the matching marker (arrays and maps).
fn wide_len_header(n: usize, markers: [u8; 2], out: &mut Vec<u8>) {
    if n < 1 << 16 {
        out.push(markers[0]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(markers[1]);
        out.extend_from_slice(&u32_len(n).to_be_bytes());
    }
}

fn encode_uint(u: u64, out: &mut Vec<u8>) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u < 1 << 8 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 1 << 16 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 1 << 32 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        encode_uint(i as u64, out);
    } else if i >= -32 {
        out.push(i as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as u8]);
    } else if i >= -32_768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn encode_f64(f: f64, out: &mut Vec<u8>) {
    if f.is_finite() && f.fract() == 0.0 {
        // `-0.0 >= 0.0`: negative zero takes the unsigned ladder, as in JS.
        if (0.0..TWO_64).contains(&f) {
            return encode_uint(f as u64, out);
        }
        if (-TWO_63..0.0).contains(&f) {
            return encode_int(f as i64, out);
        }
    }
    out.push(0xcb);
    out.extend_from_slice(&f.to_be_bytes());
}

fn encode_timestamp(t: Timestamp, out: &mut Vec<u8>) {
    let Timestamp {
        seconds,
        nanoseconds,
    } = t;
    if nanoseconds == 0 && (0..1 << 32).contains(&seconds) {
        out.extend_from_slice(&[0xd6, 0xff]);
        out.extend_from_slice(&(seconds as u32).to_be_bytes());
    } else if (0..1 << 34).contains(&seconds) && nanoseconds < 1 << 30 {
        out.extend_from_slice(&[0xd7, 0xff]);
        let packed = (u64::from(nanoseconds) << 34) | seconds as u64;
        out.extend_from_slice(&packed.to_be_bytes());
    } else {
        out.extend_from_slice(&[0xc7, 12, 0xff]);
        out.extend_from_slice(&nanoseconds.to_be_bytes());
        out.extend_from_slice(&seconds.to_be_bytes());
    }
}

fn encode_ext(ty: i8, data: &[u8], out: &mut Vec<u8>) {
    let fixed = match data.len() {
        1 => Some(0xd4),
        2 => Some(0xd5),
        4 => Some(0xd6),
        8 => Some(0xd7),
        16 => Some(0xd8),
        _ => None,
    };
    match fixed {
        Some(marker) => out.push(marker),
        None => len_header(data.len(), [0xc7, 0xc8, 0xc9], out),
    }
    out.push(ty as u8);
    out.extend_from_slice(data);
}

// ---------------------------------------------------------------- decoding

/// Limits on what [`decode`] builds from untrusted bytes.
///
/// The input's length bounds the rest: nothing is reserved for a declared
/// length before the bytes it needs are seen to be there.
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// The deepest nesting of arrays and maps (the top-level container is
    /// depth 1). Default 128: Node's messages nest a handful of levels plus
    /// what the user's payload brings, and serde_json, which reads the
    /// Socket.IO packets this data ends up in, stops at 127. Keep it in the
    /// hundreds: dropping a value recurses.
    pub max_depth: usize,
    /// The most values in one message, counting every element, key and map
    /// value. Default 1 000 000: a decoded value takes about 40 bytes, so
    /// this caps the tree near 40 MB however small each value is on the
    /// wire, well above a fetch response with thousands of sockets.
    pub max_values: usize,
}

impl Default for DecodeConfig {
    fn default() -> DecodeConfig {
        DecodeConfig {
            max_depth: 128,
            max_values: 1_000_000,
        }
    }
}

/// The bytes are not one MessagePack value, or break a [`DecodeConfig`] limit.
///
/// Node's adapters drop such a message (the classic broadcast handler throws
/// inside the Redis callback); so should a receiver, and carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends inside a value: a length or count asks for more bytes
    /// than are left.
    #[error("input ends inside a value (at byte {at})")]
    Truncated {
        /// Where the value that does not fit starts.
        at: usize,
    },
    /// A message is exactly one value (notepack throws "N trailing bytes").
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes follow the value.
        count: usize,
    },
    /// `0xc1` is never used in MessagePack.
    #[error("byte 0xc1 (never used) at byte {at}")]
    NeverUsedByte {
        /// Its position.
        at: usize,
    },
    /// Arrays and maps nest deeper than [`DecodeConfig::max_depth`].
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The configured limit.
        max: usize,
    },
    /// More values than [`DecodeConfig::max_values`].
    #[error("more than {max} values")]
    TooManyValues {
        /// The configured limit.
        max: usize,
    },
}

/// Decodes one value with the default [`DecodeConfig`]; byte strings are
/// copied out of `input`.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    decode_with(input, &DecodeConfig::default())
}

/// Decodes one value; byte strings are copied out of `input`.
pub fn decode_with(input: &[u8], config: &DecodeConfig) -> Result<Value, DecodeError> {
    Reader {
        buf: input,
        pos: 0,
        owner: None,
        flavour: Flavour::Notepack3,
    }
    .read(config)
}

/// Decodes one value; byte strings are slices of `input`, not copies (as
/// notepack gives views into the received buffer).
pub fn decode_bytes(input: &Bytes, config: &DecodeConfig) -> Result<Value, DecodeError> {
    Reader {
        buf: input,
        pos: 0,
        owner: Some(input),
        flavour: Flavour::Notepack3,
    }
    .read(config)
}

/// Decodes one value as notepack.io 2.2 (the MessagePack parser's) reads
/// extensions: type 0 through `ext 8/16/32` is an `ArrayBuffer` (here
/// [`Value::Bin`]), `fixext 1` of type 0 is `undefined` (here
/// `Value::Ext(0, empty)`, which nothing else decodes to), `fixext 8` of type
/// 0 is its own `Date` form (here [`Value::Timestamp`]); type -1 is no
/// timestamp, and every other extension is [`Value::Ext`] (`[type, Buffer]`).
pub(crate) fn decode_notepack2(input: &Bytes, config: &DecodeConfig) -> Result<Value, DecodeError> {
    Reader {
        buf: input,
        pos: 0,
        owner: Some(input),
        flavour: Flavour::Notepack2,
    }
    .read(config)
}

/// Which notepack.io's reading of extensions [`Reader`] follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// 3.x, Node's adapters: type -1 is the timestamp extension.
    Notepack3,
    /// 2.2, socket.io-msgpack-parser: type 0 is undefined, a `Date` or an
    /// `ArrayBuffer` by its form.
    Notepack2,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The buffer `buf` is, when byte strings may be slices of it.
    owner: Option<&'a Bytes>,
    flavour: Flavour,
}

/// What one header read: a whole value, or the start of a container.
enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A container being filled.
enum Open {
    Array {
        items: Vec<Value>,
        left: usize,
    },
    Map {
        entries: Vec<(String, Value)>,
        left: usize,
        key: Option<String>,
    },
}

impl Open {
    /// Adds a key or an element; true when the container is complete.
    fn push(&mut self, value: Value) -> bool {
        match self {
            Open::Array { items, left } => {
                items.push(value);
                *left -= 1;
                *left == 0
            }
            Open::Map { entries, left, key } => match key.take() {
                None => {
                    *key = Some(property_name(value));
                    false
                }
                Some(k) => {
                    entries.push((k, value));
                    *left -= 1;
                    *left == 0
                }
            },
        }
    }

    fn finish(self) -> Value {
        match self {
            Open::Array { items, .. } => Value::Array(items),
            Open::Map { entries, .. } => Value::Map(dedup_keys(entries)),
        }
    }
}

/// The capacity reserved up front for a container of `n` declared entries
/// (each at least `min_size` bytes, with `left` bytes left): never more than
/// the input can fill, nor more than a page or so, whatever the declaration.
fn initial_capacity(n: usize, left: usize, min_size: usize) -> usize {
    n.min(left / min_size).min(1024)
}

impl<'a> Reader<'a> {
    fn read(mut self, config: &DecodeConfig) -> Result<Value, DecodeError> {
        let mut stack: Vec<Open> = Vec::new();
        let mut values = 0usize;
        loop {
            values += 1;
            if values > config.max_values {
                return Err(DecodeError::TooManyValues {
                    max: config.max_values,
                });
            }
            let at = self.pos;
            let mut value = match self.item()? {
                Item::Value(v) => v,
                Item::Array(_) | Item::Map(_) if stack.len() >= config.max_depth => {
                    return Err(DecodeError::TooDeep {
                        max: config.max_depth,
                    });
                }
                Item::Array(0) => Value::Array(Vec::new()),
                Item::Map(0) => Value::Map(Vec::new()),
                Item::Array(n) => {
                    // Each element takes a byte at least: a count the input
                    // cannot hold fails here, before anything is reserved.
                    let left = self.left();
                    if n > left {
                        return Err(DecodeError::Truncated { at });
                    }
                    stack.push(Open::Array {
                        items: Vec::with_capacity(initial_capacity(n, left, 1)),
                        left: n,
                    });
                    continue;
                }
                Item::Map(n) => {
                    let left = self.left();
                    if n > left / 2 {
                        return Err(DecodeError::Truncated { at });
                    }
                    stack.push(Open::Map {
                        entries: Vec::with_capacity(initial_capacity(n, left, 2)),
                        left: n,
                        key: None,
                    });
                    continue;
                }
            };
            // Hand the value to its container, closing every container it
            // completes.
            loop {
                let Some(mut open) = stack.pop() else {
                    let count = self.left();
                    if count > 0 {
                        return Err(DecodeError::TrailingBytes { count });
                    }
                    return Ok(value);
                };
                if !open.push(value) {
                    stack.push(open);
                    break;
                }
                value = open.finish();
            }
        }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let end = at
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or(DecodeError::Truncated { at })?;
        self.pos = end;
        Ok(&self.buf[at..end])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?).into())
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?) as usize)
    }

    fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        let slice = self.take(n)?;
        Ok(match self.owner {
            Some(owner) => owner.slice(start..start + n),
            None => Bytes::copy_from_slice(slice),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, DecodeError> {
        Ok(Value::Str(
            String::from_utf8_lossy(self.take(n)?).into_owned(),
        ))
    }

    fn ext(&mut self, n: usize, fixed_size: bool) -> Result<Value, DecodeError> {
        let at = self.pos;
        // The type byte and the data must both be there.
        if n >= self.left() {
            return Err(DecodeError::Truncated { at });
        }
        let ty = self.u8()? as i8;
        let data = self.take(n)?;
        if self.flavour == Flavour::Notepack2 {
            let start = self.pos - n;
            let bytes = match self.owner {
                Some(owner) => owner.slice(start..self.pos),
                None => Bytes::copy_from_slice(data),
            };
            return Ok(match (ty, n, fixed_size) {
                (0, _, false) => Value::Bin(bytes),
                (0, 1, true) => Value::Ext(0, Bytes::new()),
                (0, 8, true) => {
                    let hi = i64::from(i32::from_be_bytes(fixed(&data[..4])));
                    let lo = i64::from(u32::from_be_bytes(fixed(&data[4..])));
                    Value::Timestamp(Timestamp::from_millis(hi * (1 << 32) + lo))
                }
                _ => Value::Ext(ty, bytes),
            });
        }
        Ok(match (ty, n) {
            (-1, 4) => Value::Timestamp(Timestamp {
                seconds: u32::from_be_bytes(fixed(data)).into(),
                nanoseconds: 0,
            }),
            (-1, 8) => {
                let packed = u64::from_be_bytes(fixed(data));
                Value::Timestamp(Timestamp {
                    seconds: (packed & ((1 << 34) - 1)) as i64,
                    nanoseconds: (packed >> 34) as u32,
                })
            }
            (-1, 12) => Value::Timestamp(Timestamp {
                nanoseconds: u32::from_be_bytes(fixed(&data[..4])),
                seconds: i64::from_be_bytes(fixed(&data[4..])),
            }),
            _ => {
                let start = self.pos - n;
                Value::Ext(
                    ty,
                    match self.owner {
                        Some(owner) => owner.slice(start..self.pos),
                        None => Bytes::copy_from_slice(data),
                    },
                )
            }
        })
    }

    fn item(&mut self) -> Result<Item, DecodeError> {
        let at = self.pos;
        let b = self.u8()?;
        let v = match b {
            0x00..=0x7f => Value::Int(b.into()),
            0x80..=0x8f => return Ok(Item::Map((b & 0x0f).into())),
            0x90..=0x9f => return Ok(Item::Array((b & 0x0f).into())),
            0xa0..=0xbf => self.str((b & 0x1f).into())?,
            0xc0 => Value::Nil,
            0xc1 => return Err(DecodeError::NeverUsedByte { at }),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.u8()?.into();
                Value::Bin(self.bytes(n)?)
            }
            0xc5 => {
                let n = self.u16()?;
                Value::Bin(self.bytes(n)?)
            }
            0xc6 => {
                let n = self.u32()?;
                Value::Bin(self.bytes(n)?)
            }
            0xc7 => {
                let n = self.u8()?.into();
                self.ext(n, false)?
            }
            0xc8 => {
                let n = self.u16()?;
                self.ext(n, false)?
            }
            0xc9 => {
                let n = self.u32()?;
                self.ext(n, false)?
            }
            0xca => Value::F64(f32::from_be_bytes(self.array()?).into()),
            0xcb => Value::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Value::Int(self.u8()?.into()),
            0xcd => Value::Int(u16::from_be_bytes(self.array()?).into()),
            0xce => Value::Int(u32::from_be_bytes(self.array()?).into()),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::Int(i8::from_be_bytes(self.array()?).into()),
            0xd1 => Value::Int(i16::from_be_bytes(self.array()?).into()),
            0xd2 => Value::Int(i32::from_be_bytes(self.array()?).into()),
            0xd3 => Value::Int(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1, true)?,
            0xd5 => self.ext(2, true)?,
            0xd6 => self.ext(4, true)?,
            0xd7 => self.ext(8, true)?,
            0xd8 => self.ext(16, true)?,
            0xd9 => {
                let n = self.u8()?.into();
                self.str(n)?
            }
            0xda => {
                let n = self.u16()?;
                self.str(n)?
            }
            0xdb => {
                let n = self.u32()?;
                self.str(n)?
            }
            0xdc => return Ok(Item::Array(self.u16()?)),
            0xdd => return Ok(Item::Array(self.u32()?)),
            0xde => return Ok(Item::Map(self.u16()?)),
            0xdf => return Ok(Item::Map(self.u32()?)),
            0xe0..=0xff => Value::Int((b as i8).into()),
        };
        Ok(Item::Value(v))
    }
}

/// `N` bytes from a slice known to hold exactly `N`.
fn fixed<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&s[..N]);
    a
}

/// The property name a decoded map key becomes in JavaScript.
fn property_name(key: Value) -> String {
    match key {
        Value::Str(s) => s,
        other => other.to_js_string(),
    }
}

/// Duplicate keys resolved as a JavaScript object assignment does: the key
/// stays where it first appeared, with the value of its last appearance.
pub fn dedup_keys(mut entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let n = entries.len();
    let mut dropped: Vec<bool> = Vec::new();
    if n <= 16 {
        // Small maps, the common case: no allocation unless there is a
        // duplicate.
        for j in 1..n {
            if let Some(i) = (0..j).find(|&i| entries[i].0 == entries[j].0) {
                let v = std::mem::take(&mut entries[j].1);
                entries[i].1 = v;
                dropped.resize(n, false);
                dropped[j] = true;
            }
        }
    } else {
        // Sorting positions by key finds every group of equal keys in
        // n log n comparisons, where a pairwise scan would let a hostile
        // map of many keys take quadratic time. Ties keep input order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0).then(a.cmp(&b)));
        let mut g = 0;
        while g < n {
            let mut end = g + 1;
            while end < n && entries[order[end]].0 == entries[order[g]].0 {
                end += 1;
            }
            if end - g > 1 {
                let v = std::mem::take(&mut entries[order[end - 1]].1);
                entries[order[g]].1 = v;
                dropped.resize(n, false);
                for &i in &order[g + 1..end] {
                    dropped[i] = true;
                }
            }
            g = end;
        }
    }
    if !dropped.is_empty() {
        let mut i = 0;
        entries.retain(|_| {
            i += 1;
            !dropped[i - 1]
        });
    }
    entries
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_iso_string() {
            Some(s) => f.write_str(&s),
            None => write!(f, "{}s+{}ns", self.seconds, self.nanoseconds),
        }
    }
}

#[cfg(test)]
mod tests;
