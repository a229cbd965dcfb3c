//! The oracle enclave, SIMULATED (DESIGN §2): its own key, platform id and measurement,
//! certified by the attestation service and registered in `EnclaveRegistry` as an oracle.
//! It fetches over HTTPS itself (TLS ends here, not in the relay), extracts the value and
//! signs the datagram `NativeOracle.deliver` checks.

use crate::datagram::{Datagram, OracleRequest, code, datagram_digest, kind};
use crate::extract::{ValueQuery, decode_document_url, encode_value, select_json, select_xml};
use crate::fetch::{FetchLimits, Fetcher, FetcherSetupError};
use crate::private::{self, EncryptionKey, PRIVATE};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;
use ankr_pouw::{Platform, Quote, signing};
use secp256k1::SecretKey;
use std::path::Path;

/// Largest `data` a delivery carries (`NativeOracle.MAX_DATA_BYTES`).
pub const MAX_DATA_BYTES: usize = 32_768;

/// The measurement of this build's simulated oracle enclave: its code version and limits, so
/// that enclaves with one measurement answer alike.
pub fn oracle_measurement(limits: FetchLimits) -> B256 {
    keccak256(
        (
            "ankr simulated oracle enclave",
            env!("CARGO_PKG_VERSION"),
            U256::from(limits.timeout.as_millis()),
            U256::from(limits.max_bytes),
            U256::from(limits.max_redirects),
            U256::from(MAX_DATA_BYTES),
        )
            .abi_encode_params(),
    )
}

/// What an enclave signs to publish its encryption key (`NativeOracle.encryptionKeyDigest`).
pub fn encryption_key_digest(chain_id: u64, oracle: Address, enclave: Address, key: B256) -> B256 {
    keccak256(
        (
            keccak256("ankr.oracle.encryption-key.v1"),
            U256::from(chain_id),
            oracle,
            enclave,
            key,
        )
            .abi_encode_params(),
    )
}

/// A simulated oracle enclave.
pub struct OracleEnclave {
    key: SecretKey,
    address: Address,
    platform: Platform,
    measurement: B256,
    fetcher: Fetcher,
    /// HPKE key for private requests, derived from the signing key (sealed with it).
    encryption: EncryptionKey,
}

impl OracleEnclave {
    /// An enclave with `key` on the platform whose provisioning key is `platform_secret`,
    /// trusting the system roots and `extra_cas`.
    pub fn new(
        key: SecretKey,
        platform_secret: B256,
        extra_cas: &[&Path],
        limits: FetchLimits,
    ) -> Result<Self, FetcherSetupError> {
        let encryption = EncryptionKey::derive(
            keccak256([b"ankr oracle hpke".as_slice(), &key.secret_bytes()].concat()).as_slice(),
        );
        Ok(Self {
            encryption,
            address: ankr_types::recovery::address_of(&key),
            key,
            platform: Platform::from_secret(platform_secret),
            measurement: oracle_measurement(limits),
            fetcher: Fetcher::new(extra_cas, limits)?,
        })
    }

