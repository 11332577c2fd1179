//! Decode+unmask and encode throughput, ours beside tungstenite in one run.
//!
//! `cargo bench -p realtime-ws-frame --bench frame`
//!
//! Both sides see the same wire bytes: a batch of masked client frames for the
//! server role to decode, and the same messages for the client role to encode
//! (mask included). tungstenite runs over an in-memory `Read + Write`, so both
//! sides pay one copy of the input into their read buffer.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::io::{self, Read, Write};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ws_frame::{Config, Connection, Message};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1024, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

/// Enough messages per iteration that each measures ~1 MiB or at least one message.
fn batch(size: usize) -> usize {
    ((1 << 20) / size).clamp(1, 4096)
}

fn mask_key() -> [u8; 4] {
    [0x9a, 0x1c, 0x37, 0xe2]
}

/// `count` masked binary frames of `size` bytes, as a client sends them.
fn client_wire(size: usize, count: usize) -> Vec<u8> {
    let mut client = Connection::client(Config::default(), mask_key);
    let payload = Bytes::from((0..size).map(|i| i as u8).collect::<Vec<_>>());
    let mut wire = Vec::new();
    for _ in 0..count {
        client.send(Message::Binary(payload.clone())).unwrap();
        while let Some(chunk) = client.poll_transmit() {
            wire.extend_from_slice(&chunk);
        }
    }
    wire
}

/// An in-memory transport for tungstenite.
struct Mem {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tungstenite_socket(
    role: tungstenite::protocol::Role,
    input: Vec<u8>,
) -> tungstenite::WebSocket<Mem> {
    let mem = Mem {
        input: io::Cursor::new(input),
        output: Vec::new(),
    };
    tungstenite::WebSocket::from_raw_socket(mem, role, None)
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode+unmask");
    for (size, name) in SIZES {
        let count = batch(size);
        let wire = client_wire(size, count);
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_with_input(BenchmarkId::new("ws-frame", name), &wire, |b, wire| {
            b.iter(|| {
                let mut server = Connection::server(Config::default());
                let mut buf = BytesMut::from(&wire[..]);
                let mut n = 0;
                while n < count {
                    server.handle_read(&mut buf).unwrap();
                    while let Some(msg) = server.poll_message() {
                        black_box(msg);
                        n += 1;
                    }
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", name), &wire, |b, wire| {
            b.iter(|| {
                let mut ws = tungstenite_socket(tungstenite::protocol::Role::Server, wire.clone());
                for _ in 0..count {
                    black_box(ws.read().unwrap());
                }
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode+mask");
    for (size, name) in SIZES {
        let count = batch(size);
        let payload = Bytes::from(vec![0x5a; size]);
        group.throughput(Throughput::Bytes((size * count) as u64));
        group.bench_with_input(
            BenchmarkId::new("ws-frame", name),
            &payload,
            |b, payload| {
                let mut client = Connection::client(Config::default(), mask_key);
                let mut out = Vec::with_capacity((size + 14) * count);
                b.iter(|| {
                    out.clear();
                    for _ in 0..count {
                        client.send(Message::Binary(payload.clone())).unwrap();
                        while let Some(chunk) = client.poll_transmit() {
                            out.extend_from_slice(&chunk);
                        }
                    }
                    black_box(out.len());
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("tungstenite", name),
            &payload,
            |b, payload| {
                let mut ws = tungstenite_socket(tungstenite::protocol::Role::Client, Vec::new());
                b.iter(|| {
                    ws.get_mut().output.clear();
                    for _ in 0..count {
                        ws.write(tungstenite::Message::Binary(payload.clone()))
                            .unwrap();
                    }
                    ws.flush().unwrap();
                    black_box(ws.get_ref().output.len());
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
