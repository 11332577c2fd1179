//! The hyper/tower front door: Engine.IO mounted in hyper 1.x or axum 0.8
//! beside the application's own routes, on its port.
//!
//! [`EngineIoLayer`] wraps any tower `Service` (an `axum::Router`, a
//! hyper `service_fn`): requests on the Engine.IO path are answered by the
//! server, the rest go to the wrapped service. [`EngineIoService`] with
//! [`NotFound`] inside serves the Engine.IO path alone (axum's
//! `fallback_service`, `route_service`). Both answer each request with the
//! same code as the embedded listener: polling over hyper's request and
//! response, the WebSocket over hyper's upgrade, then ws-frame on the
//! upgraded connection.
//!
//! hyper must serve connections with upgrades on
//! (`hyper::server::conn::http1::Builder::serve_connection(..).with_upgrades()`;
//! `axum::serve` does). What happens before a request reaches the service
//! is hyper's: the limits on request heads, and their read timeout (give
//! hyper a timer, `hyper_util::rt::TokioTimer`, for its
//! `header_read_timeout` to apply), are set on hyper's builder, not by
//! `ServerOptions::http`. WebSocket over HTTP/2 (RFC 8441 extended CONNECT)
//! is not served: clients use HTTP/1.1 for it, as browsers do. The peer address comes from a `SocketAddr` in the
//! request's extensions, or, with the `axum` feature, from axum's
//! `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info`);
//! without either, sessions see `0.0.0.0:0`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use super::Service;
use super::route::{Answer, is_engine_path};
use crate::http::Response;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a service so that the Engine.IO path is served by `engine`.
#[derive(Clone, Debug)]
pub struct EngineIoLayer {
    engine: Service,
}

impl EngineIoLayer {
    /// A layer serving `engine` on its path (`ServerOptions::path`).
    pub fn new(engine: Service) -> EngineIoLayer {
        EngineIoLayer { engine }
    }
}

impl<S> tower_layer::Layer<S> for EngineIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> EngineIoService<S> {
        EngineIoService {
            engine: self.engine.clone(),
            inner,
        }
    }
}

/// A tower `Service`: the Engine.IO path goes to the server, other paths to
/// `S`.
#[derive(Clone, Debug)]
pub struct EngineIoService<S = NotFound> {
    engine: Service,
    inner: S,
}

impl EngineIoService<NotFound> {
    /// Serves `engine` alone: other paths get 404.
    pub fn new(engine: Service) -> EngineIoService<NotFound> {
        EngineIoService {
            engine,
            inner: NotFound,
        }
    }
}

impl<S> EngineIoService<S> {
    /// The Engine.IO server behind it.
    pub fn engine(&self) -> &Service {
        &self.engine
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> tower_service::Service<http::Request<B>> for EngineIoService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ResponseBody<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if is_engine_path(&self.engine.options().path, req.uri().path()) {
            #[cfg(feature = "tracing")]
            let span = tracing::debug_span!(
                "request",
                peer = %remote_addr(req.extensions()),
                method = %req.method(),
                path = req.uri().path(),
            );
            let engine = self.engine.clone();
            return Box::pin(async move {
                let serve = serve(engine, req);
                #[cfg(feature = "tracing")]
                let serve = tracing::Instrument::instrument(serve, span);
                Ok(serve.await)
            });
        }
        // The service polled ready is the one called; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = inner.call(req);
        Box::pin(async move { Ok(fut.await?.map(|body| ResponseBody::inner(body))) })
    }
}

