//! What the JSON-RPC port serves besides JSON-RPC: `GET /metrics` (Prometheus text) and the
//! explorer's pages under `/explorer`. One port for everything a person or a scraper points at.

use crate::explorer;
use crate::metrics::{METRICS_PATH, MetricsSource};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The HTTP layer that answers `GET /metrics` and `GET /explorer…`, passing everything else
/// (JSON-RPC over HTTP, WebSocket upgrades) to the RPC server.
#[derive(Clone)]
pub struct HttpPagesLayer {
    metrics: MetricsSource,
}

impl HttpPagesLayer {
    pub fn new(metrics: MetricsSource) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for HttpPagesLayer {
    type Service = HttpPages<S>;

    fn layer(&self, inner: S) -> HttpPages<S> {
        HttpPages {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// See [`HttpPagesLayer`].
#[derive(Clone)]
pub struct HttpPages<S> {
    inner: S,
    metrics: MetricsSource,
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
                let text = HttpBody::from(self.metrics.render());
                let answer = response(
                    http::StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    text,
                );
                return Box::pin(async move { Ok(answer) });
            }
            if let Some(asset) = path.strip_prefix(explorer::PATH) {
                let answer = match explorer::asset(asset) {
                    Some((content_type, body)) => response(
                        http::StatusCode::OK,
                        content_type,
                        HttpBody::from(body.into_owned()),
                    ),
                    None => response(
                        http::StatusCode::NOT_FOUND,
                        "text/plain; charset=utf-8",
                        HttpBody::from("no such explorer page"),
                    ),
                };
                return Box::pin(async move { Ok(answer) });
            }
        }
        Box::pin(self.inner.call(request))
    }
}
