//! A block's transactions on two cores, checked before their results count.
//!
//! The block's senders are split in two; each thread runs its senders' transactions, in block
//! order, over the parent state and its own overlay, recording every account and slot it read
//! and every one its transactions changed. If neither thread changed what the other read, no
//! transaction could have seen the other thread's work had the block run in order, so each
//! result is the one the sequential run gives and the two overlays merge. Otherwise the caller
//! runs the block on one thread, as before (docs/benchmarks.md, "The second core executes").
//!
//! The beneficiary is the one account every transaction writes (its tip): both threads hold
//! the tips back (a revm handler whose `reward_beneficiary` only notes the amount) and the
//! merge pays them in block order. revm only marks the beneficiary warm before a transaction,
//! so a transaction that reads it (a transfer to it, `BALANCE(COINBASE)`) is recorded like any
//! other read, and sends the block back to one thread.
//!
//! A plain transfer's payment into an account that only receives them (no code, not the
//! sender, not the beneficiary) is recorded as a credit, not a read and a write: thousands
//! of payments into one deposit address from both threads are summed at the merge, and only
//! a read of that balance elsewhere makes a conflict.
//!
//! Only a prefix of the block runs here: the longest whose gas limits fit the block's, where no
//! transaction can find the block too full for it (whether it fits depends on every earlier
//! transaction's gas, i.e. on the order). The caller runs the rest in order after it.

use crate::bloom::LogBlooms;
use crate::config::ankr_precompiles;
use crate::executor::{Mode, PassedOver, describe, tx_type, write_anchor};
use crate::{BlockContext, BlockState, ChainConfig, PinnedStateDb, StateError, tx_env};
use alloy_consensus::{Eip658Value, Receipt, ReceiptEnvelope};
use alloy_primitives::{
    Address, B256, TxKind, U256,
    map::{AddressSet, B256Map, Entry, HashSet},
};
use ankr_storage::{Misses, StateChanges, StateReader};
use ankr_types::RecoveredTx;
use revm::{
    Context, Database, DatabaseCommit, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    context::{ContextSetters, result::HaltReason},
    context_interface::{Block, Cfg, ContextTr, Transaction, result::EVMError},
    handler::{EvmTr, FrameResult, Handler, MainnetContext, MainnetEvm},
    primitives::{AddressMap, KECCAK_EMPTY, StorageKey, StorageValue, hardfork::SpecId},
    state::{Account as EvmAccount, AccountInfo},
};
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{LazyLock, mpsc};

/// Transactions below which a block runs on one thread: waking the second thread and the
/// merge cost more than the half they take off a small block. Measured (`ankr bench --only
/// execution --txs N`): at 300, two threads 0.75 of raw revm for transfers and 1.05 for
/// ERC-20 against one thread's 0.45 and 0.63; at 150, 0.60 against 0.78 for transfers (0.97
/// against 0.75 for ERC-20).
pub(crate) const TWO_THREADS_FROM: usize = 256;

/// Transactions a thread runs between two re-pins of the hot-state cache, so that a commit
/// elsewhere waits for at most this many.
const REPIN_EVERY: usize = 256;

/// The thread every block's second share runs on, kept across blocks: starting one for each
/// block cost 0.11–0.14 ms, which the first share spent ahead of the second. Chains executing
/// at once take turns on it (each block's first share runs on the caller's own thread).
static SECOND_THREAD: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "ankr-second-share".into())
        .build()
        .expect("the OS starts one thread")
});

/// Blocks a chain lets pass on one thread after its longest run of conflicts.
const MOST_BLOCKS_PASSED: u32 = 16;

/// Whether a chain's next block tries two threads. A block whose threads conflicted ran again
/// in order, which cost its threads' time for nothing; after one, the chain's next block does
/// not try, after a second in a row the next two, then four, up to sixteen; a block whose
/// threads are kept starts it over. A load whose every transaction touches one account in a way
/// that conflicts (one token holder's balance, one pool) so pays its threads' time on one
/// block in seventeen at most, where trying every block would add it to each.
#[derive(Debug, Default)]
pub struct TwoThreads {
    /// Blocks still to pass on one thread.
    passing: AtomicU32,
    /// How many the next conflict makes pass.
    next_pass: AtomicU32,
}

