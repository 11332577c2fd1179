//! Byte vectors from notepack.io 3.0.1 (the wire spec's §5.1), every
//! boundary of every length ladder, and hostile inputs.

use super::*;

/// Bytes from space-separated hex pairs.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn enc(v: impl Into<Value>) -> Vec<u8> {
    to_vec(&v.into())
}

#[test]
fn notepack_small_vectors() {
    assert_eq!(enc(1.5), hex("cb 3f f8 00 00 00 00 00 00"));
    assert_eq!(enc(-1), hex("ff"));
    assert_eq!(enc(-1.0), hex("ff"));
    assert_eq!(enc(-33), hex("d0 df"));
    assert_eq!(enc(4_294_967_296i64), hex("cf 00 00 00 01 00 00 00 00"));
    assert_eq!(enc(4_294_967_296.0), hex("cf 00 00 00 01 00 00 00 00"));
    assert_eq!(enc(1_700_000_000_000i64), hex("cf 00 00 01 8b cf e5 68 00"));
    assert_eq!(enc(1_700_000_000_000.0), hex("cf 00 00 01 8b cf e5 68 00"));
    // {b:1, 2:2, a:3}: Object.keys order puts "2" first; the caller does.
    let m = Value::map([("2", 2.into()), ("b", 1.into()), ("a", 3.into())]);
    assert_eq!(to_vec(&m), hex("83 a1 32 02 a1 62 01 a1 61 03"));
    // {a: undefined, b: 1, f() {}}: the caller leaves the first and last out.
    assert_eq!(to_vec(&Value::map([("b", 1.into())])), hex("81 a1 62 01"));
    assert_eq!(to_vec(&Value::Array(vec![Value::Nil])), hex("91 c0"));
    let s31 = "a".repeat(31);
    let s32 = "a".repeat(32);
    assert_eq!(enc(s31.as_str())[0], 0xbf);
    assert_eq!(enc(s31.as_str()).len(), 32);
    assert_eq!(enc(s32.as_str())[..2], [0xd9, 0x20]);
    assert_eq!(enc(s32.as_str()).len(), 34);
    assert_eq!(
        enc(Timestamp::from_millis(1_700_000_000_000)),
        hex("d6 ff 65 53 f1 00")
    );
    assert_eq!(
        enc(Timestamp::from_millis(1_700_000_000_123)),
        hex("d7 ff 1d 53 53 00 65 53 f1 00")
    );
}

#[test]
fn small_vectors_decode_back() {
    for (bytes, want) in [
        ("cb 3f f8 00 00 00 00 00 00", Value::F64(1.5)),
        ("ff", Value::Int(-1)),
        ("d0 df", Value::Int(-33)),
        ("cf 00 00 00 01 00 00 00 00", Value::Int(1 << 32)),
        ("cf 00 00 01 8b cf e5 68 00", Value::Int(1_700_000_000_000)),
        (
            "d6 ff 65 53 f1 00",
            Timestamp::from_millis(1_700_000_000_000).into(),
        ),
        (
            "d7 ff 1d 53 53 00 65 53 f1 00",
            Timestamp::from_millis(1_700_000_000_123).into(),
        ),
        ("91 c0", Value::Array(vec![Value::Nil])),
    ] {
        assert_eq!(decode(&hex(bytes)).unwrap(), want, "{bytes}");
    }
}

