//! The simulated attestation service as a JSON-RPC server (`ankr attest`), and the client a
//! miner uses to get its enclave certified. SIMULATED: see `ankr_pouw::attestation`.
//!
//! Methods: `attest_rootAddress()` and `attest_certify(quote)`.

use alloy_primitives::Address;
use ankr_pouw::{AttestationService, Certificate, Quote};
use jsonrpsee::core::RpcResult;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use std::net::SocketAddr;
use std::path::Path;

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

/// The attestation service's API, declared once for its server and its clients.
#[rpc(server, client, namespace = "attest")]
pub trait AttestApi {
    /// The address whose signature the registry's `attestationRoot` must match.
    #[method(name = "rootAddress")]
    fn root_address(&self) -> RpcResult<Address>;
    /// Certifies a quote from a provisioned platform (refuses any other).
    #[method(name = "certify")]
    fn certify(&self, quote: Quote) -> RpcResult<Certificate>;
}

impl AttestApiServer for AttestationService {
    fn root_address(&self) -> RpcResult<Address> {
        Ok(AttestationService::root_address(self))
    }

    fn certify(&self, quote: Quote) -> RpcResult<Certificate> {
        AttestationService::certify(self, &quote)
            .map_err(|e| ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>))
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
        let handle = server.start(service.into_rpc());
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
    #[error("attestation service at {url}: {source}")]
    Service {
        url: String,
        source: jsonrpsee::core::ClientError,
    },
    #[error("attestation service returned a certificate not signed by root {root}")]
    BadCertificate { root: Address },
}

/// A miner's (or an oracle relay's) client of the attestation service.
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
            .map_err(|source| AttestError::Service {
                url: url.into(),
                source,
            })?;
        Ok(Self {
            url: url.into(),
            client,
        })
    }

    fn error(&self) -> impl FnOnce(jsonrpsee::core::ClientError) -> AttestError + '_ {
        |source| AttestError::Service {
            url: self.url.clone(),
            source,
        }
    }

    /// The root address the service signs with.
    pub async fn root_address(&self) -> Result<Address, AttestError> {
        AttestApiClient::root_address(&self.client)
            .await
            .map_err(self.error())
    }

    /// Gets `quote` certified, and checks the certificate against `root`.
    pub async fn certify(&self, quote: &Quote, root: Address) -> Result<Certificate, AttestError> {
        let certificate = AttestApiClient::certify(&self.client, quote.clone())
            .await
            .map_err(self.error())?;
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