impl TwoThreads {
    /// Never tries: every block runs on one thread (what a one-core machine wants, and the
    /// baseline `ankr bench` measures two threads against).
    pub fn off() -> Self {
        Self {
            passing: AtomicU32::new(Self::FOREVER),
            next_pass: AtomicU32::new(Self::FOREVER),
        }
    }

    /// Blocks to pass that [`TwoThreads::off`] never counts down.
    const FOREVER: u32 = u32::MAX;

    /// Whether this block tries; one that does not counts down the blocks to pass.
    fn tries(&self) -> bool {
        self.passing
            .fetch_update(Relaxed, Relaxed, |passing| match passing {
                0 => None,
                Self::FOREVER => Some(passing),
                _ => Some(passing - 1),
            })
            .is_err()
    }

    fn kept(&self) {
        self.next_pass.store(1, Relaxed);
    }

    fn conflicted(&self) {
        let pass = self.next_pass.load(Relaxed).max(1);
        self.passing.store(pass, Relaxed);
        self.next_pass
            .store((pass * 2).min(MOST_BLOCKS_PASSED), Relaxed);
    }
}

/// The longest prefix of `txs` whose gas limits fit `gas_limit` together.
fn prefix_that_fits(txs: &[RecoveredTx], gas_limit: u64) -> usize {
    let mut left = gas_limit;
    txs.iter()
        .position(
            |tx| match left.checked_sub(alloy_consensus::Transaction::gas_limit(&tx.tx)) {
                Some(still) => {
                    left = still;
                    false
                }
                None => true,
            },
        )
        .unwrap_or(txs.len())
}

/// The indices of `txs` each thread runs: a sender's transactions all go to one, the one with
/// fewer so far when the sender first appears.
fn split_by_sender(txs: &[RecoveredTx]) -> [Vec<usize>; 2] {
    let mut half_of = AddressMap::<usize>::with_capacity_and_hasher(txs.len(), Default::default());
    let mut halves = [
        Vec::with_capacity(txs.len() / 2 + 1),
        Vec::with_capacity(txs.len() / 2 + 1),
    ];
    for (index, tx) in txs.iter().enumerate() {
        let lighter = usize::from(halves[1].len() < halves[0].len());
        let half = *half_of.entry(tx.sender).or_insert(lighter);
        halves[half].push(index);
    }
    halves
}

/// What one thread's transactions read and changed, after the block's anchor.
#[derive(Default)]
struct Access {
    read_accounts: AddressSet,
    read_slots: HashSet<(Address, StorageKey)>,
    /// Accounts whose nonce, balance or code a transaction changed, or that it created or
    /// destroyed. An account only touched (a contract called) keeps its value and is not here.
    written_accounts: AddressSet,
    written_slots: HashSet<(Address, StorageKey)>,
    /// Value paid to accounts only ever paid (see [`Credit`]), summed per account: neither
    /// read nor written, since what a payment does does not depend on the balance it adds to.
    credits: AddressMap<U256>,
}

impl Access {
    /// Whether a transaction of `self` may have changed what one of `other` read. Every write
    /// was read first (revm loads an account and a slot before changing them), except the slots
    /// of an account created in the block, whose creation is itself a write of the account. A
    /// credit changes a balance, so it disturbs a read of it; credits on both sides commute.
    fn disturbs(&self, other: &Access) -> bool {
        self.written_accounts
            .iter()
            .chain(self.credits.keys())
            .any(|address| other.read_accounts.contains(address))
            || self
                .written_slots
                .iter()
                .any(|slot| other.read_slots.contains(slot))
    }
}

