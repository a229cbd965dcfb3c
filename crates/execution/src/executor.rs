//! Runs a block's transactions.

use crate::bloom::LogBlooms;
use crate::{
    BlockContext, BlockState, ChainConfig, PinnedStateDb, StateDb, StateError, TwoThreads, tx_env,
};
use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope, TxType};
use alloy_eips::Typed2718;
use alloy_primitives::{Address, B256, Bloom};
use ankr_storage::{StateChanges, StateReader};
use ankr_types::RecoveredTx;
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext, SystemCallCommitEvm,
    context::result::{EVMError, InvalidTransaction},
    handler::{MainnetContext, MainnetEvm},
    primitives::AddressMap,
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
    /// How many of the first transactions ran on two threads and were kept (0: the block ran
    /// on one), for the node's metrics and the tests that must see both paths taken.
    pub on_two_threads: usize,
}

/// The EVM a block runs in, over parent state `D`.
type BlockEvm<D> = MainnetEvm<MainnetContext<BlockState<D>>>;

/// Transactions per chunk: while chunk k executes, a helper thread reads the accounts of chunk
/// k+1 and computes the log blooms of chunk k-1. Blocks smaller than one chunk are not worth a
/// thread.
const CHUNK: usize = 256;

/// Parent-state accounts read ahead, by address.
type ReadAhead = AddressMap<Option<AccountInfo>>;

/// What the helper thread does beside execution.
enum HelperJob<'a> {
    /// Read chunk `.0`'s senders and recipients into the map `.2` (emptied, to reuse its
    /// room) and send it back: execution then finds them with one plain lookup, where a read
    /// of the store, even from its hot-state cache, costs locks and atomics.
    ReadAhead(usize, &'a [RecoveredTx], ReadAhead),
    /// Seal these receipts with their blooms (a keccak per log address and topic).
    Blooms(Vec<(TxType, Receipt)>),
}

