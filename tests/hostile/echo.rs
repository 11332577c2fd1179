//! The handler every hostile test's server runs: echoes each message.

use engineio::Payload;
use engineio::server::{Context, Handler};

/// Sends every message back on the session's own task.
pub(crate) struct Echo;

impl Handler for Echo {
    type Command = ();

    async fn on_message(&mut self, ctx: &mut Context<'_>, msg: Payload) {
        ctx.send(msg);
    }

    async fn on_command(&mut self, _: &mut Context<'_>, (): ()) {}
}
