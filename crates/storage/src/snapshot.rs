//! One read transaction, shared by every reader of the same commit.
//!
//! Opening a redb table checks its stored key and value types (their names are formatted and
//! compared) and costs more than the lookup it is opened for: a JSON-RPC `eth_call` on the
//! latest block opened twelve, 28 % of its time under load. A [`Snapshot`] opens each table
//! once, on first use, and [`Latest`] hands the same snapshot to every reader until the next
//! commit, so a read under load opens none and begins no transaction.

use crate::{StoreError, hot_state::HotView, tables::*, trie_top::SharedTop};
use redb::{Key, ReadOnlyTable, ReadTransaction, TableDefinition, Value};
use std::sync::{
    Arc, Mutex, OnceLock,
    atomic::{AtomicU64, Ordering},
};

/// The storage slots table: (keccak(address), keccak(slot)) to value.
pub(crate) type SlotTable = ReadOnlyTable<([u8; 32], [u8; 32]), [u8; 32]>;

/// A read transaction and its tables, each opened when first asked for and then kept.
pub(crate) struct Snapshot {
    txn: ReadTransaction,
    /// The hot-state cache, if it held this snapshot's head state when the snapshot was taken.
    pub(crate) hot: Option<HotView>,
    /// The account trie's top levels as writers publish them; what is published serves this
    /// snapshot only while its version is the snapshot's `META_TRIE_VERSION` (`proof.rs`).
    pub(crate) top: Arc<SharedTop>,
    meta: OnceLock<ReadOnlyTable<&'static str, &'static [u8]>>,
    headers: OnceLock<ReadOnlyTable<[u8; 32], &'static [u8]>>,
    canonical: OnceLock<ReadOnlyTable<u64, [u8; 32]>>,
    bodies: OnceLock<ReadOnlyTable<[u8; 32], &'static [u8]>>,
    receipts: OnceLock<ReadOnlyTable<[u8; 32], &'static [u8]>>,
    total_difficulty: OnceLock<ReadOnlyTable<[u8; 32], [u8; 32]>>,
    tx_lookup: OnceLock<ReadOnlyTable<[u8; 32], (u64, u32)>>,
    changesets: OnceLock<ReadOnlyTable<u64, &'static [u8]>>,
    accounts: OnceLock<ReadOnlyTable<[u8; 32], &'static [u8]>>,
    storage: OnceLock<SlotTable>,
    code: OnceLock<ReadOnlyTable<[u8; 32], &'static [u8]>>,
}

/// The table in `cell`, opened from `txn` if this is the first time it is asked for (two
/// threads asking at once may both open it; one copy is kept).
fn opened<'s, K: Key + 'static, V: Value + 'static>(
    txn: &ReadTransaction,
    cell: &'s OnceLock<ReadOnlyTable<K, V>>,
    table: TableDefinition<K, V>,
) -> Result<&'s ReadOnlyTable<K, V>, StoreError> {
    if let Some(open) = cell.get() {
        return Ok(open);
    }
    let open = txn.open_table(table)?;
    Ok(cell.get_or_init(|| open))
}

impl Snapshot {
    pub(crate) fn new(txn: ReadTransaction, hot: Option<HotView>, top: Arc<SharedTop>) -> Self {
        Self {
            txn,
            hot,
            top,
            meta: OnceLock::new(),
            headers: OnceLock::new(),
            canonical: OnceLock::new(),
            bodies: OnceLock::new(),
            receipts: OnceLock::new(),
            total_difficulty: OnceLock::new(),
            tx_lookup: OnceLock::new(),
            changesets: OnceLock::new(),
            accounts: OnceLock::new(),
            storage: OnceLock::new(),
            code: OnceLock::new(),
        }
    }

    pub(crate) fn meta(&self) -> Result<&ReadOnlyTable<&'static str, &'static [u8]>, StoreError> {
        opened(&self.txn, &self.meta, META)
    }

