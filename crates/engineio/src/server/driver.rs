//! One session's task: it owns the [`ServerSession`] and its WebSocket,
//! feeds them requests, commands, WebSocket messages and timers, calls the
//! handler, and writes what the session has to send.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;
use ws_frame::WebSocketStream;

use super::metrics::{FLUSH_EVERY, FLUSH_INTERVAL, Tally};
use super::queue::{Queue, Recv};
use super::service::{BoxIo, Shared};
use super::{Cmd, Context, Handler};
use crate::{Event, RequestError, ServerSession, ServerTransmit, Transport};

/// Waits for the client of a pending poll to go away.
async fn poll_dropped(
    pending: &mut Option<oneshot::Sender<Result<super::PollBody, RequestError>>>,
) {
    match pending {
        Some(tx) => tx.closed().await,
        None => std::future::pending().await,
    }
}

async fn next_ws(
    ws: &mut Option<Box<WebSocketStream<BoxIo>>>,
) -> Option<Result<ws_frame::Message, ws_frame::Error>> {
    use futures_util::StreamExt;
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// How many rounds in a row a session may answer input at hand before it
/// flushes what it has written.
const MAX_DEFERRED_FLUSHES: u32 = 64;

/// How many queued commands a session takes in one round before it writes
/// and looks at its other input again.
const MAX_COMMANDS_PER_ROUND: u32 = 64;

type PostReply = oneshot::Sender<Result<(), RequestError>>;

/// Input held back while the handler is not ready for the next event.
#[derive(Default)]
struct Held {
    /// The event the handler was not ready for, and since when.
    event: Option<(Event, Instant)>,
    /// A POST that came meanwhile: its packets are decoded once the handler
    /// has caught up, and its answer waits until then, which paces a polling
    /// client as unread WebSocket input paces a WebSocket one.
    post: Option<(Bytes, PostReply)>,
}

/// The session's handler, each call bounded by `limit`.
struct Bounded<H> {
    handler: H,
    limit: std::time::Duration,
}

impl<H: Handler> Bounded<H> {
    /// Delivers the events the session has, in order, while the handler is
    /// ready. `false`: a call overran its limit.
    async fn deliver(
        &mut self,
        s: &mut ServerSession,
        held: &mut Held,
        ending: &mut Ending<H>,
    ) -> bool {
        loop {
            let (event, since) = match held.event.take() {
                Some((e, since)) => (e, Some(since)),
                None => match s.poll_event() {
                    Some(e) => (e, None),
                    None => return true,
                },
            };
            if let Event::Closed(reason) = event {
                #[cfg(feature = "tracing")]
                tracing::debug!(reason = reason.as_str(), "session closed");
                // No readiness needed: the handler's last call.
                if !bounded(self.limit, self.handler.on_close(reason)).await {
                    return false;
                }
                continue;
            }
            let ready = std::future::poll_fn(|cx| Poll::Ready(self.handler.poll_ready(cx))).await;
            if ready.is_pending() {
                // The clock is read only when an event has to wait.
                held.event = Some((event, since.unwrap_or_else(Instant::now)));
                return true;
            }
            match &event {
                Event::Message(_) => {
                    ending.tally.messages_in += 1;
                    if ending.tally.messages_in >= FLUSH_EVERY {
                        ending.flush();
                    }
                }
                Event::Upgraded => ending.upgraded(),
                Event::Closed(_) => {}
            }
            let mut ctx = Context {
                session: s,
                tally: &mut ending.tally,
            };
            let done = match event {
                Event::Message(m) => {
                    bounded(self.limit, self.handler.on_message(&mut ctx, m)).await
                }
                Event::Upgraded => bounded(self.limit, self.handler.on_upgrade(&mut ctx)).await,
                Event::Closed(_) => true,
            };
            if !done {
                return false;
            }
        }
    }

    /// The handler overran its limit, or left an event waiting too long:
    /// drop what it was not given and close the session.
    async fn give_up(&mut self, s: &mut ServerSession, held: &mut Held, ending: &mut Ending<H>) {
        ending.shared.counters.handler_timeout();
        #[cfg(feature = "tracing")]
        tracing::warn!(
            limit = ?self.limit,
            "the handler overran handler_timeout, or left an event waiting that long; closing the session"
        );
        held.event = None;
        if let Some((_, reply)) = held.post.take() {
            let _ = reply.send(Err(RequestError::Closed));
        }
        s.close(Instant::now().into_std());
        while let Some(e) = s.poll_event() {
            match e {
                Event::Closed(reason) => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(reason = reason.as_str(), "session closed");
                    bounded(self.limit, self.handler.on_close(reason)).await;
                }
                Event::Upgraded => ending.upgraded(),
                Event::Message(_) => {}
            }
        }
    }
}

