//! Our client against our server with connection state recovery on: the
//! transport is cut again and again while the server broadcasts, and every
//! event arrives once, in order, with the same socket id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_client::ClientOptions;
use socketio_server::{RecoveryOptions, Server, ServerOptions};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tick_once_across_cuts_with_our_server() {
    let mut options = ServerOptions::default();
    options.connection_state_recovery = Some(RecoveryOptions::default());
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    server.of("/").on_connect(|socket| {
        socket.on("cut", |s, (): (), _| async move { s.close_transport() });
    });
    let url = format!("http://{}", server.local_addr());
    let ticking = {
        let ns = server.of("/");
        tokio::spawn(async move {
            for n in 0u64.. {
                let _ = ns.emit("tick", &(n,));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let client_options = ClientOptions::default()
        .auto_connect(false)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(50))
        .randomization_factor(0.0);
    let socket = socketio_client::connect(&url, client_options);
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let (joins, mut joined) = mpsc::unbounded_channel();
    let s = seen.clone();
    socket.on("tick", move |_, (n,): (u64,), _| {
        s.lock().unwrap().push(n);
        async {}
    });
    socket.on_connect(move |s| {
        let _ = joins.send((s.id(), s.recovered()));
    });
    tokio::time::timeout(Duration::from_secs(10), socket.connect())
        .await
        .unwrap()
        .unwrap();
    let (first_id, recovered) = joined.recv().await.unwrap();
    assert!(!recovered);
    for cut in 0..8 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        socket.emit("cut", &()).unwrap();
        let (id, recovered) = tokio::time::timeout(Duration::from_secs(10), joined.recv())
            .await
            .expect("back within 10 s")
            .unwrap();
        assert!(recovered, "cut {cut}: not recovered");
        assert_eq!(id, first_id, "cut {cut}: the same socket id");
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    ticking.abort();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 100, "{} ticks", seen.len());
    let start = seen[0];
    let expected: Vec<u64> = (start..start + seen.len() as u64).collect();
    assert!(
        seen == expected,
        "gaps or duplicates: {:?}",
        seen.windows(2)
            .filter(|w| w[1] != w[0] + 1)
            .collect::<Vec<_>>()
    );
}

/// Far more missed events than a polling outbox holds (1024 packets): they
/// go out as the transport drains, all of them, in order, then what is
/// emitted after the return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_backlog_replays_over_polling() {
    let mut options = ServerOptions::default();
    options.connection_state_recovery = Some(RecoveryOptions::default());
    let server = Server::bind("127.0.0.1:0", options).await.unwrap();
    let (cuts, mut cut) = mpsc::unbounded_channel();
    server.of("/").on_connect(move |socket| {
        let cuts = cuts.clone();
        socket.on("cut", move |s, (): (), _| {
            let _ = cuts.send(());
            async move { s.close_transport() }
        });
    });
    let url = format!("http://{}", server.local_addr());
    let client_options = ClientOptions::default()
        .transports(["polling"])
        .auto_connect(false)
        .reconnection_delay(Duration::from_millis(300))
        .reconnection_delay_max(Duration::from_millis(300))
        .randomization_factor(0.0);
    let socket = socketio_client::connect(&url, client_options);
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let s = seen.clone();
    socket.on("n", move |_, (n,): (u64,), _| {
        s.lock().unwrap().push(n);
        async {}
    });
    let (joins, mut joined) = mpsc::unbounded_channel();
    socket.on_connect(move |s| {
        let _ = joins.send(s.recovered());
    });
    tokio::time::timeout(Duration::from_secs(10), socket.connect())
        .await
        .unwrap()
        .unwrap();
    assert!(!joined.recv().await.unwrap());
    server.emit("n", &(0,)).unwrap();
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    socket.emit("cut", &()).unwrap();
    cut.recv().await.unwrap();
    // Away: 3000 events.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for n in 1..=3000u64 {
        server.emit("n", &(n,)).unwrap();
    }
    let recovered = tokio::time::timeout(Duration::from_secs(10), joined.recv())
        .await
        .expect("back within 10 s")
        .unwrap();
    assert!(recovered, "the session came back");
    server.emit("n", &(3001,)).unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while seen.lock().unwrap().len() < 3002 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} events of 3002", seen.lock().unwrap().len()));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (0..=3001).collect::<Vec<u64>>());
}

/// An emit with an ack still waiting for its namespace when the connection
/// drops keeps its wait: it goes once the namespace is joined again, and
/// its answer arrives (socket.io-client's `_clearAcks` spares it too).
#[tokio::test]
async fn an_unsent_emit_keeps_its_ack_across_a_reconnect() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    server.of("/").on_connect(|socket| {
        socket.on("cut", |s, (): (), _| async move { s.close_transport() });
    });
    let slow = server.of("/slow");
    slow.use_middleware_async(|_| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    });
    slow.on_connect(|socket| {
        socket.on("q", |_, (n,): (u32,), ack| async move {
            ack.unwrap().send(&(n + 1,)).unwrap();
        });
    });
    let url = format!("http://{}", server.local_addr());
    let options = ClientOptions::default()
        .transports(["websocket"])
        .reconnection_delay(Duration::from_millis(50))
        .randomization_factor(0.0);
    let manager = socketio_client::Manager::new(&url, options);
    let main = manager.socket("/", None);
    tokio::time::timeout(Duration::from_secs(5), main.connect())
        .await
        .unwrap()
        .unwrap();
    let slow_socket = manager.socket("/slow", None);
    // Waits in the buffer: "/slow" is still being checked.
    let answer = {
        let s = slow_socket.clone();
        tokio::spawn(async move {
            s.emit_with_ack::<_, (u32,)>("q", &(41,), Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!slow_socket.connected());
    main.emit("cut", &()).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("answered within 10 s")
        .unwrap();
    assert_eq!(r.unwrap(), (42,));
    manager.close();
}
