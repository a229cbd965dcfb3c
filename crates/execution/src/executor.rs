//! Runs a block's transactions.

use crate::{BlockContext, BlockState, ChainConfig, StateDb, StateError, tx_env};
use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxType};
use alloy_eips::Typed2718;
use alloy_primitives::Address;
use alloy_primitives::{B256, Bloom};
use ankr_storage::{StateChanges, StateReader};
use ankr_types::RecoveredTx;
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext, SystemCallCommitEvm,
    context::result::{EVMError, InvalidTransaction},
    handler::{MainnetContext, MainnetEvm},
    state::AccountInfo,
};

/// Whether a transaction that cannot run is skipped (building) or fails the block (importing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Build,
    Import,
}

/// Why a block could not be executed; for an imported block, the rule it broke.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error("transaction {index} ({hash}) is invalid: {reason}")]
    InvalidTransaction {
        index: usize,
        hash: B256,
        reason: String,
    },
    #[error("transaction {index} ({hash}) asks for {gas} gas but only {left} is left in the block")]
    BlockGasExceeded {
        index: usize,
        hash: B256,
        gas: u64,
        left: u64,
    },
    #[error("the block uses more than the {claimed} gas its header claims")]
    GasAboveClaim { claimed: u64 },
    #[error("the anchor system call into the child chain's bridge failed: {0}")]
    Anchor(String),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The result of running a block.
#[derive(Debug, Default)]
pub struct ExecutedBlock {
    /// The transactions that ran, in order (all of them when importing).
    pub transactions: Vec<RecoveredTx>,
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub logs_bloom: Bloom,
    pub changes: StateChanges,
    /// Transactions a builder skipped, with why (for the pool to drop them).
    pub skipped: Vec<(B256, String)>,
}

/// The EVM a block runs in, over parent state `D`.
type BlockEvm<D> = MainnetEvm<MainnetContext<BlockState<D>>>;

/// Transactions per prefetch chunk: the accounts of chunk k+1 are read on another thread while
/// chunk k executes. Blocks smaller than one chunk are not worth a thread.
const PREFETCH_CHUNK: usize = 256;

/// Executes `txs` on top of `state` (the parent's state) and pays the block reward.
pub fn execute_block(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: Vec<RecoveredTx>,
    mode: Mode,
) -> Result<ExecutedBlock, ExecutionError> {
    let mut evm = Context::mainnet()
        .with_db(BlockState::new(StateDb { reader: state }))
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = crate::config::ankr_precompiles();
    write_anchor(&mut evm, chain, block)?;
    let mut out = ExecutedBlock::default();
    let chunks: Vec<&[RecoveredTx]> = txs.chunks(PREFETCH_CHUNK).collect();
    std::thread::scope(|scope| -> Result<(), ExecutionError> {
        let mut ahead = match chunks.as_slice() {
            [first, _, ..] => Some(scope.spawn(move || read_accounts(state, first))),
            _ => None,
        };
        for (number, chunk) in chunks.iter().enumerate() {
            if let Some(handle) = ahead.take() {
                let accounts = handle.join().expect("prefetch does not panic")?;
                evm.ctx.journaled_state.database.warm(accounts);
            }
            if chunks.len() > 1 {
                ahead = chunks
                    .get(number + 1)
                    .map(|&next| scope.spawn(move || read_accounts(state, next)));
            }
            for (offset, tx) in chunk.iter().enumerate() {
                run_transaction(
                    &mut evm,
                    &mut out,
                    block,
                    number * PREFETCH_CHUNK + offset,
                    tx,
                    mode,
                )?;
            }
        }
        Ok(())
    })?;

    let mut db = evm.ctx.journaled_state.database;
    db.credit(block.beneficiary, chain.block_reward)?;
    out.changes = db.into_changes();
    Ok(out)
}

/// Executes `txs` over any parent state revm can read — a stateless witness (DESIGN §8's
/// EXECUTE) — with exactly the rules of [`execute_block`], minus its read-ahead of accounts.
/// Stops as soon as the block has used more than `claimed_gas` (what its header says), so a
/// prover pays for all the work a claim makes it do.
pub fn execute_block_on<D: DatabaseRef<Error = StateError>>(
    parent_state: D,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: Vec<RecoveredTx>,
    mode: Mode,
    claimed_gas: u64,
) -> Result<ExecutedBlock, ExecutionError> {
    let mut evm = Context::mainnet()
        .with_db(BlockState::new(parent_state))
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = crate::config::ankr_precompiles();
    write_anchor(&mut evm, chain, block)?;
    let mut out = ExecutedBlock::default();
    for (index, tx) in txs.iter().enumerate() {
        run_transaction(&mut evm, &mut out, block, index, tx, mode)?;
        if out.gas_used > claimed_gas {
            return Err(ExecutionError::GasAboveClaim {
                claimed: claimed_gas,
            });
        }
    }
    let mut db = evm.ctx.journaled_state.database;
    db.credit(block.beneficiary, chain.block_reward)?;
    out.changes = db.into_changes();
    Ok(out)
}

