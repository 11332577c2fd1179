//! The examples' accept loop: an error accepting one connection never stops
//! the server.

use std::io;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long to wait after an accept error that is not about one connection:
/// out of file descriptors (EMFILE, ENFILE) or memory, accepting again at
/// once would fail again at once; a pause lets connections finish and free
/// theirs.
const PAUSE: Duration = Duration::from_millis(100);

/// The next connection. Errors are logged to stderr and accepting goes on,
/// at once when one connection failed (aborted or reset before it was
/// taken), after [`PAUSE`] otherwise.
pub(crate) async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                // Only a latency tweak: a socket that refuses it still works.
                let _ = tcp.set_nodelay(true);
                return tcp;
            }
            Err(e) if one_connection(&e) => eprintln!("accept: {e}"),
            Err(e) => {
                eprintln!("accept: {e}; again in {PAUSE:?}");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

fn one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}
