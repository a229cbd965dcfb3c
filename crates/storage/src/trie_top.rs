//! The account trie's top levels in memory across blocks, written back only now and then
//! (issue 16).
//!
//! Every block rewrites the nodes on the paths of the accounts it changed, and the top ones are
//! shared by all paths: at 10^7 accounts a block of 1,000 changed accounts looked up and wrote
//! ~3,000 kept nodes in redb, two thirds of them in the top five levels, and those B-tree
//! operations were most of why its root cost three times what it did at 10^5. The top levels
//! are small whatever the state (at most 16^0 + … + 16^4 nodes), so they live here and redb
//! holds a checkpoint of them (`ACCOUNT_TRIE_TOP`). A block's commit logs the keys whose paths
//! it rebuilt (`ACCOUNT_TRIE_LOG`, in the same transaction as its state); once the log holds
//! enough, the top nodes changed so far are written back, a slice per commit over the next few
//! (one commit writing all of them at 10^7 accounts stalled that block for 300 ms), and when
//! the last slice is written the log entries they cover go. A node written back early is
//! current or newer than the entries it covers, and one changed after the write-back began is
//! on a key logged after them, so the replay below stays right at every step.
//!
//! Opening reads the checkpoint and replays the log: one root update over the logged keys,
//! with the checkpoint's top nodes and the current deeper nodes. A stale top node is only ever
//! met on the way to a logged key, and the walk opens and rebuilds everything on such a path,
//! so what it leaves is current. A crash therefore costs a replay of at most one log's worth,
//! never a rebuild.

use crate::{
    StoreError,
    tables::{ACCOUNT_TRIE_LOG, ACCOUNT_TRIE_TOP, META, META_TRIE_VERSION},
    trie::{decode_node, encode_node},
    trie_tables::{changed_keys, update_account_trie},
};
use alloy_primitives::B256;
use alloy_trie::{BranchNodeCompact, Nibbles};
use imbl::OrdMap;
use redb::{ReadableTable, WriteTransaction};
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, MutexGuard},
};

/// Levels of the account trie kept in memory: at most 69,905 nodes (tens of MiB, reached near
/// 10^7 accounts); the levels below stay in redb.
#[cfg(not(test))]
pub(crate) const TOP_LEVELS: usize = 5;
/// Two in tests, whose tries of a few hundred accounts then have nodes on both sides.
#[cfg(test)]
pub(crate) const TOP_LEVELS: usize = 2;

/// Logged keys after which a commit writes the top nodes back: bounds the replay on open to a
/// few dozen busy blocks' roots, and the write-back to once per as many.
#[cfg(not(test))]
const CHECKPOINT_KEYS: usize = 1 << 16;
/// Small in tests, so that blocks of a few hundred keys both checkpoint and replay.
#[cfg(test)]
const CHECKPOINT_KEYS: usize = 512;

/// Commits a write-back of the top nodes is spread over, at most.
#[cfg(not(test))]
const FLUSH_COMMITS: usize = 16;
/// Fewest nodes a commit of a write-back writes: below this a slice costs less than its
/// bookkeeping is worth (a state of 10^5 accounts has about this many top nodes).
#[cfg(not(test))]
const MIN_SLICE: usize = 4096;
/// In tests a write-back spans several blocks of the property test, so that stores are reopened
/// and blocks undone in the middle of one.
#[cfg(test)]
const FLUSH_COMMITS: usize = 4;
#[cfg(test)]
const MIN_SLICE: usize = 1;

/// A write-back of the top nodes under way, a slice per commit.
#[derive(Clone, Debug)]
struct Flush {
    /// Paths changed before it began, still to write (their current nodes, whenever written).
    pending: BTreeSet<Nibbles>,
    /// Log entries below this sequence number are covered once `pending` is written.
    covers: u64,
    /// Keys those entries hold.
    keys: usize,
    /// Paths a commit writes.
    slice: usize,
}

/// What [`TopNodes::log`] wrote in a transaction, for [`TopNodes::committed`] once it commits.
#[derive(Debug, Default)]
pub(crate) struct Logged {
    keys: usize,
    /// A write-back this commit began.
    began: Option<Flush>,
    /// Pending paths it wrote, the first ones in order.
    wrote: usize,
    /// Whether it wrote the last of them (and dropped the log entries they covered).
    finished: bool,
}

