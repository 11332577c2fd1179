#!/usr/bin/env bash
# Builds the Rust chat page (examples/wasm-chat) into OUT_DIR (default
# target/wasm-chat), which `axum_app` serves at /rust/:
#
#   scripts/wasm-chat.sh             dev build (fast to build)
#   scripts/wasm-chat.sh --release   the size build: profile `wasm-release`
#                                    (opt-level "z", fat LTO, one codegen unit,
#                                    no debug info), then `wasm-opt -Oz`
#
# Needs the wasm32-unknown-unknown target (`rustup target add`), and
# wasm-bindgen-cli at the version of `wasm-bindgen` in Cargo.lock: WASM_BINDGEN
# names the binary, else $WASM_BINDGEN_ROOT/bin/wasm-bindgen, else the one on
# the PATH (`cargo install --no-default-features --version V wasm-bindgen-cli`;
# `cargo test -p realtime-interop --test wasm` installs it into target/tools).
# --release also needs wasm-opt (Debian: `apt-get install binaryen`).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
out="${OUT_DIR:-$target_dir/wasm-chat}"
profile=dev dir=debug
if [ "${1:-}" = --release ]; then profile=wasm-release dir=wasm-release; fi

version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
wasm_bindgen="${WASM_BINDGEN:-}"
if [ -z "$wasm_bindgen" ]; then
  for candidate in "${WASM_BINDGEN_ROOT:-$target_dir/tools}/bin/wasm-bindgen" "$(command -v wasm-bindgen || true)"; do
    if [ -x "$candidate" ]; then wasm_bindgen="$candidate"; break; fi
  done
fi
if [ -z "$wasm_bindgen" ] || [ "$("$wasm_bindgen" --version)" != "wasm-bindgen $version" ]; then
  echo "wasm-bindgen $version not found (have: ${wasm_bindgen:-none}); install it with" >&2
  echo "  cargo install --no-default-features --version $version wasm-bindgen-cli" >&2
  exit 1
fi

cargo build -q --target wasm32-unknown-unknown -p wasm-chat --profile "$profile"
mkdir -p "$out"
"$wasm_bindgen" --target web --no-typescript --out-dir "$out" \
  "$target_dir/wasm32-unknown-unknown/$dir/wasm_chat.wasm"
if [ "$profile" = wasm-release ]; then
  # Rust's wasm32 target emits these proposals; Debian's binaryen (108)
  # wants them named.
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$out/wasm_chat_bg.wasm" -o "$out/wasm_chat_bg.wasm"
fi
cp examples/wasm-chat/index.html "$out/"
echo "$out: $(ls "$out" | tr '\n' ' ')"
