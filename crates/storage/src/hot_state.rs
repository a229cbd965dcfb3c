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

use alloy_primitives::{Address, U256};
use alloy_trie::TrieAccount;
use quick_cache::sync::Cache;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering::SeqCst},
};

/// Accounts kept: a busy block touches a few thousand, so this spans many blocks' worth.
const ACCOUNTS_KEPT: usize = 1 << 17;
/// Storage slots kept.
const SLOTS_KEPT: usize = 1 << 19;

pub(crate) struct HotState {
    /// Even: the cache holds the state of the last commit. Odd: a commit is changing it.
    epoch: AtomicU64,
    accounts: Cache<Address, Option<TrieAccount>>,
    slots: Cache<(Address, U256), U256>,
    /// Held by a commit while it changes the cache and by a reader filling in what it missed,
    /// so a value read from an older snapshot cannot land after a commit replaced it.
    fill: Mutex<()>,
}

impl HotState {
    pub(crate) fn new() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            accounts: Cache::new(ACCOUNTS_KEPT),
            slots: Cache::new(SLOTS_KEPT),
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
        let value = self.hot.accounts.get(&address)?;
        self.current().then_some(value)
    }

    pub(crate) fn slot(&self, address: Address, slot: U256) -> Option<U256> {
        let value = self.hot.slots.get(&(address, slot))?;
        self.current().then_some(value)
    }

    /// Keeps an account this reader read from storage, unless a commit has moved on.
    pub(crate) fn fill_account(&self, address: Address, account: Option<TrieAccount>) {
        let _fill = self.hot.fill.lock().unwrap_or_else(|p| p.into_inner());
        if self.current() {
            self.hot.accounts.insert(address, account);
        }
    }

    pub(crate) fn fill_slot(&self, address: Address, slot: U256, value: U256) {
        let _fill = self.hot.fill.lock().unwrap_or_else(|p| p.into_inner());
        if self.current() {
            self.hot.slots.insert((address, slot), value);
        }
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

    /// Records what a block left: its accounts are the likeliest reads of the next blocks.
    pub(crate) fn account(&self, address: Address, account: Option<TrieAccount>) {
        self.hot.accounts.insert(address, account);
    }

    pub(crate) fn slot(&self, address: Address, slot: U256, value: U256) {
        self.hot.slots.insert((address, slot), value);
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
    slots: Vec<(Address, U256, U256)>,
}

impl PendingHot {
    pub(crate) fn account(&mut self, address: Address, account: Option<TrieAccount>) {
        self.accounts.push((address, account));
    }

    pub(crate) fn slot(&mut self, address: Address, slot: U256, value: U256) {
        self.slots.push((address, slot, value));
    }

    /// Nothing to tell: the commit changed no state.
    pub(crate) fn is_empty(&self) -> bool {
        !self.clear_all && !self.clear_slots && self.accounts.is_empty() && self.slots.is_empty()
    }

    /// `address`'s storage was emptied: earlier writes to it recorded here are void too.
    pub(crate) fn wiped(&mut self, address: Address) {
        self.clear_slots = true;
        self.slots.retain(|(owner, _, _)| *owner != address);
    }

    /// A block was undone: what was recorded before is void, and so is the cache.
    pub(crate) fn unwound(&mut self) {
        *self = Self {
            clear_all: true,
            ..Self::default()
        };
    }

    /// Applies what was recorded, for a commit that has just become durable.
    pub(crate) fn apply(self, change: &HotChange<'_>) {
        if self.clear_all {
            change.clear();
        } else if self.clear_slots {
            change.clear_slots();
        }
        for (address, account) in self.accounts {
            change.account(address, account);
        }
        for (address, slot, value) in self.slots {
            change.slot(address, slot, value);
        }
    }
}