/// Whether the node at `path` is one of the top levels kept here.
pub(crate) fn is_top(path: &Nibbles) -> bool {
    path.len() < TOP_LEVELS
}

/// The top nodes as one commit left them, for the readers of that commit's snapshot: a proof
/// walks them instead of the checkpoint (which would make it rebuild every path logged since).
/// A persistent map, so publishing one per commit copies nothing.
#[derive(Clone, Debug)]
pub(crate) struct CommittedTop {
    /// The commit's [`META_TRIE_VERSION`].
    pub version: u64,
    pub nodes: OrdMap<Nibbles, BranchNodeCompact>,
}

impl CommittedTop {
    /// As [`TopNodes::first_under`].
    pub(crate) fn first_under(&self, prefix: &Nibbles) -> Option<(Nibbles, BranchNodeCompact)> {
        first_under(&self.nodes, prefix)
    }
}

/// The kept node with the shortest path under `prefix` in `nodes`, if any. Paths that extend
/// another sort after it, so the first in order is the topmost.
fn first_under(
    nodes: &OrdMap<Nibbles, BranchNodeCompact>,
    prefix: &Nibbles,
) -> Option<(Nibbles, BranchNodeCompact)> {
    let (path, node) = nodes.range::<_, Nibbles>(prefix..).next()?;
    path.starts_with(prefix).then(|| (*path, node.clone()))
}

/// The top nodes shared by the store's writers (one at a time) and what the last commit
/// published of them for readers.
#[derive(Debug, Default)]
pub(crate) struct SharedTop {
    /// Loaded by the first writer (`None` again after a commit failed: reloaded by the next).
    writer: Mutex<Option<TopNodes>>,
    committed: Mutex<Option<CommittedTop>>,
}

impl SharedTop {
    /// The top nodes the last commit (or the load after opening) left, if any.
    pub(crate) fn committed(&self) -> Option<CommittedTop> {
        lock(&self.committed).clone()
    }

    /// Writes the writer's changed top nodes to the checkpoint table (tests compare it with a
    /// rebuild).
    #[cfg(test)]
    pub(crate) fn write_back(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        lock(&self.writer)
            .as_ref()
            .ok_or_else(not_loaded)?
            .write_back(txn)
    }

    fn publish(&self, top: &TopNodes) {
        *lock(&self.committed) = Some(CommittedTop {
            version: top.version,
            nodes: top.nodes.clone(),
        });
    }
}

/// The current top nodes, and what the checkpoint in redb lacks of them.
#[derive(Debug, Default)]
pub(crate) struct TopNodes {
    nodes: OrdMap<Nibbles, BranchNodeCompact>,
    /// Paths changed since the checkpoint (some may since have changed back).
    dirty: BTreeSet<Nibbles>,
    /// Keys in the log since the checkpoint.
    logged: usize,
    /// The last commit's [`META_TRIE_VERSION`].
    version: u64,
    /// The write-back under way, if any.
    flush: Option<Flush>,
}

/// The top nodes an uncommitted write transaction replaced, to put back if it is dropped.
pub(crate) type TopUndo = Vec<(Nibbles, Option<BranchNodeCompact>)>;

impl TopNodes {
    /// The top nodes as the last commit left them: the checkpoint, brought up to date by
    /// replaying the keys logged since.
    fn load(txn: &WriteTransaction) -> Result<Self, StoreError> {
        let mut top = Self::read_checkpoint(txn)?;
        top.version = version(txn)?;
        let logged = top.logged_keys(txn)?;
        if !logged.is_empty() {
            // The deeper nodes it rewrites are what the logged commits wrote; what matters is
            // that the top ones it rebuilds stay, whatever becomes of this transaction.
            update_account_trie(txn, &mut top, &mut TopUndo::new(), &changed_keys(logged))?;
        }
        Ok(top)
    }

    /// The checkpoint in redb, not yet brought up to date by the log.
    fn read_checkpoint(txn: &WriteTransaction) -> Result<Self, StoreError> {
        let mut top = Self::default();
        for entry in txn.open_table(ACCOUNT_TRIE_TOP)?.iter()? {
            let (path, bytes) = entry?;
            let node = decode_node(bytes.value())
                .ok_or_else(|| StoreError::corrupt("trie", "undecodable top node"))?;
            top.nodes
                .insert(Nibbles::from_nibbles_unchecked(path.value()), node);
        }
        Ok(top)
    }