#[test]
fn integers_take_the_smallest_form() {
    for (v, bytes) in [
        (0i64, "00"),
        (127, "7f"),
        (128, "cc 80"),
        (255, "cc ff"),
        (256, "cd 01 00"),
        (65_535, "cd ff ff"),
        (65_536, "ce 00 01 00 00"),
        (4_294_967_295, "ce ff ff ff ff"),
        (i64::MAX, "cf 7f ff ff ff ff ff ff ff"),
        (-32, "e0"),
        (-33, "d0 df"),
        (-128, "d0 80"),
        (-129, "d1 ff 7f"),
        (-32_768, "d1 80 00"),
        (-32_769, "d2 ff ff 7f ff"),
        (-2_147_483_648, "d2 80 00 00 00"),
        (-2_147_483_649, "d3 ff ff ff ff 7f ff ff ff"),
        (i64::MIN, "d3 80 00 00 00 00 00 00 00"),
    ] {
        assert_eq!(enc(v), hex(bytes), "{v}");
        // A JavaScript number with the same value is written the same way.
        if v.unsigned_abs() <= 1 << 53 || v == i64::MIN {
            assert_eq!(enc(v as f64), hex(bytes), "{v} as f64");
        }
        assert_eq!(decode(&hex(bytes)).unwrap(), Value::Int(v));
    }
    assert_eq!(enc(u64::MAX), hex("cf ff ff ff ff ff ff ff ff"));
    assert!(matches!(
        decode(&hex("cf ff ff ff ff ff ff ff ff")).unwrap(),
        Value::UInt(u64::MAX)
    ));
    // Positive values in the signed forms decode too.
    assert_eq!(decode(&hex("d0 05")).unwrap(), Value::Int(5));
    assert_eq!(
        decode(&hex("d3 00 00 00 00 00 00 00 07")).unwrap(),
        Value::Int(7)
    );
}

#[test]
fn floats_as_notepack_writes_them() {
    assert_eq!(enc(-0.0), hex("00"), "-0 counts as integral and >= 0");
    assert_eq!(enc(1.0), hex("01"));
    assert_eq!(enc(0.5), hex("cb 3f e0 00 00 00 00 00 00"));
    assert_eq!(enc(f64::NAN), hex("cb 7f f8 00 00 00 00 00 00"));
    assert_eq!(enc(f64::INFINITY), hex("cb 7f f0 00 00 00 00 00 00"));
    assert_eq!(enc(f64::NEG_INFINITY), hex("cb ff f0 00 00 00 00 00 00"));
    assert_eq!(enc(1e19), hex("cf 8a c7 23 04 89 e8 00 00"));
    assert_eq!(enc(-TWO_63), enc(i64::MIN));
    // Past the 64-bit ranges notepack writes wrong bits; float64 is exact.
    assert_eq!(enc(TWO_64), hex("cb 43 f0 00 00 00 00 00 00"));
    assert_eq!(enc(-1e19), hex("cb c3 e1 58 e4 60 91 3d 00"));
    // float32 is read, never written.
    assert_eq!(decode(&hex("ca 3f c0 00 00")).unwrap(), Value::F64(1.5));
    assert!(matches!(decode(&hex("ca 7f c0 00 00")).unwrap(), Value::F64(f) if f.is_nan()));
}

#[test]
fn length_ladders() {
    let s = |n: usize| Value::Str("x".repeat(n));
    let b = |n: usize| Value::Bin(Bytes::from(vec![7u8; n]));
    let a = |n: usize| Value::Array(vec![Value::Nil; n]);
    let m = |n: usize| Value::Map((0..n).map(|i| (i.to_string(), Value::Nil)).collect());
    for (v, head) in [
        (s(0), "a0"),
        (s(31), "bf"),
        (s(32), "d9 20"),
        (s(255), "d9 ff"),
        (s(256), "da 01 00"),
        (s(65_535), "da ff ff"),
        (s(65_536), "db 00 01 00 00"),
        (b(0), "c4 00"),
        (b(255), "c4 ff"),
        (b(256), "c5 01 00"),
        (b(65_536), "c6 00 01 00 00"),
        (a(0), "90"),
        (a(15), "9f"),
        (a(16), "dc 00 10"),
        (a(65_535), "dc ff ff"),
        (a(65_536), "dd 00 01 00 00"),
        (m(0), "80"),
        (m(15), "8f"),
        (m(16), "de 00 10"),
        (m(65_536), "df 00 01 00 00"),
    ] {
        let bytes = to_vec(&v);
        let head = hex(head);
        assert_eq!(bytes[..head.len()], head[..], "{head:x?}");
        assert_eq!(decode(&bytes).unwrap(), v, "{head:x?}");
    }
}

