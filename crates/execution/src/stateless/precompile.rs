//! EXECUTE (DESIGN §8; EIP-8079's idea, which no chain has shipped): a main-chain precompile
//! that re-executes one child-chain block from its witness with the code every node runs, so
//! that a contract — an EVM child chain's manager — can check a child block in one call.
//!
//! Input, `abi.encode(uint256 chainId, uint256 maxTxGas, uint256 blockReward, bytes block,
//! bytes[] state, bytes[] codes, bytes[] headers)`: the child chain's execution settings, the
//! RLP block and its witness. Output, `abi.encode(bytes32 blockHash, bytes32 parentHash,
//! uint256 number, bool valid, bytes32 stateRoot, bytes32 receiptsRoot, uint256 gasUsed,
//! bytes32 anchor, uint256 timestamp, bytes32 parentAnchor, address sealer)`, the anchors being
//! what the block's and its parent's first system call wrote into the child chain's bridge (the
//! manager checks the block's is one it gave, and timely), the sealer who signed its operator
//! seal (zero if nobody validly did; the manager compares it with its owner):
//! `valid` says whether the block's header keeps the rules that follow from its parent (as
//! nodes check them on import: `check_child_header`) and states what its execution computes
//! (the roots, gas and bloom; every transaction valid), and the roots and gas are the computed
//! ones (zero when a header rule is broken or a transaction cannot run). The call fails — never answers `valid = false` — when the
//! input is malformed or the witness incomplete or not the block's: a proof that cannot be
//! checked proves nothing against anyone.
//!
//! Gas: `EXECUTE_BASE_GAS + gasUsed × EXECUTE_GAS_PER_CHILD_GAS + input bytes ×
//! EXECUTE_GAS_PER_BYTE`, charged before running, with `gasUsed` as the header claims it; the
//! run stops as soon as the block uses more than that (the header is then wrong anyway), so a
//! claim cannot buy more work than it pays for.

use super::execute::{StatelessError, StatelessOutcome, execute};
use super::witness::ExecutionWitness;
use crate::ChainConfig;
use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::SolValue;
use ankr_types::Block;
use revm::precompile::{
    Precompile, PrecompileHalt, PrecompileId, PrecompileOutput, PrecompileResult, Precompiles,
};

/// Where EXECUTE answers on every ankr chain: ankr's precompiles live at 0x…0a02xx, beside
/// the system contracts (0x…0a00xx) and the devnet's example contracts (0x…0a01xx).
pub const EXECUTE_ADDRESS: Address = address!("00000000000000000000000000000000000a0200");
/// Gas of any EXECUTE call: decoding and hashing the block, checking the ancestry.
pub const EXECUTE_BASE_GAS: u64 = 50_000;
/// Main-chain gas per unit of child gas the block claims to use: stateless execution reads
/// state through trie nodes rather than tables, and `ankr bench --only execute` measured it at
/// 1.75–1.93 times the node's own execution of the same block (transfers and ERC-20 transfers,
/// 1,000 and 4,000 a block), so a child gas costs two main-chain gas.
pub const EXECUTE_GAS_PER_CHILD_GAS: u64 = 2;
/// Main-chain gas per input byte, beyond the calldata's own price: every witness node is
/// hashed and decoded.
pub const EXECUTE_GAS_PER_BYTE: u64 = 8;

type Input = (U256, U256, U256, Bytes, Vec<Bytes>, Vec<Bytes>, Vec<Bytes>);

/// The precompiles of ankr's EVM: Ethereum's (Prague), EXECUTE, STORAGE_PROOF and BLOCK_BODY.
pub fn precompiles() -> &'static Precompiles {
    static ALL: std::sync::OnceLock<Precompiles> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Precompiles::prague().clone();
        all.extend([
            Precompile::new(PrecompileId::Custom("EXECUTE".into()), EXECUTE_ADDRESS, run),
            Precompile::new(
                PrecompileId::Custom("STORAGE_PROOF".into()),
                super::proof::STORAGE_PROOF_ADDRESS,
                super::proof::run,
            ),
            Precompile::new(
                PrecompileId::Custom("BLOCK_BODY".into()),
                super::body::BLOCK_BODY_ADDRESS,
                super::body::run,
            ),
        ]);
        all
    })
}

