//! `https://` URLs. Over TLS for real: `tests/interop/tls_clients.rs`,
//! against the Node server.

#[cfg(not(feature = "tls"))]
#[tokio::test]
async fn https_without_the_tls_feature_says_which_feature() {
    use std::time::Duration;

    use socketio_client::{ClientOptions, Manager};

    let mut options = ClientOptions::default();
    options.backoff.min = Duration::from_millis(10);
    options.backoff.max = Duration::from_millis(10);
    let manager = Manager::new("https://127.0.0.1:1", options);
    // The first retry's failure goes to this listener, registered before
    // the manager's task first runs (this runtime has one thread).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    manager.on_reconnect_error(move |e| {
        let _ = tx.send(e.to_owned());
    });
    let error = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the attempt fails at once")
        .unwrap();
    manager.close();
    assert!(error.contains("`tls` feature"), "{error}");
}
