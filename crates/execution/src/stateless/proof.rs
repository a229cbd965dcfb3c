//! STORAGE_PROOF: a precompile on every ankr chain that checks an account proof and a storage
//! proof (`eth_getProof`'s) against a block header, so that a contract can read another
//! chain's state at one of its blocks. The bridge runs on it both ways: the main chain's
//! manager reads a withdrawal from a final child header, and an account's last balance on a
//! frozen child chain (DESIGN §8).
//!
//! Input, `abi.encode(bytes header, address account, bytes32 slot, bytes[] accountProof,
//! bytes[] storageProof)`: an RLP ankr header and the proofs. Output, `abi.encode(bytes32
//! blockHash, uint256 number, bytes32 stateRoot, uint256 nonce, uint256 balance, bytes32
//! codeHash, bytes32 value)`: the header's hash (the caller compares it with one it trusts),
//! the account (all zero if the proof shows it absent) and the slot's value (zero if absent).
//! The call fails on a malformed header or a proof that does not reach the value from the
//! header's state root: a proof that cannot be checked proves nothing.
//!
//! Gas: `STORAGE_PROOF_BASE_GAS + input bytes × STORAGE_PROOF_GAS_PER_BYTE`, for hashing and
//! decoding every node.

use super::trie::{NodeDb, Nodes, TrieReadError, hashed_key, open, read_account, read_slot};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::SolValue;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use ankr_types::Header;
use revm::precompile::{PrecompileHalt, PrecompileOutput, PrecompileResult};
use std::sync::Arc;

/// Where STORAGE_PROOF answers on every ankr chain, beside EXECUTE.
pub const STORAGE_PROOF_ADDRESS: Address = address!("00000000000000000000000000000000000a0201");
/// Gas of any call: decoding and hashing the header.
pub const STORAGE_PROOF_BASE_GAS: u64 = 5_000;
/// Gas per input byte: each proof node is hashed and decoded (keccak's own price is 6 per
/// word, decoding and lookups the rest).
pub const STORAGE_PROOF_GAS_PER_BYTE: u64 = 4;

type Input = (Bytes, Address, B256, Vec<Bytes>, Vec<Bytes>);

/// What an account and one of its slots hold at a block, as proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenSlot {
    pub block_hash: B256,
    pub number: u64,
    pub state_root: B256,
    pub nonce: u64,
    pub balance: U256,
    pub code_hash: B256,
    pub value: U256,
}

/// Why a proof proves nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the header is not an RLP ankr header: {0}")]
    Header(alloy_rlp::Error),
    #[error("the proof does not reach the value: it lacks {0}")]
    Incomplete(String),
    #[error("malformed proof: {0}")]
    Malformed(String),
}

impl From<TrieReadError> for ProofError {
    fn from(error: TrieReadError) -> Self {
        match error {
            TrieReadError::MissingNode(hash) => Self::Incomplete(format!("trie node {hash}")),
            TrieReadError::Malformed(what) => Self::Malformed(what),
        }
    }
}

/// Checks `account`'s proof and its `slot`'s against the state root of `header` (RLP).
pub fn prove_slot(
    header: &[u8],
    account: Address,
    slot: B256,
    account_proof: &[Bytes],
    storage_proof: &[Bytes],
) -> Result<ProvenSlot, ProofError> {
    let header: Header = alloy_rlp::decode_exact(header).map_err(ProofError::Header)?;
    let nodes = Nodes::from_nodes(
        account_proof
            .iter()
            .chain(storage_proof)
            .map(|node| node.to_vec()),
    );
    let db = NodeDb(Arc::new(nodes));
    let accounts = open(&db, header.state_root)?;
    let found = read_account(&accounts, hashed_key(account.as_slice()))?;
    let (nonce, balance, code_hash, value) = match found {
        None => (0, U256::ZERO, B256::ZERO, U256::ZERO),
        Some(found) => {
            let value = if found.storage_root == EMPTY_ROOT_HASH {
                U256::ZERO
            } else {
                read_slot(&open(&db, found.storage_root)?, hashed_key(slot.as_slice()))?
            };
            let code_hash = if found.code_hash == KECCAK_EMPTY {
                B256::ZERO
            } else {
                found.code_hash
            };
            (found.nonce, found.balance, code_hash, value)
        }
    };
    Ok(ProvenSlot {
        block_hash: header.hash(),
        number: header.number,
        state_root: header.state_root,
        nonce,
        balance,
        code_hash,
        value,
    })
}

/// The precompile's entry point.
pub(crate) fn run(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let gas = STORAGE_PROOF_BASE_GAS
        .saturating_add((input.len() as u64).saturating_mul(STORAGE_PROOF_GAS_PER_BYTE));
    if gas > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    let halt = |why: String| {
        Ok(PrecompileOutput::halt(
            PrecompileHalt::other(why),
            reservoir,
        ))
    };
    let Ok((header, account, slot, account_proof, storage_proof)) = Input::abi_decode_params(input)
    else {
        return halt(
            "STORAGE_PROOF: input is not abi.encode(bytes,address,bytes32,bytes[],bytes[])".into(),
        );
    };
    match prove_slot(&header, account, slot, &account_proof, &storage_proof) {
        Ok(proven) => {
            let output = (
                proven.block_hash,
                U256::from(proven.number),
                proven.state_root,
                U256::from(proven.nonce),
                proven.balance,
                proven.code_hash,
                B256::from(proven.value),
            )
                .abi_encode_params();
            Ok(PrecompileOutput::new(gas, output.into(), reservoir))
        }
        Err(error) => halt(format!("STORAGE_PROOF: {error}")),
    }
}
