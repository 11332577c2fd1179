//! A chat client for the chat example server: joins a room, says each line
//! you type, prints what others say, and comes back by itself if the server
//! restarts.
//!
//! ```sh
//! cargo run -p socketio-server --example chat -- --serve     # in one terminal
//! cargo run -p realtime-socketio-client --example chat_client -- alice # in another
//! ```

use std::time::Duration;

use socketio_client::{ClientOptions, Manager};
use tokio::io::{AsyncBufReadExt, BufReader};

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
    let manager = Manager::new(&url, ClientOptions::default());
    manager.on_reconnect_attempt(|n| eprintln!("(reconnecting, attempt {n})"));
    let socket = manager.socket("/", Some(serde_json::json!({ "nick": nick })));
    socket.on("said", |_, said: Said, _| async move {
        println!("[{}] {}: {}", said.room, said.from, said.text);
    });
    socket.on("joined", |_, (who, room): (String, String), _| async move {
        println!("* {who} joined {room}");
    });
    socket.on_connect(|s| {
        eprintln!("(connected as {:?})", s.id());
        // Rooms live on the server: join again after every (re)connection.
        let _ = s.emit("join", &("rust",));
    });
    socket.on_disconnect(|_, reason| eprintln!("(disconnected: {reason})"));
    socket.on_connect_error(|_, error| eprintln!("(not connected: {error})"));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        match socket
            .emit_with_ack::<_, (usize,)>("say", &("rust", &line), Duration::from_secs(5))
            .await
        {
            Ok((n,)) => eprintln!("(delivered to {n})"),
            Err(e) => eprintln!("(not delivered: {e})"),
        }
    }
    manager.close();
    Ok(())
}