/// Runs a handler call; `false` if it overran `limit` (it is then dropped).
/// Not an `async fn`, which would hold `call` twice (as its argument and
/// pinned): this future holds it once.
fn bounded<F: Future<Output = ()>>(
    limit: std::time::Duration,
    call: F,
) -> impl Future<Output = bool> {
    use futures_util::FutureExt;
    within(limit, call).map(|done| done.is_some())
}

/// Unregisters a session when its task ends, however it ends: its queue
/// refuses more and drops what waits (answering those senders), a
/// shutdown waiting on it hears of it, and its counts join the totals.
/// Also when the task is aborted (a shutdown's deadline), a handler
/// panics, or the task is dropped before it ran.
pub(super) struct Ending<H: Handler> {
    shared: Arc<Shared<H>>,
    cmds: Arc<Queue<Cmd<H::Command>>>,
    sid: String,
    /// The transport the session is counted on.
    transport: Transport,
    /// Its counts not yet added to the totals.
    tally: Tally,
    /// When they were last added.
    flushed_at: tokio::time::Instant,
}

impl<H: Handler> Ending<H> {
    /// A session opened on `transport` (counted from now).
    pub(super) fn new(
        shared: Arc<Shared<H>>,
        cmds: Arc<Queue<Cmd<H::Command>>>,
        sid: String,
        transport: Transport,
    ) -> Self {
        shared.counters.session_opened(transport);
        Ending {
            shared,
            cmds,
            sid,
            transport,
            tally: Tally::default(),
            flushed_at: tokio::time::Instant::now(),
        }
    }

    /// After a write round: the counts join the totals if a second has
    /// passed or many wait (not every round: with one message per round
    /// that would be shared writes per message).
    fn flush_due(&mut self) {
        if self.tally.messages() >= FLUSH_EVERY || self.flushed_at.elapsed() >= FLUSH_INTERVAL {
            self.flush();
        }
    }

    /// Adds the session's counts to the server's totals.
    fn flush(&mut self) {
        let full = self.cmds.take_full();
        self.tally.flush(&self.shared.counters, full);
        self.flushed_at = tokio::time::Instant::now();
    }

    /// The session moved to WebSocket.
    fn upgraded(&mut self) {
        if self.transport == Transport::Polling {
            self.transport = Transport::WebSocket;
            self.shared.counters.session_upgraded();
            #[cfg(feature = "tracing")]
            {
                tracing::Span::current().record("transport", "websocket");
                tracing::debug!("upgraded to websocket");
            }
        }
    }
}

impl<H: Handler> Drop for Ending<H> {
    fn drop(&mut self) {
        self.cmds.close();
        self.flush();
        self.shared.counters.session_ended(self.transport);
        self.shared.ended(&self.sid);
    }
}

