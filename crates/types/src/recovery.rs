//! Sender recovery with libsecp256k1 (5× faster than pure-Rust k256 here, DESIGN §3).

use alloy_consensus::{SignableTransaction, TxEnvelope};
use alloy_eips::Typed2718;
use alloy_primitives::{Address, B256, U256, keccak256};
use rayon::prelude::*;
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};

/// Half the secp256k1 group order: EIP-2 rejects signatures whose `s` is above it, because
/// (r, n − s) is a second valid signature of the same message (malleability).
const SECP256K1N_HALF: U256 = U256::from_be_slice(&[
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// Why no sender can be recovered from a transaction's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error("invalid signature: s is above secp256k1n/2 (EIP-2)")]
    HighS,
    #[error("invalid signature: no public key recovers from it")]
    Unrecoverable,
    #[error("transaction type {0} is not accepted on ankr")]
    UnsupportedType(u8),
}

/// Recovers the address that signed `hash`, rejecting malleable (high-s) signatures.
pub fn recover_address(
    hash: B256,
    signature: &alloy_primitives::Signature,
) -> Result<Address, RecoveryError> {
    if signature.s() > SECP256K1N_HALF {
        return Err(RecoveryError::HighS);
    }
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    compact[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
    let id =
        RecoveryId::try_from(signature.v() as i32).map_err(|_| RecoveryError::Unrecoverable)?;
    let signature = RecoverableSignature::from_compact(&compact, id)
        .map_err(|_| RecoveryError::Unrecoverable)?;
    let key = SECP256K1
        .recover_ecdsa(Message::from_digest(hash.0), &signature)
        .map_err(|_| RecoveryError::Unrecoverable)?;
    Ok(Address::from_slice(
        &keccak256(&key.serialize_uncompressed()[1..])[12..],
    ))
}

/// Recovers the sender of a transaction. Blob (EIP-4844) transactions are refused: ankr has no
/// blob market.
pub fn recover_sender(tx: &TxEnvelope) -> Result<Address, RecoveryError> {
    let (hash, signature) = match tx {
        TxEnvelope::Legacy(t) => (t.tx().signature_hash(), t.signature()),
        TxEnvelope::Eip2930(t) => (t.tx().signature_hash(), t.signature()),
        TxEnvelope::Eip1559(t) => (t.tx().signature_hash(), t.signature()),
        TxEnvelope::Eip7702(t) => (t.tx().signature_hash(), t.signature()),
        other => return Err(RecoveryError::UnsupportedType(other.ty())),
    };
    recover_address(hash, signature)
}

/// Recovers many senders on all cores: recovery, not the EVM, bounds block import (DESIGN §3).
pub fn recover_senders(txs: &[TxEnvelope]) -> Vec<Result<Address, RecoveryError>> {
    txs.par_iter().map(recover_sender).collect()
}

/// Signs with a raw secret key. Used by dev tooling, tests and benchmarks that must produce
/// real signed transactions without a wallet.
pub fn sign_hash(secret: &secp256k1::SecretKey, hash: B256) -> alloy_primitives::Signature {
    let signature = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(hash.0), secret);
    let (id, compact) = signature.serialize_compact();
    alloy_primitives::Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(id) != 0,
    )
}

/// The address of a secret key.
pub fn address_of(secret: &secp256k1::SecretKey) -> Address {
    let public = secret.public_key(SECP256K1);
    Address::from_slice(&keccak256(&public.serialize_uncompressed()[1..])[12..])
}

/// Signs an unsigned transaction into an envelope.
pub fn sign_transaction<T>(secret: &secp256k1::SecretKey, tx: T) -> TxEnvelope
where
    T: SignableTransaction<alloy_primitives::Signature>,
    TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    let signature = sign_hash(secret, tx.signature_hash());
    TxEnvelope::from(tx.into_signed(signature))
}

/// The secp256k1 group order n, for tests that build high-s signatures.
pub const SECP256K1N: U256 = U256::from_be_slice(&[
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
]);

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::TxEip1559;
    use alloy_primitives::TxKind;

    fn key(byte: u8) -> secp256k1::SecretKey {
        secp256k1::SecretKey::from_byte_array([byte; 32]).unwrap()
    }

    fn transfer(nonce: u64) -> TxEip1559 {
        TxEip1559 {
            chain_id: 42424,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(1),
            ..Default::default()
        }
    }

    #[test]
    fn recovers_the_signer() {
        let tx = sign_transaction(&key(7), transfer(0));
        assert_eq!(recover_sender(&tx).unwrap(), address_of(&key(7)));
    }

    #[test]
    fn high_s_twin_of_a_valid_signature_is_rejected() {
        let unsigned = transfer(0);
        let good = sign_hash(&key(7), unsigned.signature_hash());
        let twin = alloy_primitives::Signature::new(good.r(), SECP256K1N - good.s(), !good.v());
        let tx = TxEnvelope::from(unsigned.into_signed(twin));
        assert_eq!(recover_sender(&tx), Err(RecoveryError::HighS));
    }

    #[test]
    fn parallel_recovery_matches_serial() {
        let txs: Vec<_> = (0..64)
            .map(|i| sign_transaction(&key(1 + (i % 5) as u8), transfer(i)))
            .collect();
        let serial: Vec<_> = txs.iter().map(recover_sender).collect();
        assert_eq!(recover_senders(&txs), serial);
    }
}
