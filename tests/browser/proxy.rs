//! A TCP proxy whose live connections can be cut, as when a network path
//! breaks: both sides are closed, while the proxy keeps listening so the
//! browser can come back through it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Forwards every connection it accepts to `target`. Dropping it closes
/// every connection.
pub(crate) struct Proxy {
    addr: SocketAddr,
    /// One task per live connection; aborting a task drops both sockets.
    live: Arc<Mutex<JoinSet<()>>>,
    _accept: JoinSet<()>,
}

impl Proxy {
    pub(crate) async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let live = Arc::new(Mutex::new(JoinSet::new()));
        let mut accept = JoinSet::new();
        let conns = live.clone();
        accept.spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut conns = conns.lock().unwrap();
                // Forget the connections that ended by themselves.
                while conns.try_join_next().is_some() {}
                conns.spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Proxy {
            addr,
            live,
            _accept: accept,
        }
    }

    /// `http://` URL of the proxy.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every live connection, both sides, and returns how many there
    /// were. Connections accepted from now on are forwarded as before.
    pub(crate) async fn cut(&self) -> usize {
        let mut cut = std::mem::take(&mut *self.live.lock().unwrap());
        while cut.try_join_next().is_some() {}
        let n = cut.len();
        cut.abort_all();
        // Both sockets are closed once each task is gone.
        while cut.join_next().await.is_some() {}
        n
    }
}
