//! The transaction pool: signed transactions waiting for a block.
//!
//! Per sender, transactions are kept by nonce; a block takes each sender's run of consecutive
//! nonces from its state nonce, best tip first across senders. Memory is bounded per sender and
//! in total; when full, a better-paying transaction evicts the worst sender's last one (never
//! one in the middle of a run, which would strand the rest). Every rejection names its rule.

mod validation;

pub use validation::{PoolError, intrinsic_gas};

use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256, map::HashMap};
use ankr_types::{RecoveredTx, TxEnvelope};
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

/// The pool's limits, which bound its memory whatever peers and users send.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub chain_id: u64,
    /// Largest gas one transaction may ask for (the chain's cap).
    pub max_tx_gas: u64,
    /// Largest encoded transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    pub max_per_sender: usize,
    pub max_total: usize,
    /// How much (percent) a replacement must raise both fee fields.
    pub price_bump_percent: u128,
}

impl PoolConfig {
    /// Defaults like geth's: 64 per sender, 8192 in total, 128 KiB per transaction, 10 % bump.
    pub fn new(chain_id: u64, max_tx_gas: u64) -> Self {
        Self {
            chain_id,
            max_tx_gas,
            max_tx_bytes: 128 * 1024,
            max_per_sender: 64,
            max_total: 8192,
            price_bump_percent: 10,
        }
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
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            by_hash: HashMap::default(),
            by_sender: HashMap::default(),
        }
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
        });
        let queued = self.by_sender.get(&sender);
        if let Some(existing) = queued.and_then(|q| q.get(&nonce)) {
            validation::check_replacement(&self.config, &existing.tx.tx, &pooled.tx.tx)?;
        } else {
            if queued.is_some_and(|q| q.len() >= self.config.max_per_sender) {
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
            if self.by_hash.len() >= self.config.max_total {
                self.evict_for(&pooled, base_fee)?;
            }
        }
        let queue = self.by_sender.entry(sender).or_default();
        if let Some(replaced) = queue.insert(nonce, pooled.clone()) {
            self.by_hash.remove(&replaced.tx.hash);
        }
        self.by_hash.insert(hash, pooled);
        Ok(hash)
    }

    /// Makes room by dropping the lowest-tipping last transaction of another sender, if
    /// `incoming` tips more.
    fn evict_for(&mut self, incoming: &PooledTx, base_fee: u64) -> Result<(), PoolError> {
        let worst = self
            .by_sender
            .iter()
            .filter(|(sender, _)| **sender != incoming.tx.sender)
            .filter_map(|(sender, queue)| queue.last_key_value().map(|(_, tx)| (*sender, tx)))
            .min_by_key(|(_, tx)| tx.tip_at(base_fee))
            .map(|(sender, tx)| (sender, tx.nonce(), tx.tip_at(base_fee), tx.tx.hash));
        match worst {
            Some((sender, nonce, tip, hash)) if tip < incoming.tip_at(base_fee) => {
                self.remove_entry(sender, nonce);
                tracing::debug!(%hash, "evicted from full pool");
                Ok(())
            }
            _ => Err(PoolError::PoolFull {
                limit: self.config.max_total,
            }),
        }
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

    /// Transactions ready for a block, best tip first, each sender's in nonce order.
    pub fn best(&self, base_fee: u64, nonce_of: impl Fn(Address) -> u64) -> Vec<RecoveredTx> {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct Head {
            tip: u128,
            sender: Address,
            nonce: u64,
        }
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &self.by_sender {
            let nonce = nonce_of(*sender);
            if let Some(tx) = queue.get(&nonce) {
                heap.push(Head {
                    tip: tx.tip_at(base_fee),
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
                        sender,
                        nonce: nonce + 1,
                    });
                }
            }
        }
        out
    }

    /// Forgets transactions a new head has made stale (mined, or nonce now too low).
    pub fn prune(&mut self, nonce_of: impl Fn(Address) -> u64) {
        let senders: Vec<Address> = self.by_sender.keys().copied().collect();
        for sender in senders {
            let nonce = nonce_of(sender);
            let stale: Vec<u64> = self.by_sender[&sender]
                .range(..nonce)
                .map(|(n, _)| *n)
                .collect();
            for n in stale {
                self.remove_entry(sender, n);
            }
        }
    }

    /// Drops one transaction (a builder found it can never run).
    pub fn remove(&mut self, hash: &B256) {
        if let Some(tx) = self.by_hash.get(hash).cloned() {
            self.remove_entry(tx.tx.sender, tx.nonce());
        }
    }

    /// All pooled transactions, for `txpool_content`-style inspection.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.by_hash.values()
    }
}

#[cfg(test)]
mod tests;
