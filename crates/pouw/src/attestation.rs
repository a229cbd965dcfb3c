//! The simulated attestation service (it stands in for Intel's; DESIGN §2).
//!
//! An enclave produces a [`Quote`]: its address, measurement and platform id with a nonce (a
//! recent block hash), signed by the enclave key to prove it holds it. The service checks the
//! quote and signs the same digest with the attestation root key, giving a [`Certificate`] that
//! `EnclaveRegistry` verifies with `ecrecover` against the root address in genesis. The root's
//! private key lives only in the service's process, never in a miner's configuration.
//!
//! **Platforms are scarce.** Real SGX ties a platform to a CPU someone paid for: the
//! manufacturer fuses a provisioning key into each CPU and the attestation service certifies
//! only quotes signed by a key it provisioned. The simulation models that: a [`Platform`] is a
//! provisioning key (its id is the keccak of its address), the service keeps the list of
//! platforms it provisioned (`ankr attest provision`, the simulated manufacturer), and a quote
//! must carry the platform's signature. A host that makes up platform ids, or names another
//! host's platform, is refused; without that, one key holder registered ten extra platforms
//! and sealed 200 of 200 blocks.
//!
//! SIMULATED: nothing here proves that the code runs in real trusted hardware.

use crate::signing;
use alloy_primitives::{Address, B256, Bytes, keccak256};
use secp256k1::SecretKey;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// A (simulated) CPU: the provisioning key its manufacturer fused into it.
#[derive(Clone)]
pub struct Platform {
    key: SecretKey,
}

impl Platform {
    /// The platform whose provisioning key is `secret` (tests and benches name platforms so).
    /// A secret that is no valid key (zero, or at least the curve order: one in 2^128) is
    /// hashed once more.
    pub fn from_secret(secret: B256) -> Self {
        let key = SecretKey::from_byte_array(secret.0)
            .unwrap_or_else(|_| SecretKey::from_byte_array(keccak256(secret).0).expect("valid"));
        Self { key }
    }

    /// The platform whose key is sealed in `dir` (simulated: the file `platform.id`), made
    /// there if missing. A made-up platform is not provisioned: the attestation service
    /// refuses it until `ankr attest provision` records it.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self::from_secret(signing::read_or_create(
            &dir.join("platform.id"),
        )?))
    }

    /// The address of the provisioning key: what the manufacturer records.
    pub fn address(&self) -> Address {
        signing::address_of(&self.key)
    }

    /// The platform id the registry keys enclaves by: keccak256 of the address.
    pub fn id(&self) -> B256 {
        platform_id_of(self.address())
    }

    fn sign(&self, digest: B256) -> [u8; 65] {
        signing::sign(&self.key, digest)
    }
}

/// The platform id of a provisioning address.
pub fn platform_id_of(address: Address) -> B256 {
    keccak256(address)
}

/// An enclave's request for a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub enclave: Address,
    pub measurement: B256,
    pub platform_id: B256,
    pub nonce: B256,
    /// The enclave's signature over [`signing::attestation_digest`].
    pub signature: Bytes,
    /// The platform's provisioning-key signature over the same digest.
    pub platform_signature: Bytes,
}

impl Quote {
    /// The quote an enclave holding `key` on `platform` makes for `nonce` (every kind of
    /// simulated enclave quotes alike; only the measurement differs).
    pub fn sign(key: &SecretKey, measurement: B256, platform: &Platform, nonce: B256) -> Self {
        let enclave = ankr_types::recovery::address_of(key);
        let platform_id = platform.id();
        let digest = signing::attestation_digest(enclave, measurement, platform_id, nonce);
        Self {
            enclave,
            measurement,
            platform_id,
            nonce,
            signature: signing::sign(key, digest).to_vec().into(),
            platform_signature: platform.sign(digest).to_vec().into(),
        }
    }

    /// The digest both the enclave and the root sign.
    pub fn digest(&self) -> B256 {
        signing::attestation_digest(self.enclave, self.measurement, self.platform_id, self.nonce)
    }
}

/// A quote countersigned by the attestation root: what a registration transaction carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub quote: Quote,
    /// The root's signature over the same digest.
    pub root_signature: Bytes,
}

