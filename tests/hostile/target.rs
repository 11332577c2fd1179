//! An Engine.IO echo server for the hostile-client tests: `hostile_target
//! ADDR` listens, prints its address on stdout, and echoes every message.
//! The tests start it as a child process with its own limits.

use engineio::server::{ServerOptions, serve};

#[path = "echo.rs"]
mod echo;
use echo::Echo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listening = serve(&addr, ServerOptions::default(), |_| Echo).await?;
    println!("{}", listening.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}
