//! The `axum_app` chat demo in real headless Chromium, in real time.
//!
//! Two pages, one on long-polling and one on WebSocket, each reaching the
//! one server through its own proxy, chat through the page's form; the
//! WebSocket page's connections are then cut and it must come back by
//! itself. `tests/js/browser_chat.js` drives the pages (playwright-core, from
//! the pinned npm packages) and asks this test for the cut.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`; `CHROMIUM` names
//! another binary). Screenshots land in the target directory as
//! `browser-chat-alice.png` and `browser-chat-bob.png`.

mod proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use proxy::Proxy;

/// The workspace root, where `package.json` and `node_modules` live.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Cargo's target directory, where the screenshots go.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// The Chromium binary; a missing one fails the test, so that CI cannot pass
/// without having run the browser.
fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "Chromium not found at {}: install it with `apt-get install chromium` \
         (Debian), or set CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// Installs the pinned Node packages when they are missing or older than the
/// lock file.
fn ensure_node_modules() {
    let root = root();
    let stamp = root.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&stamp).is_some() && modified(&stamp) >= modified(&root.join("package-lock.json")) {
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&root)
        .status()
        .expect("npm must be installed to run the browser test");
    assert!(status.success(), "npm ci failed");
}

fn build_axum_app() -> PathBuf {
    realtime_interop::cargo_build(
        "socketio-server",
        "--example",
        "axum_app",
        &["--features", "hyper"],
    )
}

#[tokio::test]
async fn chat_in_headless_chromium_polling_and_websocket_a_cut_connection_comes_back() {
    let chromium = chromium();
    ensure_node_modules();
    let app = build_axum_app();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(90), chat(&app, &chromium))
        .await
        .expect("the browser chat did not finish within 90 s");
    eprintln!("browser chat done in {:.1?}", started.elapsed());
}

async fn chat(app: &Path, chromium: &Path) {
    // The official default heartbeat: the suite's 300/200 ms is tighter than
    // a browser on a starved machine always keeps (Node's server drops such
    // pages too), and this test must not tolerate a drop it did not cause.
    let mut server = Command::new(app)
        .args(["127.0.0.1:0", "--heartbeat", "25000,20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting axum_app");
    let mut server_out = BufReader::new(server.stdout.take().expect("piped")).lines();
    let line = server_out
        .next_line()
        .await
        .expect("reading axum_app's output")
        .expect("axum_app exited before listening");
    let addr: SocketAddr = line
        .strip_prefix("axum_app: http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from axum_app: {line}"));

    let proxy_a = Proxy::start(addr).await;
    let proxy_b = Proxy::start(addr).await;
    let mut node = Command::new("node")
        .arg(root().join("tests/js/browser_chat.js"))
        .args([proxy_a.url(), proxy_b.url()])
        .env("CHROMIUM", chromium)
        .env("SCREENSHOTS", target_dir())
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed to run the browser test");
    let mut stdin = node.stdin.take().expect("piped");
    let mut lines = BufReader::new(node.stdout.take().expect("piped")).lines();

    let mut ok = None;
    while let Some(line) = lines.next_line().await.expect("reading node's output") {
        let msg: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("browser_chat.js printed {line:?}: {e}"));
        if msg["step"] == "cut" {
            let cut = proxy_b.cut().await;
            let answer = format!("{}\n", serde_json::json!({ "cut": cut }));
            stdin
                .write_all(answer.as_bytes())
                .await
                .expect("writing to node");
            stdin.flush().await.expect("writing to node");
        } else if msg["ok"] == true {
            ok = Some(msg);
        } else {
            panic!("unexpected line from browser_chat.js: {line}");
        }
    }
    let status = node.wait().await.expect("waiting for node");
    assert!(
        status.success(),
        "browser_chat.js failed ({status}); its stderr above says where"
    );
    let ok = ok.expect("browser_chat.js exited without its ok line");
    eprintln!("browser_chat.js: {ok}");
    for shot in ok["screenshots"].as_array().expect("screenshot list") {
        let shot = Path::new(shot.as_str().expect("screenshot path"));
        assert!(shot.exists(), "no screenshot at {}", shot.display());
    }
}
