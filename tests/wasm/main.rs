//! The wasm32 suites in real headless Chromium.
//!
//! For each suite this test starts its server in-process, then runs
//! `cargo test --target wasm32-unknown-unknown -p CRATE --test browser` with
//! the server's URL in the environment (the suites read it at compile
//! time), wasm-bindgen-test-runner as the target's runner, and Debian's
//! `chromedriver` driving Debian's `chromium` headless. It passes only if
//! the suite passed AND ran as many tests as its file declares, so a suite
//! that compiled to nothing cannot pass.
//!
//! What it needs, and does itself where it can:
//! - the `wasm32-unknown-unknown` target: added with `rustup target add`
//!   when missing;
//! - wasm-bindgen-cli at exactly the version of `wasm-bindgen` in
//!   Cargo.lock: installed with `cargo install` into `WASM_BINDGEN_ROOT`
//!   (default `<target>/tools`) when missing there, and reused after;
//! - `chromedriver` and `chromium` (Debian: `apt-get install chromium
//!   chromium-driver`; `CHROMEDRIVER` and `CHROMIUM` name other binaries):
//!   missing ones fail the test with that advice.
//!
//! A third test builds the Rust chat page (`examples/wasm-chat`, with
//! `scripts/wasm-chat.sh`), starts `axum_app` serving it beside the
//! official JS client's page, and has `tests/js/wasm_chat.js`
//! (playwright-core, from the pinned npm packages) chat between the two in
//! headless Chromium; the Rust page's screenshot lands at
//! `<target>/wasm-chat.png`. It needs Node and npm as `tests/browser` does.
//!
//! The nested cargo builds in `<target>/wasm`, so it never waits on the
//! lock of the cargo running this test. Every step has a deadline.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use realtime_interop::workspace_root;
use realtime_interop::ws_echo::EchoServer;

const TARGET: &str = "wasm32-unknown-unknown";

/// Building wasm-bindgen-cli from source on 2 busy cores.
const INSTALL_DEADLINE: Duration = Duration::from_secs(20 * 60);
/// Compiling a suite for wasm32 from nothing and running it.
const SUITE_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// The runner's own limit on one suite's run in the browser (its default,
/// 20 s, is short for a loaded machine).
const BROWSER_TIMEOUT_SECS: &str = "180";

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// What every suite needs, prepared once per run.
struct Tools {
    runner: PathBuf,
    chromedriver: PathBuf,
    webdriver_json: PathBuf,
}

fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let chromedriver = chromedriver();
        let chromium = chromium();
        ensure_target();
        let runner = wasm_bindgen_cli();
        let dir = target_dir().join("wasm");
        std::fs::create_dir_all(&dir).expect("creating target/wasm");
        // Capabilities for chromedriver, which the runner reads from the file
        // WASM_BINDGEN_TEST_WEBDRIVER_JSON names and adds `headless`,
        // `no-sandbox` and `disable-dev-shm-usage` to: the binary, and the
        // flags a container's Chromium needs.
        let webdriver_json = dir.join("webdriver.json");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            }
        });
        std::fs::write(&webdriver_json, caps.to_string()).expect("writing webdriver.json");
        Tools {
            runner,
            chromedriver,
            webdriver_json,
        }
    })
}

fn chromedriver() -> PathBuf {
    let path = PathBuf::from(
        std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "/usr/bin/chromedriver".into()),
    );
    assert!(
        path.exists(),
        "chromedriver not found at {}: install it with `apt-get install chromium-driver` \
         (Debian), or set CHROMEDRIVER to a chromedriver binary",
        path.display()
    );
    path
}