/// The one account a transaction may only pay: a plain transfer's recipient, if the
/// recipient exists, is not empty and has no code (so no code runs, nothing reads its
/// balance, and EIP-161 cannot delete it), and is not the sender, the beneficiary or a
/// precompile. Thousands of payments into one account (an exchange's deposit address) then
/// run on two threads, where recording them as reads and writes made every such block
/// conflict (Block-STM's delta writes, for balances).
#[derive(Clone, Copy)]
enum Credit {
    /// Not a plain transfer, or not to such an account.
    None,
    /// The transaction's recipient, not yet loaded.
    To(Address),
    /// Loaded, and qualifies: its balance before the transaction.
    Loaded(Address, U256),
}

/// A block's state as one thread's EVM reads it, noting every read and change.
struct Recording<D> {
    state: D,
    access: Access,
    /// Off while the anchor's system call runs: both threads make it, and it comes before any
    /// transaction.
    on: bool,
    /// The account the running transaction may only pay.
    credit: Credit,
}

impl<D: Database> Database for Recording<D> {
    type Error = D::Error;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let info = self.state.basic(address)?;
        if self.on {
            match (self.credit, &info) {
                (Credit::To(to), Some(info))
                    if to == address && info.code_hash == KECCAK_EMPTY && !info.is_empty() =>
                {
                    self.credit = Credit::Loaded(address, info.balance);
                }
                _ => {
                    self.access.read_accounts.insert(address);
                }
            }
        }
        Ok(info)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.state.code_by_hash(code_hash)
    }

    fn storage(
        &mut self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        if self.on {
            self.access.read_slots.insert((address, index));
        }
        self.state.storage(address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.state.block_hash(number)
    }
}

impl<D: DatabaseCommit> DatabaseCommit for Recording<D> {
    fn commit(&mut self, changes: AddressMap<EvmAccount>) {
        if self.on {
            for (address, account) in &changes {
                if !account.is_touched() {
                    continue;
                }
                if let Credit::Loaded(to, before) = self.credit
                    && to == *address
                {
                    // Nothing but the payment can have changed it (no code ran there); were it
                    // otherwise, it counts as read and written.
                    let paid = account.info.balance.checked_sub(before);
                    let credited = match paid {
                        Some(paid) if account.info.code_hash == KECCAK_EMPTY => {
                            let sum = self.access.credits.entry(to).or_default();
                            sum.checked_add(paid).map(|total| *sum = total)
                        }
                        _ => None,
                    };
                    if credited.is_some() {
                        continue;
                    }
                    self.access.read_accounts.insert(to);
                }
                // An empty account deleted (EIP-161) that was empty before is no change: the
                // EVM cannot tell an empty account from a missing one.
                if account.is_changed() || account.is_created() || account.is_selfdestructed() {
                    self.access.written_accounts.insert(*address);
                }
                for (index, slot) in &account.storage {
                    if slot.is_changed() {
                        self.access.written_slots.insert((*address, *index));
                    }
                }
            }
        }
        self.state.commit(changes)
    }
}

/// revm's mainnet handler, except that the beneficiary is not paid: the tip is noted for the
/// merge to pay in block order.
struct TipHeldBack<EVM> {
    tip: Cell<U256>,
    _evm: std::marker::PhantomData<EVM>,
}

type ThreadEvm<'p, 'a> = MainnetEvm<MainnetContext<Recording<BlockState<PinnedStateDb<'p, 'a>>>>>;

impl<'p, 'a> Handler for TipHeldBack<ThreadEvm<'p, 'a>> {
    type Evm = ThreadEvm<'p, 'a>;
    type Error = EVMError<StateError>;
    type HaltReason = HaltReason;

    /// revm's `post_execution::reward_beneficiary`, with the amount kept instead of paid.
    fn reward_beneficiary(
        &self,
        evm: &mut Self::Evm,
        exec_result: &mut FrameResult,
    ) -> Result<(), Self::Error> {
        let context = evm.ctx();
        if context.cfg().is_fee_charge_disabled() {
            self.tip.set(U256::ZERO);
            return Ok(());
        }
        let basefee = context.block().basefee() as u128;
        let effective_gas_price = context.tx().effective_gas_price(basefee);
        let coinbase_gas_price = if context.cfg().spec().is_enabled_in(SpecId::LONDON) {
            effective_gas_price.saturating_sub(basefee)
        } else {
            effective_gas_price
        };
        let gas = exec_result.gas();
        let effective_used = gas.used().saturating_sub(gas.reservoir());
        self.tip
            .set(U256::from(coinbase_gas_price * effective_used as u128));
        Ok(())
    }
}