/// Executes `txs` on top of `state` (the parent's state) and pays the block reward.
///
/// A big block's transactions first run on two threads, a set of senders each, and are kept
/// if neither thread changed what the other read (`parallel`); what that does not cover runs
/// here in order, as the whole block does otherwise. `two_threads` is the chain's record of
/// how that went lately (a fresh one always tries).
pub fn execute_block(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: Vec<RecoveredTx>,
    mode: Mode,
    two_threads: &TwoThreads,
) -> Result<ExecutedBlock, ExecutionError> {
    let two_threads = crate::parallel::run_prefix(state, chain, block, &txs, mode, two_threads);
    // This thread reads the parent state with the hot-state cache held for it, let go
    // between chunks (so a commit elsewhere waits at most a chunk) and when the block ends.
    let pinned = state.pinned();
    let mut evm = Context::mainnet()
        .with_db(BlockState::with_capacity(
            PinnedStateDb { state: &pinned },
            txs.len(),
        ))
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = crate::config::ankr_precompiles();
    let mut out = ExecutedBlock::default();
    let mut passed_over = PassedOver::default();
    let mut ran = vec![false; txs.len()];
    let first = match two_threads {
        Some(prefix) => {
            let db = &mut evm.ctx.journaled_state.database;
            db.resume(prefix.changes, prefix.code_cache);
            db.pay_tips(block.beneficiary, &prefix.tips)?;
            out.receipts = prefix.receipts;
            out.gas_used = prefix.gas_used;
            out.skipped = prefix.skipped;
            let len = prefix.ran.len();
            ran[..len].copy_from_slice(&prefix.ran);
            passed_over = prefix.passed_over;
            out.on_two_threads = len;
            len
        }
        None => {
            write_anchor(&mut evm, chain, block)?;
            0
        }
    };
    let rest = &txs[first..];
    if rest.len() <= CHUNK {
        let mut receipts = Vec::with_capacity(rest.len());
        for (offset, tx) in rest.iter().enumerate() {
            let index = first + offset;
            if let Some(receipt) =
                run_transaction(&mut evm, &mut out, &mut passed_over, block, index, tx, mode)?
            {
                receipts.push((tx_type(tx), receipt));
                ran[index] = true;
            }
        }
        out.receipts.extend(LogBlooms::default().seal(receipts));
    } else {
        std::thread::scope(|scope| -> Result<(), ExecutionError> {
            let (jobs, inbox) = std::sync::mpsc::channel::<HelperJob>();
            let (read_back, read) = std::sync::mpsc::channel::<(usize, ReadAhead)>();
            let helper = scope.spawn(move || {
                let parent = StateDb { reader: state };
                let mut blooms = LogBlooms::default();
                let mut sealed = Vec::new();
                for job in inbox {
                    match job {
                        HelperJob::ReadAhead(number, txs, mut accounts) => {
                            accounts.clear();
                            for tx in txs {
                                let to = alloy_consensus::Transaction::to(&tx.tx);
                                for address in std::iter::once(tx.sender).chain(to) {
                                    // A failed read is left to execution, which reports it.
                                    if let Ok(info) = parent.basic_ref(address) {
                                        accounts.insert(address, info);
                                    }
                                }
                            }
                            let _ = read_back.send((number, accounts));
                        }
                        HelperJob::Blooms(receipts) => sealed.extend(blooms.seal(receipts)),
                    }
                }
                sealed
            });
            let chunks: Vec<&[RecoveredTx]> = rest.chunks(CHUNK).collect();
            let room = || ReadAhead::with_capacity_and_hasher(2 * CHUNK, Default::default());
            let _ = jobs.send(HelperJob::ReadAhead(0, chunks[0], room()));
            let mut spare = room();
            for (number, chunk) in chunks.iter().enumerate() {
                if number > 0 {
                    pinned.repin();
                }
                if let Some(next) = chunks.get(number + 1) {
                    let _ = jobs.send(HelperJob::ReadAhead(number + 1, next, spare));
                }
                // Ready or not, execution goes on: what is not read ahead yet it reads itself.
                let mut ahead = ReadAhead::default();
                while let Ok((ready, accounts)) = read.try_recv() {
                    if ready == number {
                        ahead = accounts;
                        break;
                    }
                }
                spare = evm.ctx.journaled_state.database.read_ahead(ahead);
                let mut receipts = Vec::with_capacity(chunk.len());
                for (offset, tx) in chunk.iter().enumerate() {
                    let index = first + number * CHUNK + offset;
                    if let Some(receipt) = run_transaction(
                        &mut evm,
                        &mut out,
                        &mut passed_over,
                        block,
                        index,
                        tx,
                        mode,
                    )? {
                        receipts.push((tx_type(tx), receipt));
                        ran[index] = true;
                    }
                }
                let _ = jobs.send(HelperJob::Blooms(receipts));
            }
            drop(jobs);
            let sealed = helper
                .join()
                .expect("the block's helper thread does not panic");
            out.receipts.extend(sealed);
            Ok(())
        })?;
    }
    out.transactions = the_ones_that_ran(txs, &ran);
    close_block(out, evm.ctx.journaled_state.database, chain, block)
}

/// Executes `txs` over any parent state revm can read — a stateless witness (DESIGN §8's
/// EXECUTE) — with exactly the rules of [`execute_block`], minus its helper thread.
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
        .with_db(BlockState::with_capacity(parent_state, txs.len()))
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = crate::config::ankr_precompiles();
    write_anchor(&mut evm, chain, block)?;
    let mut out = ExecutedBlock::default();
    let mut passed_over = PassedOver::default();
    let mut receipts = Vec::with_capacity(txs.len());
    let mut ran = vec![false; txs.len()];
    for (index, tx) in txs.iter().enumerate() {
        if let Some(receipt) =
            run_transaction(&mut evm, &mut out, &mut passed_over, block, index, tx, mode)?
        {
            receipts.push((tx_type(tx), receipt));
            ran[index] = true;
        }
        if out.gas_used > claimed_gas {
            return Err(ExecutionError::GasAboveClaim {
                claimed: claimed_gas,
            });
        }
    }
    out.receipts = LogBlooms::default().seal(receipts);
    out.transactions = the_ones_that_ran(txs, &ran);
    close_block(out, evm.ctx.journaled_state.database, chain, block)
}

