//! HTTPS GET as the oracle enclave makes it (DESIGN §6: TLS ends inside the enclave): rustls
//! only, https only, trusted roots from the system plus an optional CA file, a timeout, a size
//! cap, a bounded number of redirects (each to https), and public addresses only unless the
//! relay's operator allows private ones (`address_policy`).

use crate::address_policy::{self, PublicResolver};
use crate::datagram::code;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::{CertificateDer, pem::PemObject};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How far a fetch may go.
#[derive(Clone, Copy, Debug)]
pub struct FetchLimits {
    /// The whole fetch, redirects included.
    pub timeout: Duration,
    /// Largest response body read.
    pub max_bytes: usize,
    pub max_redirects: u8,
    /// Fetch from loopback and private networks too (the devnet's feeds, a test's source):
    /// the host's network policy, chosen by the relay's operator, so not part of the
    /// enclave's measurement.
    pub allow_private_addresses: bool,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_bytes: 1 << 20,
            max_redirects: 3,
            allow_private_addresses: false,
        }
    }
}

/// Why a fetch gave no document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("only https:// URLs are fetched: {0}")]
    NotHttps(String),
    #[error("bad URL {0}")]
    BadUrl(String),
    #[error("the source did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the source answered HTTP {0}")]
    Status(u16),
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
    #[error("cannot reach the source: {0}")]
    Unreachable(String),
    #[error("not a public address: {0}")]
    PrivateAddress(String),
}

impl FetchError {
    /// The response code the contract is told.
    pub fn code(&self) -> u16 {
        match self {
            FetchError::NotHttps(_) | FetchError::BadUrl(_) => code::BAD_REQUEST,
            FetchError::Timeout(_) => code::SOURCE_TIMEOUT,
            FetchError::TooLarge(_) => code::TOO_LARGE,
            FetchError::Status(404 | 410) => code::NOT_FOUND,
            FetchError::Status(401 | 403 | 451) | FetchError::PrivateAddress(_) => code::FORBIDDEN,
            FetchError::Status(400..=499) | FetchError::TooManyRedirects(_) => code::BAD_REQUEST,
            FetchError::Status(_) | FetchError::Unreachable(_) => code::SOURCE_UNREACHABLE,
        }
    }
}

/// Why the fetcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FetcherSetupError {
    #[error("CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
}

/// An HTTPS client with the enclave's trust roots.
#[derive(Clone)]
pub struct Fetcher {
    client: Client<HttpsConnector<HttpConnector<PublicResolver>>, Empty<Bytes>>,
    limits: FetchLimits,
}

impl Fetcher {
    /// Trusts the system's roots and every certificate in the PEM files `extra_cas`.
    pub fn new(extra_cas: &[&Path], limits: FetchLimits) -> Result<Self, FetcherSetupError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        for path in extra_cas {
            let error = |reason: String| FetcherSetupError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
                .map_err(|e| error(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| error(e.to_string()))?;
            if certs.is_empty() {
                return Err(error("no certificate in it".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| error(e.to_string()))?;
            }
        }
        tracing::debug!(
            system_roots = added,
            extra = extra_cas.len(),
            "oracle TLS roots"
        );
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut http = HttpConnector::new_with_resolver(PublicResolver {
            allow_private: limits.allow_private_addresses,
        });
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            limits,
        })
    }

    /// The body at `url`, following redirects.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        tokio::time::timeout(self.limits.timeout, self.follow(url))
            .await
            .map_err(|_| FetchError::Timeout(self.limits.timeout))?
    }

    async fn follow(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut uri = https_uri(url)?;
        for _ in 0..=self.limits.max_redirects {
            self.check_literal_address(&uri)?;
            let request = hyper::Request::get(uri.clone())
                .header(
                    "user-agent",
                    concat!("ankr-oracle/", env!("CARGO_PKG_VERSION")),
                )
                .body(Empty::new())
                .map_err(|e| FetchError::BadUrl(e.to_string()))?;
            let response = self.client.request(request).await.map_err(|e| {
                if refused_address(&e) {
                    FetchError::PrivateAddress(uri.host().unwrap_or_default().to_string())
                } else {
                    FetchError::Unreachable(error_chain(&e))
                }
            })?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .ok_or(FetchError::Status(status.as_u16()))?;
                uri = if location.starts_with('/') {
                    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
                    https_uri(&format!("https://{authority}{location}"))?
                } else {
                    https_uri(location)?
                };
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            let max = self.limits.max_bytes;
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            if declared.is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge(max));
            }
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge(max)
                    } else {
                        FetchError::Unreachable(e.to_string())
                    }
                })?;
            return Ok(body.to_bytes().to_vec());
        }
        Err(FetchError::TooManyRedirects(self.limits.max_redirects))
    }
}

impl Fetcher {
    /// A host written as an IP address is connected to without resolving: checked here.
    fn check_literal_address(&self, uri: &hyper::Uri) -> Result<(), FetchError> {
        let host = uri.host().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        match literal.parse::<std::net::IpAddr>() {
            Ok(ip) if !self.limits.allow_private_addresses && !address_policy::is_public(ip) => {
                Err(FetchError::PrivateAddress(host.to_string()))
            }
            _ => Ok(()),
        }
    }
}

/// Whether the resolver refused the connection for a private address.
fn refused_address(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn https_uri(url: &str) -> Result<hyper::Uri, FetchError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| FetchError::BadUrl(url.to_string()))?;
    if uri.scheme_str() != Some("https") {
        return Err(FetchError::NotHttps(url.to_string()));
    }
    if uri.host().is_none() {
        return Err(FetchError::BadUrl(url.to_string()));
    }
    Ok(uri)
}

/// An error with its causes (TLS failures hide the reason two levels down).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
