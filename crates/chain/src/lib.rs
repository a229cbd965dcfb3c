//! The main chain as one object: it imports blocks from others, builds blocks from the pool,
//! keeps the head, and tells subscribers what happened.
//!
//! One writer at a time ([`Chain`] serialises writes); readers take consistent snapshots from
//! storage and never wait for a block to be written.

mod bad_blocks;
mod blobs;
mod build;
mod built;
pub mod child_chains;
mod error;
mod fork_choice;
mod import;
pub mod metrics;
mod operator;
mod pouw;
mod rules;

pub use bad_blocks::BadBlock;
pub use blobs::{BlobError, MAX_BLOB_STORE_BYTES};
pub use build::{Contents, Sealer};
pub use error::{ChainError, ImportError, SubmitError, SystemCallError};
pub use fork_choice::MAX_REORG_DEPTH;
pub use pouw::EnclaveStatus;
pub use rules::{MAX_FUTURE_SECONDS, can_build_on, next_base_fee, now_seconds};

use alloy_consensus::ReceiptEnvelope;
use alloy_eips::Decodable2718;
use alloy_primitives::{Address, B256};
use ankr_execution::{ChainConfig, write_genesis};
use ankr_storage::{Store, StoreReader};
use ankr_txpool::{PoolConfig, PoolLimits, SenderState, TxPool};
use ankr_types::{ChainSpec, Header, RecoveredTx, TxEnvelope, recover_sender};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Notify, broadcast};

/// Largest blob a node stores (modules, inputs, results): 4 MiB, which fits a JSON-RPC
/// request as hex.
pub const MAX_BLOB_BYTES: usize = 4 << 20;

fn check_blob_size(bytes: &[u8]) -> Result<(), SubmitError> {
    if bytes.len() > MAX_BLOB_BYTES {
        return Err(SubmitError::Decode(format!(
            "blob of {} bytes is larger than the {MAX_BLOB_BYTES}-byte limit",
            bytes.len()
        )));
    }
    Ok(())
}

/// A block that became the head, as subscribers see it.
#[derive(Clone, Debug)]
pub struct NewBlock {
    pub header: Header,
    pub hash: B256,
    pub transaction_hashes: Vec<B256>,
    pub receipts: Vec<ReceiptEnvelope>,
}

/// A fork this node saw: a block that did not extend its head, or a move onto another branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForkEvent {
    /// A valid block stored beside the canonical chain; `heavier` when its branch then
    /// outweighed the head (a reorganisation follows).
    SideBlock {
        number: u64,
        hash: B256,
        parent_hash: B256,
        heavier: bool,
        seen_at: u64,
    },
    /// The head moved from `from` onto the branch ending at `to`, unwinding `unwound` blocks.
    Reorganisation {
        from: B256,
        to: B256,
        number: u64,
        unwound: usize,
        seen_at: u64,
    },
}

/// Fork events remembered.
const RECENT_FORKS: usize = 64;

/// Transaction senders remembered by hash (about 2 MB at most).
const RECOVERED_SENDERS: usize = 32_768;

