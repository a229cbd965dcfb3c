//! A local HTTPS data source with its own certificate authority: what `ankr devnet` serves
//! its example feeds from, and what tests fetch from. Real TLS (rustls), real HTTP/1.1
//! (hyper), on 127.0.0.1; the CA's PEM is written to a file for `--oracle-ca`.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// What one path answers.
#[derive(Clone, Debug)]
pub enum Route {
    /// 200 with this content type and body.
    Document {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A redirect to this location.
    Redirect(String),
    /// This status, empty body.
    Status(u16),
    /// Nothing for this long, then 200 (for timeouts).
    Slow(Duration),
}

/// Why the source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A running source; dropping it stops it.
pub struct LocalSource {
    pub addr: SocketAddr,
    /// PEM of the CA that signed the server's certificate.
    pub ca_file: PathBuf,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalSource {
    /// Makes a CA and a certificate for 127.0.0.1 and localhost, writes the CA to
    /// `dir/oracle-ca.pem`, and serves `routes` on a free port.
    pub async fn start(dir: &Path, routes: HashMap<String, Route>) -> Result<Self, SourceError> {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "ankr local data source CA");
        let ca = ca.self_signed(&ca_key)?;
        let key = rcgen::KeyPair::generate()?;
        let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
        leaf.subject_alt_names
            .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        let leaf = leaf.signed_by(&key, &ca, &ca_key)?;
        std::fs::create_dir_all(dir)?;
        let ca_file = dir.join("oracle-ca.pem");
        std::fs::write(&ca_file, ca.pem())?;

        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let routes = Arc::new(Mutex::new(routes));
        let served = routes.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let routes = served.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request: Request<_>| {
                        let route = routes
                            .lock()
                            .expect("routes lock")
                            .get(request.uri().path())
                            .cloned();
                        respond(route)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            ca_file,
            routes,
            task,
        })
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Adds or replaces what `path` answers.
    pub fn set(&self, path: &str, route: Route) {
        self.routes
            .lock()
            .expect("routes lock")
            .insert(path.to_string(), route);
    }
}

async fn respond(route: Option<Route>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let response = match route {
        None => status(StatusCode::NOT_FOUND),
        Some(Route::Status(code)) => {
            status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Some(Route::Redirect(location)) => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", location)
            .body(Full::default())
            .expect("valid response"),
        Some(Route::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            status(StatusCode::OK)
        }
        Some(Route::Document { content_type, body }) => Response::builder()
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("valid response"),
    };
    Ok(response)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::default())
        .expect("valid response")
}
