// Node socket.io-client as the load source of the `client-emit` scenario,
// as `loadgen client-emit` drives ours: --conns clients (forceNew: one
// Manager each, polling then the upgrade to WebSocket, the defaults), each
// emitting `echo` with an ack and awaiting it, one after the other, for
// --secs; one JSON row as loadgen prints it.
// usage: node sio_client_load.js --url http://127.0.0.1:3301/ --conns 64 [--secs 3] [--size 32] [--pid SERVER_PID]
const fs = require('fs');
const { io } = require('socket.io-client');

const args = { url: '', conns: 1, secs: 3, size: 32, pid: 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in args)) throw new Error(`unknown flag ${process.argv[i]}`);
  args[name] = name === 'url' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

// [VmRSS KiB, user ticks, system ticks] of a process (ticks: 10 ms).
function procStats(pid) {
  let rss = 0, user = 0, sys = 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    rss = m ? Number(m[1]) : 0;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    user = Number(f[11]); sys = Number(f[12]);
  } catch (_) { /* no such process: zeros */ }
  return [rss, user, sys];
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.round((sorted.length - 1) * p)] : 0;
}

async function main() {
  const before = procStats(process.pid)[0];
  const sockets = [];
  let first = before;
  for (let i = 0; i < args.conns; i++) {
    const s = io(args.url, { forceNew: true, reconnection: false });
    await new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });
    sockets.push(s);
    if (sockets.length === 1) first = procStats(process.pid)[0];
  }
  // Time for every socket to finish its upgrade before the clock starts.
  await new Promise((r) => setTimeout(r, 500));
  const after = procStats(process.pid)[0];
  const body = 'x'.repeat(args.size);
  const s0 = procStats(args.pid), c0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(args.secs) * 1000000000n;
  const lat = [];
  let count = 0;
  await Promise.all(sockets.map(async (s) => {
    while (process.hrtime.bigint() < deadline) {
      const t = process.hrtime.bigint();
      const echoed = await s.timeout(10000).emitWithAck('echo', body);
      if (echoed.length !== body.length) throw new Error('the ack carries the argument');
      lat.push(Number((process.hrtime.bigint() - t) / 1000n));
      count++;
    }
  }));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const s1 = procStats(args.pid), c1 = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  const perTicks = (a, b) => ((b - a) * 1e4) / Math.max(count, 1);
  const row = {
    mode: 'client-emit', conns: args.conns, size: args.size, binary: false, batch: 1, burst: 1, count,
    secs: Number(elapsed.toFixed(3)), per_sec: Math.round(count / elapsed),
    p50_us: percentile(lat, 0.5), p90_us: percentile(lat, 0.9), p99_us: percentile(lat, 0.99),
    p999_us: percentile(lat, 0.999), max_us: percentile(lat, 1), server_rss_kib: s1[0],
    server_user_us: Number(perTicks(s0[1], s1[1]).toFixed(3)),
    server_sys_us: Number(perTicks(s0[2], s1[2]).toFixed(3)),
    loadgen_user_us: Number((c1.user / Math.max(count, 1)).toFixed(3)),
    loadgen_sys_us: Number((c1.system / Math.max(count, 1)).toFixed(3)),
    client_bytes_per_conn: Math.round(((after - before) * 1024) / args.conns),
    client_rss_kib: after,
  };
  // From the first socket to the last, per socket added: without the
  // one-time growth the first one brings.
  if (args.conns > 1) row.client_marginal_bytes_per_conn = Math.round(((after - first) * 1024) / (args.conns - 1));
  console.log(JSON.stringify(row));
  for (const s of sockets) s.close();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