/// The session's task. Not an `async fn`: its arguments would be kept in
/// the task beside the locals they move into (1.3 KiB more per session);
/// an `async move` block uses what it captures in place.
pub(super) fn run_session<H: Handler>(
    mut ending: Ending<H>,
    mut s: ServerSession,
    ws: Option<WebSocketStream<BoxIo>>,
    handler: H,
) -> impl Future<Output = ()> + Send {
    let shared = ending.shared.clone();
    let cmds = ending.cmds.clone();
    let limit = shared.options.handler_timeout;
    let mut h = Bounded { handler, limit };
    let mut ws = ws.map(Box::new);
    async move {
        use futures_util::SinkExt;
        #[cfg(feature = "tracing")]
        tracing::debug!("session opened");
        let mut pending_poll: Option<oneshot::Sender<Result<super::PollBody, RequestError>>> = None;
        let mut held = Held::default();
        // Output fed to the WebSocket but not flushed, and for how many rounds.
        let (mut unflushed, mut deferred) = (false, 0);
        // A timer was handled since the session last shrank its queues.
        let mut shrink = false;
        // Taking turns with other sessions on a saturated runtime (fair.rs),
        // after each answer written.
        let mut turns = super::fair::Turns::default();
        let mut answered = false;
        let mut ctx = Context {
            session: &mut s,
            tally: &mut ending.tally,
        };
        if !bounded(limit, h.handler.on_open(&mut ctx)).await {
            Box::pin(h.give_up(&mut s, &mut held, &mut ending)).await;
        }
        loop {
            // Working now: sends from this task need not wake it (see queue.rs).
            cmds.unregister();
            if !h.deliver(&mut s, &mut held, &mut ending).await {
                Box::pin(h.give_up(&mut s, &mut held, &mut ending)).await;
            }
            if held.event.is_none() {
                if let Some((body, reply)) = held.post.take() {
                    let _ = reply.send(posted(s.handle_post(Instant::now().into_std(), body)));
                    continue;
                }
            }
            // The session's output: the pending GET's answer, WebSocket
            // messages, closing the WebSocket. When more input is at hand
            // without waiting (pipelined messages already read, queued commands
            // such as a burst of broadcasts), it is answered first and all of it
            // written with one system call. Bounded, so a busy session still
            // writes regularly; the stream also writes past its backpressure mark.
            if s.has_transmit() || unflushed {
                let more = ws.as_mut().is_some_and(|w| {
                    deferred < MAX_DEFERRED_FLUSHES && (w.has_buffered_message() || !cmds.is_idle())
                });
                deferred = if more { deferred + 1 } else { 0 };
                unflushed = more;
                // `Ok(true)`: the session wants its WebSocket closed.
                let tally = &mut ending.tally;
                let write = async {
                    while let Some(t) = s.poll_transmit() {
                        match t {
                            ServerTransmit::PollResponse(body, compress) => {
                                if let Some(tx) = pending_poll.take() {
                                    tally.bytes_out += body.len() as u64;
                                    // Compressed, if it is, by the request's
                                    // task: not this loop's time.
                                    let _ = tx.send(Ok((body, compress)));
                                }
                            }
                            // The one place a message meets the WebSocket. With
                            // permessage-deflate negotiated, a message sent with
                            // `compress: false` leaves uncompressed (ws's
                            // per-send `compress` option); without it both ways
                            // are the same.
                            ServerTransmit::Ws(m, compress) => {
                                if let Some(w) = ws.as_mut() {
                                    tally.ws_out(&m);
                                    if compress {
                                        w.feed(m).await?;
                                    } else {
                                        std::future::poll_fn(|cx| w.poll_ready_unpin(cx)).await?;
                                        w.start_send_uncompressed(m)?;
                                    }
                                }
                            }
                            ServerTransmit::CloseWebSocket => return Ok(true),
                        }
                    }
                    match ws.as_mut() {
                        Some(w) if !more => w.flush().await.map(|()| false),
                        _ => Ok(false),
                    }
                };
                let written = within(shared.options.write_timeout, write).await;
                if !more {
                    ending.flush_due();
                }
                match written {
                    Some(Ok(false)) => answered = !more,
                    Some(Ok(true)) => {
                        if let Some(mut w) = ws.take() {
                            let close = w.close();
                            let _ = tokio::time::timeout(shared.options.write_timeout, close).await;
                        }
                        unflushed = false;
                        continue;
                    }
                    _ => {
                        if written.is_none() {
                            shared.counters.write_timeout();
                            #[cfg(feature = "tracing")]
                            tracing::warn!(
                                limit = ?shared.options.write_timeout,
                                "the client took no output within write_timeout; dropping its WebSocket"
                            );
                        }
                        #[cfg(feature = "tracing")]
                        if let Some(Err(e)) = &written {
                            tracing::debug!(error = %e, "writing to the WebSocket failed");
                        }
                        // It cannot take a close frame either: just drop it, and
                        // go round again so the handler hears of the close.
                        s.handle_ws_error();
                        ws = None;
                        unflushed = false;
                        continue;
                    }
                }
            }
            if s.is_finished() && held.event.is_none() {
                break;
            }
            let waiting_since = held
                .event
                .as_ref()
                .map(|(_, since)| since.into_std() + limit);
            let deadline = [s.poll_timeout(), h.handler.poll_timeout(), waiting_since]
                .into_iter()
                .flatten()
                .min();
            let holding = held.event.is_some();
            // Served: with tasks waiting in the runtime's global queue, let
            // them go first, unless the handler is awaited (its readiness
            // would not end the wait).
            if std::mem::take(&mut answered) && shared.options.take_turns && !holding {
                turns
                    .served(&shared.room, |cx| cmds.poll_waiting(cx), deadline)
                    .await;
            }
            // The handler overran its limit in one of the arms below.
            let mut overran = false;
            if shrink {
                // A timer came (a heartbeat, most often) and what it sent
                // is written: an idle session gives back the room its
                // queues grew to (the handshake, a burst of broadcasts),
                // which would otherwise stay per session.
                shrink = false;
                s.shrink_idle();
                cmds.shrink_idle();
            }
            tokio::select! {
                () = std::future::poll_fn(|cx| h.handler.poll_ready(cx)), if holding => {}
                cmd = std::future::poll_fn(|cx| cmds.poll_recv(cx)) => {
                    // A burst (broadcasts, a handler's emits) is taken in one
                    // round: one pass of the loop and one write for all of it.
                    let (mut next, mut taken) = (Some(cmd), 0);
                    while let Some(cmd) = next {
                        match cmd {
                            Recv::Item(Cmd::Poll(tx)) => {
                                let now = take_probe_input(&mut s, &mut ws, &held, &mut ending.tally);
                                match s.handle_poll(now) {
                                    Ok(()) => pending_poll = Some(tx),
                                    Err(e) => {
                                        #[cfg(feature = "tracing")]
                                        tracing::debug!(error = %e, "GET refused");
                                        let _ = tx.send(Err(e));
                                    }
                                }
                            }
                            Recv::Item(Cmd::Post(body, tx)) => {
                                ending.tally.bytes_in += body.len() as u64;
                                if held.event.is_some() {
                                    if held.post.is_some() {
                                        // A second POST before the first is
                                        // answered: no client does this.
                                        #[cfg(feature = "tracing")]
                                        tracing::debug!("a second POST before the first was answered");
                                        let _ = tx.send(Err(RequestError::OverlappingPost));
                                        s.handle_overlapping_post();
                                    } else {
                                        held.post = Some((body, tx));
                                    }
                                } else {
                                    let now = take_probe_input(&mut s, &mut ws, &held, &mut ending.tally);
                                    let _ = tx.send(posted(s.handle_post(now, body)));
                                    // Its messages reach the handler (or are held)
                                    // before another POST is decoded.
                                    taken = MAX_COMMANDS_PER_ROUND;
                                }
                            }
                            Recv::Item(Cmd::AttachWs(new, base64)) => {
                                let now = Instant::now().into_std();
                                let attached = s.attach_websocket_b64(now, base64);
                                #[cfg(feature = "tracing")]
                                match &attached {
                                    Ok(()) => tracing::debug!("websocket probing to upgrade"),
                                    Err(e) => tracing::debug!(error = %e, "websocket upgrade refused"),
                                }
                                if attached.is_ok() {
                                    // A failed probe not closed yet this round: its
                                    // close is ours to do now (the session forgot it).
                                    if let Some(old) = ws.replace(new) {
                                        let limit = shared.options.write_timeout;
                                        tokio::spawn(async move {
                                            let mut old = old;
                                            let _ = tokio::time::timeout(limit, old.close()).await;
                                        });
                                    }
                                }
                            }
                            Recv::Item(Cmd::App(c)) => {
                                if !s.is_closed() {
                                    let mut ctx = Context { session: &mut s, tally: &mut ending.tally };
                                    if !bounded(limit, h.handler.on_command(&mut ctx, c)).await {
                                        // Given up after the select: no
                                        // more of the burst goes to it.
                                        overran = true;
                                        taken = MAX_COMMANDS_PER_ROUND;
                                    }
                                }
                            }
                            Recv::Close => if !s.is_closed() { s.close(Instant::now().into_std()) },
                        }
                        taken += 1;
                        next = if taken < MAX_COMMANDS_PER_ROUND { cmds.try_recv() } else { None };
                    }
                }
                msg = next_ws(&mut ws), if !holding => {
                    let now = Instant::now().into_std();
                    match msg {
                        Some(Ok(m)) => {
                            ending.tally.ws_in(&m);
                            s.handle_ws_message(now, m);
                        }
                        end => {
                            #[cfg(feature = "tracing")]
                            ws_ended(end.and_then(Result::err));
                            #[cfg(not(feature = "tracing"))]
                            let _ = end;
                            s.handle_ws_closed();
                            ws = None;
                        }
                    }
                }
                () = poll_dropped(&mut pending_poll) => {
                    pending_poll = None;
                    s.handle_poll_dropped();
                }
                () = sleep_until(deadline.map(Instant::from_std)) => {
                    let now = Instant::now().into_std();
                    s.handle_timeout(now);
                    shrink = true;
                    if waiting_since.is_some_and(|d| d <= now) {
                        overran = true;
                    } else if h.handler.poll_timeout().is_some_and(|d| d <= now) && !s.is_closed() {
                        let mut ctx = Context { session: &mut s, tally: &mut ending.tally };
                        overran = !bounded(limit, h.handler.on_timeout(&mut ctx, now)).await;
                    }
                }
            }
            // Out of the select, so that what its arms hold is not kept
            // beside this call in the task (each arm's locals are then
            // needed at one await only, and share their room).
            if overran {
                Box::pin(h.give_up(&mut s, &mut held, &mut ending)).await;
            }
        }
        // A poll that was never answered gets a 400, not a hang.
        if let Some(tx) = pending_poll.take() {
            let _ = tx.send(Err(RequestError::Closed));
        }
    }
}