/// What a thread made of one transaction.
enum Outcome {
    /// Its sender was passed over earlier in the block (building).
    PassedOver,
    /// A builder skips it, for this reason.
    Skipped(String),
    /// It ran: its gas and the tip held back (its receipt is the share's next).
    Ran { gas_used: u64, tip: U256 },
}

/// One thread's share of the block: what its transactions made, which one thread merges in
/// block order, and what they wrote, which the other checks and merges at the same time.
struct Share {
    ran: Ran,
    wrote: Wrote,
    /// What the share read from the table, for the hot-state cache once neither thread
    /// holds it.
    misses: Misses,
}

/// A share's transactions and what became of them.
struct Ran {
    indices: Vec<usize>,
    outcomes: Vec<Outcome>,
    /// The receipts of those that ran, blooms sealed, cumulative gas not yet known.
    receipts: Vec<ReceiptEnvelope>,
}

/// A share's changes to the state and what it read to make them.
struct Wrote {
    changes: StateChanges,
    code_cache: B256Map<Bytecode>,
    passed_over: PassedOver,
    access: Access,
}

/// Why a thread gave up: the block goes back to one thread, which finds the same error in
/// order, or not at all.
struct GaveUp;

/// Runs the transactions `indices` of `txs`, those of one set of senders, with their tips held
/// back.
fn run_share(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: &[RecoveredTx],
    indices: Vec<usize>,
    mode: Mode,
    room_for: usize,
) -> Result<Share, GaveUp> {
    let pinned = state.pinned_among_others();
    let mut evm = Context::mainnet()
        .with_db(Recording {
            state: BlockState::with_capacity(PinnedStateDb { state: &pinned }, room_for),
            access: Access::default(),
            on: false,
            credit: Credit::None,
        })
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = ankr_precompiles();
    write_anchor(&mut evm, chain, block).map_err(|_| GaveUp)?;
    evm.ctx.journaled_state.database.on = true;
    let mut passed_over = PassedOver::default();
    let mut outcomes = Vec::with_capacity(indices.len());
    let mut ran = Vec::with_capacity(indices.len());
    for (count, &index) in indices.iter().enumerate() {
        if count > 0 && count % REPIN_EVERY == 0 {
            pinned.repin();
        }
        let tx = &txs[index];
        if mode == Mode::Build && passed_over.contains(&tx.sender) {
            outcomes.push(Outcome::PassedOver);
            continue;
        }
        evm.ctx.set_tx(tx_env(&tx.tx, tx.sender));
        evm.ctx.journaled_state.database.credit = match alloy_consensus::Transaction::kind(&tx.tx) {
            TxKind::Call(to)
                if to != tx.sender
                    && to != block.beneficiary
                    && alloy_consensus::Transaction::authorization_list(&tx.tx).is_none()
                    && !evm.precompiles.contains(&to) =>
            {
                Credit::To(to)
            }
            _ => Credit::None,
        };
        let mut handler = TipHeldBack {
            tip: Cell::new(U256::ZERO),
            _evm: std::marker::PhantomData,
        };
        match handler.run(&mut evm) {
            Ok(result) => {
                let state = evm.finalize();
                evm.commit(state);
                let gas_used = result.tx_gas_used();
                ran.push((
                    tx_type(tx),
                    Receipt {
                        status: Eip658Value::Eip658(result.is_success()),
                        cumulative_gas_used: 0,
                        logs: result.into_logs(),
                    },
                ));
                outcomes.push(Outcome::Ran {
                    gas_used,
                    tip: handler.tip.get(),
                });
            }
            Err(error) => {
                let _ = evm.finalize();
                if mode == Mode::Import || matches!(error, EVMError::Database(_)) {
                    return Err(GaveUp);
                }
                passed_over.insert(tx.sender);
                outcomes.push(Outcome::Skipped(describe(&error)));
            }
        }
    }
    // The blooms are sealed here, on both threads, rather than after the merge on one.
    let receipts = LogBlooms::default().seal(ran);
    let Recording { state, access, .. } = evm.ctx.journaled_state.database;
    let (changes, code_cache) = state.into_parts();
    let misses = pinned.into_misses();
    Ok(Share {
        ran: Ran {
            indices,
            outcomes,
            receipts,
        },
        wrote: Wrote {
            changes,
            code_cache,
            passed_over,
            access,
        },
        misses,
    })
}