    pub(crate) fn headers(&self) -> Result<&ReadOnlyTable<[u8; 32], &'static [u8]>, StoreError> {
        opened(&self.txn, &self.headers, HEADERS)
    }

    pub(crate) fn canonical(&self) -> Result<&ReadOnlyTable<u64, [u8; 32]>, StoreError> {
        opened(&self.txn, &self.canonical, CANONICAL)
    }

    pub(crate) fn bodies(&self) -> Result<&ReadOnlyTable<[u8; 32], &'static [u8]>, StoreError> {
        opened(&self.txn, &self.bodies, BODIES)
    }

    pub(crate) fn receipts(&self) -> Result<&ReadOnlyTable<[u8; 32], &'static [u8]>, StoreError> {
        opened(&self.txn, &self.receipts, RECEIPTS)
    }

    pub(crate) fn total_difficulty(
        &self,
    ) -> Result<&ReadOnlyTable<[u8; 32], [u8; 32]>, StoreError> {
        opened(&self.txn, &self.total_difficulty, TOTAL_DIFFICULTY)
    }

    pub(crate) fn tx_lookup(&self) -> Result<&ReadOnlyTable<[u8; 32], (u64, u32)>, StoreError> {
        opened(&self.txn, &self.tx_lookup, TX_LOOKUP)
    }

    pub(crate) fn changesets(&self) -> Result<&ReadOnlyTable<u64, &'static [u8]>, StoreError> {
        opened(&self.txn, &self.changesets, CHANGESETS)
    }

    pub(crate) fn accounts(&self) -> Result<&ReadOnlyTable<[u8; 32], &'static [u8]>, StoreError> {
        opened(&self.txn, &self.accounts, ACCOUNTS)
    }

    pub(crate) fn storage(&self) -> Result<&SlotTable, StoreError> {
        opened(&self.txn, &self.storage, STORAGE)
    }

    pub(crate) fn code(&self) -> Result<&ReadOnlyTable<[u8; 32], &'static [u8]>, StoreError> {
        opened(&self.txn, &self.code, CODE)
    }

    /// One of the kept-trie tables, opened afresh: proofs and witnesses read them, not blocks.
    pub(crate) fn trie_table(
        &self,
        table: TableDefinition<&'static [u8], &'static [u8]>,
    ) -> Result<ReadOnlyTable<&'static [u8], &'static [u8]>, StoreError> {
        Ok(self.txn.open_table(table)?)
    }

    /// The account trie's key log since its last checkpoint (`trie_top.rs`).
    pub(crate) fn trie_log(&self) -> Result<ReadOnlyTable<u64, &'static [u8]>, StoreError> {
        Ok(self.txn.open_table(ACCOUNT_TRIE_LOG)?)
    }
}

/// The snapshot of the last commit, handed to every reader until the next commit. It is let go
/// at each commit, so an old read transaction lives only as long as a reader still holds it
/// (redb cannot reuse the pages a later commit freed while one does).
#[derive(Default)]
pub(crate) struct Latest {
    /// Commits finished: a snapshot is stored for sharing only if this has not moved since
    /// before it was taken (a commit clears the stored one after moving it).
    commits: AtomicU64,
    shared: Mutex<Option<Arc<Snapshot>>>,
}

impl Latest {
    /// The shared snapshot if there is one, else one from `take` (shared from then on if no
    /// commit finished meanwhile).
    pub(crate) fn get(
        &self,
        take: impl FnOnce() -> Result<Snapshot, StoreError>,
    ) -> Result<Arc<Snapshot>, StoreError> {
        let commits = self.commits.load(Ordering::Acquire);
        if let Some(snapshot) = &*self.lock() {
            return Ok(snapshot.clone());
        }
        // Taken after `commits` was read, so it holds at least every commit counted there.
        let snapshot = Arc::new(take()?);
        let mut shared = self.lock();
        // One taken while a commit was changing the hot-state cache reads past the cache; it
        // is not kept, so that the snapshot readers share is served by the cache.
        if snapshot.hot.is_some() && self.commits.load(Ordering::Acquire) == commits {
            *shared = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Called once a write transaction has committed (or failed to): readers from now on see it.
    pub(crate) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Release);
        // Under the lock, so a snapshot taken before the commit cannot be stored after this.
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Snapshot>>> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
