//! The signed messages of PoUW, laid out as Solidity's `abi.encode` so that contracts check
//! them with `ecrecover` exactly as nodes do.
//!
//! Every digest starts with a domain tag, so a signature made for one purpose (an attestation,
//! a seal, a work result) can never be replayed as another.

use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use alloy_sol_types::SolValue;
use secp256k1::SecretKey;
use std::path::Path;

/// Tag of attestation reports and certificates.
pub fn attestation_domain() -> B256 {
    keccak256("ankr.attestation.v1")
}
/// Tag of subtask seals (the lottery draw).
pub fn seal_domain() -> B256 {
    keccak256("ankr.pouw.seal.v1")
}
/// Tag of work results delivered to the WorkMarket.
pub fn result_domain() -> B256 {
    keccak256("ankr.pouw.result.v1")
}

/// What the attestation service certifies (and what the enclave signs to prove it holds the key).
pub fn attestation_digest(
    enclave: Address,
    measurement: B256,
    platform_id: B256,
    nonce: B256,
) -> B256 {
    keccak256(
        (
            attestation_domain(),
            enclave,
            measurement,
            platform_id,
            nonce,
        )
            .abi_encode_params(),
    )
}

/// What the enclave signs for a subtask: the template it was bound to, the difficulty, the work
/// and what it measured. Its hash is the lottery draw.
pub fn seal_digest(
    template_hash: B256,
    difficulty: U256,
    task_id: B256,
    subtask: u64,
    instructions: u64,
    result_hash: B256,
) -> B256 {
    keccak256(
        (
            seal_domain(),
            template_hash,
            difficulty,
            task_id,
            U256::from(subtask),
            U256::from(instructions),
            result_hash,
        )
            .abi_encode_params(),
    )
}

/// What a live enclave signs for the WorkMarket (`WorkMarket.resultDigest`): the chain and
/// market, the task and its blobs, the miner to pay, and what the run produced.
#[allow(clippy::too_many_arguments)]
pub fn result_digest(
    chain_id: u64,
    market: Address,
    task: U256,
    module_hash: B256,
    input_hash: B256,
    payee: Address,
    result_hash: B256,
    instructions: u64,
    outcome: u8,
) -> B256 {
    keccak256(
        (
            result_domain(),
            U256::from(chain_id),
            market,
            task,
            module_hash,
            input_hash,
            payee,
            result_hash,
            U256::from(instructions),
            U256::from(outcome),
        )
            .abi_encode_params(),
    )
}

/// Signs `digest` the way `ecrecover` expects: r ‖ s ‖ v with v ∈ {27, 28}, low s.
/// RFC 6979 nonces make it deterministic: one message, one signature.
pub fn sign(secret: &SecretKey, digest: B256) -> [u8; 65] {
    ankr_types::recovery::sign_hash(secret, digest).as_bytes()
}

/// The address that signed `digest`, or `None` if the signature is not in its one canonical
/// encoding: 65 bytes, low s, v ∈ {27, 28} (what `ecrecover` takes). A seal's draw hashes
/// these bytes, so a second accepted encoding (v ∈ {0, 1}) would be a second lottery ticket.
pub fn recover(digest: B256, signature: &[u8]) -> Option<Address> {
    let bytes: &[u8; 65] = signature.try_into().ok()?;
    let parity = match bytes[64] {
        27 => false,
        28 => true,
        _ => return None,
    };
    let signature = Signature::new(
        U256::from_be_slice(&bytes[..32]),
        U256::from_be_slice(&bytes[32..64]),
        parity,
    );
    ankr_types::recovery::recover_address(digest, &signature).ok()
}

/// The Ethereum address of a secret key.
pub use ankr_types::recovery::address_of;

/// Reads 32 secret bytes from `path`, or writes fresh random ones (a simulated enclave's
/// sealed state: plain files).
pub fn read_or_create(path: &Path) -> std::io::Result<B256> {
    match std::fs::read(path) {
        Ok(bytes) => B256::try_from(bytes.as_slice())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "need 32 bytes")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let fresh = SecretKey::new(&mut secp256k1::rand::rng()).secret_bytes();
            std::fs::write(path, fresh)?;
            Ok(B256::from(fresh))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_recover_and_are_deterministic() {
        let key = SecretKey::from_byte_array([7; 32]).unwrap();
        let digest = keccak256("message");
        let a = sign(&key, digest);
        assert_eq!(a, sign(&key, digest));
        assert_eq!(recover(digest, &a), Some(address_of(&key)));
        assert_ne!(recover(keccak256("other"), &a), Some(address_of(&key)));
        assert_eq!(recover(digest, &a[..64]), None);
    }

    #[test]
    fn only_the_canonical_encoding_recovers() {
        let key = SecretKey::from_byte_array([7; 32]).unwrap();
        let digest = keccak256("message");
        let mut other = sign(&key, digest);
        assert!(other[64] == 27 || other[64] == 28);
        other[64] -= 27;
        assert_eq!(
            recover(digest, &other),
            None,
            "v in {{0, 1}} is a second encoding"
        );
    }
}
