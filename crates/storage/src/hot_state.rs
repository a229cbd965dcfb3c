//! The head state's recently used accounts and slots in memory, kept across blocks.
//!
//! A node under load reads the same accounts block after block (the senders, the token they
//! move); each read from redb costs a keccak of the key, a B-tree descent and an RLP decode.
//! This cache answers them by plain address instead (reth keeps one for the same reason).
//!
//! It always holds head state: a commit writes the values its blocks left (an undone block
//! empties it), and readers use it only if their snapshot is that same head. The `epoch` says
//! which head that is; it is odd while a commit is changing the cache, and a reader compares it
//! after every hit, so a value a newer commit put in is never taken for an older snapshot's.
//!
//! The entries sit in plain hash maps, a few shards of them behind reader-writer locks. A
//! block's executing thread holds the read side of every shard for a chunk of transactions
//! ([`HotGuards`]): its reads are then plain lookups with no atomic operation each, the cost
//! of raw revm's in-memory state (an atomic waits for every store before it, and execution
//! stores a lot). Only a commit waits for a lock; every other reader, every fill and every
//! pin tries once and treats a busy shard as a miss, so no reader can end up waiting for a
//! commit that waits for a reader.

use alloy_primitives::{Address, U256, map::HashMap};
use alloy_trie::TrieAccount;
use std::hash::Hash;
use std::sync::{
    Arc, Mutex, RwLock, RwLockReadGuard, TryLockError,
    atomic::{AtomicU64, Ordering::SeqCst},
};

/// Accounts kept: a busy block touches a few thousand, so this spans many blocks' worth.
const ACCOUNTS_KEPT: usize = 1 << 17;
/// Storage slots kept.
const SLOTS_KEPT: usize = 1 << 19;
/// Shards of each cache: a commit locks one at a time, a pinning reader all of them.
const SHARDS: usize = 16;

/// Which shard a key lives in, from bits of the key that are already uniformly spread (an
/// address is a hash's tail, a mapping's slot a keccak) instead of hashing it twice.
pub(crate) trait ShardKey: Hash + Eq {
    fn shard(&self) -> usize;
}

impl ShardKey for Address {
    fn shard(&self) -> usize {
        self.0[19] as usize % SHARDS
    }
}

impl ShardKey for (Address, U256) {
    fn shard(&self) -> usize {
        (self.0.0[19] as usize ^ self.1.as_limbs()[0] as usize) % SHARDS
    }
}

/// One shard: the entries written since it last filled up, and the ones before. A full young
/// generation becomes the old one, and the old one is dropped: recently written or missed
/// entries stay for at least one generation, with no per-read bookkeeping.
struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    room: usize,
}

impl<K: ShardKey, V> Generations<K, V> {
    fn new(room: usize) -> Self {
        Self {
            young: HashMap::default(),
            old: HashMap::default(),
            room,
        }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.young.get(key).or_else(|| self.old.get(key))
    }

    /// A young value shadows an old one, so a stale old value is never read.
    fn insert(&mut self, key: K, value: V) {
        if self.young.len() >= self.room && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }

    fn clear(&mut self) {
        self.young = HashMap::default();
        self.old = HashMap::default();
    }
}

struct Sharded<K, V> {
    shards: Box<[RwLock<Generations<K, V>>]>,
}

impl<K: ShardKey, V: Clone> Sharded<K, V> {
    fn new(kept: usize) -> Self {
        let room = kept / SHARDS / 2;
        Self {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(Generations::new(room)))
                .collect(),
        }
    }

    /// The value if cached and the shard is not being written.
    fn try_get(&self, key: &K) -> Option<V> {
        match self.shards[key.shard()].try_read() {
            Ok(shard) => shard.get(key).cloned(),
            Err(_) => None,
        }
    }

    /// Writes `entries`, each shard locked once and in their order within it (a key written
    /// twice keeps its last value). `wait`: a commit, which must not lose a value (the one
    /// before it would stay); otherwise a fill, which skips a busy shard.
    fn insert_all(&self, entries: &[(K, V)], wait: bool)
    where
        K: Copy,
        V: Copy,
    {
        for (index, shard) in self.shards.iter().enumerate() {
            let mut mine = entries
                .iter()
                .filter(|(key, _)| key.shard() == index)
                .peekable();
            if mine.peek().is_none() {
                continue;
            }
            let mut shard = match shard.try_write() {
                Ok(shard) => shard,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) if wait => shard
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => continue,
            };
            for &(key, value) in mine {
                shard.insert(key, value);
            }
        }
    }

    fn clear(&self) {
        for shard in self.shards.iter() {
            shard
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clear();
        }
    }

    /// The read side of every shard, or `None` if any is busy.
    fn try_read_all(&self) -> Option<Vec<RwLockReadGuard<'_, Generations<K, V>>>> {
        self.shards
            .iter()
            .map(|shard| shard.try_read().ok())
            .collect()
    }
}

pub(crate) struct HotState {
    /// Even: the cache holds the state of the last commit. Odd: a commit is changing it.
    epoch: AtomicU64,
    accounts: Sharded<Address, Option<TrieAccount>>,
    slots: Sharded<(Address, U256), U256>,
    /// Held by a commit while it changes the cache and by a reader filling in what it missed,
    /// so a value read from an older snapshot cannot land after a commit replaced it.
    fill: Mutex<()>,
}

