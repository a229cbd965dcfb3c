//! The simulated attestation service as a JSON-RPC server (`ankr attest`), and the client a
//! miner uses to get its enclave certified. SIMULATED: see `ankr_pouw::attestation`.
//!
//! Methods: `attest_rootAddress()` and `attest_certify(quote)`.

use ankr_pouw::{AttestationService, Certificate, Quote};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Loads the root key from `path`, or makes one there (readable by its owner only).
pub fn load_or_create_root_key(path: &Path) -> std::io::Result<secp256k1::SecretKey> {
    let invalid = |e| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes =
                alloy_primitives::hex::decode(text.trim()).map_err(|e| invalid(e.to_string()))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| invalid("need 32 bytes".into()))?;
            secp256k1::SecretKey::from_byte_array(bytes).map_err(|e| invalid(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let key = secp256k1::SecretKey::new(&mut secp256k1::rand::rng());
            std::fs::write(path, alloy_primitives::hex::encode(key.secret_bytes()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// A running attestation server.
pub struct AttestationServer {
    pub local_addr: SocketAddr,
    handle: ServerHandle,
}

impl AttestationServer {
    /// Serves `service` on `addr` (loopback in devnet and tests).
    pub async fn start(service: AttestationService, addr: SocketAddr) -> std::io::Result<Self> {
        let server = Server::builder().build(addr).await?;
        let local_addr = server.local_addr()?;
        let service = Arc::new(service);
        let mut module = jsonrpsee::RpcModule::new(service);
        module
            .register_method("attest_rootAddress", |_, service, _| {
                Ok::<_, ErrorObjectOwned>(service.root_address())
            })
            .expect("unique");
        module
            .register_method("attest_certify", |params, service, _| {
                let quote: Quote = params.one()?;
                service
                    .certify(&quote)
                    .map_err(|e| ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>))
            })
            .expect("unique");
        let handle = server.start(module);
        Ok(Self { local_addr, handle })
    }

    /// Stops serving.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Why a certificate could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("attestation service at {url}: {message}")]
    Service { url: String, message: String },
    #[error("attestation service returned a certificate not signed by root {root}")]
    BadCertificate { root: alloy_primitives::Address },
}

/// A miner's client of the attestation service.
#[derive(Clone)]
pub struct AttestationClient {
    url: String,
    client: HttpClient,
}

impl AttestationClient {
    /// A client of the service at `url` (`http://127.0.0.1:PORT`).
    pub fn new(url: &str) -> Result<Self, AttestError> {
        let client = HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(10))
            .build(url)
            .map_err(|e| AttestError::Service {
                url: url.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            url: url.into(),
            client,
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> AttestError {
        AttestError::Service {
            url: self.url.clone(),
            message: e.to_string(),
        }
    }

    /// The root address the service signs with.
    pub async fn root_address(&self) -> Result<alloy_primitives::Address, AttestError> {
        self.client
            .request("attest_rootAddress", jsonrpsee::rpc_params![])
            .await
            .map_err(|e| self.error(e))
    }

    /// Gets `quote` certified, and checks the certificate against `root`.
    pub async fn certify(
        &self,
        quote: &Quote,
        root: alloy_primitives::Address,
    ) -> Result<Certificate, AttestError> {
        let certificate: Certificate = self
            .client
            .request("attest_certify", jsonrpsee::rpc_params![quote])
            .await
            .map_err(|e| self.error(e))?;
        if !certificate.is_signed_by(root) {
            return Err(AttestError::BadCertificate { root });
        }
        Ok(certificate)
    }
}

/// The `EnclaveRegistry.register` call a certificate makes (for a miner's enclave or an
/// oracle's alike).
pub fn register_call(certificate: &Certificate) -> Vec<u8> {
    use alloy_sol_types::SolCall;
    let quote = &certificate.quote;
    ankr_contracts::EnclaveRegistry::registerCall {
        enclave: quote.enclave,
        measurement: quote.measurement,
        platformId: quote.platform_id,
        nonce: quote.nonce,
        enclaveSig: quote.signature.clone(),
        rootSig: certificate.root_signature.clone(),
    }
    .abi_encode()
}
