//! `sio serve`: an echo/chat server on socketio-server, mounted in axum
//! beside a chat page (or the files of `--static DIR`).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use socketio_server::{AckSender, Namespace, Server, ServerOptions, Socket};

use crate::Failure;
use crate::cli::ServeArgs;
use crate::payload::Arg;
use crate::terminal::{Term, Tone};

/// The official browser client, where no copy is found on disk.
const CLIENT_CDN: &str = "https://cdn.socket.io/4.8.1/socket.io.min.js";
const CLIENT_IN_NODE_MODULES: &str = "node_modules/socket.io-client/dist/socket.io.min.js";

/// The echo/chat behaviour, on each namespace.
fn behave(ns: &Namespace, term: &Term) {
    let term = term.clone();
    ns.on_connect(move |socket| {
        term.note(
            Tone::Good,
            &format!("{} {} connected", socket.ns().name(), socket.id()),
        );
        let t = term.clone();
        socket.on_disconnect(move |s, reason| {
            t.note(
                Tone::Dim,
                &format!("{} {} left ({reason:?})", s.ns().name(), s.id()),
            );
        });
        if term.verbose() {
            let t = term.clone();
            socket.on_any(move |s, _, packet| {
                t.wire(false, &format!("{} {}", s.id(), packet.encode()))
            });
            let t = term.clone();
            socket.on_any_outgoing(move |s, _, packet| {
                t.wire(true, &format!("{} {}", s.id(), packet.encode()))
            });
        }
        // Acked with its own arguments; answered with `echo` without an ack.
        socket.on_raw("echo", |socket, packet| async move {
            let _ = match packet.id() {
                Some(id) => socket.ack_raw_args(id, &packet),
                None => socket.emit_raw_args("echo", &packet),
            };
        });
        socket.on("chat", chat);
        socket.on(
            "join",
            |socket, (room,): (String,), ack: Option<AckSender>| async move {
                socket.join(&room);
                answer_rooms(&socket, ack);
            },
        );
        socket.on(
            "leave",
            |socket, (room,): (String,), ack: Option<AckSender>| async move {
                socket.leave(&room);
                answer_rooms(&socket, ack);
            },
        );
    });
}

/// `chat`: to everyone else in the socket's rooms, or in the namespace when
/// it joined none; acked with how many it reached.
async fn chat(socket: Socket, args: Vec<Arg>, ack: Option<AckSender>) {
    let rooms: Vec<String> = socket
        .rooms()
        .into_iter()
        .filter(|r| r != socket.id())
        .collect();
    let mut to = socket.broadcast();
    for r in &rooms {
        to = to.to(r);
    }
    let reached = to.emit("chat", &args).unwrap_or(0);
    if let Some(ack) = ack {
        let _ = ack.send(&(reached,));
    }
}

/// The rooms the socket is in, its own aside.
fn answer_rooms(socket: &Socket, ack: Option<AckSender>) {
    let rooms: Vec<String> = socket
        .rooms()
        .into_iter()
        .filter(|r| r != socket.id())
        .collect();
    if let Some(ack) = ack {
        let _ = ack.send(&(rooms,));
    }
}

/// `node_modules/socket.io-client/dist/socket.io.min.js` under the current
/// directory or one above it, or under the workspace sio was built in.
fn find_client_script() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    cwd.iter()
        .flat_map(|d| d.ancestors())
        .chain(std::iter::once(built.as_path()))
        .map(|d| d.join(CLIENT_IN_NODE_MODULES))
        .find(|f| f.is_file())
}

/// A file of `dir` for the request's path; `index.html` for a directory.
async fn static_file(dir: PathBuf, uri: Uri) -> Response {
    let mut path = dir;
    for part in Path::new(uri.path().trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            // No way out of the directory.
            _ => return StatusCode::NOT_FOUND.into_response(),
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(body) => ([(header::CONTENT_TYPE, content_type(&path))], body).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn run(args: ServeArgs, term: Term) -> Result<(), Failure> {
    let io = Server::new(ServerOptions::default());
    behave(&io.of("/"), &term);
    // Any other namespace a client asks for exists, and behaves the same.
    behave(&io.of_dynamic(|_| true), &term);

    let client = find_client_script();
    let script = get(move || {
        let client = client.clone();
        async move {
            match client {
                Some(file) => match tokio::fs::read(file).await {
                    Ok(js) => ([(header::CONTENT_TYPE, "text/javascript")], js).into_response(),
                    Err(_) => Redirect::temporary(CLIENT_CDN).into_response(),
                },
                None => Redirect::temporary(CLIENT_CDN).into_response(),
            }
        }
    });
    let app = match args.static_dir.clone() {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(Failure(format!(
                    "--static {}: not a directory",
                    dir.display()
                )));
            }
            Router::new().fallback(move |uri: Uri| static_file(dir.clone(), uri))
        }
        None => Router::new().route(
            "/",
            get(|| async { Html(include_str!("../static/chat.html")) }),
        ),
    };
    let app = app
        .route("/socket.io/socket.io.min.js", script)
        .layer(io.layer());

    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
    // Scripts read this line for the port when given --port 0.
    term.out(&format!("listening on http://{local}/"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let server = tokio::spawn(async move { serve.await });
    let _ = tokio::signal::ctrl_c().await;
    term.note(Tone::Dim, "shutting down");
    // hyper does not wait for upgraded WebSockets: tell every client.
    io.shutdown(Duration::from_secs(2)).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(())
}
