//! Cross-crate and interop tests. The library part is empty; the tests live in
//! `interop/` and run the official Node packages pinned in the workspace's
//! `package-lock.json`.

// The user guide's complete programs compile (and its short snippets are
// marked `ignore`): `cargo test --doc -p realtime-interop`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
struct Guide;
