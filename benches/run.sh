#!/usr/bin/env bash
# Every comparison, side by side in one run, on loopback:
#   WebSocket echo: ws-frame vs tokio-tungstenite vs fastwebsockets vs Node ws,
#     at 1, 64 and 1000 connections, 32 B text, 1 KiB and 64 KiB binary, one
#     message at a time and in batches of 16 per write;
#   Socket.IO: socketio-server vs socketioxide vs Node socket.io, echo with
#     ack at 1, 64 and 1000 connections (one at a time, and in batches of 16),
#     broadcast to 1000 (one at a time, and in bursts of 16; 10 000 with
#     FULL=1), RSS per connection of 10 000 left idle for 30 s (heartbeats
#     answered), so idle-time housekeeping counts.
# Results: target/bench/results.jsonl and target/bench/table.md.
#   benches/run.sh                 # SECS=5 per measurement by default
# With two or more cores the server under test runs on core 0 and the load
# generator on core 1 (taskset), so every server, Node included, gets one
# core to itself (and the Rust servers one tokio worker); PIN=0 lets the
# scheduler place both.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-5}"
OUT=target/bench; mkdir -p "$OUT"; : > "$OUT/results.jsonl"; : > "$OUT/failed.txt"; : > "$OUT/loadgen.log"

cargo build --release -p loadgen -p ws-frame --example autobahn_server -p socketio-server --example bench_server
(cd benches/peers && cargo build --release)
[ -d node_modules ] || npm ci --no-audit --no-fund
LG=./target/release/loadgen
SRV_PIN=(); LG_PIN=()
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SRV_PIN=(taskset -c 0); LG_PIN=(taskset -c 1)
  # One core, one worker: every Rust server here starts tokio's multi-thread
  # runtime, which reads this; two workers sharing one core only pass
  # wake-ups between each other. Node has one thread anyway.
  export TOKIO_WORKER_THREADS=1
fi
PEERS=benches/peers/target/release
ulimit -n 20000 2>/dev/null || true

SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
run() { # name port cmd... ; runs the scenarios in $SCENARIOS against it
  local name=$1 port=$2; shift 2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken: stop what listens there first" >&2; exit 1
  fi
  "${SRV_PIN[@]}" "$@" > "$OUT/$name.log" 2>&1 & local pid=$!
  SERVER=$pid
  wait_port "$port" && kill -0 $pid 2>/dev/null || { echo "$name did not start" >&2; exit 1; }
  echo "== $name (pid $pid)" >&2
  while read -r mode args; do
    [ -n "$mode" ] || continue
    # A scenario a server cannot finish is reported, and the run goes on.
    # shellcheck disable=SC2086
    if line=$("${LG_PIN[@]}" $LG "$mode" --url "$(url "$port")" --secs "$SECS" $args --pid $pid 2>> "$OUT/loadgen.log"); then
      echo "$line" | sed "s/^{/{\"server\":\"$name\",/" | tee -a "$OUT/results.jsonl" >&2
    else
      echo "$name: $mode $args FAILED (target/bench/loadgen.log)" | tee -a "$OUT/failed.txt" >&2
    fi
  done <<< "$SCENARIOS"
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
}

url() { echo "ws://127.0.0.1:$1/"; }
SCENARIOS="$(for c in 1 64 1000; do
  echo "ws-echo --conns $c --size 32"
  echo "ws-echo --conns $c --size 1024 --binary"
  echo "ws-echo --conns $c --size 65536 --binary"
done)
ws-echo --conns 64 --size 32 --batch 16
ws-echo --conns 64 --size 1024 --binary --batch 16
ws-echo --conns 1000 --size 32 --batch 16"
run ws-frame 9301 ./target/release/examples/autobahn_server 127.0.0.1:9301
run tokio-tungstenite 9302 $PEERS/tungstenite_echo 127.0.0.1:9302
run fastwebsockets 9303 $PEERS/fastwebsockets_echo 127.0.0.1:9303
run node-ws 9304 node benches/peers/ws_echo.js 9304

url() { echo "ws://127.0.0.1:$1/socket.io/?EIO=4&transport=websocket"; }
BCAST="sio-broadcast --conns 1000 --rounds 300"
[ "${FULL:-0}" = 1 ] && BCAST="$BCAST
sio-broadcast --conns 10000 --rounds 20"
SCENARIOS="sio-echo --conns 1 --size 32
sio-echo --conns 64 --size 32
sio-echo --conns 1000 --size 32
sio-echo --conns 64 --size 32 --batch 16
sio-echo --conns 1000 --size 32 --batch 16
$BCAST
sio-broadcast --conns 1000 --rounds 100 --burst 16"
run socketio-server 3301 ./target/release/examples/bench_server 127.0.0.1:3301
run socketioxide 3302 $PEERS/socketioxide_bench 127.0.0.1:3302
run node-socket.io 3303 node benches/peers/sio_bench.js 3303
# Idle memory on a fresh server each.
SCENARIOS="sio-idle --conns 10000 --secs 30"
run socketio-server 3311 ./target/release/examples/bench_server 127.0.0.1:3311
run socketioxide 3312 $PEERS/socketioxide_bench 127.0.0.1:3312
run node-socket.io 3313 node benches/peers/sio_bench.js 3313

echo "pinned: ${SRV_PIN[*]:-no}" >&2
python3 benches/table.py "$OUT/results.jsonl" | tee "$OUT/table.md"
if [ -s "$OUT/failed.txt" ]; then
  { echo; echo "Failed:"; sed 's/^/- /' "$OUT/failed.txt"; } | tee -a "$OUT/table.md"
fi