/// The transactions that ran, in order. Usually all of them: then the vector is handed over
/// whole, since moving each transaction (hundreds of bytes) was a visible share of a block.
fn the_ones_that_ran(txs: Vec<RecoveredTx>, ran: &[bool]) -> Vec<RecoveredTx> {
    if ran.iter().all(|ran| *ran) {
        return txs;
    }
    txs.into_iter()
        .zip(ran)
        .filter_map(|(tx, ran)| ran.then_some(tx))
        .collect()
}

/// Ends a block whose receipts are sealed: the block's bloom, the reward, what changed.
fn close_block<D: DatabaseRef<Error = StateError>>(
    mut out: ExecutedBlock,
    mut db: BlockState<D>,
    chain: &ChainConfig,
    block: &BlockContext,
) -> Result<ExecutedBlock, ExecutionError> {
    for receipt in &out.receipts {
        out.logs_bloom.accrue_bloom(receipt.logs_bloom());
    }
    db.credit(block.beneficiary, chain.block_reward)?;
    out.changes = db.into_changes();
    Ok(out)
}

/// On a child chain, the system call that writes the block's anchor into its bridge before
/// any transaction runs (EIP-8079's anchoring; EIP-4788's form: the raw 32 bytes as calldata,
/// from the system address, outside the block's gas). Nothing on the main chain.
pub(crate) fn write_anchor<DB: revm::Database<Error = StateError> + revm::DatabaseCommit, I>(
    evm: &mut MainnetEvm<MainnetContext<DB>, I>,
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

pub(crate) fn tx_type(tx: &RecoveredTx) -> TxType {
    TxType::try_from(tx.tx.ty()).expect("recovered transactions have known types")
}

/// Senders a builder passed over in this block: a transaction that did not fit or could not
/// run leaves its sender's nonce where it was, so that sender's later transactions cannot run
/// in this block either. They are passed over too, not run: run, they would fail "nonce too
/// high" and be dropped from the pool, though they are valid in the next block (a relay's
/// second big batch was lost so whenever its first did not fit).
pub(crate) type PassedOver = std::collections::HashSet<Address>;

/// Runs one transaction and returns its receipt (without bloom), or skips it (`None`) or
/// rejects the block by `mode`.
fn run_transaction<D: DatabaseRef<Error = StateError>>(
    evm: &mut BlockEvm<D>,
    out: &mut ExecutedBlock,
    passed_over: &mut PassedOver,
    block: &BlockContext,
    index: usize,
    tx: &RecoveredTx,
    mode: Mode,
) -> Result<Option<Receipt>, ExecutionError> {
    if mode == Mode::Build && passed_over.contains(&tx.sender) {
        return Ok(None);
    }
    let left = block.gas_limit - out.gas_used;
    let gas = alloy_consensus::Transaction::gas_limit(&tx.tx);
    if gas > left {
        return match mode {
            Mode::Build => {
                passed_over.insert(tx.sender);
                Ok(None)
            }
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
                    passed_over.insert(tx.sender);
                    Ok(None)
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
    Ok(Some(Receipt {
        status: Eip658Value::Eip658(result.is_success()),
        cumulative_gas_used: out.gas_used,
        logs: result.into_logs(),
    }))
}

/// A transaction error as a user should read it.
pub(crate) fn describe<D: std::fmt::Display>(error: &EVMError<D, InvalidTransaction>) -> String {
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
