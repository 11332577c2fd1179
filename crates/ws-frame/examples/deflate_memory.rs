//! Measures what permessage-deflate keeps per connection, with a counting
//! allocator: the bytes still allocated by a server connection after it has
//! received and sent one compressed message, for each context-takeover mode
//! and window size (the figures in the `deflate` module docs and the guide).
//!
//! ```sh
//! cargo run --release -p realtime-ws-frame --features deflate --example deflate_memory
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use bytes::BytesMut;
use ws_frame::{Config, Connection, DeflateConfig, DeflateParams, Message};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// A counting allocator can only be written with `unsafe`: the trait is.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn json(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("{{\"id\":{i},\"name\":\"user{}\"}}", i % 97))
        .collect();
    format!("[{}]", rows.join(","))
}

/// Bytes a server connection holds after one compressed message each way
/// (the connection itself included), once the message and the read buffer
/// are gone.
fn held(params: Option<DeflateParams>, reply: bool) -> isize {
    let msg = Message::text(json(500));
    let mut cfg = Config::default();
    cfg.deflate = Some(DeflateConfig::default());
    // The client that compresses the message, made before counting starts.
    let mut client = Connection::client(cfg.clone(), || [0; 4]);
    if let Some(p) = params {
        client = client.with_deflate(p);
    }
    client.send(msg.clone()).unwrap();
    let mut wire = Vec::new();
    while let Some(b) = client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    let base = live();
    let mut server = Connection::server(cfg);
    if let Some(p) = params {
        server = server.with_deflate(p);
    }
    {
        let mut read = BytesMut::from(&wire[..]);
        server.handle_read(&mut read).unwrap();
        assert!(server.poll_message().unwrap() == msg);
        if reply {
            server.send(msg.clone()).unwrap();
            while server.poll_transmit().is_some() {}
        }
    }
    let kept = live() - base;
    drop(server);
    assert!(live() <= base, "everything is freed with the connection");
    kept
}

fn main() {
    let p = |nct: bool, bits: u8| DeflateParams {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    };
    println!(
        "held by a server connection (itself included) after one compressed message each way:"
    );
    println!(
        "  deflate not negotiated:             {:>7} bytes",
        held(None, true)
    );
    for bits in [15, 9] {
        let kept = held(Some(p(false, bits)), true);
        let inflater = held(Some(p(false, bits)), false) - held(None, false);
        println!(
            "  context takeover, window bits {bits:>2}: {kept:>7} bytes (decompressor {inflater}, compressor {})",
            kept - inflater - held(None, true)
        );
        println!(
            "  no context takeover, bits {bits:>2}:     {:>7} bytes",
            held(Some(p(true, bits)), true)
        );
    }
}
