//! The account trie's top levels in memory across blocks, written back only now and then
//! (issue 16).
//!
//! Every block rewrites the nodes on the paths of the accounts it changed, and the top ones are
//! shared by all paths: at 10^7 accounts a block of 1,000 changed accounts looked up and wrote
//! ~3,000 kept nodes in redb, two thirds of them in the top five levels, and those B-tree
//! operations were most of why its root cost three times what it did at 10^5. The top levels
//! are small whatever the state (at most 16^0 + … + 16^4 nodes), so they live here and redb
//! holds a checkpoint of them (`ACCOUNT_TRIE_TOP`). A block's commit logs the keys whose paths
//! it rebuilt (`ACCOUNT_TRIE_LOG`, in the same transaction as its state). Once the log holds
//! enough, the top nodes as that commit left them are copied to a staging table a slice per
//! commit over the next few (one commit writing all of them at 10^7 accounts stalled that
//! block for 300 ms); the last slice's commit renames the staging table to the checkpoint and
//! drops the log entries up to the commit they were taken at.
//!
//! The checkpoint is thus always the top levels as of one commit, with every key changed since
//! in the log. Opening reads it and replays the log: one root update over the logged keys, with
//! the checkpoint's top nodes and the current deeper nodes. A stale top node is only ever met
//! on the way to a logged key, and the walk opens and rebuilds everything on such a path, so
//! what it leaves is current. A crash therefore costs a replay of at most one log's worth,
//! never a rebuild. (Slices once overwrote the checkpoint in place: a crash between two left a
//! parent newer than its child, the replay never reached a child its new parent no longer
//! pointed to, and the stale node stayed to mislead a later walk; the property test found it.)

use crate::{
    StoreError,
    tables::{ACCOUNT_TRIE_LOG, ACCOUNT_TRIE_TOP, ACCOUNT_TRIE_TOP_NEXT, META, META_TRIE_VERSION},
    trie::{decode_node, encode_node},
    trie_tables::{changed_keys, update_account_trie},
};
use alloy_primitives::B256;
use alloy_trie::{BranchNodeCompact, Nibbles};
use imbl::OrdMap;
use redb::{ReadableTable, WriteTransaction};
use std::{
    collections::VecDeque,
    ops::Bound,
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
    /// The top nodes as the commit that began it left them (a persistent map: holding it
    /// copies nothing).
    nodes: OrdMap<Nibbles, BranchNodeCompact>,
    /// The last path copied to the staging table, if any yet.
    copied_through: Option<Nibbles>,
    /// Log entries below this sequence number are covered once `nodes` are all copied.
    covers: u64,
    /// Keys those entries hold.
    keys: usize,
    /// Nodes a commit copies.
    slice: usize,
}

impl Flush {
    /// The nodes not yet copied, in path order.
    fn remaining(
        &self,
        copied_through: Option<Nibbles>,
    ) -> impl Iterator<Item = (&Nibbles, &BranchNodeCompact)> {
        let from = copied_through.map_or(Bound::Unbounded, Bound::Excluded);
        self.nodes.range((from, Bound::Unbounded))
    }
}

/// What [`TopNodes::log`] wrote in a transaction, for [`TopNodes::committed`] once it commits.
#[derive(Debug, Default)]
pub(crate) struct Logged {
    keys: usize,
    /// A write-back this commit began.
    began: Option<Flush>,
    /// The last path it copied, if it copied any.
    copied_through: Option<Nibbles>,
    /// Whether it copied the last of them (and swapped the checkpoint).
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

/// Commits whose top nodes stay published: a reader that took its snapshot just before the
/// last commit (an RPC call under way while a block lands) still finds its own instead of
/// rebuilding the paths of every key logged since the checkpoint, up to ~80,000 (353 ms for
/// one proof at 10^6 accounts). Each one kept costs only the map nodes a block's changes
/// copied.
const PUBLISHED_COMMITS: usize = 2;

/// The top nodes shared by the store's writers (one at a time) and what the last commits
/// published of them for readers.
#[derive(Debug, Default)]
pub(crate) struct SharedTop {
    /// Loaded by the first writer (`None` again after a commit failed: reloaded by the next).
    writer: Mutex<Option<TopNodes>>,
    /// The last [`PUBLISHED_COMMITS`] commits' (or the load after opening), oldest first.
    committed: Mutex<VecDeque<CommittedTop>>,
}

impl SharedTop {
    /// The top nodes the commit of `version` left, if they are still published.
    pub(crate) fn committed_at(&self, version: u64) -> Option<CommittedTop> {
        lock(&self.committed)
            .iter()
            .find(|top| top.version == version)
            .cloned()
    }

