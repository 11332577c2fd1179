//! Out of file descriptors: the listener must pause and resume, never stop.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::http::handshake;

#[tokio::test]
async fn running_out_of_descriptors_does_not_stop_the_listener() {
    // The server under a limit of 48 descriptors, in its own process so the
    // limit touches nothing else.
    let bin = env!("CARGO_BIN_EXE_hostile_target");
    let mut child = Command::new("sh")
        .args(["-c", &format!("ulimit -n 48 && exec '{bin}' 127.0.0.1:0")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(10), out.next_line())
        .await
        .expect("the server starts")
        .unwrap()
        .expect("its address");
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();

    // Idle connections until it has no descriptor left to accept with.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let report = tokio::time::timeout(Duration::from_secs(10), err.next_line())
        .await
        .expect("the server reports the failed accept")
        .unwrap()
        .unwrap_or_default();
    assert!(report.contains("accept failed"), "{report}");

    // Once they go, it accepts again: a handshake succeeds.
    drop(idle);
    let sid = tokio::time::timeout(Duration::from_secs(10), handshake(&addr))
        .await
        .expect("the listener accepts again");
    assert_eq!(sid.len(), 20);
}
