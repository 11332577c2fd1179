//! A client for the Autobahn|Testsuite fuzzingserver: runs every case, echoing
//! each message, then asks the server to write its report.
//!
//! ```sh
//! AUTOBAHN_URL=ws://127.0.0.1:9001 AUTOBAHN_AGENT=ws-frame \
//!     cargo run --release -p realtime-ws-frame --example autobahn_client
//! # or: autobahn_client [URL [AGENT]]
//! # permessage-deflate offered (cases 12.* and 13.*): AUTOBAHN_DEFLATE=1 and --features deflate
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use ws_frame::handshake::{ClientRequest, HandshakeConfig};
use ws_frame::{Config, Error, Message, WebSocketStream};

async fn open(url: &str) -> Result<WebSocketStream<TcpStream>, Error> {
    let uri: http::Uri = url.parse().map_err(|_| std::io::Error::other("bad URL"))?;
    let host = uri.host().unwrap_or("127.0.0.1");
    let tcp = TcpStream::connect((host, uri.port_u16().unwrap_or(80))).await?;
    tcp.set_nodelay(true)?;
    #[allow(unused_mut)]
    let mut config = Config::default();
    #[cfg(feature = "deflate")]
    if std::env::var_os("AUTOBAHN_DEFLATE").is_some_and(|v| v != "0") {
        config.deflate = Some(ws_frame::DeflateConfig::default());
    }
    let req = ClientRequest::new(url, rand::random())?;
    let (ws, _) = ws_frame::connect_with(tcp, &req, config, &HandshakeConfig::default()).await?;
    Ok(ws)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .or_else(|| std::env::var("AUTOBAHN_URL").ok())
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = args
        .next()
        .or_else(|| std::env::var("AUTOBAHN_AGENT").ok())
        .unwrap_or_else(|| "ws-frame".into());

    let mut ws = open(&format!("{base}/getCaseCount")).await?;
    let mut count = 0u32;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg? {
            count = t.as_str().trim().parse().unwrap_or(0);
        }
    }
    eprintln!("autobahn_client: {count} cases as agent {agent:?}");

    for case in 1..=count {
        let mut ws = open(&format!("{base}/runCase?case={case}&agent={agent}")).await?;
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(msg) if msg.is_data() => {
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                // The core already answered with the right close code.
                Err(_) => {}
            }
        }
    }

    let mut ws = open(&format!("{base}/updateReports?agent={agent}")).await?;
    while let Some(msg) = ws.next().await {
        msg?;
    }
    Ok(())
}