    /// Makes the writer's top nodes the checkpoint table (tests compare it with a rebuild).
    #[cfg(test)]
    pub(crate) fn write_back(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        lock(&self.writer)
            .as_ref()
            .ok_or_else(not_loaded)?
            .write_back(txn)
    }

    /// The writer's top nodes, and what a reopen would load instead (the checkpoint and the
    /// log replayed), for tests to compare after every commit.
    #[cfg(test)]
    pub(crate) fn held_and_reloaded(
        &self,
        txn: &WriteTransaction,
    ) -> Result<(TopForTests, TopForTests), StoreError> {
        let held = lock(&self.writer)
            .as_ref()
            .ok_or_else(not_loaded)?
            .nodes
            .clone();
        let reloaded = TopNodes::load(txn)?.nodes;
        Ok((held.into_iter().collect(), reloaded.into_iter().collect()))
    }

    fn publish(&self, top: &TopNodes) {
        let mut published = lock(&self.committed);
        // A reload after a failed commit publishes a version again: the same nodes.
        published.retain(|kept| kept.version != top.version);
        published.push_back(CommittedTop {
            version: top.version,
            nodes: top.nodes.clone(),
        });
        while published.len() > PUBLISHED_COMMITS {
            published.pop_front();
        }
    }
}

/// Top nodes in path order, as tests compare them.
#[cfg(test)]
pub(crate) type TopForTests = Vec<(Nibbles, BranchNodeCompact)>;

/// The current top nodes, and how far their checkpoint in redb lags behind.
#[derive(Debug, Default)]
pub(crate) struct TopNodes {
    nodes: OrdMap<Nibbles, BranchNodeCompact>,
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

    /// Logs `keys` in `txn` and copies the next slice of a write-back, beginning one when the
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
                // The nodes as this commit leaves them, covering the log up to its entry. A
                // staging table left by a write-back a crash cut short is stale.
                txn.delete_table(ACCOUNT_TRIE_TOP_NEXT)?;
                Some(Flush {
                    nodes: self.nodes.clone(),
                    copied_through: None,
                    covers: seq + 1,
                    keys: self.logged + keys.len(),
                    slice: self.nodes.len().div_ceil(FLUSH_COMMITS).max(MIN_SLICE),
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
        let mut copied_through = flush.copied_through;
        {
            let mut staging = txn.open_table(ACCOUNT_TRIE_TOP_NEXT)?;
            for (path, node) in flush.remaining(copied_through).take(flush.slice) {
                staging.insert(path.to_vec().as_slice(), encode_node(node).as_slice())?;
                copied_through = Some(*path);
            }
        }
        let finished = flush.remaining(copied_through).next().is_none();
        if finished {
            txn.delete_table(ACCOUNT_TRIE_TOP)?;
            txn.rename_table(ACCOUNT_TRIE_TOP_NEXT, ACCOUNT_TRIE_TOP)?;
            for entry in log.extract_from_if::<u64, _>(..flush.covers, |_, _| true)? {
                entry?;
            }
        }
        Ok(Logged {
            keys: keys.len(),
            began,
            copied_through,
            finished,
        })
    }

    /// Makes the current top nodes the checkpoint at once (a rebuild's; tests compare the
    /// table with one); the caller empties the log.
    pub(crate) fn write_back(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        txn.delete_table(ACCOUNT_TRIE_TOP_NEXT)?;
        let mut table = txn.open_table(ACCOUNT_TRIE_TOP)?;
        for entry in table.extract_from_if::<&[u8], _>(.., |_, _| true)? {
            entry?;
        }
        for (path, node) in &self.nodes {
            table.insert(path.to_vec().as_slice(), encode_node(node).as_slice())?;
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
            self.flush = Some(flush);
        }
        if let Some(flush) = &mut self.flush
            && logged.copied_through.is_some()
        {
            flush.copied_through = logged.copied_through;
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