/// Before a request decides something during an upgrade, takes what the
/// probing WebSocket has already delivered: a client that sent the upgrade
/// packet and then an HTTP request finds the upgrade done, whichever of the
/// two reached this task first. Returns the time to handle the request at.
fn take_probe_input(
    s: &mut ServerSession,
    ws: &mut Option<Box<WebSocketStream<BoxIo>>>,
    held: &Held,
    tally: &mut Tally,
) -> std::time::Instant {
    use futures_util::{FutureExt, StreamExt};
    let now = Instant::now().into_std();
    if !s.is_upgrading() || held.event.is_some() {
        return now;
    }
    while let Some(w) = ws.as_mut().filter(|_| s.is_upgrading()) {
        match w.next().now_or_never() {
            None => break,
            Some(Some(Ok(m))) => {
                tally.ws_in(&m);
                s.handle_ws_message(now, m);
            }
            Some(_) => {
                s.handle_ws_closed();
                *ws = None;
            }
        }
    }
    now
}

/// A POST's outcome, reported when it is refused.
fn posted(r: Result<(), RequestError>) -> Result<(), RequestError> {
    #[cfg(feature = "tracing")]
    if let Err(e) = &r {
        tracing::debug!(error = %e, "POST refused");
    }
    r
}

/// Reports why the WebSocket stopped reading: a message over the limit
/// at warn, anything else at debug.
#[cfg(feature = "tracing")]
fn ws_ended(e: Option<ws_frame::Error>) {
    use ws_frame::ProtocolError::{FrameTooLarge, MessageTooLarge};
    match e {
        None => tracing::debug!("the WebSocket closed"),
        Some(ws_frame::Error::Protocol(p @ (FrameTooLarge { .. } | MessageTooLarge { .. }))) => {
            tracing::warn!(error = %p, "a WebSocket message over max_payload; closing")
        }
        Some(e) => tracing::debug!(error = %e, "the WebSocket failed"),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// `fut` within `limit`, or `None`. The clock is read and a timer made
/// only when `fut` does not finish at once, as most writes do; the timer is
/// boxed so that it takes no room in the session's task while it idles.
fn within<F: Future>(limit: std::time::Duration, fut: F) -> Within<F> {
    Within {
        fut,
        limit,
        timer: None,
    }
}

pin_project_lite::pin_project! {
    /// What [`within`] returns: the future, held once, and its timer once
    /// it has one.
    struct Within<F> {
        #[pin]
        fut: F,
        limit: std::time::Duration,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Some(v));
        }
        let limit = *this.limit;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        timer.as_mut().poll(cx).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payload;

    /// A handler that holds nothing and does nothing.
    struct Nop;

    impl Handler for Nop {
        type Command = ();

        #[allow(clippy::manual_async_fn)]
        fn on_message(
            &mut self,
            _: &mut Context<'_>,
            _: Payload,
        ) -> impl Future<Output = ()> + Send {
            async {}
        }

        #[allow(clippy::manual_async_fn)]
        fn on_command(&mut self, _: &mut Context<'_>, _: ()) -> impl Future<Output = ()> + Send {
            async {}
        }
    }

    fn output_size<A, B, C, D, R>(_: fn(A, B, C, D) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every idle session holds its task: what the driver keeps in it beside
    /// the session and the handler is paid per connection. 752 bytes here
    /// (a test build); 1848 when `run_session` was an `async fn` (its
    /// arguments kept twice), `bounded` held its call twice and the
    /// handler's give-up was awaited inside the select's arms.
    #[test]
    fn the_session_task_stays_small() {
        let size = output_size(run_session::<Nop> as fn(_, _, _, _) -> _);
        let own = size - std::mem::size_of::<ServerSession>();
        assert!(
            own <= 800,
            "the session task grew: {size} bytes, {own} besides the session"
        );
    }
}