/// A block's prefix run on two threads and merged: the caller resumes the block after it.
pub(crate) struct Prefix {
    pub receipts: Vec<ReceiptEnvelope>,
    pub gas_used: u64,
    pub skipped: Vec<(B256, String)>,
    /// Whether each transaction of the prefix ran (its length is the prefix's).
    pub ran: Vec<bool>,
    pub tips: Vec<U256>,
    pub changes: StateChanges,
    pub code_cache: B256Map<Bytecode>,
    pub passed_over: PassedOver,
}

/// Runs the block's prefix whose gas limits fit on two threads; `None` when the block is too
/// small or `history` says not to try, or when a thread gave up or disturbed the other: the
/// caller then runs it in order.
pub(crate) fn run_prefix(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: &[RecoveredTx],
    mode: Mode,
    history: &TwoThreads,
) -> Option<Prefix> {
    let len = prefix_that_fits(txs, block.gas_limit);
    if len < TWO_THREADS_FROM || !history.tries() {
        return None;
    }
    let prefix = &txs[..len];
    let [first, second] = split_by_sender(prefix);
    // A block of one busy sender (or nearly) gains nothing from a second thread but its
    // recording and merge.
    if first.len().min(second.len()) < len / 4 {
        return None;
    }
    let room = second.len();
    // Each thread, its share run, hands the other half of what the merge needs: the first
    // puts the receipts in block order while the second checks the changes for conflicts and
    // merges them.
    let (changes_to_second, first_changes) = mpsc::sync_channel::<Wrote>(1);
    let (ran_to_first, second_ran) = mpsc::sync_channel::<Ran>(1);
    let beneficiary = block.beneficiary;
    let mut second_half = (None, Misses::default());
    let (in_order, first_misses) = SECOND_THREAD.in_place_scope(|scope| {
        let second_half = &mut second_half;
        scope.spawn(move |_| {
            let Ok(Share { ran, wrote, misses }) =
                run_share(state, chain, block, prefix, second, mode, room)
            else {
                return;
            };
            let _ = ran_to_first.send(ran);
            let merged = first_changes
                .recv()
                .ok()
                .and_then(|first| merge_changes(beneficiary, first, wrote));
            *second_half = (merged, misses);
        });
        // The first share's maps take the second's in the merge: room for both.
        let first_half = match run_share(state, chain, block, prefix, first, mode, len) {
            Ok(Share { ran, wrote, misses }) => {
                let _ = changes_to_second.send(wrote);
                let second = second_ran.recv();
                (
                    second
                        .ok()
                        .and_then(|second| in_block_order(block, prefix, ran, second)),
                    misses,
                )
            }
            Err(GaveUp) => (None, Misses::default()),
        };
        // A first share that gave up must not leave the second waiting for its changes.
        drop(changes_to_second);
        first_half
    });
    let (merged, second_misses) = second_half;
    state.fill_misses(first_misses);
    state.fill_misses(second_misses);
    let (Some(mut prefix), Some(merged)) = (in_order, merged) else {
        history.conflicted();
        return None;
    };
    history.kept();
    prefix.changes = merged.changes;
    prefix.code_cache = merged.code_cache;
    prefix.passed_over = merged.passed_over;
    Some(prefix)
}

