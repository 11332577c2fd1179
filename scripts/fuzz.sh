#!/usr/bin/env bash
# Builds and runs the cargo-fuzz targets in fuzz/ (outside the workspace).
#
#   scripts/fuzz.sh build                   build every target (release, debug assertions on)
#   scripts/fuzz.sh replay [TARGET...]      every target once over its checked-in corpus
#                                           (fuzz/corpus/<target>/, -runs=0); fails on any crash
#   scripts/fuzz.sh smoke SECONDS [TARGET...]
#                                           each target for SECONDS, from its corpus
#   scripts/fuzz.sh campaign EXECS [TARGET...]
#                                           each target for EXECS executions; appends
#                                           "target: execs, seconds, execs/s, result" lines
#                                           to target/fuzz-campaign.txt
#
# Runs one fuzz process at a time. New inputs go to fuzz/target/corpus/<target>/
# (git-ignored), crashes to fuzz/artifacts/<target>/ (git-ignored); the checked-in
# corpus is only read. To add what a run found: cargo fuzz cmin (see README).
# Logs: target/fuzz-<target>.log. Installs cargo-fuzz if it is missing.
# FUZZ_SANITIZER=none (or another cargo-fuzz sanitizer) builds without
# AddressSanitizer, several times faster, into its own fuzz/target/<sanitizer>.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export RUSTC_BOOTSTRAP=1
LIBFUZZER_FLAGS=(-rss_limit_mb=2048 -timeout=60)
SANITIZER=${FUZZ_SANITIZER:-address}
CARGO_FUZZ_FLAGS=(-O)
if [ "$SANITIZER" != address ]; then
  CARGO_FUZZ_FLAGS+=(-s "$SANITIZER" --target-dir "target/$SANITIZER")
fi

usage() { sed -n '2,19p' "$0" >&2; exit 2; }

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cd fuzz
all_targets() { cargo fuzz list; }

# targets_or_all NAME...: the names given, or every target.
targets_or_all() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; else all_targets; fi
}

build() { cargo fuzz build "${CARGO_FUZZ_FLAGS[@]}" "$@"; }

# run TARGET LOG ARGS...: runs TARGET with the working corpus first (where new
# inputs go) and the checked-in one second; its output goes to LOG.
run() {
  local target=$1 log=$2
  shift 2
  mkdir -p "target/corpus/$target" "corpus/$target"
  cargo fuzz run "${CARGO_FUZZ_FLAGS[@]}" "$target" "target/corpus/$target" "corpus/$target" -- \
    "${LIBFUZZER_FLAGS[@]}" "$@" > "$log" 2>&1
}

# The last "Done N runs in S second(s)" or "#N ..." line of a log.
summary() { grep -E '^Done|^#[0-9]+' "$1" | tail -n 1 || true; }

log_of() { echo "$root/target/fuzz-$1.log"; }
mkdir -p "$root/target"

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
case "$cmd" in
  build)
    build
    ;;
  replay)
    build
    failed=0
    for target in $(targets_or_all "$@"); do
      log=$(log_of "$target")
      mkdir -p "corpus/$target"
      # Only the checked-in corpus, each input once.
      if cargo fuzz run "${CARGO_FUZZ_FLAGS[@]}" "$target" "corpus/$target" -- "${LIBFUZZER_FLAGS[@]}" -runs=0 > "$log" 2>&1; then
        echo "$target: $(ls "corpus/$target" | wc -l) inputs replayed, ok"
      else
        tail -n 40 "$log"
        echo "fuzz target $target failed on its corpus (log: $log)" >&2
        failed=1
      fi
    done
    exit "$failed"
    ;;
  smoke)
    seconds=${1:?usage: scripts/fuzz.sh smoke SECONDS [TARGET...]}
    shift
    build
    for target in $(targets_or_all "$@"); do
      log=$(log_of "$target")
      if ! run "$target" "$log" -max_total_time="$seconds"; then
        tail -n 40 "$log"
        echo "fuzz target $target failed" >&2
        exit 1
      fi
      echo "$target: $(summary "$log")"
    done
    ;;
  campaign)
    execs=${1:?usage: scripts/fuzz.sh campaign EXECS [TARGET...]}
    shift
    build
    out="$root/target/fuzz-campaign.txt"
    failed=0
    for target in $(targets_or_all "$@"); do
      log=$(log_of "$target")
      start=$(date +%s.%N)
      if run "$target" "$log" -runs="$execs" -print_final_stats=1; then
        result=ok
      else
        result="FAILED ($(grep -m1 -oE 'artifact_prefix.*|Test unit written to .*' "$log" | tail -n 1))"
        failed=1
      fi
      end=$(date +%s.%N)
      done_runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || true)
      [ -n "$done_runs" ] || done_runs=$(summary "$log" | grep -oE '^#[0-9]+' | tr -d '#' || true)
      line=$(awk -v t="$target" -v n="${done_runs:-0}" -v s="$start" -v e="$end" -v r="$result" \
        'BEGIN { d = e - s; printf "%s: %d execs, %.0f s, %.0f execs/s, %s", t, n, d, (d > 0 ? n / d : 0), r }')
      echo "$line" | tee -a "$out"
    done
    exit "$failed"
    ;;
  *)
    usage
    ;;
esac