fn chromium() -> PathBuf {
    let path =
        PathBuf::from(std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "Chromium not found at {}: install it with `apt-get install chromium` (Debian), \
         or set CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// Runs `cmd` to completion within `deadline`, killing it past that.
fn run(mut cmd: Command, what: &str, deadline: Duration) -> std::process::Output {
    let started = Instant::now();
    let child = cmd
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(out) => {
            let out = out.unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
            eprintln!("{what}: {} in {:.1?}", out.status, started.elapsed());
            out
        }
        Err(_) => {
            // The child this test started and what it started (cargo,
            // the runner, chromedriver, Chromium): its own process group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            panic!("{what} did not finish within {deadline:?}");
        }
    }
}

fn ensure_target() {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("running rustc");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).exists() {
        return;
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", TARGET]);
    let out = run(cmd, "rustup target add", Duration::from_secs(300));
    assert!(
        out.status.success(),
        "`rustup target add {TARGET}` failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The version of `wasm-bindgen` in Cargo.lock, which the CLI must match.
fn locked_wasm_bindgen() -> String {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).expect("Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or_default();
            if let Some(v) = version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
            {
                return v.to_owned();
            }
        }
    }
    panic!("no wasm-bindgen in Cargo.lock");
}

/// wasm-bindgen-test-runner at the locked version, installed when missing.
fn wasm_bindgen_cli() -> PathBuf {
    let version = locked_wasm_bindgen();
    let root = std::env::var_os("WASM_BINDGEN_ROOT")
        .map_or_else(|| target_dir().join("tools"), PathBuf::from);
    let runner = root.join("bin/wasm-bindgen-test-runner");
    let installed = |runner: &Path| {
        Command::new(runner)
            .arg("--version")
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .ends_with(&version)
            })
    };
    if installed(&runner) {
        return runner;
    }
    let install = |locked: bool| {
        let mut cmd = Command::new(cargo());
        // Without the default rustls: the runner speaks plain HTTP to the
        // local chromedriver, and ring is the longest part of the build.
        cmd.args([
            "install",
            "--no-default-features",
            "--version",
            &version,
            "wasm-bindgen-cli",
            "--root",
        ])
        .arg(&root)
        .env("CARGO_TARGET_DIR", target_dir().join("tools-build"));
        if locked {
            cmd.arg("--locked");
        }
        run(cmd, "cargo install wasm-bindgen-cli", INSTALL_DEADLINE)
    };
    let mut out = install(true);
    if !out.status.success() {
        // The CLI's own lock file can name a dependency version the
        // registry does not (yet) serve; resolving afresh still gives the
        // CLI of this exact version.
        eprintln!(
            "`cargo install --locked` failed, trying without --locked:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out = install(false);
    }
    assert!(
        out.status.success(),
        "installing wasm-bindgen-cli {version} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        installed(&runner),
        "no wasm-bindgen-test-runner {version} at {}",
        runner.display()
    );
    runner
}

/// One test of this file at a time: each compiles for wasm32 and runs a
/// browser, on 2 cores.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tests a suite's file declares.
fn declared_tests(file: &str) -> usize {
    let text = std::fs::read_to_string(workspace_root().join(file))
        .unwrap_or_else(|e| panic!("reading {file}: {e}"));
    text.lines()
        .filter(|l| l.trim() == "#[wasm_bindgen_test]")
        .count()
}

/// The `N` of the runner's `test result: ok. N passed; ...` line.
fn passed(output: &str) -> Option<usize> {
    output.lines().find_map(|l| {
        l.trim()
            .strip_prefix("test result: ok. ")?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

/// Runs one crate's `tests/browser.rs` for wasm32 in Chromium with `env`.
fn run_suite(package: &str, file: &str, features: &[&str], env: &[(&str, String)]) {
    let _turn = one_at_a_time();
    let tools = tools();
    let expected = declared_tests(file);
    assert!(expected > 0, "{file} declares no #[wasm_bindgen_test]");

    let mut cmd = Command::new(cargo());
    cmd.args([
        "test", "--target", TARGET, "-p", package, "--test", "browser",
    ])
    .args(features)
    .current_dir(workspace_root())
    .env("CARGO_TARGET_DIR", target_dir().join("wasm"))
    .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &tools.runner)
    .env("CHROMEDRIVER", &tools.chromedriver)
    .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &tools.webdriver_json)
    .env("WASM_BINDGEN_TEST_TIMEOUT", BROWSER_TIMEOUT_SECS)
    .env_remove("NO_HEADLESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd, &format!("{package} browser suite"), SUITE_DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(
        out.status.success(),
        "{package}'s browser suite failed:\n{report}"
    );
    let n = passed(&stdout).unwrap_or_else(|| panic!("no `test result: ok.` line:\n{report}"));
    assert_eq!(
        n, expected,
        "{package}'s browser suite passed {n} tests, {file} declares {expected}:\n{report}"
    );
    eprintln!("{stdout}");
    eprintln!("{package} in headless Chromium: {n} passed");
}

/// A loopback URL where nothing listens: a port bound, then let go.
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("ws://127.0.0.1:{port}/")
}