/// On a child chain, the system call that writes the block's anchor into its bridge before
/// any transaction runs (EIP-8079's anchoring; EIP-4788's form: the raw 32 bytes as calldata,
/// from the system address, outside the block's gas). Nothing on the main chain.
pub(crate) fn write_anchor<D: DatabaseRef<Error = StateError>, I>(
    evm: &mut MainnetEvm<MainnetContext<BlockState<D>>, I>,
    chain: &ChainConfig,
    block: &BlockContext,
) -> Result<(), ExecutionError> {
    if !chain.anchored {
        return Ok(());
    }
    let result = evm
        .system_call_commit(
            crate::CHILD_BRIDGE_ADDRESS,
            alloy_primitives::Bytes::copy_from_slice(block.anchor.as_slice()),
        )
        .map_err(|error| match error {
            EVMError::Database(error) => ExecutionError::State(error),
            other => ExecutionError::Anchor(other.to_string()),
        })?;
    if !result.is_success() {
        return Err(ExecutionError::Anchor(format!("{result:?}")));
    }
    Ok(())
}

/// Reads the accounts the transactions name (senders and recipients) from the parent state.
fn read_accounts(
    state: &StateReader,
    txs: &[RecoveredTx],
) -> Result<Vec<(Address, Option<AccountInfo>)>, StateError> {
    let db = StateDb { reader: state };
    let mut accounts = Vec::with_capacity(txs.len() * 2);
    for tx in txs {
        let to = alloy_consensus::Transaction::to(&tx.tx);
        for address in std::iter::once(tx.sender).chain(to) {
            accounts.push((address, db.basic_ref(address)?));
        }
    }
    Ok(accounts)
}

/// Runs one transaction, recording its receipt, or skips or rejects it by `mode`.
fn run_transaction<D: DatabaseRef<Error = StateError>>(
    evm: &mut BlockEvm<D>,
    out: &mut ExecutedBlock,
    block: &BlockContext,
    index: usize,
    tx: &RecoveredTx,
    mode: Mode,
) -> Result<(), ExecutionError> {
    let left = block.gas_limit - out.gas_used;
    let gas = alloy_consensus::Transaction::gas_limit(&tx.tx);
    if gas > left {
        return match mode {
            Mode::Build => Ok(()),
            Mode::Import => Err(ExecutionError::BlockGasExceeded {
                index,
                hash: tx.hash,
                gas,
                left,
            }),
        };
    }
    let result = match evm.transact_commit(tx_env(&tx.tx, tx.sender)) {
        Ok(result) => result,
        Err(EVMError::Database(e)) => return Err(e.into()),
        Err(e) => {
            let reason = describe(&e);
            return match mode {
                Mode::Build => {
                    out.skipped.push((tx.hash, reason));
                    Ok(())
                }
                Mode::Import => Err(ExecutionError::InvalidTransaction {
                    index,
                    hash: tx.hash,
                    reason,
                }),
            };
        }
    };
    out.gas_used += result.tx_gas_used();
    let receipt = Receipt {
        status: Eip658Value::Eip658(result.is_success()),
        cumulative_gas_used: out.gas_used,
        logs: result.into_logs(),
    };
    let receipt = ReceiptWithBloom::from(receipt);
    out.logs_bloom.accrue_bloom(&receipt.logs_bloom);
    let ty = TxType::try_from(tx.tx.ty()).expect("recovered transactions have known types");
    out.receipts.push(ReceiptEnvelope::from_typed(ty, receipt));
    out.transactions.push(tx.clone());
    Ok(())
}

/// A transaction error as a user should read it.
fn describe<D: std::fmt::Display>(error: &EVMError<D, InvalidTransaction>) -> String {
    match error {
        EVMError::Transaction(invalid) => invalid.to_string(),
        other => other.to_string(),
    }
}

/// Ordered-trie root of the transactions' EIP-2718 encodings.
pub fn transactions_root(txs: &[RecoveredTx]) -> B256 {
    let envelopes: Vec<_> = txs.iter().map(|t| &t.tx).collect();
    alloy_consensus::proofs::calculate_transaction_root(&envelopes)
}

/// Ordered-trie root of the receipts' EIP-2718 encodings.
pub fn receipts_root(receipts: &[ReceiptEnvelope]) -> B256 {
    alloy_consensus::proofs::calculate_receipt_root(receipts)
}
