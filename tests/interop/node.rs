//! Running the Node peers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Once;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The workspace root, where `package.json` and `node_modules` live.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Installs the pinned Node packages once per test run, when they are missing
/// or older than the lock file.
fn ensure_node_modules() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let root = root();
        let stamp = root.join("node_modules/.package-lock.json");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&stamp) >= modified(&root.join("package-lock.json"))
            && modified(&stamp).is_some()
        {
            return;
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&root)
            .status()
            .expect("npm must be installed to run the interop tests");
        assert!(status.success(), "npm ci failed");
    });
}

/// A Node script from `tests/js`, killed when dropped.
pub(crate) struct NodePeer {
    pub(crate) child: Child,
    pub(crate) lines: Lines<BufReader<ChildStdout>>,
    stdin: Option<ChildStdin>,
}

impl NodePeer {
    /// Starts `tests/js/<script>` with `args`.
    pub(crate) fn spawn(script: &str, args: &[&str]) -> NodePeer {
        NodePeer::spawn_with_env(script, args, &[])
    }

    /// Starts `tests/js/<script>` with `args` and environment variables
    /// (`NODE_EXTRA_CA_CERTS` to trust a test certificate).
    pub(crate) fn spawn_with_env(script: &str, args: &[&str], env: &[(&str, &str)]) -> NodePeer {
        ensure_node_modules();
        let mut child = Command::new("node")
            .arg(root().join("tests/js").join(script))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed to run the interop tests");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stdin = child.stdin.take();
        NodePeer {
            child,
            lines,
            stdin,
        }
    }

    /// The next line the script prints, within 20 s.
    pub(crate) async fn line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("node peer timed out")
            .expect("reading node output")
            .expect("node peer exited early")
    }

    /// Sends one line to the script and returns the line it answers.
    pub(crate) async fn ask(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin is piped");
        stdin
            .write_all(line.as_bytes())
            .await
            .expect("writing to node");
        stdin.write_all(b"\n").await.expect("writing to node");
        stdin.flush().await.expect("writing to node");
        self.line().await
    }

    /// The process, its output lines and its stdin, for a caller that reads
    /// on one task and writes on another.
    pub(crate) fn into_parts(mut self) -> (Child, Lines<BufReader<ChildStdout>>, ChildStdin) {
        let stdin = self.stdin.take().expect("stdin is piped");
        (self.child, self.lines, stdin)
    }

    /// Waits for the script to exit; returns whether it succeeded.
    pub(crate) async fn success(mut self) -> bool {
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("node peer did not exit")
            .expect("waiting for node")
            .success()
    }
}
