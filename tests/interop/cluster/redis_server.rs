//! A real `redis-server` per test, on a free port of 127.0.0.1, without
//! persistence, killed on drop (as in socketio-redis's own tests). A missing
//! `redis-server` fails the test: a cluster test skipped proves nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub(crate) struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port.
    pub(crate) fn start() -> RedisServer {
        // Another process may take the port between our probe and Redis's
        // bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(port) {
                return RedisServer { child, port };
            }
        }
        panic!("redis-server did not start on any free port");
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// How many connections listen on shard channel `channel` (`PUBSUB
    /// SHARDNUMSUB`).
    pub(crate) fn shard_subscribers(&self, channel: &str) -> usize {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        let command = format!(
            "*3\r\n$6\r\nPUBSUB\r\n$11\r\nSHARDNUMSUB\r\n${}\r\n{channel}\r\n",
            channel.len()
        );
        s.write_all(command.as_bytes()).expect("write to redis");
        // `*2 $len channel :count`: the count is the last line.
        let mut reply = String::new();
        let mut buf = [0u8; 512];
        while !reply.ends_with("\r\n") || !reply.contains("\r\n:") {
            let n = s.read(&mut buf).expect("read from redis");
            assert!(n > 0, "redis closed the connection: {reply:?}");
            reply.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let count = reply.rsplit("\r\n:").next().unwrap_or_default();
        count.trim_end().parse().expect("a count")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    l.local_addr().expect("probe address").port()
}

/// Starts `redis-server` on `port` and waits until it answers; `None` if it
/// exited (the port was taken).
fn spawn(port: u16) -> Option<Child> {
    let mut child = match Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not installed; the cluster tests need a real Redis: \
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
