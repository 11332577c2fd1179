//! A real `redis-server` per test, on a free port of 127.0.0.1, without
//! persistence, killed on drop. A missing `redis-server` fails the test:
//! the adapter's tests are worth nothing skipped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port.
    pub(crate) fn start() -> RedisServer {
        // Another process may take the port between our probe and Redis's
        // bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(port, &[]) {
                return RedisServer {
                    child: Some(child),
                    port,
                };
            }
        }
        panic!("redis-server did not start on any free port");
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (as a crash would: no goodbye to the clients).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a new one on the same port, after [`kill`](Self::kill).
    pub(crate) fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(child) = spawn(self.port, &[]) {
                self.child = Some(child);
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not restart");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster of three primaries on 127.0.0.1, each a
/// [`RedisServer`]-like child, killed on drop.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: std::path::PathBuf,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers and joins them (`redis-cli
    /// --cluster create`), waiting until the cluster is ok.
    pub(crate) fn start() -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "socketio-redis-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let mut nodes = Vec::new();
        while nodes.len() < 3 {
            let port = free_port();
            let conf = dir.join(format!("nodes-{port}.conf"));
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &conf.to_string_lossy(),
            ];
            if let Some(child) = spawn(port, &args) {
                nodes.push(RedisServer {
                    child: Some(child),
                    port,
                });
            }
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli (apt-get install redis-server brings it)");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cluster.nodes.iter().all(|n| cluster_ok(n.port)) {
            assert!(Instant::now() < deadline, "the cluster never became ok");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// Moves the hash slot of `key` to another primary, as a resharding
    /// does (the slot holds no keys here, so none are migrated).
    pub(crate) fn move_slot_of(&self, key: &str) {
        let cli = |port: u16, args: &[&str]| -> String {
            let out = Command::new("redis-cli")
                .args(["-p", &port.to_string()])
                .args(args)
                .output()
                .expect("redis-cli");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let first = self.nodes[0].port;
        let slot = cli(first, &["cluster", "keyslot", key]);
        let n: u16 = slot.parse().expect("a slot number");
        let owner = |port: u16| cli(port, &["cluster", "myid"]);
        // The owner is the node whose `cluster slots` range holds the slot.
        let slots = cli(first, &["--json", "cluster", "slots"]);
        let ranges: serde_json::Value = serde_json::from_str(&slots).expect("cluster slots");
        let from_port = ranges
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r[0].as_u64() <= Some(n.into()) && Some(u64::from(n)) <= r[1].as_u64())
            .and_then(|r| r[2][1].as_u64())
            .expect("the slot's owner") as u16;
        let to_port = self
            .nodes
            .iter()
            .map(|n| n.port)
            .find(|p| *p != from_port)
            .expect("another primary");
        let (from, to) = (owner(from_port), owner(to_port));
        cli(to_port, &["cluster", "setslot", &slot, "importing", &from]);
        cli(from_port, &["cluster", "setslot", &slot, "migrating", &to]);
        for node in &self.nodes {
            cli(node.port, &["cluster", "setslot", &slot, "node", &to]);
        }
    }

    /// A clustered URL naming every node.
    pub(crate) fn url(&self) -> String {
        let mut url = format!("redis-cluster://127.0.0.1:{}", self.nodes[0].port);
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            url.push(if i == 1 { '?' } else { '&' });
            url.push_str(&format!("node=127.0.0.1:{}", n.port));
        }
        url
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cluster_ok(port: u16) -> bool {
    Command::new("redis-cli")
        .args(["-p", &port.to_string(), "cluster", "info"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    l.local_addr().expect("probe address").port()
}

/// Starts `redis-server` on `port` (with `extra` arguments) and waits until
/// it answers; `None` if it exited (the port was taken).
fn spawn(port: u16, extra: &[&str]) -> Option<Child> {
    let mut child = match Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not installed; these tests need a real Redis: \
             apt-get install redis-server"
        ),
        Err(e) => panic!("cannot start redis-server: {e}"),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if serves(port, child.id()) {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Whether the Redis on `port` answers and is process `pid` (not another
/// server that had the port).
fn serves(port: u16, pid: u32) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let want = format!("process_id:{pid}\r\n");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        reply.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&reply).contains(&want) {
            return true;
        }
    }
    false
}
