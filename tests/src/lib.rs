//! Cross-crate and interop tests. The tests live in `interop/`, `hostile/`
//! and `browser/` and run the official Node packages pinned in the
//! workspace's `package-lock.json`; the library holds what they share.

use std::path::{Path, PathBuf};

pub mod wasm_peer;
use std::process::Stdio;

pub mod ws_echo;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Builds one binary of the workspace (`--bin NAME` or `--example NAME` of
/// `package`, with `args` such as `--features x`) with the cargo running
/// the tests, so it lands in the same target directory, and returns its
/// path as cargo reports it.
pub fn cargo_build(package: &str, kind: &str, name: &str, args: &[&str]) -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", package, kind, name])
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo build");
    assert!(out.status.success(), "cargo build of {name} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no {name} executable"))
}

// The user guide's complete programs compile (and its short snippets are
// marked `ignore`): `cargo test --doc -p realtime-interop`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
struct Guide;