#[test]
fn ws_frame_browser_client_in_headless_chromium() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let echo = rt.block_on(EchoServer::start());
    run_suite(
        "realtime-ws-frame",
        "crates/ws-frame/tests/browser.rs",
        &["--no-default-features", "--features", "browser"],
        &[
            ("WS_ECHO_URL", echo.url()),
            ("WS_REFUSED_URL", refused_url()),
        ],
    );
    drop(echo);
}

#[test]
fn socketio_client_in_headless_chromium() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let peer = rt.block_on(realtime_interop::wasm_peer::start_sio_peer("127.0.0.1:0"));
    run_suite(
        "realtime-socketio-client",
        "crates/socketio-client/tests/browser.rs",
        &[],
        &[("SIO_PEER_URL", peer.url())],
    );
    peer.stop();
}

/// `axum_app`, killed when dropped.
struct App(std::process::Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Installs the pinned Node packages when playwright-core is missing.
fn ensure_node_modules() {
    let root = workspace_root();
    if root.join("node_modules/playwright-core").exists() {
        return;
    }
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&root);
    let out = run(cmd, "npm ci", Duration::from_secs(300));
    assert!(
        out.status.success(),
        "npm ci failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rust_chat_page_chats_with_the_js_page_in_headless_chromium() {
    let chromium = chromium();
    let tools = tools();
    ensure_node_modules();
    let _turn = one_at_a_time();

    // The page, as a person builds it (scripts/wasm-chat.sh), with the
    // wasm-bindgen the harness installed.
    let pkg = target_dir().join("wasm/wasm-chat-page");
    let wasm_bindgen = tools.runner.with_file_name("wasm-bindgen");
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join("scripts/wasm-chat.sh"))
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir().join("wasm"))
        .env("OUT_DIR", &pkg)
        .env("WASM_BINDGEN", &wasm_bindgen);
    let out = run(cmd, "scripts/wasm-chat.sh", SUITE_DEADLINE);
    assert!(
        out.status.success(),
        "building the Rust chat page failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let app = realtime_interop::cargo_build(
        "socketio-server",
        "--example",
        "axum_app",
        &["--features", "hyper"],
    );
    // The official default heartbeat: only what the test does may drop a page.
    let mut child = Command::new(app)
        .args(["127.0.0.1:0", "--heartbeat", "25000,20000"])
        .env("WASM_CHAT_DIR", &pkg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting axum_app");
    let stdout = child.stdout.take().expect("piped");
    let _app = App(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .expect("reading axum_app's first line");
    let url = line
        .trim()
        .strip_prefix("axum_app: ")
        .and_then(|u| u.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line from axum_app: {line}"))
        .to_owned();

    let shot = target_dir().join("wasm-chat.png");
    let _ = std::fs::remove_file(&shot);
    let mut cmd = Command::new("node");
    cmd.arg(workspace_root().join("tests/js/wasm_chat.js"))
        .arg(&url)
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOTS", target_dir())
        .current_dir(workspace_root());
    let out = run(cmd, "wasm_chat.js", Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wasm_chat.js failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let ok: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no result line from wasm_chat.js: {stdout}"));
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["latencies"].as_array().map(Vec::len), Some(8), "{ok}");
    assert!(shot.exists(), "no screenshot at {}", shot.display());
    eprintln!("wasm_chat.js: {ok}");
}