#[test]
fn extensions_and_timestamps() {
    for (v, bytes) in [
        (Value::Ext(5, Bytes::from_static(&[1])), "d4 05 01"),
        (Value::Ext(5, Bytes::from_static(&[1, 2])), "d5 05 01 02"),
        (
            Value::Ext(-2, Bytes::from_static(&[1, 2, 3])),
            "c7 03 fe 01 02 03",
        ),
        (
            Value::Ext(0, Bytes::from_static(&[0; 8])),
            "d7 00 00 00 00 00 00 00 00 00",
        ),
        (Value::Ext(1, Bytes::new()), "c7 00 01"),
        // Type -1 with a length that is no timestamp stays an extension.
        (Value::Ext(-1, Bytes::from_static(&[9, 9])), "d5 ff 09 09"),
        (
            Timestamp {
                seconds: 0,
                nanoseconds: 0,
            }
            .into(),
            "d6 ff 00 00 00 00",
        ),
        (
            Timestamp {
                seconds: -1,
                nanoseconds: 0,
            }
            .into(),
            "c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff",
        ),
        (
            Timestamp {
                seconds: 1 << 34,
                nanoseconds: 0,
            }
            .into(),
            "c7 0c ff 00 00 00 00 00 00 00 04 00 00 00 00",
        ),
        (
            Timestamp {
                seconds: 1 << 32,
                nanoseconds: 0,
            }
            .into(),
            "d7 ff 00 00 00 01 00 00 00 00",
        ),
    ] {
        assert_eq!(to_vec(&v), hex(bytes), "{v:?}");
        assert_eq!(decode(&hex(bytes)).unwrap(), v, "{bytes}");
    }
    // A 96-bit timestamp that fits a shorter form still reads.
    assert_eq!(
        decode(&hex("c7 0c ff 00 00 00 00 00 00 00 00 65 53 f1 00")).unwrap(),
        Value::Timestamp(Timestamp::from_millis(1_700_000_000_000))
    );
    // ext8/16/32 with the length in the wider forms.
    assert_eq!(
        decode(&hex("c8 00 01 07 aa")).unwrap(),
        Value::Ext(7, Bytes::from_static(&[0xaa]))
    );
    assert_eq!(
        decode(&hex("c9 00 00 00 01 07 aa")).unwrap(),
        Value::Ext(7, Bytes::from_static(&[0xaa]))
    );
}

#[test]
fn timestamps_read_as_javascript_dates() {
    let t = Timestamp::from_millis(1_700_000_000_123);
    assert_eq!(t.to_js_millis(), Some(1_700_000_000_123));
    assert_eq!(t.to_iso_string().unwrap(), "2023-11-14T22:13:20.123Z");
    assert_eq!(
        t.to_js_string(),
        "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)"
    );
    let before = Timestamp::from_millis(-1);
    assert_eq!(
        before,
        Timestamp {
            seconds: -1,
            nanoseconds: 999_000_000
        }
    );
    assert_eq!(before.to_iso_string().unwrap(), "1969-12-31T23:59:59.999Z");
    assert_eq!(
        Timestamp::from_millis(8_640_000_000_000_000)
            .to_iso_string()
            .unwrap(),
        "+275760-09-13T00:00:00.000Z"
    );
    assert_eq!(
        Timestamp::from_millis(-8_640_000_000_000_000)
            .to_iso_string()
            .unwrap(),
        "-271821-04-20T00:00:00.000Z"
    );
    assert_eq!(
        Timestamp::from_millis(-62_167_219_200_000)
            .to_iso_string()
            .unwrap(),
        "0000-01-01T00:00:00.000Z"
    );
    assert_eq!(
        Timestamp::from_millis(951_782_400_000).to_js_string(),
        "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
    );
    let huge = Timestamp {
        seconds: i64::MAX,
        nanoseconds: 0,
    };
    assert_eq!(huge.to_iso_string(), None);
    assert_eq!(huge.to_js_string(), "Invalid Date");
}

#[test]
fn strings_are_lossy_utf8() {
    assert_eq!(
        decode(&hex("a3 ff 41 c3")).unwrap(),
        Value::from("\u{fffd}A\u{fffd}")
    );
    assert_eq!(
        decode(&hex("a4 f0 9f 98 80")).unwrap(),
        Value::from("\u{1f600}")
    );
    // A surrogate encoded in UTF-8 is three bad bytes, as in Node.
    assert_eq!(
        decode(&hex("a3 ed a0 80")).unwrap(),
        Value::from("\u{fffd}\u{fffd}\u{fffd}")
    );
}

