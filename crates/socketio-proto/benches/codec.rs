//! Encode and decode of small events and of events with binary attachments.
//!
//! `cargo bench -p socketio-proto --bench codec`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use socketio_proto::{Binary, Decoder, Packet, Utf8Bytes};

#[derive(serde::Serialize, serde::Deserialize)]
struct Chat {
    user: String,
    text: String,
    ts: u64,
}

fn chat() -> Chat {
    Chat {
        user: "alice".into(),
        text: "hello, everyone in the room".into(),
        ts: 1_732_000_000_000,
    }
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("socketio-proto");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode/small-event", |b| {
        let msg = chat();
        b.iter(|| black_box(Packet::event("/", "chat", &(&msg,)).unwrap().encode()))
    });
    // Text as the transports deliver it, already checked for UTF-8.
    let text = Utf8Bytes::from(Packet::event("/", "chat", &(chat(),)).unwrap().encode());
    g.bench_function("decode/small-event", |b| {
        let mut d = Decoder::default();
        b.iter(|| {
            d.handle_text(text.clone()).unwrap();
            black_box(d.poll_packet().unwrap())
        })
    });
    // The same as bytes, checked on entry.
    let bytes = text.clone().into_bytes();
    g.bench_function("decode/small-event-from-bytes", |b| {
        let mut d = Decoder::default();
        b.iter(|| {
            d.handle_text(bytes.clone()).unwrap();
            black_box(d.poll_packet().unwrap())
        })
    });
    g.bench_function("decode+args/small-event", |b| {
        let mut d = Decoder::default();
        b.iter(|| {
            d.handle_text(text.clone()).unwrap();
            let (msg,): (Chat,) = d.poll_packet().unwrap().event_args().unwrap();
            black_box(msg)
        })
    });
    let blob = Binary(Bytes::from(vec![7u8; 64 << 10]));
    g.bench_function("encode/binary-event-64KiB", |b| {
        b.iter(|| {
            let p = Packet::event("/", "upload", &("name.bin", &blob)).unwrap();
            black_box((p.encode(), p.attachments().len()))
        })
    });
    let p = Packet::event("/", "upload", &("name.bin", &blob)).unwrap();
    let (text, att) = (Utf8Bytes::from(p.encode()), p.attachments()[0].clone());
    g.bench_function("decode/binary-event-64KiB", |b| {
        let mut d = Decoder::default();
        b.iter(|| {
            d.handle_text(text.clone()).unwrap();
            d.handle_binary(att.clone()).unwrap();
            black_box(d.poll_packet().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