/// Why a quote was not certified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    #[error("quote is not signed by the enclave key it names")]
    NotSignedByEnclave,
    #[error(
        "platform {0} was not provisioned by the (simulated) manufacturer: run `ankr attest provision`"
    )]
    NotProvisioned(B256),
    #[error("quote is not signed by the provisioning key of platform {0}")]
    NotSignedByPlatform(B256),
    #[error("cannot read or write the provisioned platforms file {path}: {message}")]
    Records { path: String, message: String },
}

/// The simulated attestation service: holds the root key, knows the platforms it
/// provisioned, and certifies quotes from them.
pub struct AttestationService {
    root: SecretKey,
    /// Provisioning addresses of the platforms this service will certify.
    platforms: RwLock<HashSet<Address>>,
    /// Where the manufacturer's records live (`ankr attest --dir`), read again when a quote
    /// names an unknown platform, so that platforms provisioned later are certified too.
    records: Option<PathBuf>,
}

impl AttestationService {
    /// A service with the given root key and no platform provisioned yet.
    pub fn new(root: SecretKey) -> Self {
        Self {
            root,
            platforms: RwLock::new(HashSet::new()),
            records: None,
        }
    }

    /// A service that keeps its provisioned platforms in `records` (one address per line).
    pub fn with_records(root: SecretKey, records: PathBuf) -> Self {
        Self {
            records: Some(records),
            ..Self::new(root)
        }
    }

    /// Provisions `platform`: the simulated manufacturer records a CPU it made. Written to
    /// the records file, if the service has one.
    pub fn provision(&self, platform: Address) -> Result<B256, AttestationError> {
        if let Some(path) = &self.records {
            provision_in(path, platform)?;
        }
        self.platforms
            .write()
            .expect("platforms lock")
            .insert(platform);
        Ok(platform_id_of(platform))
    }

    fn is_provisioned(&self, platform: Address) -> bool {
        if self
            .platforms
            .read()
            .expect("platforms lock")
            .contains(&platform)
        {
            return true;
        }
        let Some(path) = &self.records else {
            return false;
        };
        let recorded = read_records(path).unwrap_or_default();
        let found = recorded.contains(&platform);
        *self.platforms.write().expect("platforms lock") = recorded;
        found
    }

    /// The root address genesis must name so that the registry trusts this service.
    pub fn root_address(&self) -> Address {
        signing::address_of(&self.root)
    }

    /// Certifies a quote whose enclave signature checks out and whose platform this service
    /// provisioned and signed it. Like Intel's service it attests what the platform reports;
    /// which measurements are allowed is the registry's rule.
    pub fn certify(&self, quote: &Quote) -> Result<Certificate, AttestationError> {
        let digest = quote.digest();
        if signing::recover(digest, &quote.signature) != Some(quote.enclave) {
            return Err(AttestationError::NotSignedByEnclave);
        }
        let platform = signing::recover(digest, &quote.platform_signature)
            .filter(|address| platform_id_of(*address) == quote.platform_id)
            .ok_or(AttestationError::NotSignedByPlatform(quote.platform_id))?;
        if !self.is_provisioned(platform) {
            return Err(AttestationError::NotProvisioned(quote.platform_id));
        }
        Ok(Certificate {
            quote: quote.clone(),
            root_signature: signing::sign(&self.root, digest).to_vec().into(),
        })
    }
}

impl Certificate {
    /// Checks the root's signature (what the registry does on chain, for tools and tests).
    pub fn is_signed_by(&self, root: Address) -> bool {
        signing::recover(self.quote.digest(), &self.root_signature) == Some(root)
    }
}

/// The provisioned platforms recorded in `path` (missing file: none).
fn read_records(path: &Path) -> Result<HashSet<Address>, AttestationError> {
    let error = |message: String| AttestationError::Records {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| line.parse::<Address>().map_err(|e| error(e.to_string())))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashSet::new()),
        Err(e) => Err(error(e.to_string())),
    }
}

/// Records `platform` in the records file at `path` (the simulated manufacturer's books),
/// once; returns its platform id.
pub fn provision_in(path: &Path, platform: Address) -> Result<B256, AttestationError> {
    let mut recorded = read_records(path)?;
    if recorded.insert(platform) {
        let mut lines: Vec<String> = recorded.iter().map(|a| a.to_string()).collect();
        lines.sort();
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(path, lines.join("\n") + "\n").map_err(|e| AttestationError::Records {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(platform_id_of(platform))
}
