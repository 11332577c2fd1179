//! The server the official engine.io-protocol test suite expects: port 3000,
//! path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload
//! 1 000 000, CORS origin `*`, and every message echoed back.
//!
//! ```sh
//! cargo run -p engineio --example eio_suite_server [ADDR] [--allow-eio3]
//! ```
//!
//! `--allow-eio3` serves Engine.IO v3 clients too (`allowEIO3`).
//!
//! The echo runs on each session's own task (a [`Handler`]), as the official
//! server's `message` listener runs inside the request that brought the
//! message: every echo of a POST is queued before the session reads the
//! next request, so the GET that follows carries all of them. (With
//! [`Server::bind`](engineio::server::Server::bind) the application reads
//! messages on its own task, and a GET may overtake its echoes.)

use std::time::Duration;

use engineio::Payload;
use engineio::server::{Context, Handler, ServerOptions, serve};

struct Echo;

impl Handler for Echo {
    type Command = ();

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let eio3 = args.iter().any(|a| a == "--allow-eio3");
    let addr = args
        .into_iter()
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let mut options = ServerOptions::default();
    options.session.allow_eio3 = eio3;
    options.session.ping_interval = Duration::from_millis(300);
    options.session.ping_timeout = Duration::from_millis(200);
    options.session.max_payload = 1_000_000;
    options.cors = Some(engineio::server::Cors::any());
    let listening = serve(&addr, options, |_| Echo).await?;
    eprintln!(
        "eio_suite_server: http://{}/engine.io/",
        listening.local_addr()
    );
    std::future::pending::<()>().await;
    Ok(())
}
