//! Drives a WebSocket or Socket.IO server on loopback and prints one JSON
//! line of results.
//!
//! ```text
//! loadgen ws-echo   --url ws://127.0.0.1:9001/ --conns 64 --size 32 [--binary] [--batch 1] [--secs 5] [--pid PID]
//!                   [--json] [--deflate]   (a JSON text payload; offer permessage-deflate)
//! loadgen sio-echo  --url ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket --conns 64 --size 32 [--batch 1] [--secs 5] [--pid PID]
//! loadgen sio-broadcast --url ... --conns 1000 [--rounds 20] [--burst 1] [--pid PID]
//! loadgen sio-idle  --url ... --conns 10000 [--pid PID]
//! loadgen sio-cluster-broadcast --url NODE_A --url2 NODE_B --conns 1000 [--rounds 20] [--burst 1] [--pid PID_A --pid PID_B] [--redis-pid PID]
//! loadgen sio-poll-echo --url http://127.0.0.1:3000/socket.io/?EIO=4&transport=polling --conns 64 [--size 32] [--pid PID]
//! loadgen sio-poll-broadcast --url ...transport=polling --conns 1000 [--rounds 20] [--pid PID]
//! loadgen sio-connect --url ...transport=polling --conns 64 [--pid PID]    (--conns: connects under way at once)
//! loadgen ws-connect --url ws://127.0.0.1:9001/ --conns 64 [--pid PID]
//! loadgen sio-cycles --url ...transport=polling --conns 64 --cycles 10000 [--warmup 1000] [--settle 2] [--pid PID]
//! loadgen client-emit --url http://127.0.0.1:3000/ --conns 64 [--size 32] [--pid PID]
//! loadgen sio-soak --url ...transport=websocket --conns 20000 [--minutes 10] [--sample-secs 10] [--procs 2] [--pid PID]
//! ```
//!
//! The second group is in modules of its own: [`polling`] (Socket.IO over
//! long-polling only), [`setup`] (connection setup), [`client_load`] (our
//! Socket.IO client as the load source), [`soak`] (idle connections and a
//! broadcast a second, for minutes).
//!
//! Echo is closed-loop: each connection sends `--batch` messages in one
//! write (Socket.IO: events with acks) and waits for every answer before the
//! next batch; with the default batch of 1 it sends one message and waits for
//! it back. Messages/s counts answers; latency is from a batch's send to each
//! answer. Batches show what a server does with messages that arrive
//! together: answering them with one write or with one each. Broadcast: each round the emitter sends `--burst` broadcasts back
//! to back and the round ends when every receiver has all of them. Socket.IO speaks the wire protocol directly over ws-frame, so
//! the client costs the same against every server. Server memory comes from
//! `/proc/PID/status` (peak `VmHWM`, current `VmRSS`; summed over every
//! `--pid`, as for the two nodes of a cluster), and the server's CPU
//! time over the measured window from `/proc/PID/stat`, reported per message
//! split into user and kernel (`server_user_us`, `server_sys_us`): on
//! loopback the kernel's share is the same for every server, the user share
//! is what the implementation costs. The load generator's own CPU time per
//! message (`loadgen_user_us`, `loadgen_sys_us`) says whether it, rather
//! than the server, set the pace; it runs on one thread. Loopback only.
//!
//! The cluster broadcast is the broadcast over two nodes of one Redis: the
//! receivers alternate between node A (`--url`, where the emitter is) and
//! node B (`--url2`), so half of every broadcast crosses Redis. Besides the
//! round times it reports each delivery's latency from the round's send,
//! apart for receivers on A (`local_*`) and on B (`remote_*`): the median
//! of B minus the median of A is what the hop through Redis adds
//! (`hop_p50_us`). `--redis-pid` adds Redis's CPU time per broadcast.

mod client_load;
mod polling;
mod setup;
mod soak;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use ws_frame::{Message, WebSocketStream};

type Ws = WebSocketStream<TcpStream>;