/// The chain a node follows: storage, pool, head and event channel behind one writer.
pub struct Chain {
    store: Store,
    spec: ChainSpec,
    config: ChainConfig,
    pool: Mutex<TxPool>,
    head: RwLock<Header>,
    /// Held while a block is being written: one writer at a time.
    writer: Mutex<()>,
    blocks: broadcast::Sender<Arc<NewBlock>>,
    pending_tx: Notify,
    /// Each transaction that enters the pool, for `newPendingTransactions` subscribers.
    arrived: broadcast::Sender<Arc<RecoveredTx>>,
    /// Hashes that entered the pool, numbered, for pending-transaction filters.
    arrivals: Mutex<Arrivals>,
    /// Blocks found invalid under the full rules: they and their descendants are refused at
    /// once, so a peer cannot make the node unwind and re-execute the same bad branch again.
    invalid: Mutex<fork_choice::InvalidBlocks>,
    /// The most recent blocks whose execution failed, kept whole for watchers and debugging.
    bad_blocks: Mutex<bad_blocks::BadBlocks>,
    /// Reorganisations that failed on an invalid branch block since start (for tests and
    /// status).
    failed_reorganisations: std::sync::atomic::AtomicU64,
    /// What the chain counted of its work since start (`/metrics`).
    metrics: metrics::ChainMetrics,
    /// Whether the next block tries two threads, after how the last tries went.
    two_threads: ankr_execution::TwoThreads,
    /// On a child chain, the anchor the next block built here carries (its main-chain
    /// manager's deposit hash, set by the operator's link to the main chain).
    anchor: RwLock<B256>,
    /// What each recent block contributes to a defence window, by hash.
    window_cache: Mutex<std::collections::HashMap<B256, pouw::WindowEntry>>,
    /// The forks this node saw most recently (the explorer shows them), newest last.
    recent_forks: Mutex<std::collections::VecDeque<ForkEvent>>,
    /// Senders recovered by transaction hash: a transaction sent again (a wallet retrying,
    /// a refused send resent, gossip bringing it back) does not pay for recovery twice.
    recovered_senders: Mutex<std::collections::HashMap<B256, Address>>,
    /// Templates built here with their execution, for import to take when they come back
    /// sealed instead of running them again.
    built: Mutex<built::BuiltTemplates>,
}

/// The most recent pool arrivals, numbered from 1, at most [`Arrivals::KEPT`] of them.
#[derive(Default)]
struct Arrivals {
    next: u64,
    recent: std::collections::VecDeque<(u64, B256)>,
}

impl Arrivals {
    const KEPT: usize = 4096;
}

impl Chain {
    /// Opens the chain in `dir`, writing genesis on first start and resuming from the last
    /// committed block after that.
    pub fn open(dir: &Path, spec: ChainSpec) -> Result<Self, ChainError> {
        Self::open_with_pool(dir, spec, &PoolLimits::default())
    }

    /// [`Chain::open`] with a pool held to an operator's `limits`.
    pub fn open_with_pool(
        dir: &Path,
        spec: ChainSpec,
        limits: &PoolLimits,
    ) -> Result<Self, ChainError> {
        spec.validate()?;
        let store = Store::open(dir)?;
        write_genesis(&store, &spec)?;
        let head = store.reader()?.head()?.expect("genesis was just written");
        let config = ChainConfig::from(&spec);
        let pool = TxPool::new(PoolConfig::with_limits(
            spec.chain_id,
            spec.max_tx_gas,
            limits,
        ));
        let chain = Self {
            store,
            config,
            pool: Mutex::new(pool),
            head: RwLock::new(head),
            writer: Mutex::new(()),
            invalid: Mutex::new(Default::default()),
            bad_blocks: Mutex::default(),
            anchor: RwLock::default(),
            failed_reorganisations: Default::default(),
            metrics: Default::default(),
            // One core would run both threads in turn: all the recording for nothing.
            two_threads: match std::thread::available_parallelism() {
                Ok(cores) if cores.get() >= 2 => Default::default(),
                _ => ankr_execution::TwoThreads::off(),
            },
            window_cache: Default::default(),
            recovered_senders: Default::default(),
            built: Default::default(),
            recent_forks: Default::default(),
            blocks: broadcast::channel(256).0,
            pending_tx: Notify::new(),
            arrived: broadcast::channel(4096).0,
            arrivals: Mutex::default(),
            spec,
        };
        if chain.config.anchored {
            // A restarted operator goes on from the anchor it last built with.
            chain.set_anchor(chain.head().child_chains_root);
        }
        chain
            .resume_reorganisation()
            .map_err(|e| ChainError::Interrupted(Box::new(e)))?;
        Ok(chain)
    }

    /// The anchor the next block built on this child chain will carry.
    pub fn anchor(&self) -> B256 {
        *self.anchor.read().expect("anchor lock")
    }

    /// Sets the anchor of the blocks built from now on (the operator, as the main chain's
    /// deposits are confirmed).
    pub fn set_anchor(&self, anchor: B256) {
        *self.anchor.write().expect("anchor lock") = anchor;
    }