    /// The enclave whose sealed state (simulated: plain files) is in `dir`, made if missing.
    pub fn open(dir: &Path, extra_cas: &[&Path], limits: FetchLimits) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir)?;
        let key = ankr_pouw::signing::read_or_create(&dir.join("oracle.key"))?;
        let platform = ankr_pouw::signing::read_or_create(&dir.join("platform.id"))?;
        let key = SecretKey::from_byte_array(key.0)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Self::new(key, platform, extra_cas, limits)?)
    }

    pub fn address(&self) -> Address {
        self.address
    }

    pub fn platform_id(&self) -> B256 {
        self.platform.id()
    }

    /// The platform's provisioning address (what `ankr attest provision` records).
    pub fn platform_address(&self) -> Address {
        self.platform.address()
    }

    pub fn measurement(&self) -> B256 {
        self.measurement
    }

    /// The public key private requests are sealed to.
    pub fn encryption_key(&self) -> B256 {
        self.encryption.public()
    }

    /// The enclave's signature publishing its encryption key in the oracle contract
    /// (`NativeOracle.publishEncryptionKey`).
    pub fn sign_encryption_key(&self, chain_id: u64, oracle: Address) -> [u8; 65] {
        let digest = encryption_key_digest(chain_id, oracle, self.address, self.encryption_key());
        signing::sign(&self.key, digest)
    }

    /// Whether this enclave can answer `request` (a private one may be sealed to another).
    pub fn serves(&self, request: &OracleRequest) -> bool {
        // A malformed private request is answered (with "bad request"); a well-formed one
        // only by the enclave it is sealed to.
        request.kind & PRIVATE == 0
            || private::sealed_to(&request.params).map_or(true, |to| to == self.address)
    }

    /// A quote for the attestation service, `nonce` a recent block hash.
    pub fn quote(&self, nonce: B256) -> Quote {
        Quote::sign(&self.key, self.measurement, &self.platform, nonce)
    }

    /// Serves `request`: opens it if private, fetches, extracts, seals the answer if asked,
    /// and signs the answer or the error code for `relay` to deliver.
    pub async fn answer(&self, request: &OracleRequest, relay: Address) -> Datagram {
        let (code, data) = match self.answer_data(request).await {
            Ok(data) if data.len() > MAX_DATA_BYTES => (code::TOO_LARGE, Vec::new()),
            Ok(data) => (code::OK, data),
            Err(code) => (code, Vec::new()),
        };
        self.sign(request, relay, code, data)
    }

    async fn answer_data(&self, request: &OracleRequest) -> Result<Vec<u8>, u16> {
        if request.kind & PRIVATE == 0 {
            return self.fetch_and_extract(request).await;
        }
        let (params, response_key) = private::open_request(&self.encryption, self.address, request)
            .map_err(|error| {
                tracing::info!(id = request.id, %error, "private request refused");
                code::BAD_REQUEST
            })?;
        let inner = OracleRequest {
            kind: request.kind & !PRIVATE,
            params,
            ..request.clone()
        };
        let data = self.fetch_and_extract(&inner).await?;
        Ok(match response_key {
            Some(key) => {
                private::seal_response(key, request.chain_id, request.oracle, request.id, &data)
            }
            None => data,
        })
    }

    /// Signs `data` with `code` as the answer to `request`, deliverable by `relay` only.
    pub fn sign(
        &self,
        request: &OracleRequest,
        relay: Address,
        code: u16,
        data: Vec<u8>,
    ) -> Datagram {
        let params_hash = request.params_hash();
        let digest = datagram_digest(
            request.chain_id,
            request.oracle,
            request.id,
            params_hash,
            code,
            &data,
            relay,
        );
        Datagram {
            id: request.id,
            params_hash,
            code,
            data,
            signature: signing::sign(&self.key, digest),
        }
    }

    async fn fetch_and_extract(&self, request: &OracleRequest) -> Result<Vec<u8>, u16> {
        match request.kind {
            kind::JSON | kind::XML => {
                let query = ValueQuery::decode(&request.params).map_err(|e| e.code())?;
                let document = self.fetcher.get(&query.url).await.map_err(|e| {
                    tracing::info!(id = request.id, url = %query.url, error = %e, "oracle fetch failed");
                    e.code()
                })?;
                let text = if request.kind == kind::JSON {
                    select_json(&document, &query.path)
                } else {
                    select_xml(&document, &query.path)
                }
                .map_err(|e| e.code())?;
                encode_value(&text, &query.result_type, query.decimals).map_err(|e| e.code())
            }
            kind::DOCUMENT => {
                let url = decode_document_url(&request.params).map_err(|e| e.code())?;
                let document = self.fetcher.get(&url).await.map_err(|e| e.code())?;
                Ok(alloy_primitives::Bytes::from(document).abi_encode())
            }
            _ => Err(code::BAD_REQUEST),
        }
    }
}

/// Why an enclave folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Setup(#[from] FetcherSetupError),
}