struct Args {
    mode: String,
    url: String,
    url2: String,
    conns: usize,
    size: usize,
    binary: bool,
    secs: u64,
    rounds: usize,
    batch: usize,
    burst: usize,
    /// Offer permessage-deflate (ws-echo).
    deflate: bool,
    /// A JSON text payload (rows of ids and names) instead of `x`s.
    json: bool,
    pids: Vec<u32>,
    redis_pid: Option<u32>,
    /// `sio-cycles`: cycles measured, after `warmup` unmeasured ones, with
    /// `settle` seconds before each RSS reading.
    cycles: usize,
    warmup: usize,
    settle: u64,
    /// `sio-soak`: how long, how often RSS is read, over how many processes.
    minutes: f64,
    sample_secs: u64,
    procs: usize,
    /// `sio-hold`: the index of its first connection (which picks its
    /// source address).
    first: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        mode: String::new(),
        url: String::new(),
        url2: String::new(),
        conns: 1,
        size: 32,
        binary: false,
        secs: 5,
        rounds: 20,
        batch: 1,
        burst: 1,
        deflate: false,
        json: false,
        pids: Vec::new(),
        redis_pid: None,
        cycles: 10_000,
        warmup: 1_000,
        settle: 2,
        minutes: 10.0,
        sample_secs: 10,
        procs: 2,
        first: 0,
    };
    let mut it = std::env::args().skip(1);
    a.mode = it.next().unwrap_or_default();
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value(),
            "--url2" => a.url2 = value(),
            "--conns" => a.conns = value().parse().unwrap_or(1),
            "--size" => a.size = value().parse().unwrap_or(32),
            "--binary" => a.binary = true,
            "--deflate" => a.deflate = true,
            "--json" => a.json = true,
            "--secs" => a.secs = value().parse().unwrap_or(5),
            "--rounds" => a.rounds = value().parse().unwrap_or(20),
            "--batch" => a.batch = value().parse::<usize>().unwrap_or(1).max(1),
            "--burst" => a.burst = value().parse::<usize>().unwrap_or(1).max(1),
            "--pid" => a.pids.extend(value().parse::<u32>().ok()),
            "--redis-pid" => a.redis_pid = value().parse().ok(),
            "--cycles" => a.cycles = value().parse().unwrap_or(10_000),
            "--warmup" => a.warmup = value().parse().unwrap_or(1_000),
            "--settle" => a.settle = value().parse().unwrap_or(2),
            "--minutes" => a.minutes = value().parse().unwrap_or(10.0),
            "--sample-secs" => a.sample_secs = value().parse().unwrap_or(10),
            "--procs" => a.procs = value().parse().unwrap_or(2),
            "--first" => a.first = value().parse().unwrap_or(0),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// `(VmHWM, VmRSS)` summed over `pids`, in KiB.
fn memory_kib(pids: &[u32]) -> (u64, u64) {
    pids.iter().fold((0, 0), |(h, r), &pid| {
        let (h1, r1) = memory_kib_of(pid);
        (h + h1, r + r1)
    })
}

fn memory_kib_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A process's CPU time so far, user and kernel, in clock ticks.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may hold spaces: state is the
    // first, utime and stime the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let mut f = rest.split_whitespace().skip(11);
    let mut next = || f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (next(), next())
}

/// CPU ticks of the server (user, kernel) and of this load generator (user,
/// kernel): the latter shows whether the load generator set the pace.
type CpuSnapshot = (u64, u64, u64, u64);

fn cpu_snapshot(pids: &[u32]) -> CpuSnapshot {
    let (su, ss) = pids.iter().fold((0, 0), |(u, s), &pid| {
        let (u1, s1) = cpu_ticks(pid);
        (u + u1, s + s1)
    });
    let (lu, ls) = cpu_ticks(std::process::id());
    (su, ss, lu, ls)
}

/// Clock ticks per second, for [`cpu_ticks`].
fn ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Connects, spreading connections over 127.0.0.x source addresses so tens
/// of thousands do not exhaust one address pair's ports.
async fn connect(url: &str, i: usize) -> Ws {
    connect_with(url, i, false).await
}

/// A JSON array of `{"id":..,"name":..,"online":..}` rows, cut to `size`
/// bytes: text that compresses as chat or API payloads do.
fn json_payload(size: usize) -> Vec<u8> {
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() < size {
        s.push_str(&format!(
            "{{\"id\":{i},\"name\":\"user{}\",\"online\":{}}},",
            i * 7919 % 1000,
            i % 3 == 0
        ));
        i += 1;
    }
    s.truncate(size);
    s.into_bytes()
}

