//! A chat client for the chat example server: joins a room, says each line
//! you type, prints what everyone says (your own lines as `you`), and comes
//! back by itself if the server restarts.
//!
//! ```sh
//! cargo run -p socketio-server --example chat -- --serve                # in one terminal
//! cargo run -p realtime-socketio-client --example chat_client -- alice  # in another
//! ```
//!
//! A line typed while the room is not joined (before the first connection,
//! or while the server is away) waits here until it is. Left to the
//! client's offline buffer, it would go out before the `join` sent from
//! `on_connect` (the buffer drains first, as in socket.io-client), and the
//! others would read the line before they saw you join.

use std::time::Duration;

use socketio_client::{ClientOptions, Manager};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

const ROOM: &str = "rust";

#[derive(serde::Deserialize)]
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

    // Whether the room is joined on the server's side now.
    let (joined_tx, mut joined) = watch::channel(false);

    socket.on("said", |_, said: Said, _| async move {
        println!("[#{}] {}: {}", said.room, said.from, said.text);
    });
    socket.on("joined", |_, (who, room): (String, String), _| async move {
        println!("* {who} joined #{room}");
    });
    socket.on_mismatch(|_, event, e| eprintln!("({event}: unexpected arguments: {e})"));
    let on_join = joined_tx.clone();
    socket.on_connect(move |s| {
        eprintln!("(connected as {})", s.id().unwrap_or_default());
        // Rooms live on the server: join again after every (re)connection,
        // and let the waiting lines go once the server says it is done.
        let joined = on_join.clone();
        tokio::spawn(async move {
            match s
                .emit_with_ack::<_, (usize,)>("join", &(ROOM,), Duration::from_secs(5))
                .await
            {
                Ok((n,)) => {
                    println!("* you joined #{ROOM} ({n} here)");
                    joined.send_replace(true);
                }
                Err(e) => eprintln!("(could not join #{ROOM}: {e})"),
            }
        });
    });
    socket.on_disconnect(move |_, reason| {
        joined_tx.send_replace(false);
        eprintln!("(disconnected: {reason})");
    });
    socket.on_connect_error(|_, error| eprintln!("(not connected: {error})"));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        // Fails only if the socket is gone for good (the manager closed).
        joined.wait_for(|j| *j).await?;
        println!("[#{ROOM}] you: {line}");
        match socket
            .emit_with_ack::<_, (usize,)>("say", &(ROOM, &line), Duration::from_secs(5))
            .await
        {
            Ok((n,)) => eprintln!("(delivered to {n})"),
            Err(e) => eprintln!("(not delivered: {e})"),
        }
    }
    manager.close();
    Ok(())
}