    /// Every key logged since the checkpoint, for the replay; counts them as logged.
    fn logged_keys(&mut self, txn: &WriteTransaction) -> Result<Vec<B256>, StoreError> {
        let mut keys = Vec::new();
        for entry in txn.open_table(ACCOUNT_TRIE_LOG)?.iter()? {
            let (_, bytes) = entry?;
            if !bytes.value().len().is_multiple_of(32) {
                return Err(StoreError::corrupt("trie", "torn key log entry"));
            }
            keys.extend(bytes.value().chunks_exact(32).map(B256::from_slice));
        }
        self.logged = keys.len();
        Ok(keys)
    }

    /// The kept top node with the shortest path under `prefix`, if any. Paths that extend
    /// another sort after it, so the first in order is the topmost.
    pub(crate) fn first_under(&self, prefix: &Nibbles) -> Option<(Nibbles, BranchNodeCompact)> {
        first_under(&self.nodes, prefix)
    }

    /// Sets (or, with `None`, removes) the node at `path`, recording what it replaced.
    pub(crate) fn set(
        &mut self,
        path: Nibbles,
        node: Option<BranchNodeCompact>,
        undo: &mut TopUndo,
    ) {
        debug_assert!(is_top(&path));
        let before = match node {
            Some(node) => self.nodes.insert(path, node),
            None => self.nodes.remove(&path),
        };
        undo.push((path, before));
        self.dirty.insert(path);
    }

    /// Puts back what an uncommitted transaction replaced, last change first.
    fn undo(&mut self, undo: TopUndo) {
        for (path, before) in undo.into_iter().rev() {
            match before {
                Some(node) => self.nodes.insert(path, node),
                None => self.nodes.remove(&path),
            };
        }
    }

    /// Logs `keys` in `txn` and writes the next slice of a write-back, beginning one when the
    /// log is full. [`Self::committed`] must follow the commit.
    fn log(&self, txn: &WriteTransaction, keys: &[B256]) -> Result<Logged, StoreError> {
        if keys.is_empty() {
            return Ok(Logged::default());
        }
        txn.open_table(META)?.insert(
            META_TRIE_VERSION,
            (self.version + 1).to_be_bytes().as_slice(),
        )?;
        let mut log = txn.open_table(ACCOUNT_TRIE_LOG)?;
        let seq = log.last()?.map_or(0, |(seq, _)| seq.value() + 1);
        log.insert(seq, keys.concat().as_slice())?;
        let began = match &self.flush {
            Some(_) => None,
            None if self.logged + keys.len() >= CHECKPOINT_KEYS => {
                // Everything changed so far, this commit's paths included, covering the log up
                // to this commit's entry.
                let pending = self.dirty.clone();
                let slice = pending.len().div_ceil(FLUSH_COMMITS).max(MIN_SLICE);
                Some(Flush {
                    pending,
                    covers: seq + 1,
                    keys: self.logged + keys.len(),
                    slice,
                })
            }
            None => None,
        };
        let Some(flush) = began.as_ref().or(self.flush.as_ref()) else {
            return Ok(Logged {
                keys: keys.len(),
                ..Logged::default()
            });
        };
        let mut table = txn.open_table(ACCOUNT_TRIE_TOP)?;
        for path in flush.pending.iter().take(flush.slice) {
            self.write_node(&mut table, path)?;
        }
        let wrote = flush.slice.min(flush.pending.len());
        let finished = wrote == flush.pending.len();
        if finished {
            for entry in log.extract_from_if::<u64, _>(..flush.covers, |_, _| true)? {
                entry?;
            }
        }
        Ok(Logged {
            keys: keys.len(),
            began,
            wrote,
            finished,
        })
    }

    /// Writes the current node at `path` (or its absence) to the checkpoint table.
    fn write_node(
        &self,
        table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
        path: &Nibbles,
    ) -> Result<(), StoreError> {
        let key = path.to_vec();
        match self.nodes.get(path) {
            Some(node) => table.insert(key.as_slice(), encode_node(node).as_slice())?,
            None => table.remove(key.as_slice())?,
        };
        Ok(())
    }

