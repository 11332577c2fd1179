//! `sio emit`: one event, and its ack with `--ack`.

use std::time::Duration;

use socketio_client::Manager;
use tokio::sync::oneshot;

use crate::Failure;
use crate::cli::EmitArgs;
use crate::connection::{self, Emitter, Target};
use crate::payload::{self, Arg, shown_list};
use crate::terminal::Term;

pub(crate) async fn run(args: EmitArgs, term: Term) -> Result<(), Failure> {
    let target = Target::parse(&args.client.url, args.client.ns.as_deref())?;
    let values = args
        .args
        .iter()
        .map(|a| payload::parse_word(a))
        .collect::<Result<Vec<Arg>, String>>()
        .map_err(Failure)?;
    // One try: a failure is reported, not retried.
    let options = connection::options(&args.client, &target, args.timeout).reconnection(false);
    let manager = Manager::new(&target.server, options);
    let socket = manager.socket(&target.ns, None);
    let t = term.clone();
    socket.on_any(move |_, _, packet| connection::show_received(&t, packet));
    let result = async {
        connection::join(
            &socket,
            &target.server,
            args.client.auth.as_ref(),
            &term,
            args.timeout,
        )
        .await?;
        let emitter = Emitter::new(socket.clone());
        if args.ack {
            let answer = emitter
                .emit_with_ack(&term, &args.event, &values, args.timeout)
                .await?;
            term.out(&shown_list(&answer).to_string());
        } else {
            emitter.emit(&term, &args.event, &values)?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => close(&manager).await,
        // Nothing waits to be written.
        Err(_) => manager.close(),
    }
    result
}

/// Closes the connection once what was emitted is written: the manager
/// takes commands in order, so its close comes after the emit, and its
/// `close` event after the transport is shut.
async fn close(manager: &Manager) {
    let (tx, rx) = oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    manager.on_close(move |_| {
        if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
    });
    manager.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
}
