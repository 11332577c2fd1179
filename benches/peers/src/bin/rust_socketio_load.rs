//! rust_socketio 0.6 (its async client) as the load source of the
//! `client-emit` scenario, as `loadgen client-emit` drives ours:
//! `--conns` clients, each emitting `echo` with an ack and awaiting it, one
//! after the other, for `--secs`; one JSON row as loadgen prints it.
//! usage: rust_socketio_load --url http://127.0.0.1:3301/ --conns 64 [--secs 3] [--size 32] [--pid SERVER_PID]
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rust_socketio::Payload;
use rust_socketio::asynchronous::{Client, ClientBuilder};

/// `(VmRSS in KiB, user ticks, system ticks)` of a process.
fn proc_stats(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let mut f = rest.split_whitespace().skip(11);
    let mut next = || f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (rss, next(), next())
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (mut url, mut conns, mut secs, mut size, mut pid) =
        (String::new(), 1usize, 3u64, 32usize, 0u32);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => url = v,
            "--conns" => conns = v.parse().expect("--conns"),
            "--secs" => secs = v.parse().expect("--secs"),
            "--size" => size = v.parse().expect("--size"),
            "--pid" => pid = v.parse().expect("--pid"),
            other => panic!("unknown flag {other}"),
        }
    }
    let me = std::process::id();
    let before = proc_stats(me).0;
    let mut clients: Vec<Client> = Vec::with_capacity(conns);
    let mut first = before;
    for _ in 0..conns {
        let client = ClientBuilder::new(url.as_str())
            .reconnect(false)
            .connect()
            .await
            .expect("connect");
        clients.push(client);
        if clients.len() == 1 {
            first = proc_stats(me).0;
        }
    }
    // Time for every client to finish its upgrade before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = proc_stats(me).0;
    let body = "x".repeat(size);
    let (s0, l0) = (proc_stats(pid), proc_stats(me));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let body = body.clone();
            tokio::spawn(async move {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
                let (mut n, mut lat) = (0u64, Vec::new());
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let tx = tx.clone();
                    client
                        .emit_with_ack(
                            "echo",
                            serde_json::json!(body),
                            Duration::from_secs(10),
                            move |_: Payload, _: Client| {
                                let tx = tx.clone();
                                async move {
                                    let _ = tx.send(());
                                }
                                .boxed()
                            },
                        )
                        .await
                        .expect("emit");
                    tokio::time::timeout(Duration::from_secs(10), rx.recv())
                        .await
                        .expect("an ack in time")
                        .expect("open");
                    lat.push(t.elapsed().as_micros() as u32);
                    n += 1;
                }
                (n, lat)
            })
        })
        .collect();
    let (mut count, mut lat) = (0u64, Vec::new());
    for t in tasks {
        let (n, l) = t.await.expect("a load task");
        count += n;
        lat.extend(l);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (s1, l1) = (proc_stats(pid), proc_stats(me));
    lat.sort_unstable();
    // From the first client to the last, per client added: without the
    // runtime's and allocator's one-time growth.
    let marginal = match conns {
        1 => String::new(),
        n => format!(
            ",\"client_marginal_bytes_per_conn\":{:.0}",
            after.saturating_sub(first) as f64 * 1024.0 / (n - 1) as f64
        ),
    };
    // Ticks are 10 ms (CLK_TCK 100 on Linux).
    let per = |t0: u64, t1: u64| t1.saturating_sub(t0) as f64 * 1e4 / count.max(1) as f64;
    println!(
        "{{\"mode\":\"client-emit\",\"conns\":{conns},\"size\":{size},\"binary\":false,\"batch\":1,\"burst\":1,\"count\":{count},\"secs\":{elapsed:.3},\
\"per_sec\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"server_rss_kib\":{},\
\"server_user_us\":{:.3},\"server_sys_us\":{:.3},\"loadgen_user_us\":{:.3},\"loadgen_sys_us\":{:.3},\
\"client_bytes_per_conn\":{:.0},\"client_rss_kib\":{after}{marginal}}}",
        count as f64 / elapsed,
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        percentile(&lat, 1.0),
        s1.0,
        per(s0.1, s1.1),
        per(s0.2, s1.2),
        per(l0.1, l1.1),
        per(l0.2, l1.2),
        after.saturating_sub(before) as f64 * 1024.0 / conns as f64,
    );
}
