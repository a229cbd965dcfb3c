//! The transaction pool: signed transactions waiting for a block.
//!
//! Per sender, transactions are kept by nonce; a block takes each sender's run of consecutive
//! nonces from its state nonce, best tip first across senders. Like geth, the pool tells
//! *pending* transactions (in that run: executable) from *queued* ones (behind a nonce gap),
//! and bounds them separately: queued ones are few per sender and in total, expire, and are
//! evicted first, so a flood of gapped transactions (which never pay a fee) cannot pin the
//! pool. When full, a better-paying transaction evicts the worst sender's last one (never one
//! in the middle of a run, which would strand the rest). The node's own transactions (enclave
//! registrations, deliveries) are *local*: they are never refused for want of room and never
//! evicted. Every rejection names its rule.

mod validation;

pub use validation::{PoolError, calldata_tokens, intrinsic_gas};

use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256, map::HashMap};
use ankr_types::{RecoveredTx, TxEnvelope};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pool's limits, which bound its memory whatever peers and users send.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub chain_id: u64,
    /// Largest gas one transaction may ask for (the chain's cap).
    pub max_tx_gas: u64,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// Most transactions one sender may hold at all, and how far ahead of its state nonce
    /// (1024, or the whole pool if smaller).
    pub max_per_sender: usize,
    /// What the operator sets: slots, queues, lifetime and bump.
    pub limits: PoolLimits,
}

impl PoolConfig {
    /// The pool of a chain with `chain_id` and `max_tx_gas`, with [`PoolLimits`]' defaults
    /// (geth's); 128 KiB per transaction, up to 1024 per sender while the pool has room.
    pub fn new(chain_id: u64, max_tx_gas: u64) -> Self {
        Self::with_limits(chain_id, max_tx_gas, &PoolLimits::default())
    }

    /// The pool of a chain with `chain_id` and `max_tx_gas`, with an operator's `limits`.
    pub fn with_limits(chain_id: u64, max_tx_gas: u64, limits: &PoolLimits) -> Self {
        Self {
            chain_id,
            max_tx_gas,
            max_tx_bytes: 128 * 1024,
            max_per_sender: 1024.min(limits.global_slots),
            limits: limits.clone(),
        }
    }
}

/// The limits a node's operator may set, as geth's `--txpool.*` flags set them: how much of
/// the machine's memory the pool may take, and how fairly it shares it among senders. The
/// rest of a [`PoolConfig`] follows from the chain spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Executable transactions every sender may hold whatever others hold (`accountslots`).
    pub account_slots: usize,
    /// Transactions the pool holds in all (`globalslots`).
    pub global_slots: usize,
    /// Queued (non-executable) transactions kept per sender (`accountqueue`).
    pub account_queue: usize,
    /// Queued transactions kept in all (`globalqueue`).
    pub global_queue: usize,
    /// How long a queued transaction may wait for its gap to close (`lifetime`).
    pub lifetime: Duration,
    /// How much (percent) a replacement must raise both fee fields (`pricebump`).
    pub price_bump_percent: u128,
}

impl Default for PoolLimits {
    /// geth's: 16 slots guaranteed per sender, 8192 in total, at most 16 per sender and 1024
    /// in all queued, for 10 minutes (geth keeps them 3 hours), 10 % bump.
    fn default() -> Self {
        Self {
            account_slots: 16,
            global_slots: 8192,
            account_queue: 16,
            global_queue: 1024,
            lifetime: Duration::from_secs(600),
            price_bump_percent: 10,
        }
    }
}

impl PoolLimits {
    /// Refuses limits under which the pool could not work as its rules say: a sender's
    /// guaranteed slots must fit in the pool, and so must its queue.
    pub fn check(&self) -> Result<(), String> {
        if self.account_slots == 0 || self.global_slots < self.account_slots {
            return Err(format!(
                "txpool: accountslots ({}) must be at least 1 and at most globalslots ({})",
                self.account_slots, self.global_slots
            ));
        }
        if self.global_queue < self.account_queue {
            return Err(format!(
                "txpool: accountqueue ({}) must be at most globalqueue ({})",
                self.account_queue, self.global_queue
            ));
        }
        if self.lifetime.is_zero() {
            return Err("txpool: lifetime must be at least 1 second".into());
        }
        Ok(())
    }
}

/// What the pool needs to know of a sender's account at the head.
#[derive(Clone, Copy, Debug, Default)]
pub struct SenderState {
    pub nonce: u64,
    pub balance: U256,
}

