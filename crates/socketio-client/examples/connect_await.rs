//! Listeners first, then the connection: `auto_connect(false)`, register,
//! and await `connect()`, which says why when the server refuses.
//!
//! ```sh
//! cargo run -p socketio-server --example chat -- --serve                  # in one terminal
//! cargo run -p realtime-socketio-client --example connect_await -- alice  # in another
//! ```

use std::time::Duration;

use socketio_client::{ClientOptions, ConnectError};

#[derive(Debug, serde::Deserialize)]
struct Said {
    from: String,
    room: String,
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let nick = args.next().unwrap_or_else(|| "guest".into());
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let options = ClientOptions::default()
        .transports(["websocket"])
        .auto_connect(false)
        .timeout(Duration::from_secs(5))
        .reconnection_delay(Duration::from_millis(500))
        .auth(serde_json::json!({ "nick": nick }));
    let socket = socketio_client::connect(&url, options);

    // Nothing can arrive before these are in place.
    socket.on("said", |_, said: Said, _| async move {
        println!("[{}] {}: {}", said.room, said.from, said.text);
    });
    socket.on_mismatch(|_, event, e| eprintln!("({event}: unexpected arguments: {e})"));
    socket.on_connect(|s| {
        // Rooms live on the server: join again after every (re)connection.
        let _ = s.emit("join", &("rust",));
    });
    socket.on_disconnect(|_, reason| eprintln!("(disconnected: {reason})"));

    match socket.connect().await {
        Ok(()) => eprintln!("(connected as {:?})", socket.id()),
        Err(ConnectError::Refused { message, data }) => {
            eprintln!("(refused: {message}, {data:?})");
            socket.manager().close();
            return Ok(());
        }
        // A timeout or a transport error: the manager keeps trying.
        Err(e) => eprintln!("(not yet: {e}; retrying in the background)"),
    }

    let (n,): (usize,) = socket
        .emit_with_ack("say", &("rust", "hello"), Duration::from_secs(5))
        .await?;
    eprintln!("(delivered to {n})");
    socket.manager().close();
    Ok(())
}
