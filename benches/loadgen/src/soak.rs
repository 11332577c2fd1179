//! `sio-soak`: `--conns` idle Socket.IO connections (WebSocket, heartbeats
//! answered), one broadcast a second to all of them for `--minutes`, the
//! server's RSS sampled every `--sample-secs`. Flat means the mean of the
//! last window is within 5% of the first one's; a window is a minute, or a
//! third of the run when it is shorter than three minutes.
//!
//! A process may hold fewer open files than the connections (20 000 here),
//! so the connections are split over `--procs` processes: this one and
//! `--procs - 1` children (`sio-hold`, this same binary), each connecting
//! from its own loopback source address (127.0.0.2, 127.0.0.3, …), so no
//! address pair runs short of ports either. A child says `ready` on stdout
//! once connected, counts the broadcasts it receives, and prints the count
//! when its stdin closes.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use ws_frame::Message;

use super::{Args, Ws, cpu_snapshot, memory_kib, report, sio_connect};

/// Per process: the connection indices `sio_connect` binds to one source
/// address (`connect_with` moves to 127.0.0.(1 + i / 20 000)).
const PER_SOURCE: usize = 20_000;

/// A delivery: the broadcast's round number, and when it arrived.
type Seen = (u64, Instant);

/// Keeps `ws` open, answering heartbeats, counting broadcasts; sends each
/// one's round and time to `seen` if given.
async fn hold(
    mut ws: Ws,
    count: Arc<AtomicU64>,
    seen: Option<tokio::sync::mpsc::UnboundedSender<Seen>>,
) {
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        if t == "2" {
            if ws.send(Message::text("3")).await.is_err() {
                break;
            }
        } else if let Some(round) = t.as_str().strip_prefix("42[\"bcast\",") {
            count.fetch_add(1, Ordering::Relaxed);
            if let Some(seen) = &seen {
                let round = round.trim_end_matches(']').parse().unwrap_or(u64::MAX);
                let _ = seen.send((round, Instant::now()));
            }
        }
    }
}

/// `sio-hold` (a child of `sio-soak`): `--conns` connections from indices
/// `--first` on.
pub(crate) async fn hold_child(a: &Args) {
    let count = Arc::new(AtomicU64::new(0));
    let mut conns = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        conns.push(sio_connect(&a.url, a.first + i).await);
    }
    for ws in conns {
        tokio::spawn(hold(ws, count.clone(), None));
    }
    println!("ready");
    // Until the parent closes stdin (or goes away).
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    while stdin.read_line(&mut line).await.is_ok_and(|n| n > 0) {}
    println!("{}", count.load(Ordering::Relaxed));
}

pub(crate) async fn soak(a: &Args) {
    let procs = a.procs.max(1);
    let share = a.conns.div_ceil(procs);
    let exe = std::env::current_exe().expect("this binary");
    let mut children = Vec::new();
    let mut child_conns = 0;
    for p in 1..procs {
        let n = share.min(a.conns - child_conns);
        let mut child = tokio::process::Command::new(&exe)
            .args(["sio-hold", "--url", &a.url, "--conns", &n.to_string()])
            .args(["--first", &(p * PER_SOURCE).to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("a sio-hold child");
        let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
        let ready = out.next_line().await.expect("child output");
        assert_eq!(ready.as_deref(), Some("ready"), "child {p} connected");
        children.push((child, out));
        child_conns += n;
    }
    let own = a.conns - child_conns;
    let count = Arc::new(AtomicU64::new(0));
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..own {
        let ws = sio_connect(&a.url, i).await;
        tokio::spawn(hold(ws, count.clone(), Some(seen_tx.clone())));
    }
    drop(seen_tx);
    let mut emitter = sio_connect(&a.url, own).await;

    let total = Duration::from_secs_f64(a.minutes * 60.0);
    let sample_every = Duration::from_secs(a.sample_secs.max(1));
    let cpu0 = cpu_snapshot(&a.pids);
    let start = Instant::now();
    let mut samples = vec![(0.0, memory_kib(&a.pids).1)];
    let mut next_sample = start + sample_every;
    let mut times = Vec::new();
    let mut rounds = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while start.elapsed() < total {
        tick.tick().await;
        let t = Instant::now();
        emitter
            .send(Message::text(format!("42[\"broadcast\",{rounds}]")))
            .await
            .expect("send");
        rounds += 1;
        // This process's receivers, within the second; the emitter reads
        // meanwhile (its own copy, heartbeats).
        let mut last = None;
        let mut left = own;
        let round_end = tokio::time::Instant::from_std(t + Duration::from_millis(950));
        while left > 0 {
            tokio::select! {
                // A late delivery of an earlier round does not count.
                s = seen_rx.recv() => match s {
                    Some((round, at)) if Some(round) == rounds.checked_sub(1) => {
                        last = Some(at);
                        left -= 1;
                    }
                    Some(_) => {}
                    None => break,
                },
                m = emitter.next() => match m {
                    Some(Ok(Message::Text(t))) if t == "2" => {
                        emitter.send(Message::text("3")).await.expect("pong");
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the emitter's connection ended: {other:?}"),
                },
                () = tokio::time::sleep_until(round_end) => break,
            }
        }
        if let (0, Some(last)) = (left, last) {
            times.push(last.duration_since(t).as_micros() as u32);
        }
        if Instant::now() >= next_sample {
            samples.push((start.elapsed().as_secs_f64(), memory_kib(&a.pids).1));
            next_sample += sample_every;
        }
    }
    let elapsed = start.elapsed();
    // Late deliveries of the last round, then the children's counts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut delivered = count.load(Ordering::Relaxed);
    for (mut child, mut out) in children {
        drop(child.stdin.take());
        let n = tokio::time::timeout(Duration::from_secs(30), out.next_line())
            .await
            .ok()
            .and_then(|l| l.ok().flatten())
            .and_then(|l| l.parse::<u64>().ok())
            .expect("a child's count");
        delivered += n;
        child.wait().await.ok();
    }
    let expected = rounds * a.conns as u64;

    let window = (60.0f64).min(total.as_secs_f64() / 3.0);
    let end = elapsed.as_secs_f64();
    let mean = |from: f64, to: f64| {
        let xs: Vec<f64> = samples
            .iter()
            .filter(|(s, _)| *s >= from && *s <= to)
            .map(|&(_, k)| k as f64)
            .collect();
        xs.iter().sum::<f64>() / xs.len().max(1) as f64
    };
    let (first, last) = (mean(0.0, window), mean(end - window, end));
    let growth = (last - first) * 100.0 / first.max(1.0);
    let series: Vec<String> = samples
        .iter()
        .map(|(s, k)| format!("[{s:.0},{k}]"))
        .collect();
    let extra = format!(
        ",\"minutes\":{},\"procs\":{procs},\"broadcasts\":{rounds},\"expected\":{expected},\"delivered\":{delivered},\
\"rss_first_kib\":{first:.0},\"rss_last_kib\":{last:.0},\"growth_pct\":{growth:.2},\"flat\":{},\"rss_samples\":[{}]",
        a.minutes,
        growth.abs() <= 5.0,
        series.join(",")
    );
    emitter.close().await.ok();
    report("sio-soak", a, delivered, elapsed, times, cpu0, &extra);
}
