#!/usr/bin/env bash
# The Rust chat page's browser bundle beside the official client's: raw and
# gzip -9 bytes of
#   - the page's wasm as cargo leaves it (profile `wasm-release`: opt-level
#     "z", fat LTO, one codegen unit, no debug info, panic=abort), before
#     wasm-bindgen;
#   - the page's wasm after wasm-bindgen --target web and wasm-opt -Oz, and
#     its JS glue (wasm_chat.js): what a browser downloads;
#   - socket.io-client's dist/socket.io.min.js (node_modules, the pinned
#     version), which the JS page downloads.
# The page holds socketio-client, engineio's client and socketio-proto,
# serde_json and the page's DOM code; the JS bundle is the client alone.
#
#   scripts/wasm-size.sh
#
# Needs what scripts/wasm-chat.sh --release needs (wasm32 target,
# wasm-bindgen-cli at Cargo.lock's version, Debian's binaryen) and
# node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/wasm-size"
OUT_DIR="$out" bash scripts/wasm-chat.sh --release >/dev/null

row() { printf '%-58s %9s %9s\n' "$1" "$2" "$3"; }
size() { row "$1" "$(wc -c < "$2")" "$(gzip -9 -c "$2" | wc -c)"; }
js="node_modules/socket.io-client/dist/socket.io.min.js"
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' node_modules/socket.io-client/package.json)
row "file" "bytes" "gzip -9"
size "wasm-chat: cargo's wasm (wasm-release)" "$target_dir/wasm32-unknown-unknown/wasm-release/wasm_chat.wasm"
size "wasm-chat: wasm_chat_bg.wasm (wasm-bindgen, wasm-opt -Oz)" "$out/wasm_chat_bg.wasm"
size "wasm-chat: wasm_chat.js (glue)" "$out/wasm_chat.js"
cat "$out/wasm_chat_bg.wasm" "$out/wasm_chat.js" > "$out/total.bin"
size "wasm-chat: downloaded (wasm + glue)" "$out/total.bin"
rm "$out/total.bin"
size "socket.io-client $version: socket.io.min.js" "$js"
echo "($(rustc --version), $(wasm-opt --version), $(date -u +%F))"
