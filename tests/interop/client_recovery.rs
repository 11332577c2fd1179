//! Our client's connection state recovery against the official socket.io
//! server (`connectionStateRecovery`): the transport cut again and again
//! while ticks flow, each re-join recovered with no tick lost or seen
//! twice; and a disconnection longer than the server keeps sessions, not
//! recovered.

use std::time::Duration;

use socketio_client::{ClientOptions, Socket};
use tokio::sync::mpsc;

use crate::node::NodePeer;

/// What the client saw, in the order its listeners ran.
#[derive(Debug)]
enum Seen {
    Tick(u64),
    /// The tick's arguments, whole: the offset is the last.
    Offset(serde_json::Value),
    Connect {
        recovered: bool,
        id: String,
    },
    Disconnect,
    Hello(bool),
}

async fn recovery_server(max_disconnection: &str) -> (NodePeer, String) {
    let mut node = NodePeer::spawn("sio_recovery_server.js", &[max_disconnection]);
    let port = node.line().await.strip_prefix("port ").unwrap().to_owned();
    (node, format!("http://127.0.0.1:{port}"))
}

/// A socket with every listener reporting to the channel, joined.
async fn client(
    url: &str,
    transports: &[&str],
    delay: Duration,
) -> (Socket, mpsc::UnboundedReceiver<Seen>) {
    let options = ClientOptions::default()
        .transports(transports.iter().copied())
        .auto_connect(false)
        .reconnection_delay(delay)
        .reconnection_delay_max(delay)
        .randomization_factor(0.0);
    let socket = socketio_client::connect(url, options);
    let (tx, rx) = mpsc::unbounded_channel();
    let t = tx.clone();
    socket.on("tick", move |_, (n,): (u64,), _| {
        let _ = t.send(Seen::Tick(n));
        async {}
    });
    let t = tx.clone();
    socket.on("tick", move |_, args: Vec<serde_json::Value>, _| {
        let _ = t.send(Seen::Offset(args.last().cloned().unwrap_or_default()));
        async {}
    });
    let t = tx.clone();
    socket.on("hello", move |_, hello: serde_json::Value, _| {
        let _ = t.send(Seen::Hello(hello["recovered"] == true));
        async {}
    });
    let t = tx.clone();
    socket.on_connect(move |s| {
        let _ = t.send(Seen::Connect {
            recovered: s.recovered(),
            id: s.id().unwrap_or_default(),
        });
    });
    socket.on_disconnect(move |_, _| {
        let _ = tx.send(Seen::Disconnect);
    });
    tokio::time::timeout(Duration::from_secs(10), socket.connect())
        .await
        .expect("joined in time")
        .expect("joined");
    (socket, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

/// Ticks must be contiguous: returns the tick, after checking it follows
/// `last`.
fn follow(last: &mut Option<u64>, n: u64) {
    if let Some(l) = *last {
        assert_eq!(
            n,
            l + 1,
            "after tick {l} came tick {n}: a gap or a duplicate"
        );
    }
    *last = Some(n);
}

async fn cut_again_and_again(transports: &[&str]) {
    let (_node, url) = recovery_server("60000").await;
    let (socket, mut seen) = client(&url, transports, Duration::from_millis(100)).await;
    let Seen::Connect { recovered, id } = next(&mut seen).await else {
        panic!("the connect listener runs first");
    };
    assert!(!recovered, "a first join recovers nothing");
    let mut last = None;
    let mut offsets = 0;
    for cut in 0..6 {
        // Some ticks on this connection first.
        let mut ticks = 0;
        while ticks < 15 {
            match next(&mut seen).await {
                Seen::Tick(n) => {
                    follow(&mut last, n);
                    ticks += 1;
                }
                Seen::Offset(o) => {
                    assert!(o.is_string(), "the offset is the last argument: {o}");
                    offsets += 1;
                }
                Seen::Hello(r) => assert_eq!(r, cut > 0, "hello after cut {cut}"),
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        socket.emit("cut", &()).unwrap();
        // Ticks until the disconnect, then the missed ones before the
        // connect listener, then the recovered join.
        let mut missed = 0;
        let mut away = false;
        loop {
            match next(&mut seen).await {
                Seen::Tick(n) => {
                    follow(&mut last, n);
                    missed += usize::from(away);
                }
                Seen::Offset(_) => offsets += 1,
                Seen::Hello(r) => assert_eq!(r, cut > 0),
                Seen::Disconnect => away = true,
                Seen::Connect {
                    recovered,
                    id: again,
                } => {
                    assert!(away, "cut {cut}: a connect without a disconnect");
                    assert!(recovered, "cut {cut}: not recovered");
                    assert!(socket.recovered());
                    assert_eq!(again, id, "cut {cut}: a recovered socket keeps its id");
                    break;
                }
            }
        }
        // About ten ticks go by while the client waits 100 ms to come back:
        // they come on the re-join, before the connect listener.
        assert!(missed > 0, "cut {cut}: no missed tick replayed");
    }
    assert!(offsets > 90, "{offsets} offsets");
    socket.manager().close();
}

#[tokio::test]
async fn recovered_after_each_cut_with_every_tick_once_over_websocket() {
    cut_again_and_again(&["websocket"]).await;
}

#[tokio::test]
async fn recovered_after_each_cut_with_every_tick_once_with_upgrade() {
    cut_again_and_again(&["polling", "websocket"]).await;
}

#[tokio::test]
async fn away_longer_than_the_server_keeps_the_session_is_not_recovered() {
    let (_node, url) = recovery_server("1000").await;
    // The client comes back 2 s after the cut, past the server's 1 s.
    let (socket, mut seen) = client(&url, &["websocket"], Duration::from_secs(2)).await;
    let Seen::Connect { id, .. } = next(&mut seen).await else {
        panic!("the connect listener runs first");
    };
    socket.emit("cut", &()).unwrap();
    let again = loop {
        if let Seen::Connect { recovered, id } = next(&mut seen).await {
            assert!(!recovered, "the session had expired");
            break id;
        }
    };
    assert!(!socket.recovered());
    assert_ne!(again, id, "a new session, a new id");
    loop {
        if let Seen::Hello(recovered) = next(&mut seen).await {
            break assert!(!recovered, "the server says so too");
        }
    }
    socket.manager().close();
}
