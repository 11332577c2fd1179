//! A TCP proxy that can be frozen: bytes stop moving both ways while the
//! connections stay open, as when a network path goes silent. Each side's
//! heartbeat is then all that can notice.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Forwards every connection it accepts to `target`. Dropping it drops
/// every connection.
pub(crate) struct Proxy {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
    _tasks: JoinSet<()>,
}

impl Proxy {
    pub(crate) async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, watch) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut pipes = JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                pipes.spawn(pipe(cr, sw, watch.clone()));
                pipes.spawn(pipe(sr, cw, watch.clone()));
            }
        });
        Proxy {
            addr,
            frozen,
            _tasks: tasks,
        }
    }

    /// `http://` URL of the proxy.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on nothing more is forwarded, either way.
    pub(crate) fn freeze(&self) {
        self.frozen.send_replace(true);
    }
}

/// Copies `from` to `to` while not frozen; what was read when the freeze
/// came is held back.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
