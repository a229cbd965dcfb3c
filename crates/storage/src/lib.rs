//! Chain storage in one embedded redb file.
//!
//! Every block — header, body, receipts, indices, state changes, the reverse changeset that
//! undoes them and the new head — is written in a single redb write transaction, so a crash at
//! any instant leaves either the whole block or none of it (DESIGN §3 "Storage").
//!
//! State is flat and hashed: accounts keyed by keccak(address), slots by (keccak(address),
//! keccak(slot)). That is the order of the Merkle-Patricia trie. Beside it the trie's branch
//! nodes are kept (`trie.rs`), so a block's root is rebuilt along the keys it changed only; the
//! account trie's top levels stay in memory between blocks (`trie_top.rs`).

mod block_writer;
mod changes;
mod error;
mod hot_state;
mod proof;
mod reader;
mod snapshot;
mod tables;
mod trie;
mod trie_tables;
mod trie_top;

pub use alloy_trie::TrieAccount;
pub use block_writer::BlockWriter;
pub use changes::{Account, AccountChanges, StateChanges, StorageChanges, account_after};
pub use error::StoreError;
pub use proof::{AccountProof, TouchedKeys, TrieNodes};
pub use reader::{Misses, PinnedState, StateReader, StoreReader, StoredBody, TxLocation};

use hot_state::{HotState, HotView};
use redb::ReadableDatabase;
use snapshot::{Latest, Snapshot};
use std::{path::Path, sync::Arc};
use trie_top::SharedTop;

/// Blocks of state history a node keeps unless told otherwise: what JSON-RPC serves of past
/// state (geth keeps 128, reth 10,064 in full mode), far beyond the deepest reorganisation.
pub const DEFAULT_STATE_HISTORY: u64 = 1024;
/// The least history a node may keep: a reorganisation (at most 64 blocks deep) undoes blocks
/// by their changesets, so those must outlive it.
pub const MIN_STATE_HISTORY: u64 = 128;

/// The node's database: one redb file, and in memory the head state's hot accounts and slots
/// and the account trie's top levels.
pub struct Store {
    db: redb::Database,
    hot: Arc<HotState>,
    /// The account trie's top levels: loaded by the first writer, published for readers.
    top: Arc<SharedTop>,
    /// The last commit's snapshot, shared by its readers.
    latest: Arc<Latest>,
}

impl Store {
    /// Opens (or creates) the database in `dir/chain.redb`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(dir.display().to_string(), e))?;
        let db = redb::Database::create(dir.join("chain.redb")).map_err(redb::Error::from)?;
        let store = Self {
            db,
            hot: Arc::new(HotState::new()),
            top: Arc::default(),
            latest: Arc::default(),
        };
        store.create_tables()?;
        Ok(store)
    }

    fn create_tables(&self) -> Result<(), StoreError> {
        use redb::ReadableTable;
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        tables::create_all(&txn)?;
        let layout = txn
            .open_table(tables::META)?
            .get(tables::META_TRIE)?
            .map(|v| v.value().to_vec());
        if layout.as_deref() != Some(&[tables::TRIE_LAYOUT]) {
            trie_tables::rebuild(&txn)?;
            txn.open_table(tables::META)?
                .insert(tables::META_TRIE, [tables::TRIE_LAYOUT].as_slice())?;
        }
        self.commit(txn)?;
        Ok(())
    }

    /// Keeps `blocks` of state history from now on (`None`: all of it, an archive node), at
    /// least [`MIN_STATE_HISTORY`]. Stored in the database; history already pruned stays gone.
    pub fn set_state_history(&self, blocks: Option<u64>) -> Result<(), StoreError> {
        let value = blocks.map_or(u64::MAX, |b| b.max(MIN_STATE_HISTORY));
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(tables::META)?
            .insert(tables::META_STATE_HISTORY, value.to_be_bytes().as_slice())?;
        self.commit(txn)?;
        Ok(())
    }

    /// A consistent snapshot of the last committed block and its state.
    pub fn reader(&self) -> Result<StoreReader, StoreError> {
        let snapshot = self.latest.get(|| {
            // The cache serves this snapshot only if no commit ran while it was taken.
            let before = self.hot.stable_epoch();
            let txn = self.db.begin_read().map_err(redb::Error::from)?;
            let hot = before
                .filter(|&epoch| self.hot.stable_epoch() == Some(epoch))
                .map(|epoch| HotView::new(self.hot.clone(), epoch));
            Ok(Snapshot::new(txn, hot, self.top.clone()))
        })?;
        Ok(StoreReader::new(snapshot))
    }

    /// Commits a write transaction other than a block's; readers see it from then on.
    fn commit(&self, txn: redb::WriteTransaction) -> Result<(), StoreError> {
        let committed = txn.commit();
        self.latest.committed();
        Ok(committed.map_err(redb::Error::from)?)
    }

    /// Stores a content-addressed blob (a work module, input or result) under its keccak hash,
    /// durably, and returns the hash. Storing the same bytes twice is a no-op.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<alloy_primitives::B256, StoreError> {
        let hash = alloy_primitives::keccak256(bytes);
        if self.blob(hash)?.is_some() {
            return Ok(hash);
        }
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(tables::BLOBS)?.insert(hash.0, bytes)?;
        self.commit(txn)?;
        Ok(hash)
    }

    /// The blob with keccak hash `hash`, if stored here.
    pub fn blob(&self, hash: alloy_primitives::B256) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(tables::BLOBS)?;
        Ok(table.get(hash.0)?.map(|v| v.value().to_vec()))
    }

    /// Every stored blob's hash and size, for the blob store's accounting and collection.
    pub fn blob_sizes(&self) -> Result<Vec<(alloy_primitives::B256, usize)>, StoreError> {
        use redb::ReadableTable;
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(tables::BLOBS)?;
        let mut sizes = Vec::new();
        for entry in table.iter()? {
            let (hash, bytes) = entry?;
            sizes.push((
                alloy_primitives::B256::from(hash.value()),
                bytes.value().len(),
            ));
        }
        Ok(sizes)
    }

    /// Deletes blobs (in one write transaction).
    pub fn delete_blobs(&self, hashes: &[alloy_primitives::B256]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        {
            let mut table = txn.open_table(tables::BLOBS)?;
            for hash in hashes {
                table.remove(hash.0)?;
            }
        }
        self.commit(txn)?;
        Ok(())
    }

    /// Keeps the child-chain boundaries (encoded) a `child_chains_root` commits to. Idempotent.
    pub fn put_child_chains(
        &self,
        root: alloy_primitives::B256,
        encoded: &[u8],
    ) -> Result<(), StoreError> {
        if self.child_chains(root)?.is_some() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.open_table(tables::CHILD_CHAINS)?
            .insert(root.0, encoded)?;
        self.commit(txn)?;
        Ok(())
    }

    /// The encoded boundaries under `root`, if kept here.
    pub fn child_chains(
        &self,
        root: alloy_primitives::B256,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(tables::CHILD_CHAINS)?;
        Ok(table.get(root.0)?.map(|v| v.value().to_vec()))
    }

    /// Starts writing one block; nothing is visible until [`BlockWriter::commit`].
    pub fn begin_block(&self) -> Result<BlockWriter, StoreError> {
        BlockWriter::new(
            self.db.begin_write().map_err(redb::Error::from)?,
            self.hot.clone(),
            self.top.clone(),
            self.latest.clone(),
        )
    }
}
