#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against ws-frame, both roles, and diffs each
# case's verdict against crates/ws-frame/autobahn/*.txt:
#   - cases 1.* to 11.*                       -> server.txt, client.txt
#   - a permessage-deflate subset of 12.*/13.* -> server-deflate-subset.txt,
#     client-deflate-subset.txt: the first cases of every 12.N data set and
#     of every 13.N parameter combination (offers and answers with and
#     without context takeover, window bits 9 and 15), single-frame and
#     fragmented; a minute or so per role
#   - with --full, all of 12.* and 13.*       -> server-deflate.txt,
#     client-deflate.txt (about 25 minutes per role)
# The examples run with permessage-deflate on (--deflate, AUTOBAHN_DEFLATE=1);
# cases 1.* to 11.* do not offer it, so their verdicts do not change.
#
#   scripts/autobahn.sh                   # run, fail on any change of verdict
#   scripts/autobahn.sh --full            # also all of 12.* and 13.*
#   scripts/autobahn.sh [--full] --update # run, rewrite the checked-in verdicts
#
# Needs the shared Autobahn tools: $AUTOBAHN_TOOLS, else ../shared/tools/autobahn.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}"
[ -d "$TOOLS" ] || { echo "autobahn tools not found at $TOOLS (set AUTOBAHN_TOOLS)" >&2; exit 2; }
UPDATE=0; FULL=0
for a in "$@"; do
  case "$a" in
    --update) UPDATE=1 ;; --full) FULL=1 ;;
    *) echo "usage: $0 [--full] [--update]" >&2; exit 2 ;;
  esac
done
OUT="$ROOT/target/autobahn"; EXPECT="$ROOT/crates/ws-frame/autobahn"
AGENT=ws-frame; PORT="${AUTOBAHN_PORT:-9001}"; EXCLUDE='12.*,13.*'
SUBSET=$(python3 -c 'print(",".join(
  ["12.%d.%d" % (n, i) for n in range(1, 6) for i in (1, 5, 11)] +
  ["13.%d.%d" % (n, i) for n in range(1, 8) for i in (1, 2, 5, 11)]))')

bash "$TOOLS/install.sh"
cargo build --release -p realtime-ws-frame --features deflate --example autobahn_server --example autobahn_client

status=0
check() { # run-name expected-file
  python3 "$ROOT/scripts/autobahn-summary.py" "$OUT/$1" "$AGENT" > "$OUT/$1.txt" || true
  if [ $UPDATE = 1 ]; then
    cp "$OUT/$1.txt" "$EXPECT/$2.txt"
  elif ! diff -u "$EXPECT/$2.txt" "$OUT/$1.txt"; then
    echo "autobahn $1: verdicts differ from $EXPECT/$2.txt" >&2; status=1
  fi
}

server_run() { # run-name expected-file cases exclude
  local start=$SECONDS
  bash "$TOOLS/run-server-suite.sh" -o "$OUT/$1" -a "$AGENT" -t 3600 -U "$PORT" "$3" -x "$4" || status=1
  echo "== autobahn server $1: $((SECONDS - start)) s"
  check "$1" "$2"
}

client_run() { # run-name expected-file cases exclude
  local start=$SECONDS
  AUTOBAHN_DEFLATE=1 bash "$TOOLS/run-client-suite.sh" -p "$PORT" -o "$OUT/$1" -a "$AGENT" -t 3600 -U \
    -c "$3" -x "$4" -- ./target/release/examples/autobahn_client || status=1
  echo "== autobahn client $1: $((SECONDS - start)) s"
  check "$1" "$2"
}

echo "== autobahn: ws-frame as server"
./target/release/examples/autobahn_server "127.0.0.1:$PORT" --deflate &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
# -U: UNIMPLEMENTED (deflate not negotiated) fails; 1.* to 11.* have none.
server_run server server '*' "$EXCLUDE"
server_run server-deflate-subset server-deflate-subset "$SUBSET" ''
[ $FULL = 1 ] && server_run server-deflate server-deflate '12.*,13.*' ''
kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true
trap - EXIT

echo "== autobahn: ws-frame as client"
client_run client client '*' "$EXCLUDE"
client_run client-deflate-subset client-deflate-subset "$SUBSET" ''
[ $FULL = 1 ] && client_run client-deflate client-deflate '12.*,13.*' ''
exit $status