async fn connect_with(url: &str, i: usize, deflate: bool) -> Ws {
    let uri: http::Uri = url.parse().expect("a ws:// URL");
    let host = uri.host().unwrap_or("127.0.0.1");
    let port = uri.port_u16().unwrap_or(80);
    let target: std::net::SocketAddr = format!("{host}:{port}").parse().expect("an IP address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    if i >= 20_000 {
        // connect() picks a free port per destination (and may reuse ports
        // in TIME_WAIT on loopback); past one address pair's ports, bind
        // other 127.0.0.x sources.
        socket.set_reuseaddr(true).ok();
        let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (i / 20_000) as u8);
        socket
            .bind((source, 0).into())
            .expect("bind a loopback source");
    }
    let tcp = socket.connect(target).await.expect("connect");
    tcp.set_nodelay(true).ok();
    let mut config = ws_frame::Config::default();
    if deflate {
        config.deflate = Some(ws_frame::DeflateConfig::default());
    }
    let req = ws_frame::handshake::ClientRequest::new(url, rand_key(i)).expect("a ws:// URL");
    let hs = ws_frame::handshake::HandshakeConfig::default();
    let (ws, _) = ws_frame::connect_with(tcp, &req, config, &hs)
        .await
        .expect("WebSocket handshake");
    assert_eq!(
        ws.connection().deflate_params().is_some(),
        deflate,
        "permessage-deflate negotiated as asked"
    );
    ws
}

