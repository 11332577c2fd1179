//! A chat server: nicknames, rooms, messages to a room, typing notices, and
//! acks that tell the sender its message was delivered.
//!
//! ```sh
//! cargo run -p socketio-server --example chat            # server + two bots chatting, then exit
//! cargo run -p socketio-server --example chat -- --serve # keep serving on 127.0.0.1:3000
//! ```
//!
//! With `--serve`, any socket.io 4.x client can join, for example from Node:
//! `io("http://127.0.0.1:3000", { auth: { nick: "carol" } })`, then
//! `emit("join", "rust")` and `emit("say", "rust", "hi", ack)`.
//!
//! The two bots are built from this workspace's lower layers (engineio's
//! client and socketio-proto), to show them composing.

use std::time::Duration;

use engineio::client::{Client, ClientOptions};
use engineio::{ClientEvent, Payload};
use serde::{Deserialize, Serialize};
use socketio_proto::{Decoder, Json, Kind, Packet};
use socketio_server::{ConnectError, Server, ServerOptions};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Said {
    from: String,
    room: String,
    text: String,
}

#[derive(Clone)]
struct Nick(String);

async fn chat_server(addr: &str) -> std::io::Result<Server> {
    let server = Server::bind(addr, ServerOptions::default()).await?;
    let ns = server.of("/");
    ns.use_middleware(|hs| match hs.auth::<serde_json::Value>() {
        Some(a)
            if a["nick"]
                .as_str()
                .is_some_and(|n| !n.is_empty() && n.len() <= 32) =>
        {
            Ok(())
        }
        _ => Err(ConnectError::new(
            "a nick of 1 to 32 characters is required",
        )),
    });
    ns.on_connect(|socket| {
        let auth: serde_json::Value = socket.handshake().auth().unwrap_or_default();
        let nick = auth["nick"].as_str().unwrap_or("?").to_owned();
        socket.insert(Nick(nick));
        socket.on("join", |s, room: String, ack| async move {
            s.join(&room);
            let nick = s.get::<Nick>().map(|n| n.0).unwrap_or_default();
            let _ = s.to(&room).emit("joined", &(&nick, &room));
            if let Some(ack) = ack {
                let members = s.ns().to(&room).sockets().len();
                let _ = ack.send(&(members,));
            }
        });
        socket.on("say", |s, (room, text): (String, String), ack| async move {
            let from = s.get::<Nick>().map(|n| n.0).unwrap_or_default();
            let said = Said {
                from,
                room: room.clone(),
                text,
            };
            let reached = s.to(&room).emit("said", &(&said,)).unwrap_or(0);
            if let Some(ack) = ack {
                let _ = ack.send(&(reached,));
            }
        });
        socket.on("typing", |s, room: String, _| async move {
            let nick = s.get::<Nick>().map(|n| n.0).unwrap_or_default();
            let _ = s.to(&room).volatile().emit("typing", &(&nick,));
        });
        socket.on_disconnect(|s, reason| {
            let nick = s.get::<Nick>().map(|n| n.0).unwrap_or_default();
            println!("  [server] {nick} left ({reason})");
        });
    });
    Ok(server)
}

/// A small Socket.IO client from engineio's client and socketio-proto.
struct Bot {
    name: &'static str,
    eio: Client,
    decoder: Decoder,
    next_ack: u64,
}

impl Bot {
    async fn connect(url: &str, name: &'static str) -> Bot {
        let mut options = ClientOptions::default();
        options.path = "/socket.io/".into();
        let eio = Client::connect(url, options)
            .await
            .expect("engine.io session");
        let mut bot = Bot {
            name,
            eio,
            decoder: Decoder::default(),
            next_ack: 0,
        };
        let auth = Json::from_value(&serde_json::json!({ "nick": name })).ok();
        bot.send(&Packet::connect("/", auth).unwrap()).await;
        let accepted = bot.next_packet().await;
        assert_eq!(accepted.kind(), Kind::Connect, "{name} was not let in");
        println!("{name}: connected as {}", accepted.raw_data().unwrap());
        bot
    }

    async fn send(&self, p: &Packet) {
        let _ = self.eio.send(Payload::Text(p.encode().into())).await;
        for a in p.attachments() {
            let _ = self.eio.send(Payload::Binary(a.clone())).await;
        }
    }

    async fn next_packet(&mut self) -> Packet {
        loop {
            if let Some(p) = self.decoder.poll_packet() {
                return p;
            }
            let event = tokio::time::timeout(Duration::from_secs(5), self.eio.recv()).await;
            match event
                .expect("the server answers")
                .expect("the session is open")
            {
                ClientEvent::Message(Payload::Text(t)) => self.decoder.handle_text(t).unwrap(),
                ClientEvent::Message(Payload::Binary(b)) => self.decoder.handle_binary(b).unwrap(),
                _ => {}
            }
        }
    }

    /// Emits and waits for the ack.
    async fn call<T: Serialize>(&mut self, event: &str, args: &T) -> Packet {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(&Packet::event("/", event, args).unwrap().with_id(id))
            .await;
        loop {
            let p = self.next_packet().await;
            if p.kind() == Kind::Ack && p.id() == Some(id) {
                return p;
            }
            self.show(&p);
        }
    }

    /// Waits for the next packet and prints it.
    async fn show_next(&mut self) {
        let p = self.next_packet().await;
        self.show(&p);
    }

    fn show(&self, p: &Packet) {
        match p.event_name() {
            Some("said") => {
                let (said,): (Said,) = p.event_args().unwrap();
                println!(
                    "{} sees  [{}] {}: {}",
                    self.name, said.room, said.from, said.text
                );
            }
            Some(other) => println!(
                "{} sees  {other} {}",
                self.name,
                p.raw_data().map(|d| d.as_str()).unwrap_or("")
            ),
            None => {}
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `RUST_LOG=socketio_server=debug,engineio=debug` shows sessions,
    // sockets and why they end, on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let serve = std::env::args().any(|a| a == "--serve");
    let server = match chat_server("127.0.0.1:3000").await {
        Ok(s) => s,
        // Port 3000 taken: the scripted demo runs as well on any port.
        Err(_) if !serve => chat_server("127.0.0.1:0").await?,
        Err(e) => return Err(e),
    };
    let url = format!("http://{}", server.local_addr());
    println!("chat server on {url}/socket.io/");
    if serve {
        std::future::pending::<()>().await;
    }

    let mut alice = Bot::connect(&url, "alice").await;
    let mut bob = Bot::connect(&url, "bob").await;
    let (members,): (usize,) = alice.call("join", &"rust").await.ack_args().unwrap();
    println!("alice: joined #rust ({members} member)");
    let (members,): (usize,) = bob.call("join", &"rust").await.ack_args().unwrap();
    println!("bob: joined #rust ({members} members)");
    alice.show_next().await;
    let (reached,): (usize,) = alice
        .call("say", &("rust", "hi bob, the server speaks Socket.IO v5"))
        .await
        .ack_args()
        .unwrap();
    println!("alice: delivered to {reached}");
    bob.show_next().await;
    let (reached,): (usize,) = bob
        .call("say", &("rust", "and it is Rust all the way down"))
        .await
        .ack_args()
        .unwrap();
    println!("bob: delivered to {reached}");
    alice.show_next().await;
    alice.eio.close().await;
    bob.eio.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
