//! Prometheus metrics beside JSON-RPC: `GET /metrics` in the text exposition format (0.0.4),
//! and a service's own pages under one path (a node's explorer), on the port its JSON-RPC
//! already has, so a person or a scraper points at one address. Services without JSON-RPC of
//! their own (the oracle relay) serve their metrics with [`serve_metrics`]. Node, Plasma
//! operator and relay all write their figures with [`metric`] and [`render_samples`].

use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse, Server, ServerHandle};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// One metric's lines: its help, its type and its one sample.
pub fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// The exposition text of `samples` (name, type, help, value).
pub fn render_samples(samples: &[(&str, &str, &str, f64)]) -> String {
    let mut out = String::new();
    for (name, kind, help, value) in samples {
        metric(&mut out, name, kind, help, value);
    }
    out
}

/// Renders the Prometheus text of one service, at each scrape.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// A service's pages under a path: the file at the rest of the path, as (content type, body).
pub type Pages = fn(&str) -> Option<(&'static str, Cow<'static, str>)>;

/// The HTTP layer that answers `GET /metrics` (and `GET {prefix}…` when it has pages), passing
/// everything else (JSON-RPC over HTTP, WebSocket upgrades) to the RPC server.
#[derive(Clone)]
pub struct HttpPagesLayer {
    metrics: RenderMetrics,
    pages: Option<(&'static str, Pages)>,
}

impl HttpPagesLayer {
    /// Only `/metrics`, rendered by `render` at each scrape.
    pub fn metrics(render: RenderMetrics) -> Self {
        Self {
            metrics: render,
            pages: None,
        }
    }

    /// Also serves `pages` under `prefix` (e.g. `/explorer`).
    pub fn with_pages(mut self, prefix: &'static str, pages: Pages) -> Self {
        self.pages = Some((prefix, pages));
        self
    }
}

/// Serves `GET /metrics` alone on `addr` (JSON-RPC there answers no method): for a service
/// that has no JSON-RPC port of its own. Returns the bound address and the server's handle.
pub async fn serve_metrics(
    addr: SocketAddr,
    render: RenderMetrics,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .set_http_middleware(tower::ServiceBuilder::new().layer(HttpPagesLayer::metrics(render)))
        .build(addr)
        .await?;
    let local = server.local_addr()?;
    Ok((local, server.start(jsonrpsee::RpcModule::new(()))))
}

impl<S> tower::Layer<S> for HttpPagesLayer {
    type Service = HttpPages<S>;

    fn layer(&self, inner: S) -> HttpPages<S> {
        HttpPages {
            inner,
            metrics: self.metrics.clone(),
            pages: self.pages,
        }
    }
}

/// See [`HttpPagesLayer`].
#[derive(Clone)]
pub struct HttpPages<S> {
    inner: S,
    metrics: RenderMetrics,
    pages: Option<(&'static str, Pages)>,
}

fn response(status: http::StatusCode, content_type: &str, body: HttpBody) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .expect("a static header and a body make a response")
}

impl<S, B> tower::Service<HttpRequest<B>> for HttpPages<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let path = request.uri().path();
        if request.method() == http::Method::GET {
            if path == METRICS_PATH {
                let text = HttpBody::from((self.metrics)());
                let answer = response(
                    http::StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    text,
                );
                return Box::pin(async move { Ok(answer) });
            }
            if let Some((prefix, pages)) = self.pages
                && let Some(rest) = path.strip_prefix(prefix)
            {
                let answer = match pages(rest) {
                    Some((content_type, body)) => response(
                        http::StatusCode::OK,
                        content_type,
                        HttpBody::from(body.into_owned()),
                    ),
                    None => response(
                        http::StatusCode::NOT_FOUND,
                        "text/plain; charset=utf-8",
                        HttpBody::from("no such page"),
                    ),
                };
                return Box::pin(async move { Ok(answer) });
            }
        }
        Box::pin(self.inner.call(request))
    }
}
