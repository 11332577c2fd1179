//! Closing the manager sends what was emitted before: a program may exit
//! as soon as the close is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socketio_client::ClientOptions;
use socketio_server::{Server, ServerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_before_a_close_reach_the_server_before_the_close_is_reported() {
    let server = Server::bind("127.0.0.1:0", ServerOptions::default())
        .await
        .unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let g = got.clone();
    server.of("/").on_connect(move |socket| {
        let g = g.clone();
        socket.on("n", move |_, (): (), _| {
            g.fetch_add(1, Ordering::Relaxed);
            async {}
        });
    });
    let url = format!("http://{}", server.local_addr());
    for transport in ["polling", "websocket"] {
        got.store(0, Ordering::Relaxed);
        let url = url.clone();
        // The client on a runtime of its own, dropped (its tasks with it)
        // as soon as the close is reported: as a program that exits then.
        tokio::task::spawn_blocking(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let options = ClientOptions::default().transports([transport]);
                let socket = socketio_client::connect(&url, options);
                socket.connect().await.unwrap();
                let (tx, rx) = tokio::sync::oneshot::channel();
                let tx = std::sync::Mutex::new(Some(tx));
                socket.manager().on_close(move |_| {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                });
                for _ in 0..20 {
                    socket.emit("n", &()).unwrap();
                }
                socket.manager().close();
                tokio::time::timeout(Duration::from_secs(5), rx)
                    .await
                    .expect("closed within 5 s")
                    .unwrap();
            });
        })
        .await
        .unwrap();
        tokio::time::timeout(Duration::from_secs(5), async {
            while got.load(Ordering::Relaxed) < 20 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{transport}: {} of 20 emits arrived",
                got.load(Ordering::Relaxed)
            )
        });
    }
}
