//! Input that once wedged a session: every request must still be answered,
//! and a session that cannot make progress must still end.

use std::time::Duration;

use engineio::Event;
use engineio::server::{Server, ServerOptions};

use crate::http::{handshake, request};

/// The official suite's server: the application echoes every message from
/// its own task, through the channel API.
async fn echo_server() -> String {
    let mut options = ServerOptions::default();
    options.session.ping_interval = Duration::from_millis(300);
    options.session.ping_timeout = Duration::from_millis(200);
    let mut server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let addr = server.local_addr().to_string();
    tokio::spawn(async move {
        while let Some(mut socket) = server.accept().await {
            tokio::spawn(async move {
                while let Some(e) = socket.recv().await {
                    if let Event::Message(m) = e {
                        if socket.send(m).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A POST of 1100 small packets: the session hands them to the application,
/// which sends each back into the session's queue. Once, each side waited
/// on the other and the session hung forever, its heartbeat stopped.
#[tokio::test]
async fn a_post_of_many_packets_does_not_wedge_the_session() {
    let addr = echo_server().await;
    for count in [1000, 1100, 3000] {
        let sid = handshake(&addr).await;
        let q = format!("EIO=4&transport=polling&sid={sid}");
        let body = vec!["4a"; count].join("\x1e");
        let r = request(&addr, "POST", &q, &body).await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        // Collect the echoes: each GET is answered (the helper's 10 s limit),
        // with echoes, or with 400 once the server gave up on a client that
        // let more than `max_buffered_packets` pile up.
        let mut echoed = 0;
        loop {
            let r = request(&addr, "GET", &q, "").await;
            if r.status == 400 {
                assert!(count > 1024, "{count} packets: refused after {echoed}");
                break;
            }
            assert_eq!(r.status, 200);
            echoed += r.body.split('\x1e').filter(|p| *p == "4a").count();
            if echoed == count {
                break;
            }
        }
        // Either way the session ends by its heartbeat or is gone already:
        // no GET on it hangs.
        let r = request(&addr, "GET", &q, "").await;
        assert!(matches!(r.status, 200 | 400), "{r:?}");
    }
}
