//! fastwebsockets echo server (hyper upgrade, as its own echo example).
//! usage: fastwebsockets_echo ADDR
use fastwebsockets::{FragmentCollector, OpCode, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

async fn serve(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, fastwebsockets::WebSocketError> {
    let (resp, fut) = upgrade::upgrade(&mut req)?;
    tokio::spawn(async move {
        let Ok(ws) = fut.await else { return };
        let mut ws = FragmentCollector::new(ws);
        loop {
            let Ok(frame) = ws.read_frame().await else {
                break;
            };
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => {
                    let Ok(()) = ws.write_frame(frame).await else {
                        break;
                    };
                }
                _ => {}
            }
        }
    });
    Ok(resp)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9202".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).ok();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(tcp);
            let _ = http1::Builder::new()
                .serve_connection(io, service_fn(serve))
                .with_upgrades()
                .await;
        });
    }
}