#[test]
fn map_keys_become_property_names() {
    let key = |k: &str| {
        let bytes = hex(&format!("81 {k} c0"));
        match decode(&bytes).unwrap() {
            Value::Map(m) => m[0].0.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(key("01"), "1");
    assert_eq!(key("ff"), "-1");
    assert_eq!(key("c0"), "null");
    assert_eq!(key("c3"), "true");
    assert_eq!(key("cb 3f f8 00 00 00 00 00 00"), "1.5");
    assert_eq!(key("cb 44 4b 1a e4 d6 e2 ef 50"), "1e+21");
    assert_eq!(key("cb 7f f8 00 00 00 00 00 00"), "NaN");
    assert_eq!(key("cf ff ff ff ff ff ff ff ff"), "18446744073709552000");
    assert_eq!(key("c4 02 68 69"), "hi");
    assert_eq!(key("93 01 c0 a1 61"), "1,,a");
    assert_eq!(key("92 92 01 02 03"), "1,2,3");
    assert_eq!(key("80"), "[object Object]");
    assert_eq!(key("d4 05 41"), "5,A");
    assert_eq!(
        key("d6 ff 65 53 f1 00"),
        "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)"
    );
}

#[test]
fn numbers_print_as_javascript_prints_them() {
    for (f, s) in [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (123.456, "123.456"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123_456_789_012_345_680_000.0, "123456789012345680000"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
        (f64::NAN, "NaN"),
        (2f64.powi(53), "9007199254740992"),
    ] {
        assert_eq!(js_number_string(f), s, "{f:e}");
    }
}

#[test]
fn duplicate_keys_last_wins_where_first_was() {
    // {a:1, b:2, a:3} as JS assigns it: a keeps its place, takes 3.
    let v = decode(&hex("83 a1 61 01 a1 62 02 a1 61 03")).unwrap();
    assert_eq!(v, Value::map([("a", 3.into()), ("b", 2.into())]));
    // 1 and "1" are the same property.
    let v = decode(&hex("82 01 c2 a1 31 c3")).unwrap();
    assert_eq!(v, Value::map([("1", true.into())]));
    // A large map takes the sorting path.
    let mut m: Vec<(String, Value)> = (0..40)
        .map(|i| (format!("k{}", i % 20), i.into()))
        .collect();
    m.push(("k3".into(), "last".into()));
    let v = decode(&to_vec(&Value::Map(m))).unwrap();
    let want: Vec<(String, Value)> = (0..20)
        .map(|i| {
            let v = if i == 3 {
                "last".into()
            } else {
                Value::from(i + 20)
            };
            (format!("k{i}"), v)
        })
        .collect();
    assert_eq!(v, Value::Map(want));
}

#[test]
fn malformed_input_is_an_error() {
    use DecodeError::*;
    let err = |s: &str| decode(&hex(s)).unwrap_err();
    assert_eq!(decode(&[]).unwrap_err(), Truncated { at: 0 });
    assert_eq!(err("c0 c0"), TrailingBytes { count: 1 });
    assert_eq!(err("91 01 02 03"), TrailingBytes { count: 2 });
    assert_eq!(err("c1"), NeverUsedByte { at: 0 });
    assert_eq!(err("92 01 c1"), NeverUsedByte { at: 2 });
    assert_eq!(err("a2 61"), Truncated { at: 1 });
    assert_eq!(err("cd 01"), Truncated { at: 1 });
    assert_eq!(err("cb 00 00"), Truncated { at: 1 });
    assert_eq!(err("92 01"), Truncated { at: 0 });
    assert_eq!(err("92 92 01 01"), Truncated { at: 4 });
    assert_eq!(err("81 a1 61"), Truncated { at: 3 });
    assert_eq!(err("d4 05"), Truncated { at: 1 });
    assert_eq!(err("d6"), Truncated { at: 1 });
    assert_eq!(err("c7 02 05 01"), Truncated { at: 2 });
}

#[test]
fn huge_declared_lengths_fail_before_allocating() {
    use DecodeError::*;
    // Each declares about four billion of something in five bytes; each
    // must fail at once, reserving nothing.
    for (bytes, at) in [
        ("dd ff ff ff ff", 0),
        ("df ff ff ff ff", 0),
        ("db ff ff ff ff", 5),
        ("c6 ff ff ff ff", 5),
        ("c9 ff ff ff ff", 5),
        ("dd ff ff ff ff c0 c0 c0", 0),
        ("91 dd ff ff ff ff", 1),
        ("de ff ff c0", 0),
    ] {
        assert_eq!(
            decode(&hex(bytes)).unwrap_err(),
            Truncated { at },
            "{bytes}"
        );
    }
    // Counts that the input could hold reserve at most what it holds.
    let mut nested = Vec::new();
    for _ in 0..100 {
        nested.extend_from_slice(&hex("dd 00 01 00 00"));
    }
    nested.resize(nested.len() + 65_536, 0xc0);
    assert_eq!(decode(&nested).unwrap_err(), Truncated { at: nested.len() });
}

#[test]
fn nesting_and_value_count_are_bounded() {
    let nest = |depth: usize| {
        let mut b = vec![0x91; depth];
        b.push(0xc0);
        b
    };
    assert!(decode(&nest(128)).is_ok());
    assert_eq!(
        decode(&nest(129)).unwrap_err(),
        DecodeError::TooDeep { max: 128 }
    );
    // Deep enough to overflow any recursive decoder's stack.
    assert_eq!(
        decode(&nest(1_000_000)).unwrap_err(),
        DecodeError::TooDeep { max: 128 }
    );
    let mut empty_at_limit = vec![0x91; 128];
    empty_at_limit.push(0x90);
    assert!(decode(&empty_at_limit).is_err(), "an empty array nests too");
    let config = DecodeConfig {
        max_depth: 2,
        max_values: 4,
    };
    assert!(decode_with(&hex("91 91 c0"), &config).is_ok());
    assert!(decode_with(&hex("91 91 91 c0"), &config).is_err());
    assert!(decode_with(&hex("93 01 02 03"), &config).is_ok());
    assert_eq!(
        decode_with(&hex("94 01 02 03 04"), &config).unwrap_err(),
        DecodeError::TooManyValues { max: 4 }
    );
    // Keys count as values.
    assert!(decode_with(&hex("82 a0 01 a1 61 02"), &config).is_err());
}

#[test]
fn decode_bytes_slices_the_input() {
    let input = Bytes::from(hex("92 c4 02 01 02 d4 07 09"));
    let v = decode_bytes(&input, &DecodeConfig::default()).unwrap();
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();
    let Value::Array(items) = &v else {
        panic!("{v:?}")
    };
    let (Value::Bin(b), Value::Ext(7, e)) = (&items[0], &items[1]) else {
        panic!("{v:?}")
    };
    assert_eq!((&b[..], &e[..]), (&[1u8, 2][..], &[9u8][..]));
    assert!(range.contains(&(b.as_ptr() as usize)));
    assert!(range.contains(&(e.as_ptr() as usize)));
    assert_eq!(decode(&input).unwrap(), v);
}

#[test]
fn equality_is_javascript_number_equality() {
    assert_eq!(Value::Int(1), Value::UInt(1));
    assert_eq!(Value::Int(1), Value::F64(1.0));
    assert_eq!(Value::F64(-0.0), Value::Int(0));
    assert_ne!(Value::F64(f64::NAN), Value::F64(f64::NAN));
    assert_ne!(Value::Int(1 << 53 | 1), Value::F64((1u64 << 53) as f64));
    assert_eq!(Value::UInt(u64::MAX - 2047), Value::F64(TWO_64 - 2048.0));
    assert_ne!(Value::UInt(u64::MAX), Value::F64(TWO_64 - 2048.0));
    assert_ne!(Value::UInt(u64::MAX), Value::F64(TWO_64));
    assert_ne!(Value::Int(0), Value::Nil);
    assert_ne!(Value::from("1"), Value::Int(1));
    assert_eq!(Value::F64(3.0).as_u64(), Some(3));
    assert_eq!(Value::F64(-3.0).as_i64(), Some(-3));
    assert_eq!(Value::F64(3.5).as_i64(), None);
    assert_eq!(Value::UInt(u64::MAX).as_i64(), None);
}