impl HotState {
    pub(crate) fn new() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            accounts: Sharded::new(ACCOUNTS_KEPT),
            slots: Sharded::new(SLOTS_KEPT),
            fill: Mutex::new(()),
        }
    }

    /// The epoch at this instant if no commit is changing the cache.
    pub(crate) fn stable_epoch(&self) -> Option<u64> {
        let epoch = self.epoch.load(SeqCst);
        epoch.is_multiple_of(2).then_some(epoch)
    }

    /// Starts changing the cache for a commit: readers stop trusting it until the returned
    /// change is dropped.
    pub(crate) fn change(&self) -> HotChange<'_> {
        let fill = self
            .fill
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.epoch.fetch_add(1, SeqCst);
        HotChange {
            hot: self,
            _fill: fill,
        }
    }
}

/// One reader's view of the cache: usable while the head is the reader's snapshot.
#[derive(Clone)]
pub(crate) struct HotView {
    hot: Arc<HotState>,
    epoch: u64,
}

impl HotView {
    /// A view for a snapshot taken between two loads of the epoch that both returned `epoch`.
    pub(crate) fn new(hot: Arc<HotState>, epoch: u64) -> Self {
        Self { hot, epoch }
    }

    fn current(&self) -> bool {
        self.hot.epoch.load(SeqCst) == self.epoch
    }

    /// The account if cached (`Some(None)`: known not to exist).
    pub(crate) fn account(&self, address: Address) -> Option<Option<TrieAccount>> {
        let value = self.hot.accounts.try_get(&address)?;
        self.current().then_some(value)
    }

    pub(crate) fn slot(&self, address: Address, slot: U256) -> Option<U256> {
        let value = self.hot.slots.try_get(&(address, slot))?;
        self.current().then_some(value)
    }

    /// Keeps accounts and slots this reader read from storage, unless a commit has moved on
    /// or is under way (then they are dropped: a fill never waits).
    pub(crate) fn fill(
        &self,
        accounts: &[(Address, Option<TrieAccount>)],
        slots: &[((Address, U256), U256)],
    ) {
        let _fill = match self.hot.fill.try_lock() {
            Ok(fill) => fill,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if self.current() {
            self.hot.accounts.insert_all(accounts, false);
            self.hot.slots.insert_all(slots, false);
        }
    }

    /// Holds the read side of the whole cache, if no commit is writing or waiting to and the
    /// cache still holds this view's head. No commit can change the cache until the guards
    /// are dropped, so what they read stays this snapshot's without checking the epoch again.
    pub(crate) fn pin(&self) -> Option<HotGuards<'_>> {
        let accounts = self.hot.accounts.try_read_all()?;
        let slots = self.hot.slots.try_read_all()?;
        self.current().then_some(HotGuards { accounts, slots })
    }
}

/// A pinned reader's hold on the cache (see [`HotView::pin`]). A thread holding one must not
/// commit: the commit would wait for it.
pub(crate) struct HotGuards<'a> {
    accounts: Vec<RwLockReadGuard<'a, Generations<Address, Option<TrieAccount>>>>,
    slots: Vec<RwLockReadGuard<'a, Generations<(Address, U256), U256>>>,
}

impl HotGuards<'_> {
    pub(crate) fn account(&self, address: Address) -> Option<Option<TrieAccount>> {
        self.accounts[address.shard()].get(&address).copied()
    }

    pub(crate) fn slot(&self, address: Address, slot: U256) -> Option<U256> {
        let key = (address, slot);
        self.slots[key.shard()].get(&key).copied()
    }
}

/// A commit's changes to the cache; dropping it makes the cache trusted again.
pub(crate) struct HotChange<'a> {
    hot: &'a HotState,
    _fill: std::sync::MutexGuard<'a, ()>,
}

impl HotChange<'_> {
    pub(crate) fn clear(&self) {
        self.hot.accounts.clear();
        self.hot.slots.clear();
    }

    pub(crate) fn clear_slots(&self) {
        self.hot.slots.clear();
    }
}

impl Drop for HotChange<'_> {
    fn drop(&mut self) {
        self.hot.epoch.fetch_add(1, SeqCst);
    }
}

/// What a block writer will tell the cache when it commits, in the order it happened.
#[derive(Default)]
pub(crate) struct PendingHot {
    /// An undone block: nothing cached before can be trusted.
    clear_all: bool,
    /// A wiped storage that held slots: the cache cannot find them by address, so all go.
    clear_slots: bool,
    accounts: Vec<(Address, Option<TrieAccount>)>,
    slots: Vec<((Address, U256), U256)>,
}

impl PendingHot {
    pub(crate) fn account(&mut self, address: Address, account: Option<TrieAccount>) {
        self.accounts.push((address, account));
    }

    pub(crate) fn slot(&mut self, address: Address, slot: U256, value: U256) {
        self.slots.push(((address, slot), value));
    }

    /// Nothing to tell: the commit changed no state.
    pub(crate) fn is_empty(&self) -> bool {
        !self.clear_all && !self.clear_slots && self.accounts.is_empty() && self.slots.is_empty()
    }

    /// `address`'s storage was emptied: earlier writes to it recorded here are void too.
    pub(crate) fn wiped(&mut self, address: Address) {
        self.clear_slots = true;
        self.slots.retain(|((owner, _), _)| *owner != address);
    }

    /// A block was undone: what was recorded before is void, and so is the cache.
    pub(crate) fn unwound(&mut self) {
        *self = Self {
            clear_all: true,
            ..Self::default()
        };
    }

    /// Applies what was recorded, for a commit that has just become durable. Waits for
    /// pinned readers to let go of the shards it writes.
    pub(crate) fn apply(self, change: &HotChange<'_>) {
        if self.clear_all {
            change.clear();
        } else if self.clear_slots {
            change.clear_slots();
        }
        change.hot.accounts.insert_all(&self.accounts, true);
        change.hot.slots.insert_all(&self.slots, true);
    }
}