    /// Writes every changed top node to the checkpoint table at once, a write-back's pending
    /// ones too (a rebuild's; tests compare the table with one).
    pub(crate) fn write_back(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        let mut table = txn.open_table(ACCOUNT_TRIE_TOP)?;
        let pending = self.flush.iter().flat_map(|flush| &flush.pending);
        for path in self.dirty.iter().chain(pending) {
            self.write_node(&mut table, path)?;
        }
        Ok(())
    }

    /// Records a commit that [`Self::log`]ged what `logged` says.
    fn committed(&mut self, logged: Logged) {
        if logged.keys > 0 {
            self.version += 1;
            self.logged += logged.keys;
        }
        if let Some(flush) = logged.began {
            // From now on `dirty` holds what changed after the write-back began.
            self.dirty.clear();
            self.flush = Some(flush);
        }
        if let Some(flush) = &mut self.flush {
            for _ in 0..logged.wrote {
                flush.pending.pop_first();
            }
        }
        if logged.finished
            && let Some(flush) = self.flush.take()
        {
            self.logged -= flush.keys;
        }
    }
}

/// One write transaction's hold on the shared top nodes. It changes them in place (write
/// transactions run one at a time) and puts back what it changed if it is dropped uncommitted,
/// as a block template's writer is.
pub(crate) struct TopChange {
    shared: Arc<SharedTop>,
    undo: TopUndo,
    /// Hashed accounts whose paths this transaction rebuilt, logged when it commits.
    keys: Vec<B256>,
}

impl TopChange {
    /// Takes hold of `shared` for `txn`, loading it first if no writer has since the store
    /// was opened (or since a commit failed).
    pub(crate) fn new(shared: Arc<SharedTop>, txn: &WriteTransaction) -> Result<Self, StoreError> {
        {
            let mut top = lock(&shared.writer);
            if top.is_none() {
                let loaded = TopNodes::load(txn)?;
                shared.publish(&loaded);
                *top = Some(loaded);
            }
        }
        Ok(Self {
            shared,
            undo: TopUndo::new(),
            keys: Vec::new(),
        })
    }

    /// The state root after the accounts `keys` (hashed) changed, nodes kept.
    pub(crate) fn update_root(
        &mut self,
        txn: &WriteTransaction,
        keys: impl IntoIterator<Item = B256>,
    ) -> Result<B256, StoreError> {
        let start = self.keys.len();
        self.keys.extend(keys);
        let changed = changed_keys(self.keys[start..].iter().copied());
        let mut top = lock(&self.shared.writer);
        let top = top.as_mut().ok_or_else(not_loaded)?;
        update_account_trie(txn, top, &mut self.undo, &changed)
    }

    /// Logs the keys in `txn` (and writes a slice of a write-back); call right before
    /// committing it, and hand what it returns to [`Self::after_commit`].
    pub(crate) fn before_commit(&self, txn: &WriteTransaction) -> Result<Logged, StoreError> {
        lock(&self.shared.writer)
            .as_ref()
            .ok_or_else(not_loaded)?
            .log(txn, &self.keys)
    }

    /// Keeps this transaction's changes if it `committed`; if the commit failed, whether any
    /// of it reached the file is unknown, so the next writer loads the top nodes afresh.
    pub(crate) fn after_commit(mut self, committed: bool, logged: Logged) {
        let mut top = lock(&self.shared.writer);
        match top.as_mut() {
            Some(nodes) if committed => {
                nodes.committed(logged);
                self.shared.publish(nodes);
            }
            _ => *top = None,
        }
        self.undo.clear();
    }
}

impl Drop for TopChange {
    fn drop(&mut self) {
        if self.undo.is_empty() {
            return;
        }
        if let Some(top) = lock(&self.shared.writer).as_mut() {
            top.undo(std::mem::take(&mut self.undo));
        }
    }
}

/// The [`META_TRIE_VERSION`] `txn` holds.
fn version(txn: &WriteTransaction) -> Result<u64, StoreError> {
    match txn.open_table(META)?.get(META_TRIE_VERSION)? {
        Some(bytes) => crate::reader::u64_of(bytes.value()),
        None => Ok(0),
    }
}

fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    // What a panicking writer changed is put back by its `TopChange` as it unwinds.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn not_loaded() -> StoreError {
    StoreError::corrupt("trie", "top levels not loaded")
}
