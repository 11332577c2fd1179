#!/usr/bin/env bash
# Every comparison, side by side in one run, on loopback:
#   WebSocket echo: ws-frame vs tokio-tungstenite vs fastwebsockets vs Node ws,
#     at 1, 64 and 1000 connections, 32 B text, 1 KiB and 64 KiB binary, one
#     message at a time and in batches of 16 per write; and with
#     permessage-deflate, 16 KiB of JSON text at 64 connections, ws-frame vs
#     Node ws (perMessageDeflate: true);
#   Socket.IO: socketio-server vs socketioxide vs Node socket.io, echo with
#     ack at 1, 64, 1000 and 10 000 connections (one at a time; at 64 and
#     1000 also in batches of 16),
#     broadcast to 1000 (one at a time, and in bursts of 16; 10 000 with
#     FULL=1), RSS per connection of 10 000 left idle for 30 s (heartbeats
#     answered), so idle-time housekeeping counts;
#   Socket.IO over two nodes of one Redis: socketio-redis (our cluster_node
#     example) vs Node socket.io with @socket.io/redis-adapter vs
#     socketioxide with socketioxide-redis, broadcast to 1000 receivers, half
#     on each node, the emitter on the first (one at a time, and in bursts
#     of 16): deliveries/s, and latency on the emitter's node and across
#     Redis on the other;
#   Socket.IO over long-polling only (poll): echo with ack at 64 and 1000
#     clients, broadcast to 1000 polling clients, the same three servers;
#   connection setup (setup): full Socket.IO connects per second (polling
#     handshake, CONNECT, upgrade, first ack), WebSocket handshakes per
#     second (the four WebSocket servers), and 10 000 connect/disconnect
#     cycles against ours with its RSS before and after;
#   the client as load source (client): our socketio-client vs rust_socketio
#     vs Node socket.io-client emitting with ack over 1 and 64 sockets, all
#     against our server: emits/s and the client's memory per socket;
#   memory soak (soak): 20 000 idle Socket.IO connections (fewer where the
#     open-file limit is lower), a broadcast a second for SOAK_MINUTES (10),
#     the server's RSS every 10 s, flat or not.
# Results ($OUT, target/bench unless set): results.jsonl, table.md, and
# charts (*.png, benches/charts.py; PUBLISH=1 copies them to
# docs/img/bench/ for docs/benchmarks.md).
#   benches/run.sh        # SECS=3 a measurement, REPEAT=3 of each (medians)
#   SECTIONS=cluster benches/run.sh   # some sections only: ws, sio, cluster,
#                                     # poll, setup, client, soak
# With two or more cores the server under test runs on core 0 and the load
# generator on core 1 (taskset), so every server, Node included, gets one
# core to itself (tokio sizes its worker pool to the affinity mask: one
# worker); PIN=0 lets the scheduler place both. A cluster's two nodes share
# core 0, as one server does, and Redis runs beside the load generator on
# core 1: it relays one message per broadcast, a small share of that core.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-3}"
REPEAT="${REPEAT:-3}"
SECTIONS="${SECTIONS:-ws sio cluster poll setup client soak}"
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
OUT="${OUT:-target/bench}"; mkdir -p "$OUT"; rm -f "$OUT"/*.log
: > "$OUT/results.jsonl"; : > "$OUT/failed.txt"; : > "$OUT/loadgen.log"

# --bin: with an --example filter, cargo builds no other target of the
# packages named.
BUILD=(-p loadgen --bin loadgen)
{ section ws || section setup; } && BUILD+=(-p realtime-ws-frame --example autobahn_server --features realtime-ws-frame/deflate)
{ section sio || section poll || section setup || section client || section soak; } &&
  BUILD+=(-p socketio-server --example bench_server)
if section cluster; then
  if command -v redis-server >/dev/null; then
    BUILD+=(-p socketio-redis --example cluster_node)
  else
    echo "no redis-server: the cluster section is skipped" | tee -a "$OUT/failed.txt" >&2
    SECTIONS=${SECTIONS//cluster/}
  fi
fi
cargo build --release "${BUILD[@]}"
(cd benches/peers && cargo build --release)
[ -d node_modules ] || npm ci --no-audit --no-fund
LG=./target/release/loadgen
SRV_PIN=(); LG_PIN=()
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SRV_PIN=(taskset -c 0); LG_PIN=(taskset -c 1)
fi
PEERS=benches/peers/target/release
ulimit -n 20000 2>/dev/null || true

# The processes of the measurement under way (one server, or a cluster's
# nodes and its Redis), stopped on any exit.
SERVER=
# shellcheck disable=SC2086
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 is taken: stop what listens there first" >&2; exit 1
  fi
}
url() { echo "ws://127.0.0.1:$1$URL_PATH"; }
# One measurement: starts the server on a fresh process, runs one scenario
# against it, stops it.
measure() { # name scenario port cmd...
  local name=$1 scenario=$2 port=$3; shift 3
  port_free "$port"
  "${SRV_PIN[@]}" "$@" >> "$OUT/$name.log" 2>&1 & local pid=$!
  SERVER=$pid
  if ! wait_port "$port" || ! kill -0 $pid 2>/dev/null; then echo "$name did not start" >&2; exit 1; fi
  local mode=${scenario%% *} args=${scenario#* }
  # A scenario a server cannot finish is reported, and the run goes on.
  # shellcheck disable=SC2086
  if line=$("${LG_PIN[@]}" $LG "$mode" --url "$(url "$port")" --secs "$SECS" $args --pid $pid 2>> "$OUT/loadgen.log"); then
    echo "$line" | sed "s/^{/{\"server\":\"$name\",/" | tee -a "$OUT/results.jsonl" >&2
  else
    echo "$name: $scenario FAILED (target/bench/loadgen.log)" | tee -a "$OUT/failed.txt" >&2
  fi
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  SERVER=
}

# One cluster measurement: a fresh Redis, then two fresh nodes on it (cmd,
# with {port} for each node's port), one scenario, everything stopped.
REDIS_PORT=6399
measure_cluster() { # name scenario port_a port_b cmd...
  local name=$1 scenario=$2 port_a=$3 port_b=$4; shift 4
  local port pids=() redis
  for port in "$REDIS_PORT" "$port_a" "$port_b"; do port_free "$port"; done
  "${LG_PIN[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    >> "$OUT/redis.log" 2>&1 & redis=$!
  SERVER=$redis
  wait_port "$REDIS_PORT" || { echo "redis-server did not start" >&2; exit 1; }
  for port in "$port_a" "$port_b"; do
    "${SRV_PIN[@]}" "${@//\{port\}/$port}" >> "$OUT/$name.log" 2>&1 & pids+=($!)
    SERVER="$SERVER $!"
  done
  for port in "$port_a" "$port_b"; do
    wait_port "$port" || { echo "$name did not start" >&2; exit 1; }
  done
  kill -0 "${pids[@]}" 2>/dev/null || { echo "$name did not start" >&2; exit 1; }
  local mode=${scenario%% *} args=${scenario#* }
  # shellcheck disable=SC2086
  if line=$("${LG_PIN[@]}" $LG "$mode" --url "$(url "$port_a")" --url2 "$(url "$port_b")" --secs "$SECS" $args \
      --pid "${pids[0]}" --pid "${pids[1]}" --redis-pid "$redis" 2>> "$OUT/loadgen.log"); then
    echo "$line" | sed "s/^{/{\"server\":\"$name\",/" | tee -a "$OUT/results.jsonl" >&2
  else
    echo "$name: $scenario FAILED (target/bench/loadgen.log)" | tee -a "$OUT/failed.txt" >&2
  fi
  kill "${pids[@]}" "$redis" 2>/dev/null || true
  wait "${pids[@]}" "$redis" 2>/dev/null || true
  SERVER=
}

# Every scenario in $SCENARIOS, $REPEAT times, each time against every
# server in $SERVERS in turn (a line: name, then what $1 takes after the
# scenario), so that the machine's drift over the run falls on all of them
# alike; the table takes medians.
compare() { # measure|measure_cluster
  while read -r scenario; do
    [ -n "$scenario" ] || continue
    for _ in $(seq "$REPEAT"); do
      while read -r name rest; do
        [ -n "$name" ] || continue
        # shellcheck disable=SC2086
        "$1" "$name" "$scenario" $rest
      done <<< "$SERVERS"
    done
  done <<< "$SCENARIOS"
}

if section ws; then
URL_PATH=/
SCENARIOS="$(for c in 1 64 1000; do
  echo "ws-echo --conns $c --size 32"
  echo "ws-echo --conns $c --size 1024 --binary"
  echo "ws-echo --conns $c --size 65536 --binary"
done)
ws-echo --conns 64 --size 32 --batch 16
ws-echo --conns 64 --size 1024 --binary --batch 16
ws-echo --conns 1000 --size 32 --batch 16"
SERVERS="ws-frame 9301 ./target/release/examples/autobahn_server 127.0.0.1:9301
tokio-tungstenite 9302 $PEERS/tungstenite_echo 127.0.0.1:9302
fastwebsockets 9303 $PEERS/fastwebsockets_echo 127.0.0.1:9303
node-ws 9304 node benches/peers/ws_echo.js 9304"
compare measure
# permessage-deflate: 16 KiB of JSON text, compressed both ways, against the
# servers that speak it (Node ws with perMessageDeflate: true).
SCENARIOS="ws-echo --conns 64 --size 16384 --json --deflate"
SERVERS="ws-frame 9301 ./target/release/examples/autobahn_server 127.0.0.1:9301 --deflate
node-ws 9304 node benches/peers/ws_echo.js 9304 deflate"
compare measure
fi

URL_PATH="/socket.io/?EIO=4&transport=websocket"
if section sio; then
BCAST="sio-broadcast --conns 1000 --rounds 300"
[ "${FULL:-0}" = 1 ] && BCAST="$BCAST
sio-broadcast --conns 10000 --rounds 20"
SCENARIOS="sio-echo --conns 1 --size 32
sio-echo --conns 64 --size 32
sio-echo --conns 1000 --size 32
sio-echo --conns 10000 --size 32
sio-echo --conns 64 --size 32 --batch 16
sio-echo --conns 1000 --size 32 --batch 16
$BCAST
sio-broadcast --conns 1000 --rounds 100 --burst 16"
SERVERS="socketio-server 3301 ./target/release/examples/bench_server 127.0.0.1:3301
socketioxide 3302 $PEERS/socketioxide_bench 127.0.0.1:3302
node-socket.io 3303 node benches/peers/sio_bench.js 3303"
compare measure
# Idle memory, once: it does not drift.
SCENARIOS="sio-idle --conns 10000 --secs 30" REPEAT=1 compare measure
fi

if section cluster; then
SCENARIOS="sio-cluster-broadcast --conns 1000 --rounds 300
sio-cluster-broadcast --conns 1000 --rounds 100 --burst 16"
REDIS="redis://127.0.0.1:$REDIS_PORT"
SERVERS="socketio-redis 3321 3322 ./target/release/examples/cluster_node 127.0.0.1:{port} $REDIS
node-redis-adapter 3323 3324 node benches/peers/sio_cluster_bench.js {port} $REDIS
socketioxide-redis 3325 3326 $PEERS/socketioxide_redis_bench 127.0.0.1:{port} $REDIS"
compare measure_cluster
fi

SIO_SERVERS="socketio-server 3301 ./target/release/examples/bench_server 127.0.0.1:3301
socketioxide 3302 $PEERS/socketioxide_bench 127.0.0.1:3302
node-socket.io 3303 node benches/peers/sio_bench.js 3303"
WS_SERVERS="ws-frame 9301 ./target/release/examples/autobahn_server 127.0.0.1:9301
tokio-tungstenite 9302 $PEERS/tungstenite_echo 127.0.0.1:9302
fastwebsockets 9303 $PEERS/fastwebsockets_echo 127.0.0.1:9303
node-ws 9304 node benches/peers/ws_echo.js 9304"

if section poll; then
URL_PATH="/socket.io/?EIO=4&transport=polling"
SCENARIOS="sio-poll-echo --conns 64 --size 32
sio-poll-echo --conns 1000 --size 32
sio-poll-broadcast --conns 1000 --rounds 100"
SERVERS=$SIO_SERVERS compare measure
fi

if section setup; then
URL_PATH="/socket.io/?EIO=4&transport=polling"
SCENARIOS="sio-connect --conns 64" SERVERS=$SIO_SERVERS compare measure
URL_PATH=/
SCENARIOS="ws-connect --conns 64" SERVERS=$WS_SERVERS compare measure
# Memory after connects and disconnects, once, ours: it does not drift.
URL_PATH="/socket.io/?EIO=4&transport=polling"
SCENARIOS="sio-cycles --conns 64 --cycles ${CYCLES:-10000} --warmup 1000" REPEAT=1 \
  SERVERS="socketio-server 3301 ./target/release/examples/bench_server 127.0.0.1:3301" compare measure
fi

# One client-emit measurement: our server on a fresh process, the load
# source (cmd, which takes loadgen's flags) against it.
measure_source() { # name scenario port cmd...
  local name=$1 scenario=$2 port=$3; shift 3
  port_free "$port"
  "${SRV_PIN[@]}" ./target/release/examples/bench_server "127.0.0.1:$port" >> "$OUT/socketio-server.log" 2>&1 & local pid=$!
  SERVER=$pid
  if ! wait_port "$port" || ! kill -0 $pid 2>/dev/null; then echo "socketio-server did not start" >&2; exit 1; fi
  local args=${scenario#* }
  # shellcheck disable=SC2086
  if line=$("${LG_PIN[@]}" "$@" --url "http://127.0.0.1:$port/" --secs "$SECS" $args --pid $pid 2>> "$OUT/loadgen.log"); then
    echo "$line" | sed "s/^{/{\"server\":\"$name\",/" | tee -a "$OUT/results.jsonl" >&2
  else
    echo "$name: $scenario FAILED (target/bench/loadgen.log)" | tee -a "$OUT/failed.txt" >&2
  fi
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  SERVER=
}

if section client; then
SCENARIOS="client-emit --conns 1
client-emit --conns 64"
SERVERS="socketio-client 3331 $LG client-emit
rust_socketio 3332 $PEERS/rust_socketio_load
node-socket.io-client 3333 node benches/peers/sio_client_load.js"
compare measure_source
fi

if section soak; then
# 20 000 connections need as many open files in the server: raise the soft
# limit as far as the hard one allows, and hold fewer connections where it
# stops short (a container's hard limit of 20 000 leaves room for 19 936).
hard=$(ulimit -Hn); [ "$hard" = unlimited ] && hard=25000
ulimit -n "$(( hard < 25000 ? hard : 25000 ))" 2>/dev/null || true
SOAK_CONNS=${SOAK_CONNS:-$(( $(ulimit -n) >= 20064 ? 20000 : $(ulimit -n) - 64 ))}
URL_PATH="/socket.io/?EIO=4&transport=websocket"
SCENARIOS="sio-soak --conns $SOAK_CONNS --minutes ${SOAK_MINUTES:-10} --procs 2" REPEAT=1 \
  SERVERS="socketio-server 3301 ./target/release/examples/bench_server 127.0.0.1:3301" compare measure
fi

echo "pinned: ${SRV_PIN[*]:-no}" >&2
python3 benches/table.py "$OUT/results.jsonl" | tee "$OUT/table.md"
if [ -s "$OUT/failed.txt" ]; then
  { echo; echo "Failed:"; sed 's/^/- /' "$OUT/failed.txt"; } | tee -a "$OUT/table.md"
fi
# Charts from the same rows: matplotlib, from the distribution where it is
# missing (Debian/Ubuntu: python3-matplotlib, for the distribution's
# python3, which a python3 earlier on PATH, pyenv's say, may not be).
charts_python() {
  local py
  for py in python3 /usr/bin/python3; do
    "$py" -c 'import matplotlib' 2>/dev/null && { echo "$py"; return 0; }
  done
  return 1
}
if ! charts_python >/dev/null && command -v apt-get >/dev/null; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q python3-matplotlib >/dev/null || true
fi
if PY=$(charts_python); then
  "$PY" benches/charts.py "$OUT/results.jsonl" "$OUT"
  if [ "${PUBLISH:-0}" = 1 ]; then
    mkdir -p docs/img/bench && cp "$OUT"/*.png docs/img/bench/
  fi
else
  echo "no matplotlib: no charts (apt-get install python3-matplotlib)" | tee -a "$OUT/failed.txt" >&2
fi
