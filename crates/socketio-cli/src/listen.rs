//! `sio listen`: every event as one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use socketio_client::{DisconnectReason, Manager};
use tokio::sync::mpsc;

use crate::Failure;
use crate::cli::ListenArgs;
use crate::connection::{self, Target};
use crate::terminal::{Term, Tone};

/// Why listening ended.
enum End {
    Count,
    ServerDisconnect,
}

pub(crate) async fn run(args: ListenArgs, term: Term) -> Result<(), Failure> {
    let target = Target::parse(&args.client.url, args.client.ns.as_deref())?;
    // A lost connection is opened again: listening goes on.
    let options = connection::options(&args.client, &target, args.timeout).reconnection(true);
    let manager = Manager::new(&target.server, options);
    let socket = manager.socket(&target.ns, None);
    let (end_tx, mut end_rx) = mpsc::unbounded_channel();

    let printed = Arc::new(AtomicU64::new(0));
    let (t, limit, end) = (term.clone(), args.count, end_tx.clone());
    socket.on_any(move |s, event, packet| {
        connection::show_received(&t, packet);
        if limit.is_some_and(|n| printed.load(Ordering::Acquire) >= n) {
            return;
        }
        match connection::event_args(packet) {
            Ok(a) => t.out(&connection::event_line(s.nsp(), event, &a)),
            Err(e) => t.error(&format!("event `{event}`: {e}")),
        }
        let n = printed.fetch_add(1, Ordering::AcqRel) + 1;
        if limit == Some(n) {
            let _ = end.send(End::Count);
        }
    });
    connection::report_lifecycle(&socket, &term);
    socket.on_disconnect(move |_, reason| {
        // The server's own disconnect is final (the JS client does not
        // reconnect either).
        if reason == DisconnectReason::IoServerDisconnect {
            let _ = end_tx.send(End::ServerDisconnect);
        }
    });
    let t = term.clone();
    manager
        .on_reconnect_attempt(move |n| t.note(Tone::Dim, &format!("reconnecting (attempt {n})")));

    connection::join(
        &socket,
        &target.server,
        args.client.auth.as_ref(),
        &term,
        args.timeout,
    )
    .await
    // No reconnecting after a refusal: the exit comes at once.
    .inspect_err(|_| manager.close())?;
    term.note(
        Tone::Good,
        &format!(
            "listening on {} as {}",
            socket.nsp(),
            socket.id().unwrap_or_default()
        ),
    );
    let end = tokio::select! {
        end = end_rx.recv() => end,
        _ = tokio::signal::ctrl_c() => None,
    };
    manager.close();
    match end {
        Some(End::ServerDisconnect) => Err(Failure("the server disconnected the socket".into())),
        Some(End::Count) | None => Ok(()),
    }
}