    /// The spec this chain was opened with.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The EVM settings derived from the spec, for calls against this chain's state.
    pub fn execution_config(&self) -> &ChainConfig {
        &self.config
    }

    /// Stores a blob the node made itself (a work result) and returns its hash; at most
    /// [`MAX_BLOB_BYTES`]. Blobs from clients go through [`Chain::put_task_blob`].
    pub fn put_blob(&self, bytes: &[u8]) -> Result<B256, SubmitError> {
        check_blob_size(bytes)?;
        Ok(self.store.put_blob(bytes)?)
    }

    /// The blob with keccak hash `hash`, if this node stores it.
    pub fn blob(&self, hash: B256) -> Result<Option<Vec<u8>>, ankr_storage::StoreError> {
        self.store.blob(hash)
    }

    /// Reorganisations that failed on an invalid branch block since start.
    /// What the chain counted of its work since the node started.
    pub fn metrics(&self) -> metrics::ChainCounts {
        self.metrics.read()
    }

    pub fn failed_reorganisations(&self) -> u64 {
        self.failed_reorganisations
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current head header.
    pub fn head(&self) -> Header {
        self.head.read().expect("head lock").clone()
    }

    /// A consistent snapshot for reading blocks and state.
    pub fn reader(&self) -> Result<StoreReader, ankr_storage::StoreError> {
        self.store.reader()
    }

    /// New heads, in order. A subscriber that lags more than 256 blocks misses some.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<NewBlock>> {
        self.blocks.subscribe()
    }

    /// Resolves when a transaction enters the pool (the instant sealer waits on it).
    pub async fn transaction_arrived(&self) {
        self.pending_tx.notified().await
    }

    /// The forks this node saw most recently, oldest first.
    pub fn recent_forks(&self) -> Vec<ForkEvent> {
        self.recent_forks
            .lock()
            .expect("forks lock")
            .iter()
            .cloned()
            .collect()
    }

    fn record_fork(&self, event: ForkEvent) {
        let mut forks = self.recent_forks.lock().expect("forks lock");
        if forks.len() == RECENT_FORKS {
            forks.pop_front();
        }
        forks.push_back(event);
    }

    /// Decodes, validates and pools a raw EIP-2718 transaction.
    pub fn submit_raw_transaction(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        self.submit(raw, false)
    }

    /// [`submit_raw_transaction`](Self::submit_raw_transaction) for the node's own
    /// transactions (enclave registrations, work deliveries): a full pool makes room for them.
    pub fn submit_local_transaction(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        self.submit(raw, true)
    }

    fn submit(&self, raw: &[u8], local: bool) -> Result<B256, SubmitError> {
        let tx =
            TxEnvelope::decode_2718_exact(raw).map_err(|e| SubmitError::Decode(e.to_string()))?;
        let base_fee = next_base_fee(&self.head());
        self.pool
            .lock()
            .expect("pool lock")
            .check_stateless(&tx, raw.len(), base_fee)?;
        let sender = self.sender_of(&tx)?;
        self.add_to_pool(RecoveredTx::new(tx, sender), raw.len(), local)
    }

    /// The sender of `tx`, recovered once per transaction hash (kept for the last
    /// [`RECOVERED_SENDERS`] or so transactions).
    fn sender_of(&self, tx: &TxEnvelope) -> Result<Address, SubmitError> {
        let hash = *tx.tx_hash();
        if let Some(sender) = self
            .recovered_senders
            .lock()
            .expect("recovered senders lock")
            .get(&hash)
        {
            return Ok(*sender);
        }
        let sender = recover_sender(tx).map_err(ankr_txpool::PoolError::from)?;
        let mut cache = self
            .recovered_senders
            .lock()
            .expect("recovered senders lock");
        if cache.len() >= RECOVERED_SENDERS {
            cache.clear();
        }
        cache.insert(hash, sender);
        Ok(sender)
    }

