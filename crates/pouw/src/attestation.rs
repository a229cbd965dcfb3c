//! The simulated attestation service (it stands in for Intel's; DESIGN §2).
//!
//! An enclave produces a [`Quote`]: its address, measurement and platform id with a nonce (a
//! recent block hash), signed by the enclave key to prove it holds it. The service checks the
//! quote and signs the same digest with the attestation root key, giving a [`Certificate`] that
//! `EnclaveRegistry` verifies with `ecrecover` against the root address in genesis. The root's
//! private key lives only in the service's process, never in a miner's configuration.
//!
//! SIMULATED: nothing here proves that the code runs in real trusted hardware.

use crate::signing;
use alloy_primitives::{Address, B256, Bytes};
use secp256k1::SecretKey;
use serde::{Deserialize, Serialize};

/// An enclave's request for a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub enclave: Address,
    pub measurement: B256,
    pub platform_id: B256,
    pub nonce: B256,
    /// The enclave's signature over [`signing::attestation_digest`].
    pub signature: Bytes,
}

impl Quote {
    /// The quote an enclave holding `key` makes for `nonce` (every kind of simulated enclave
    /// quotes alike; only the measurement differs).
    pub fn sign(key: &SecretKey, measurement: B256, platform_id: B256, nonce: B256) -> Self {
        let enclave = ankr_types::recovery::address_of(key);
        let digest = signing::attestation_digest(enclave, measurement, platform_id, nonce);
        Self {
            enclave,
            measurement,
            platform_id,
            nonce,
            signature: signing::sign(key, digest).to_vec().into(),
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
}

/// The simulated attestation service: holds the root key and certifies quotes.
pub struct AttestationService {
    root: SecretKey,
}

impl AttestationService {
    /// A service with the given root key.
    pub fn new(root: SecretKey) -> Self {
        Self { root }
    }

    /// The root address genesis must name so that the registry trusts this service.
    pub fn root_address(&self) -> Address {
        signing::address_of(&self.root)
    }

    /// Certifies a quote whose enclave signature checks out. Like Intel's service it attests
    /// what the platform reports; which measurements are allowed is the registry's rule.
    pub fn certify(&self, quote: &Quote) -> Result<Certificate, AttestationError> {
        let digest = quote.digest();
        if signing::recover(digest, &quote.signature) != Some(quote.enclave) {
            return Err(AttestationError::NotSignedByEnclave);
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
