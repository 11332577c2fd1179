//! Cross-crate and interop tests. The library part is empty; the tests live in
//! `interop/` and run the official Node packages pinned in the workspace's
//! `package-lock.json`.