/// A pooled transaction, shared between the indices.
#[derive(Debug)]
pub struct PooledTx {
    pub tx: RecoveredTx,
    pub encoded_len: usize,
    /// Sent by this node itself (never refused for room, never evicted).
    pub local: bool,
    /// When it entered the pool (queued transactions expire).
    pub added: Instant,
    /// Its place in the order of arrival: among equal tips a block takes the earlier first.
    pub arrival: u64,
}

impl PooledTx {
    fn nonce(&self) -> u64 {
        self.tx.tx.nonce()
    }
    /// The tip the sealer would earn per gas at `base_fee`.
    fn tip_at(&self, base_fee: u64) -> u128 {
        self.tx.tx.effective_tip_per_gas(base_fee).unwrap_or(0)
    }
}

/// Transactions waiting for a block, indexed by hash and by sender and nonce.
pub struct TxPool {
    config: PoolConfig,
    by_hash: HashMap<B256, Arc<PooledTx>>,
    by_sender: HashMap<Address, BTreeMap<u64, Arc<PooledTx>>>,
    /// Each sender's state nonce when last seen (at admission or at a new head).
    state_nonce: HashMap<Address, u64>,
    /// Each sender's queued transactions (behind a gap), and their sum.
    queued: HashMap<Address, usize>,
    queued_total: usize,
    /// Transactions admitted so far (the next one's `arrival`).
    arrivals: u64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            by_hash: HashMap::default(),
            by_sender: HashMap::default(),
            state_nonce: HashMap::default(),
            queued: HashMap::default(),
            queued_total: 0,
            arrivals: 0,
        }
    }

    /// How many pooled transactions wait behind a nonce gap.
    pub fn queued_len(&self) -> usize {
        self.queued_total
    }

    /// How many transactions are pooled.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing is pooled.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// A pooled transaction by hash (for `eth_getTransactionByHash` before it is mined).
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.by_hash.get(hash).cloned()
    }

    /// Checks what can be checked without the pool (size, chain id, gas, fees): cheap, so
    /// callers run it before spending a signature recovery on the transaction.
    pub fn check_stateless(
        &self,
        tx: &TxEnvelope,
        encoded_len: usize,
        base_fee: u64,
    ) -> Result<(), PoolError> {
        validation::check_stateless(&self.config, tx, encoded_len, base_fee)
    }

    /// Admits a transaction whose sender is recovered (outside the pool's lock, since recovery
    /// is the expensive part) and which passed [`check_stateless`](Self::check_stateless).
    /// `state` gives the sender's account at the head; `base_fee` is the next block's.
    pub fn add(
        &mut self,
        tx: RecoveredTx,
        encoded_len: usize,
        base_fee: u64,
        state: impl FnOnce(Address) -> SenderState,
    ) -> Result<B256, PoolError> {
        self.add_with(tx, encoded_len, base_fee, false, state)
    }

    /// [`add`](Self::add) for a transaction the node sends itself: it makes room by evicting
    /// others' transactions whatever they tip, so consensus-critical transactions
    /// (registrations, deliveries) cannot be starved by a full pool.
    pub fn add_local(
        &mut self,
        tx: RecoveredTx,
        encoded_len: usize,
        base_fee: u64,
        state: impl FnOnce(Address) -> SenderState,
    ) -> Result<B256, PoolError> {
        self.add_with(tx, encoded_len, base_fee, true, state)
    }

    fn add_with(
        &mut self,
        tx: RecoveredTx,
        encoded_len: usize,
        base_fee: u64,
        local: bool,
        state: impl FnOnce(Address) -> SenderState,
    ) -> Result<B256, PoolError> {
        validation::check_stateless(&self.config, &tx.tx, encoded_len, base_fee)?;
        let RecoveredTx { tx, sender, hash } = tx;
        if self.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let account = state(sender);
        validation::check_against_account(&tx, account)?;

        let nonce = tx.nonce();
        let pooled = Arc::new(PooledTx {
            tx: RecoveredTx { tx, sender, hash },
            encoded_len,
            local,
            added: Instant::now(),
            arrival: self.arrivals,
        });
        self.recount(sender, account.nonce);
        let existing = self.by_sender.get(&sender);
        if let Some(existing) = existing.and_then(|q| q.get(&nonce)) {
            validation::check_replacement(&self.config, &existing.tx.tx, &pooled.tx.tx)?;
        } else {
            if existing.is_some_and(|q| q.len() >= self.config.max_per_sender) {
                return Err(PoolError::SenderFull {
                    limit: self.config.max_per_sender,
                });
            }
            if nonce > account.nonce + self.config.max_per_sender as u64 {
                return Err(PoolError::NonceTooHigh {
                    next: account.nonce,
                    got: nonce,
                });
            }
            let gapped = nonce > self.pending_nonce(sender, account.nonce);
            if gapped {
                let own = self.queued.get(&sender).copied().unwrap_or(0);
                if own >= self.config.limits.account_queue {
                    return Err(PoolError::SenderQueueFull {
                        limit: self.config.limits.account_queue,
                    });
                }
                if self.queued_total >= self.config.limits.global_queue {
                    self.evict_for(&pooled, base_fee, true)?;
                }
            }
            if self.by_hash.len() >= self.config.limits.global_slots {
                self.evict_for(&pooled, base_fee, false)?;
            }
        }
        let queue = self.by_sender.entry(sender).or_default();
        if let Some(replaced) = queue.insert(nonce, pooled.clone()) {
            self.by_hash.remove(&replaced.tx.hash);
        }
        self.by_hash.insert(hash, pooled);
        self.arrivals += 1;
        self.recount(sender, account.nonce);
        Ok(hash)
    }

    /// Records `sender`'s state nonce and recounts its queued transactions (those after the
    /// first gap in its run from that nonce).
    fn recount(&mut self, sender: Address, state_nonce: u64) {
        self.state_nonce.insert(sender, state_nonce);
        let queued = match self.by_sender.get(&sender) {
            Some(queue) => {
                let run = self.pending_nonce(sender, state_nonce) - state_nonce;
                queue
                    .range(state_nonce..)
                    .count()
                    .saturating_sub(run as usize)
            }
            None => 0,
        };
        let before = if queued == 0 {
            self.queued.remove(&sender)
        } else {
            self.queued.insert(sender, queued)
        };
        self.queued_total = self.queued_total - before.unwrap_or(0) + queued;
        if !self.by_sender.contains_key(&sender) {
            self.state_nonce.remove(&sender);
        }
    }

    /// Makes room by dropping another sender's last transaction: a queued one first (among
    /// queued ones only, with `queued_only`), then one of a sender beyond its account slots,
    /// the lowest tip among them. An executable or local `incoming` transaction always
    /// displaces a queued one, and one within its sender's slots the tail of a sender beyond
    /// its own (so one busy sender cannot lock others out); otherwise it must tip more.
    /// Local transactions are never dropped.
    fn evict_for(
        &mut self,
        incoming: &PooledTx,
        base_fee: u64,
        queued_only: bool,
    ) -> Result<(), PoolError> {
        let incoming_executable = !queued_only && {
            let sender = incoming.tx.sender;
            let state_nonce = self.state_nonce.get(&sender).copied().unwrap_or(0);
            incoming.nonce() <= self.pending_nonce(sender, state_nonce)
        };
        let slots = self.config.limits.account_slots;
        let incoming_within_slots = self
            .by_sender
            .get(&incoming.tx.sender)
            .is_none_or(|q| q.len() < slots);
        let worst = self
            .by_sender
            .iter()
            .filter(|(sender, _)| **sender != incoming.tx.sender)
            .filter_map(|(sender, queue)| {
                let over_slots = queue.len() > slots;
                queue
                    .last_key_value()
                    .map(|(_, tx)| (*sender, over_slots, tx))
            })
            .filter(|(_, _, tx)| !tx.local)
            .map(|(sender, over, tx)| (self.queued.contains_key(&sender), over, sender, tx))
            .filter(|(queued, _, _, _)| *queued || !queued_only)
            .min_by_key(|(queued, over, _, tx)| (!*queued, !*over, tx.tip_at(base_fee)))
            .map(|(queued, over, sender, tx)| {
                (
                    queued,
                    over,
                    sender,
                    tx.nonce(),
                    tx.tip_at(base_fee),
                    tx.tx.hash,
                )
            });
        match worst {
            Some((queued, over_slots, sender, nonce, tip, hash))
                if incoming.local
                    || (queued && incoming_executable)
                    || (over_slots && incoming_executable && incoming_within_slots)
                    || tip < incoming.tip_at(base_fee) =>
            {
                self.remove_entry(sender, nonce);
                self.recount_known(sender);
                tracing::debug!(%hash, "evicted from full pool");
                Ok(())
            }
            _ if queued_only => Err(PoolError::QueueFull {
                limit: self.config.limits.global_queue,
            }),
            _ => Err(PoolError::PoolFull {
                limit: self.config.limits.global_slots,
            }),
        }
    }

    /// [`recount`](Self::recount) with the sender's last known state nonce.
    fn recount_known(&mut self, sender: Address) {
        let nonce = self.state_nonce.get(&sender).copied().unwrap_or(0);
        self.recount(sender, nonce);
    }

    fn remove_entry(&mut self, sender: Address, nonce: u64) {
        if let Some(queue) = self.by_sender.get_mut(&sender) {
            if let Some(tx) = queue.remove(&nonce) {
                self.by_hash.remove(&tx.tx.hash);
            }
            if queue.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
    }

    /// The nonce the sender's next transaction should carry: after its consecutive run.
    pub fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(queue) = self.by_sender.get(&sender) {
            for nonce in queue.range(state_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Transactions ready for a block, best tip first and, among equal tips, first come first
    /// (as geth orders them): each sender's in nonce order. Ordered by address instead, a load
    /// of equal tips starves the lowest addresses while the others keep sending.
    pub fn best(&self, base_fee: u64, nonce_of: impl Fn(Address) -> u64) -> Vec<RecoveredTx> {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct Head {
            tip: u128,
            earlier: Reverse<u64>,
            sender: Address,
            nonce: u64,
        }
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &self.by_sender {
            let nonce = nonce_of(*sender);
            if let Some(tx) = queue.get(&nonce) {
                heap.push(Head {
                    tip: tx.tip_at(base_fee),
                    earlier: Reverse(tx.arrival),
                    sender: *sender,
                    nonce,
                });
            }
        }
        let mut out = Vec::new();
        while let Some(Head { sender, nonce, .. }) = heap.pop() {
            let queue = &self.by_sender[&sender];
            let tx = &queue[&nonce];
            if tx.tx.tx.max_fee_per_gas() >= base_fee as u128 {
                out.push(tx.tx.clone());
                if let Some(next) = queue.get(&(nonce + 1)) {
                    heap.push(Head {
                        tip: next.tip_at(base_fee),
                        earlier: Reverse(next.arrival),
                        sender,
                        nonce: nonce + 1,
                    });
                }
            }
        }
        out
    }

    /// Forgets transactions a new head has made stale (mined, or nonce now too low), and
    /// queued ones that waited longer than their lifetime for their gap to close.
    pub fn prune(&mut self, nonce_of: impl Fn(Address) -> u64) {
        let senders: Vec<Address> = self.by_sender.keys().copied().collect();
        for sender in senders {
            let nonce = nonce_of(sender);
            let run_end = self.pending_nonce(sender, nonce);
            let lifetime = self.config.limits.lifetime;
            let stale: Vec<u64> = self.by_sender[&sender]
                .iter()
                .filter(|(n, tx)| **n < nonce || (**n > run_end && tx.added.elapsed() > lifetime))
                .map(|(n, _)| *n)
                .collect();
            for n in stale {
                self.remove_entry(sender, n);
            }
            self.recount(sender, nonce);
        }
    }

    /// Drops one transaction (a builder found it can never run).
    pub fn remove(&mut self, hash: &B256) {
        if let Some(tx) = self.by_hash.get(hash).cloned() {
            self.remove_entry(tx.tx.sender, tx.nonce());
            self.recount_known(tx.tx.sender);
        }
    }

    /// All pooled transactions, for `txpool_content`-style inspection.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.by_hash.values()
    }

    /// The pool as geth's `txpool_content` shows it: per sender, the transactions that can run
    /// now (pending: the consecutive run from the sender's nonce) and those behind a gap
    /// (queued), each in nonce order.
    pub fn content(&self) -> PoolContent {
        let mut content = PoolContent::default();
        for (sender, queue) in &self.by_sender {
            let nonce = self.state_nonce.get(sender).copied().unwrap_or_default();
            let run_end = self.pending_nonce(*sender, nonce);
            for (n, tx) in queue {
                let side = if *n < run_end {
                    &mut content.pending
                } else {
                    &mut content.queued
                };
                side.entry(*sender).or_default().push(tx.tx.clone());
            }
        }
        content
    }
}

/// Pooled transactions by sender, pending and queued (see [`TxPool::content`]).
#[derive(Clone, Debug, Default)]
pub struct PoolContent {
    pub pending: BTreeMap<Address, Vec<RecoveredTx>>,
    pub queued: BTreeMap<Address, Vec<RecoveredTx>>,
}

#[cfg(test)]
mod tests;