/// A handshake key: any 16 bytes do for a benchmark.
fn rand_key(i: usize) -> [u8; 16] {
    let mut k = [0x5a; 16];
    k[..8].copy_from_slice(&(i as u64).to_le_bytes());
    k
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t == "2" => {
                // Engine.IO heartbeat: answer, keep waiting.
                ws.send(Message::text("3")).await.expect("pong");
            }
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// A Socket.IO socket in the main namespace, past both handshakes.
async fn sio_connect(url: &str, i: usize) -> Ws {
    let mut ws = connect(url, i).await;
    let open = next_text(&mut ws).await;
    assert!(open.starts_with('0'), "Engine.IO open, got {open}");
    ws.send(Message::text("40")).await.expect("send CONNECT");
    let ok = next_text(&mut ws).await;
    assert!(ok.starts_with("40"), "Socket.IO CONNECT, got {ok}");
    ws
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[allow(clippy::too_many_arguments)]
fn report(
    mode: &str,
    a: &Args,
    count: u64,
    elapsed: Duration,
    mut lat: Vec<u32>,
    cpu0: CpuSnapshot,
    extra: &str,
) {
    lat.sort_unstable();
    let (hwm, rss) = memory_kib(&a.pids);
    let cpu1 = cpu_snapshot(&a.pids);
    let us_per_tick = 1e6 / ticks_per_sec();
    let per_msg =
        |t0: u64, t1: u64| t1.saturating_sub(t0) as f64 * us_per_tick / count.max(1) as f64;
    let (user, sys) = (per_msg(cpu0.0, cpu1.0), per_msg(cpu0.1, cpu1.1));
    let (lg_user, lg_sys) = (per_msg(cpu0.2, cpu1.2), per_msg(cpu0.3, cpu1.3));
    println!(
        "{{\"mode\":\"{mode}\",\"conns\":{},\"size\":{},\"binary\":{},\"batch\":{},\"burst\":{},\"count\":{count},\"secs\":{:.3},\
\"per_sec\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"server_peak_rss_kib\":{hwm},\"server_rss_kib\":{rss},\
\"server_user_us\":{user:.3},\"server_sys_us\":{sys:.3},\"loadgen_user_us\":{lg_user:.3},\"loadgen_sys_us\":{lg_sys:.3}{extra}}}",
        a.conns,
        a.size,
        a.binary,
        a.batch,
        a.burst,
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        percentile(&lat, 1.0),
    );
}

/// Runs `conns` closed loops until the deadline; returns counts and latencies.
async fn closed_loops<F, Fut>(a: &Args, one: F) -> (u64, Duration, Vec<u32>, CpuSnapshot)
where
    F: Fn(usize, Instant) -> Fut,
    Fut: std::future::Future<Output = (u64, Vec<u32>)> + Send + 'static,
{
    let cpu0 = cpu_snapshot(&a.pids);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.secs);
    let tasks: Vec<_> = (0..a.conns)
        .map(|i| tokio::spawn(one(i, deadline)))
        .collect();
    let (mut count, mut lat) = (0, Vec::new());
    for t in tasks {
        let (c, l) = t.await.expect("a load task");
        count += c;
        lat.extend(l);
    }
    (count, start.elapsed(), lat, cpu0)
}

/// A delivery of `bcast`: when a receiver read it, and whether that
/// receiver is on node B, across Redis from the emitter.
type Delivery = (Instant, bool);

/// One round of the cluster broadcast: `burst` broadcasts from the emitter,
/// then every delivery of them. The emitter reads meanwhile: it answers
/// heartbeats (a node may ping every few hundred ms) and drops its own copy.
async fn cluster_round(
    emitter: &mut Ws,
    deliveries: &mut tokio::sync::mpsc::UnboundedReceiver<Delivery>,
    first: usize,
    burst: usize,
    expected: usize,
) -> (Instant, Vec<Delivery>) {
    let t = Instant::now();
    for b in 0..burst {
        emitter
            .feed(Message::text(format!("42[\"broadcast\",{}]", first + b)))
            .await
            .expect("send");
    }
    emitter.flush().await.expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut got = Vec::with_capacity(expected);
    while got.len() < expected {
        tokio::select! {
            d = deliveries.recv() => got.push(d.expect("open")),
            m = emitter.next() => match m {
                Some(Ok(Message::Text(t))) if t == "2" => {
                    emitter.send(Message::text("3")).await.expect("pong");
                }
                Some(Ok(_)) => {}
                other => panic!("the emitter's connection ended: {other:?}"),
            },
            () = tokio::time::sleep_until(deadline) => {
                panic!("{} of {expected} deliveries in 30 s", got.len())
            }
        }
    }
    (t, got)
}

async fn cluster_broadcast(a: &Args) {
    assert!(!a.url2.is_empty(), "--url2: node B");
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..a.conns {
        // Alternate, so both nodes fill alike while the first ones answer
        // heartbeats.
        let remote = i % 2 == 1;
        let mut ws = sio_connect(if remote { &a.url2 } else { &a.url }, i).await;
        let done = done_tx.clone();
        tokio::spawn(async move {
            loop {
                let t = next_text(&mut ws).await;
                if t.starts_with("42[\"bcast\"") && done.send((Instant::now(), remote)).is_err() {
                    return;
                }
            }
        });
    }
    let mut emitter = sio_connect(&a.url, a.conns).await;
    // An unmeasured round first: the nodes may still be subscribing when
    // their port opens (Node's adapter subscribes without waiting), and this
    // shows that node B hears node A before the clock starts.
    let expected = a.conns * a.burst;
    cluster_round(&mut emitter, &mut done_rx, 0, a.burst, expected).await;

    let (mut times, mut local, mut remote) = (Vec::new(), Vec::new(), Vec::new());
    let cpu0 = cpu_snapshot(&a.pids);
    let redis0 = a.redis_pid.map_or((0, 0), cpu_ticks);
    let start = Instant::now();
    for r in 1..=a.rounds {
        let (t, got) =
            cluster_round(&mut emitter, &mut done_rx, r * a.burst, a.burst, expected).await;
        let mut last = t;
        for (at, on_b) in got {
            let us = at.duration_since(t).as_micros() as u32;
            if on_b { &mut remote } else { &mut local }.push(us);
            last = last.max(at);
        }
        times.push(last.duration_since(t).as_micros() as u32);
    }
    let elapsed = start.elapsed();
    let deliveries = (expected * a.rounds) as u64;
    let redis1 = a.redis_pid.map_or((0, 0), cpu_ticks);
    // Per broadcast: Redis relays one message per broadcast, whatever the
    // number of receivers.
    let broadcasts = (a.rounds * a.burst) as f64;
    let per_broadcast =
        |t0: u64, t1: u64| t1.saturating_sub(t0) as f64 * 1e6 / ticks_per_sec() / broadcasts;
    local.sort_unstable();
    remote.sort_unstable();
    let (l50, r50) = (percentile(&local, 0.5), percentile(&remote, 0.5));
    let extra = format!(
        ",\"local_p50_us\":{l50},\"local_p99_us\":{},\"remote_p50_us\":{r50},\"remote_p99_us\":{},\
\"hop_p50_us\":{},\"redis_user_us_per_broadcast\":{:.1},\"redis_sys_us_per_broadcast\":{:.1}",
        percentile(&local, 0.99),
        percentile(&remote, 0.99),
        i64::from(r50) - i64::from(l50),
        per_broadcast(redis0.0, redis1.0),
        per_broadcast(redis0.1, redis1.1),
    );
    report(
        "sio-cluster-broadcast",
        a,
        deliveries,
        elapsed,
        times,
        cpu0,
        &extra,
    );
}

// One thread: the load generator gets one core (benches/run.sh pins it).
// With the multi-thread runtime, the main task (which counts broadcast
// deliveries) ran on the main thread and the connections on a worker, and
// every delivery cost two futex calls to wake the other thread: that made
// the load generator, not the server, set the pace of the broadcast rows.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = parse_args();
    match a.mode.as_str() {
        "ws-echo" => {
            let payload = match a.json {
                true => bytes::Bytes::from(json_payload(a.size)),
                false => bytes::Bytes::from(vec![b'x'; a.size]),
            };
            let mut conns = Vec::with_capacity(a.conns);
            for i in 0..a.conns {
                conns.push(connect_with(&a.url, i, a.deflate).await);
            }
            let conns = std::sync::Arc::new(std::sync::Mutex::new(conns));
            let (binary, batch) = (a.binary, a.batch);
            let (count, elapsed, lat, cpu0) = closed_loops(&a, |_, deadline| {
                let mut ws = conns.lock().unwrap().pop().expect("a connection");
                let payload = payload.clone();
                async move {
                    let (mut n, mut lat) = (0u64, Vec::new());
                    let msg = if binary {
                        Message::Binary(payload)
                    } else {
                        Message::Text(ws_frame::Utf8Bytes::try_from_bytes(payload).expect("ASCII"))
                    };
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        for _ in 0..batch {
                            ws.feed(msg.clone()).await.expect("send");
                        }
                        ws.flush().await.expect("send");
                        let mut left = batch;
                        while left > 0 {
                            match ws.next().await {
                                Some(Ok(m)) if m.is_data() => {
                                    lat.push(t.elapsed().as_micros() as u32);
                                    left -= 1;
                                }
                                Some(Ok(_)) => {}
                                other => panic!("echo ended: {other:?}"),
                            }
                        }
                        n += batch as u64;
                    }
                    (n, lat)
                }
            })
            .await;
            let extra = match (a.deflate, a.json) {
                (false, false) => String::new(),
                (d, j) => format!(",\"deflate\":{d},\"json\":{j}"),
            };
            report("ws-echo", &a, count, elapsed, lat, cpu0, &extra);
        }
        "sio-echo" => {
            let body = "x".repeat(a.size);
            let mut conns = Vec::with_capacity(a.conns);
            for i in 0..a.conns {
                conns.push(sio_connect(&a.url, i).await);
            }
            let conns = std::sync::Arc::new(std::sync::Mutex::new(conns));
            let batch = a.batch;
            let (count, elapsed, lat, cpu0) = closed_loops(&a, |_, deadline| {
                let mut ws = conns.lock().unwrap().pop().expect("a connection");
                let body = body.clone();
                async move {
                    let (mut n, mut lat) = (0u64, Vec::new());
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        for k in 0..batch as u64 {
                            let id = n + k;
                            ws.feed(Message::text(format!("42{id}[\"echo\",\"{body}\"]")))
                                .await
                                .expect("send");
                        }
                        ws.flush().await.expect("send");
                        for _ in 0..batch {
                            let ack = next_text(&mut ws).await;
                            // "43<id>[...]", for an id of this batch.
                            let id = ack
                                .strip_prefix("43")
                                .and_then(|r| r.split('[').next())
                                .and_then(|i| i.parse::<u64>().ok());
                            assert!(
                                id.is_some_and(|id| (n..n + batch as u64).contains(&id)),
                                "an ack of this batch, got {ack}"
                            );
                            lat.push(t.elapsed().as_micros() as u32);
                        }
                        n += batch as u64;
                    }
                    (n, lat)
                }
            })
            .await;
            report("sio-echo", &a, count, elapsed, lat, cpu0, "");
        }
        "sio-broadcast" => {
            // Receivers, then one emitter asks the server to broadcast; time
            // until every receiver has it.
            // Each receiver reads from the moment it connects, so the first
            // ones answer heartbeats while the last ones are still connecting.
            let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
            for i in 0..a.conns {
                let mut ws = sio_connect(&a.url, i).await;
                let done = done_tx.clone();
                tokio::spawn(async move {
                    loop {
                        let t = next_text(&mut ws).await;
                        if t.starts_with("42[\"bcast\"") && done.send(Instant::now()).is_err() {
                            return;
                        }
                    }
                });
            }
            let mut emitter = sio_connect(&a.url, a.conns).await;
            let mut times = Vec::with_capacity(a.rounds);
            let cpu0 = cpu_snapshot(&a.pids);
            let start = Instant::now();
            for r in 0..a.rounds {
                let t = Instant::now();
                for b in 0..a.burst {
                    emitter
                        .feed(Message::text(format!(
                            "42[\"broadcast\",{}]",
                            r * a.burst + b
                        )))
                        .await
                        .expect("send");
                }
                emitter.flush().await.expect("send");
                let mut last = t;
                for _ in 0..a.conns * a.burst {
                    last = tokio::time::timeout(Duration::from_secs(30), done_rx.recv())
                        .await
                        .expect("every receiver in time")
                        .expect("open");
                }
                times.push(last.duration_since(t).as_micros() as u32);
            }
            let elapsed = start.elapsed();
            let deliveries = (a.conns * a.rounds * a.burst) as u64;
            report("sio-broadcast", &a, deliveries, elapsed, times, cpu0, "");
        }
        "sio-idle" => {
            let before = memory_kib(&a.pids).1;
            let cpu0 = cpu_snapshot(&a.pids);
            let mut conns = Vec::with_capacity(a.conns);
            let start = Instant::now();
            for i in 0..a.conns {
                conns.push(sio_connect(&a.url, i).await);
            }
            let elapsed = start.elapsed();
            // Idle for `--secs` (heartbeats included) before measuring.
            let idle_until = Instant::now() + Duration::from_secs(a.secs);
            let mut keep = Vec::with_capacity(conns.len());
            for mut ws in conns {
                keep.push(tokio::spawn(async move {
                    // Answer heartbeats only, as an idle browser tab does.
                    while let Ok(Some(Ok(m))) =
                        tokio::time::timeout_at(idle_until.into(), ws.next()).await
                    {
                        if matches!(&m, Message::Text(t) if t == "2")
                            && ws.send(Message::text("3")).await.is_err()
                        {
                            break;
                        }
                    }
                    ws
                }));
            }
            let mut conns = Vec::with_capacity(keep.len());
            for k in keep {
                conns.push(k.await.expect("an idle connection"));
            }
            let after = memory_kib(&a.pids).1;
            let per = (after.saturating_sub(before) as f64 * 1024.0) / a.conns as f64;
            let extra = format!(",\"rss_before_kib\":{before},\"bytes_per_conn\":{per:.0}");
            report(
                "sio-idle",
                &a,
                a.conns as u64,
                elapsed,
                Vec::new(),
                cpu0,
                &extra,
            );
            drop(conns);
        }
        "sio-cluster-broadcast" => cluster_broadcast(&a).await,
        "sio-poll-echo" => polling::echo(&a).await,
        "sio-poll-broadcast" => polling::broadcast(&a).await,
        "sio-connect" => setup::sio_connects(&a).await,
        "ws-connect" => setup::ws_connects(&a).await,
        "sio-cycles" => setup::sio_cycles(&a).await,
        "client-emit" => client_load::emit(&a).await,
        "sio-soak" => soak::soak(&a).await,
        "sio-hold" => soak::hold_child(&a).await,
        other => {
            eprintln!("unknown mode {other:?}; see the crate docs");
            std::process::exit(2);
        }
    }
}
