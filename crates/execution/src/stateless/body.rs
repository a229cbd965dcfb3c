//! BLOCK_BODY: a precompile that checks a block's body against its header, so that a child
//! chain's manager can take a published body as the answer to an availability challenge
//! (DESIGN §8): the header must be the committed one and the transactions its root names.
//!
//! Input: an RLP block (`rlp([header, [tx, …]])`). Output, `abi.encode(bytes32 headerHash,
//! uint256 number, bool bodyMatches)`. The call fails on input that is not an RLP block.
//! Gas: `BLOCK_BODY_BASE_GAS + input bytes × BLOCK_BODY_GAS_PER_BYTE` (hashing every
//! transaction into the ordered trie).

use alloy_primitives::{Address, U256, address};
use alloy_sol_types::SolValue;
use ankr_types::Block;
use revm::precompile::{PrecompileHalt, PrecompileOutput, PrecompileResult};

/// Where BLOCK_BODY answers on every ankr chain, beside EXECUTE and STORAGE_PROOF.
pub const BLOCK_BODY_ADDRESS: Address = address!("00000000000000000000000000000000000a0202");
/// Gas of any call: decoding and hashing the header.
pub const BLOCK_BODY_BASE_GAS: u64 = 3_000;
/// Gas per input byte: the transactions are hashed into their trie.
pub const BLOCK_BODY_GAS_PER_BYTE: u64 = 3;

/// The precompile's entry point.
pub(crate) fn run(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let gas = BLOCK_BODY_BASE_GAS
        .saturating_add((input.len() as u64).saturating_mul(BLOCK_BODY_GAS_PER_BYTE));
    if gas > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    let Ok(block) = Block::decode_exact(input) else {
        return Ok(PrecompileOutput::halt(
            PrecompileHalt::other("BLOCK_BODY: input is not an RLP block"),
            reservoir,
        ));
    };
    let root = alloy_consensus::proofs::calculate_transaction_root(&block.transactions);
    let output = (
        block.header.hash(),
        U256::from(block.header.number),
        root == block.header.transactions_root,
    )
        .abi_encode_params();
    Ok(PrecompileOutput::new(gas, output.into(), reservoir))
}