    /// Adds a checked, recovered transaction to the pool against the head state.
    fn add_to_pool(&self, tx: RecoveredTx, size: usize, local: bool) -> Result<B256, SubmitError> {
        // Kept only while someone subscribes: a copy per transaction otherwise costs for nothing.
        let announced = (self.arrived.receiver_count() > 0).then(|| Arc::new(tx.clone()));
        let base_fee = next_base_fee(&self.head());
        // The head's state is read while the pool is locked (as in `pending_nonce`): read
        // before, a block that landed in between would leave the sender's nonce below the
        // transactions it just pruned, and the next one would look queued behind a gap.
        let mut pool = self.pool.lock().expect("pool lock");
        let state = self.reader()?.state()?;
        let mut lookup_error = None;
        let lookup = |sender| match state.account(sender) {
            Ok(account) => account
                .map(|a| SenderState {
                    nonce: a.nonce,
                    balance: a.balance,
                })
                .unwrap_or_default(),
            Err(e) => {
                lookup_error = Some(e);
                SenderState::default()
            }
        };
        let hash = if local {
            pool.add_local(tx, size, base_fee, lookup)
        } else {
            pool.add(tx, size, base_fee, lookup)
        };
        drop(pool);
        if let Some(e) = lookup_error {
            return Err(SubmitError::Chain(e.into()));
        }
        let hash = hash?;
        {
            let mut arrivals = self.arrivals.lock().expect("arrivals lock");
            arrivals.next += 1;
            let number = arrivals.next;
            arrivals.recent.push_back((number, hash));
            if arrivals.recent.len() > Arrivals::KEPT {
                arrivals.recent.pop_front();
            }
        }
        self.pending_tx.notify_one();
        if let Some(tx) = announced {
            let _ = self.arrived.send(tx);
        }
        Ok(hash)
    }

    /// Each transaction that enters the pool from now on (a subscriber that falls more than
    /// 4,096 behind misses some, as geth's does).
    pub fn subscribe_pending(&self) -> broadcast::Receiver<Arc<RecoveredTx>> {
        self.arrived.subscribe()
    }

    /// The number of the latest transaction to enter the pool (0 before any).
    pub fn latest_arrival(&self) -> u64 {
        self.arrivals.lock().expect("arrivals lock").next
    }

    /// Hashes of transactions that entered the pool after arrival number `after`, and the
    /// latest number. Only the last 4096 arrivals are kept.
    pub fn arrivals_since(&self, after: u64) -> (Vec<B256>, u64) {
        let arrivals = self.arrivals.lock().expect("arrivals lock");
        let hashes = arrivals
            .recent
            .iter()
            .filter(|(n, _)| *n > after)
            .map(|(_, h)| *h)
            .collect();
        (hashes, arrivals.next)
    }

    /// The nonce a sender's next transaction should use, counting its pooled ones.
    ///
    /// The head's nonce is read while the pool is locked: a block commits before its
    /// transactions leave the pool, so the two agree. (Read before the lock, a block landing in
    /// between left the nonce of a transaction it had just mined and pruned: clients signing
    /// with it were refused "nonce too low".)
    pub fn pending_nonce(&self, sender: Address) -> Result<u64, ankr_storage::StoreError> {
        let pool = self.pool.lock().expect("pool lock");
        let state_nonce = self
            .store
            .reader()?
            .state()?
            .account(sender)?
            .map_or(0, |a| a.nonce);
        Ok(pool.pending_nonce(sender, state_nonce))
    }

    /// A pooled (not yet mined) transaction.
    pub fn pooled_transaction(&self, hash: &B256) -> Option<ankr_types::RecoveredTx> {
        self.pool
            .lock()
            .expect("pool lock")
            .get(hash)
            .map(|p| p.tx.clone())
    }

    /// The pool's transactions by sender, pending and queued (`txpool_content`).
    pub fn pool_content(&self) -> ankr_txpool::PoolContent {
        self.pool.lock().expect("pool lock").content()
    }

    /// How many transactions wait in the pool.
    pub fn pool_size(&self) -> usize {
        self.pool.lock().expect("pool lock").len()
    }

    fn set_head(&self, block: NewBlock) {
        *self.head.write().expect("head lock") = block.header.clone();
        let _ = self.blocks.send(Arc::new(block));
    }
}