/// What EXECUTE costs for an input of `input_len` bytes whose block claims `gas_used`.
pub fn execute_gas(gas_used: u64, input_len: usize) -> u64 {
    EXECUTE_BASE_GAS
        .saturating_add(gas_used.saturating_mul(EXECUTE_GAS_PER_CHILD_GAS))
        .saturating_add((input_len as u64).saturating_mul(EXECUTE_GAS_PER_BYTE))
}

fn run(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let halt = |why: String| {
        Ok(PrecompileOutput::halt(
            PrecompileHalt::other(why),
            reservoir,
        ))
    };
    let Ok((chain_id, max_tx_gas, block_reward, block, state, codes, headers)) =
        Input::abi_decode_params(input)
    else {
        return halt("EXECUTE: input is not abi.encode(uint256,uint256,uint256,bytes,bytes[],bytes[],bytes[])".into());
    };
    let Ok(block) = Block::decode_exact(&block) else {
        return halt("EXECUTE: block is not an RLP block".into());
    };
    let gas = execute_gas(block.header.gas_used, input.len());
    if gas > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    let config = ChainConfig {
        chain_id: chain_id.saturating_to(),
        max_tx_gas: max_tx_gas.saturating_to(),
        block_reward,
        // EXECUTE runs child-chain blocks, each of which begins with its anchor.
        anchored: true,
    };
    let witness = ExecutionWitness {
        state,
        codes,
        headers,
    };
    // The parent's anchor, for the manager's rule that anchors never go back.
    let Some(parent) = witness
        .headers
        .first()
        .and_then(|raw| alloy_rlp::decode_exact::<ankr_types::Header>(raw).ok())
    else {
        return halt("EXECUTE: the witness's first header is not an RLP header".into());
    };
    let answer = match execute(&config, &block, &witness) {
        Ok(outcome) => Answer::of(&block, Some(&outcome)),
        Err(
            error @ (StatelessError::Malformed(_)
            | StatelessError::NotTheParent { .. }
            | StatelessError::Incomplete(_)),
        ) => return halt(format!("EXECUTE: {error}")),
        // A header rule broken, a transaction that cannot run, a bad signature, more gas than
        // the header claims: the block is invalid.
        Err(_) => Answer::of(&block, None),
    };
    let answer = Answer {
        parent_anchor: parent.child_chains_root,
        sealer: block
            .header
            .seal
            .operator_signer(config.chain_id, block.header.template_hash())
            .unwrap_or_default(),
        ..answer
    };
    Ok(PrecompileOutput::new(gas, answer.encode(), reservoir))
}

/// EXECUTE's answer.
struct Answer {
    block_hash: B256,
    parent_hash: B256,
    number: u64,
    valid: bool,
    state_root: B256,
    receipts_root: B256,
    gas_used: u64,
    anchor: B256,
    timestamp: u64,
    parent_anchor: B256,
    sealer: Address,
}

impl Answer {
    fn of(block: &Block, outcome: Option<&StatelessOutcome>) -> Self {
        let header = &block.header;
        let valid = outcome.is_some_and(|o| {
            o.state_root == header.state_root
                && o.transactions_root == header.transactions_root
                && o.receipts_root == header.receipts_root
                && o.gas_used == header.gas_used
                && o.logs_bloom == header.logs_bloom
        });
        Self {
            block_hash: header.hash(),
            parent_hash: header.parent_hash,
            number: header.number,
            valid,
            state_root: outcome.map_or(B256::ZERO, |o| o.state_root),
            receipts_root: outcome.map_or(B256::ZERO, |o| o.receipts_root),
            gas_used: outcome.map_or(0, |o| o.gas_used),
            anchor: header.child_chains_root,
            timestamp: header.timestamp,
            parent_anchor: B256::ZERO,
            sealer: Address::ZERO,
        }
    }

    fn encode(&self) -> Bytes {
        (
            self.block_hash,
            self.parent_hash,
            U256::from(self.number),
            self.valid,
            self.state_root,
            self.receipts_root,
            U256::from(self.gas_used),
            self.anchor,
            U256::from(self.timestamp),
            self.parent_anchor,
            self.sealer,
        )
            .abi_encode_params()
            .into()
    }
}
