#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against ws-frame, both roles, cases 1.* to 11.*
# (12.* and 13.* need permessage-deflate, which ws-frame does not negotiate),
# and diffs each case's verdict against crates/ws-frame/autobahn/*.txt.
#
#   scripts/autobahn.sh            # run both, fail on any change of verdict
#   scripts/autobahn.sh --update   # run both, rewrite the checked-in verdicts
#
# Needs the shared Autobahn tools: $AUTOBAHN_TOOLS, else ../shared/tools/autobahn.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}"
[ -d "$TOOLS" ] || { echo "autobahn tools not found at $TOOLS (set AUTOBAHN_TOOLS)" >&2; exit 2; }
UPDATE=0; [ "${1:-}" = "--update" ] && UPDATE=1
OUT="$ROOT/target/autobahn"; EXPECT="$ROOT/crates/ws-frame/autobahn"
AGENT=ws-frame; PORT="${AUTOBAHN_PORT:-9001}"; EXCLUDE='12.*,13.*'

bash "$TOOLS/install.sh"
cargo build --release -p realtime-ws-frame --example autobahn_server --example autobahn_client

status=0
check() { # role
  python3 "$ROOT/scripts/autobahn-summary.py" "$OUT/$1" "$AGENT" > "$OUT/$1.txt" || true
  if [ $UPDATE = 1 ]; then
    cp "$OUT/$1.txt" "$EXPECT/$1.txt"
  elif ! diff -u "$EXPECT/$1.txt" "$OUT/$1.txt"; then
    echo "autobahn $1: verdicts differ from $EXPECT/$1.txt" >&2; status=1
  fi
}

echo "== autobahn: ws-frame as server"
./target/release/examples/autobahn_server "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
bash "$TOOLS/run-server-suite.sh" -o "$OUT/server" -a "$AGENT" -t 600 "$PORT" '*' -x "$EXCLUDE" || status=1
kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true
trap - EXIT
check server

echo "== autobahn: ws-frame as client"
bash "$TOOLS/run-client-suite.sh" -p "$PORT" -o "$OUT/client" -a "$AGENT" -t 600 -x "$EXCLUDE" \
  -- ./target/release/examples/autobahn_client || status=1
check client
exit $status