/// The two shares' transactions in block order: receipts with their cumulative gas, the
/// tips to pay, the ones skipped; the state's changes are left for [`merge_changes`]. `None`
/// if a transaction's gas limit does not fit what is left (which a prefix whose gas limits fit
/// never has).
fn in_block_order(
    block: &BlockContext,
    txs: &[RecoveredTx],
    first: Ran,
    second: Ran,
) -> Option<Prefix> {
    let mut in_order = Prefix {
        receipts: Vec::with_capacity(txs.len()),
        gas_used: 0,
        skipped: Vec::new(),
        ran: vec![false; txs.len()],
        tips: Vec::with_capacity(txs.len()),
        changes: StateChanges::default(),
        code_cache: B256Map::default(),
        passed_over: PassedOver::default(),
    };
    let mut a = first.indices.iter().copied().zip(first.outcomes).peekable();
    let mut b = second
        .indices
        .iter()
        .copied()
        .zip(second.outcomes)
        .peekable();
    let mut a_receipts = first.receipts.into_iter();
    let mut b_receipts = second.receipts.into_iter();
    loop {
        let from_a = match (a.peek(), b.peek()) {
            (Some((i, _)), Some((j, _))) => i < j,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (index, outcome, receipts) = match from_a {
            true => a.next().map(|(i, o)| (i, o, &mut a_receipts)),
            false => b.next().map(|(i, o)| (i, o, &mut b_receipts)),
        }
        .expect("peeked");
        match outcome {
            Outcome::PassedOver => {}
            Outcome::Skipped(reason) => in_order.skipped.push((txs[index].hash, reason)),
            Outcome::Ran { gas_used, tip } => {
                // Cannot happen in a prefix whose gas limits fit; checked as run_transaction
                // checks it all the same.
                let gas = alloy_consensus::Transaction::gas_limit(&txs[index].tx);
                if gas > block.gas_limit - in_order.gas_used {
                    return None;
                }
                in_order.gas_used += gas_used;
                let mut receipt = receipts.next().expect("a receipt for each that ran");
                receipt
                    .as_receipt_with_bloom_mut()
                    .expect("an ankr receipt has a bloom")
                    .receipt
                    .cumulative_gas_used = in_order.gas_used;
                in_order.receipts.push(receipt);
                in_order.tips.push(tip);
                in_order.ran[index] = true;
            }
        }
    }
    Some(in_order)
}

/// The two shares' changes as one, or `None` if one may have seen the other's changes, or
/// either read the beneficiary.
fn merge_changes(beneficiary: Address, mut first: Wrote, second: Wrote) -> Option<Wrote> {
    if first.access.read_accounts.contains(&beneficiary)
        || second.access.read_accounts.contains(&beneficiary)
        || first.access.disturbs(&second.access)
        || second.access.disturbs(&first.access)
    {
        return None;
    }
    // An account both shares hold was read by both, so neither changed it (that would be a
    // conflict): the two hold the same value. Or both only paid it: each holds the parent's
    // balance plus its own payments, and the block's is the first's plus the second's.
    let mut paid_by_both = Vec::new();
    for (address, paid) in &second.access.credits {
        if let Some(account) = first.changes.accounts.get(address) {
            let mut account = (*account)?;
            account.balance = account.balance.checked_add(*paid)?;
            paid_by_both.push((*address, Some(account)));
        }
    }
    first.changes.accounts.extend(second.changes.accounts);
    first.changes.accounts.extend(paid_by_both);
    let written = &second.access;
    for (address, storage) in second.changes.storage {
        // An account whose fields one share changed the other never read: only that share's
        // transactions wrote its storage (both hold what the anchor wrote).
        if written.written_accounts.contains(&address) {
            first.changes.storage.insert(address, storage);
            continue;
        }
        if first.access.written_accounts.contains(&address) {
            continue;
        }
        let kept = match first.changes.storage.entry(address) {
            Entry::Vacant(vacant) => {
                vacant.insert(storage);
                continue;
            }
            Entry::Occupied(occupied) => occupied.into_mut(),
        };
        // A slot both hold the anchor wrote; a transaction of at most one share wrote it again.
        kept.slots.reserve(storage.slots.len());
        for (index, value) in storage.slots {
            match kept.slots.entry(index) {
                Entry::Vacant(vacant) => {
                    vacant.insert(value);
                }
                Entry::Occupied(mut occupied) => {
                    if written.written_slots.contains(&(address, index)) {
                        occupied.insert(value);
                    }
                }
            }
        }
        kept.wiped |= storage.wiped;
    }
    first.changes.codes.extend(second.changes.codes);
    first.code_cache.extend(second.code_cache);
    first.passed_over.extend(second.passed_over);
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::{MOST_BLOCKS_PASSED, TwoThreads, prefix_that_fits, split_by_sender};
    use alloy_consensus::{Signed, TxEip1559, TxEnvelope};
    use alloy_primitives::{Address, Signature};
    use ankr_types::RecoveredTx;

    /// A transaction of `sender` with `gas`; the signature does not matter here.
    fn tx(sender: u8, gas: u64) -> RecoveredTx {
        let tx = TxEip1559 {
            gas_limit: gas,
            ..Default::default()
        };
        let signed = Signed::new_unhashed(tx, Signature::test_signature());
        RecoveredTx::new(TxEnvelope::Eip1559(signed), Address::repeat_byte(sender))
    }

    #[test]
    fn the_prefix_ends_before_the_first_transaction_whose_gas_limit_overflows_the_block() {
        let txs: Vec<_> = [10, 20, 30, 5].map(|gas| tx(1, gas)).into();
        assert_eq!(prefix_that_fits(&txs, 65), 4);
        assert_eq!(prefix_that_fits(&txs, 64), 3);
        assert_eq!(prefix_that_fits(&txs, 59), 2);
        assert_eq!(prefix_that_fits(&txs, 9), 0);
        assert_eq!(prefix_that_fits(&[tx(1, u64::MAX), tx(2, 1)], u64::MAX), 1);
    }

    #[test]
    fn a_sender_s_transactions_stay_on_one_thread_in_block_order() {
        let senders = [1, 2, 1, 3, 3, 3, 4, 2, 1, 5];
        let txs: Vec<_> = senders.map(|sender| tx(sender, 21_000)).into();
        let [first, second] = split_by_sender(&txs);
        for share in [&first, &second] {
            assert!(share.windows(2).all(|pair| pair[0] < pair[1]));
        }
        for sender in senders {
            let on = |share: &Vec<usize>| share.iter().any(|&i| senders[i] == sender);
            assert!(
                on(&first) != on(&second),
                "sender {sender} on one thread only"
            );
        }
        assert_eq!(first.len() + second.len(), txs.len());
        // Each new sender goes to the thread with fewer so far.
        assert_eq!(first, [0, 2, 6, 8, 9]);
        assert_eq!(second, [1, 3, 4, 5, 7]);
    }

    /// The blocks that pass on one thread after each of `conflicts` tries in a row conflicts.
    fn passed_after_conflicts(history: &TwoThreads, conflicts: usize) -> Vec<u32> {
        (0..conflicts)
            .map(|_| {
                history.conflicted();
                let mut passed = 0;
                // The call that returns true is the block that tries again.
                while !history.tries() {
                    passed += 1;
                }
                passed
            })
            .collect()
    }

    #[test]
    fn conflicts_in_a_row_pass_twice_as_many_blocks_up_to_the_most_and_a_kept_block_starts_over() {
        let history = TwoThreads::default();
        assert_eq!(
            passed_after_conflicts(&history, 7),
            [1, 2, 4, 8, 16, 16, 16]
        );
        assert_eq!(MOST_BLOCKS_PASSED, 16);
        assert!(history.tries());
        history.kept();
        assert_eq!(passed_after_conflicts(&history, 2), [1, 2]);
        let off = TwoThreads::off();
        assert!((0..1_000).all(|_| !off.tries()));
    }
}