/// Answers a request on the Engine.IO path.
async fn serve<B, RB>(
    engine: Service,
    mut req: http::Request<B>,
) -> http::Response<ResponseBody<RB>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let remote = remote_addr(req.extensions());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, body) = req.into_parts();
    let opts = engine.options();
    // A body declared larger than the limit is refused before any of it is
    // read (hyper sends no `100 Continue` for it either).
    let too_large = || {
        engine.shared.refused();
        #[cfg(feature = "tracing")]
        tracing::warn!(
            max_payload = opts.session.max_payload,
            "a request body over max_payload; 413"
        );
        to_http(Response::text(413, "Payload Too Large"))
    };
    if body.size_hint().lower() > opts.session.max_payload as u64 {
        return too_large();
    }
    let limited = http_body_util::Limited::new(body, opts.session.max_payload).collect();
    let body = match tokio::time::timeout(opts.request_timeout, limited).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(_e)) => {
            engine.shared.refused();
            #[cfg(feature = "tracing")]
            tracing::debug!(error = %_e, "reading a request body failed");
            return to_http(Response::text(400, "Bad Request"));
        }
        Err(_) => {
            engine.shared.refused();
            #[cfg(feature = "tracing")]
            tracing::debug!("a request body not read within request_timeout");
            return to_http(Response::text(408, "Request Timeout"));
        }
    };
    let head = http::Request::from_parts(parts, ());
    let limit = opts.http.timeout;
    match engine.shared.clone().answer(head, body, remote).await {
        Answer::Now(resp) => to_http(resp),
        // Dropped if hyper drops this future (the client went away): the
        // session hears of it as from the embedded listener.
        Answer::Wait(reply) => {
            let reply = reply.await;
            let mut out = to_http(reply.response);
            if let Some(hooked) = reply.hooked {
                // In place of the engine's headers of the same names.
                out.headers_mut().extend(hooked);
            }
            out
        }
        Answer::Upgrade(up) => {
            let attach = async move {
                match tokio::time::timeout(limit, on_upgrade).await {
                    Ok(Ok(upgraded)) => {
                        let io = hyper_util::rt::TokioIo::new(upgraded);
                        (up.attach)(Box::new(io), BytesMut::new()).await;
                    }
                    #[cfg(feature = "tracing")]
                    Ok(Err(e)) => tracing::debug!(error = %e, "hyper's upgrade failed"),
                    #[cfg(feature = "tracing")]
                    Err(_) => tracing::debug!("hyper's upgrade did not come in time"),
                    #[cfg(not(feature = "tracing"))]
                    _ => {}
                }
            };
            #[cfg(feature = "tracing")]
            let attach = tracing::Instrument::in_current_span(attach);
            tokio::spawn(attach);
            let (parts, ()) = up.response.into_parts();
            http::Response::from_parts(parts, ResponseBody::engine(None))
        }
    }
}

fn to_http<RB>(resp: Response) -> http::Response<ResponseBody<RB>> {
    let mut out = http::Response::new(ResponseBody::engine(
        Some(resp.body).filter(|b| !b.is_empty()),
    ));
    *out.status_mut() =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in resp.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            headers.append(n, v);
        }
    }
    out
}

fn remote_addr(ext: &http::Extensions) -> SocketAddr {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return *addr;
    }
    ext.get::<SocketAddr>()
        .copied()
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// The service behind [`EngineIoService::new`]: 404 for every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> tower_service::Service<http::Request<B>> for NotFound {
    type Response = http::Response<http_body_util::Empty<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        let mut resp = http::Response::new(http_body_util::Empty::new());
        *resp.status_mut() = http::StatusCode::NOT_FOUND;
        std::future::ready(Ok(resp))
    }
}

pin_project_lite::pin_project! {
    /// The body of a response: Engine.IO's own, or the wrapped service's.
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        // An Engine.IO answer, in one piece: what is left to send.
        Engine { body: Option<Bytes> },
        Inner { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    fn engine(body: Option<Bytes>) -> Self {
        ResponseBody {
            kind: Kind::Engine { body },
        }
    }

    fn inner(body: B) -> Self {
        ResponseBody {
            kind: Kind::Inner { body },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Engine { body } => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            KindProj::Inner { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Engine { body } => body.is_none(),
            Kind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Engine { body } => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Inner { body } => body.size_hint(),
        }
    }
}
