//! Reads from one consistent snapshot.

use crate::changes::Changeset;
use crate::{
    StoreError,
    hot_state::{HotGuards, HotView},
    snapshot::Snapshot,
    tables::*,
};
use alloy_consensus::{ReceiptEnvelope, TxEnvelope};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};
use alloy_trie::TrieAccount;
use ankr_types::Header;
use redb::ReadableTable;
use std::{cell::RefCell, sync::Arc};

/// A block's transactions with their senders, recovered once at import.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct StoredBody {
    pub transactions: Vec<TxEnvelope>,
    pub senders: Vec<Address>,
}

/// Where a transaction sits in the canonical chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    pub block_number: u64,
    pub block_hash: B256,
    pub index: u32,
}

pub(crate) fn decode<T: Decodable>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    T::decode(&mut &bytes[..]).map_err(|e| StoreError::corrupt(table, e))
}

/// A snapshot of the chain as of the last commit (shared with the other readers of that
/// commit, see `snapshot.rs`).
pub struct StoreReader {
    snapshot: Arc<Snapshot>,
}

impl StoreReader {
    pub(crate) fn new(snapshot: Arc<Snapshot>) -> Self {
        Self { snapshot }
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.snapshot.meta()?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// The canonical head, or `None` before genesis is written.
    pub fn head(&self) -> Result<Option<Header>, StoreError> {
        match self.meta(META_HEAD)? {
            Some(hash) => self.header(B256::from_slice(&hash)),
            None => Ok(None),
        }
    }

    /// Blocks of state history this node keeps (`None`: all, an archive node).
    pub fn state_history(&self) -> Result<Option<u64>, StoreError> {
        Ok(match self.meta(META_STATE_HISTORY)? {
            Some(bytes) => match u64_of(&bytes)? {
                u64::MAX => None,
                blocks => Some(blocks),
            },
            None => Some(crate::DEFAULT_STATE_HISTORY),
        })
    }

    /// The lowest block whose state [`state_at`](Self::state_at) can still rebuild.
    pub fn oldest_state(&self) -> Result<u64, StoreError> {
        let from = match self.meta(META_HISTORY_FROM)? {
            Some(bytes) => u64_of(&bytes)?,
            None => 0,
        };
        Ok(from.saturating_sub(1))
    }

    /// A reorganisation that began and did not finish (the node stopped midway): the tip it
    /// was going to, and the head it left.
    pub fn reorg_target(&self) -> Result<Option<(B256, B256)>, StoreError> {
        Ok(self
            .meta(META_REORG)?
            .filter(|v| v.len() == 64)
            .map(|v| (B256::from_slice(&v[..32]), B256::from_slice(&v[32..]))))
    }

    /// The hash of block 0, `None` before genesis is written.
    pub fn genesis_hash(&self) -> Result<Option<B256>, StoreError> {
        Ok(self.meta(META_GENESIS)?.map(|h| B256::from_slice(&h)))
    }

    /// The chain spec (JSON) this database was created with.
    pub fn chain_spec_json(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta(META_CHAIN_SPEC)
    }

    /// A header by hash, canonical or not.
    pub fn header(&self, hash: B256) -> Result<Option<Header>, StoreError> {
        let table = self.snapshot.headers()?;
        table
            .get(hash.0)?
            .map(|v| decode("headers", v.value()))
            .transpose()
    }

    /// The hash of the canonical block at `number`.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        let table = self.snapshot.canonical()?;
        Ok(table.get(number)?.map(|v| B256::from(v.value())))
    }

    /// The canonical header at `number`.
    pub fn header_by_number(&self, number: u64) -> Result<Option<Header>, StoreError> {
        match self.canonical_hash(number)? {
            Some(hash) => self.header(hash),
            None => Ok(None),
        }
    }

    /// A block's transactions and their recovered senders.
    pub fn body(&self, hash: B256) -> Result<Option<StoredBody>, StoreError> {
        let table = self.snapshot.bodies()?;
        table
            .get(hash.0)?
            .map(|v| decode("bodies", v.value()))
            .transpose()
    }

    /// A block's receipts, in transaction order.
    pub fn receipts(&self, hash: B256) -> Result<Option<Vec<ReceiptEnvelope>>, StoreError> {
        let table = self.snapshot.receipts()?;
        table
            .get(hash.0)?
            .map(|v| decode("receipts", v.value()))
            .transpose()
    }

    /// Cumulative difficulty up to and including this block: what fork choice compares.
    pub fn total_difficulty(&self, hash: B256) -> Result<Option<U256>, StoreError> {
        let table = self.snapshot.total_difficulty()?;
        Ok(table.get(hash.0)?.map(|v| U256::from_be_bytes(v.value())))
    }

    /// Where a mined transaction sits on the canonical chain.
    pub fn tx_location(&self, tx_hash: B256) -> Result<Option<TxLocation>, StoreError> {
        let table = self.snapshot.tx_lookup()?;
        let Some((block_number, index)) = table.get(tx_hash.0)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let block_hash = self
            .canonical_hash(block_number)?
            .ok_or_else(|| StoreError::corrupt("tx_lookup", "points past the canonical chain"))?;
        Ok(Some(TxLocation {
            block_number,
            block_hash,
            index,
        }))
    }

    /// State as of the head.
    pub fn state(&self) -> Result<StateReader, StoreError> {
        Ok(StateReader {
            snapshot: self.snapshot.clone(),
            rewind: Rewind::default(),
        })
    }

    /// State as of canonical block `number`: head state with the changesets of every later
    /// block undone in memory. Costs one changeset read per block between, so callers bound
    /// how far back they go.
    pub fn state_at(&self, number: u64) -> Result<StateReader, StoreError> {
        let head = self.head()?.map_or(0, |h| h.number);
        let oldest = self.oldest_state()?;
        if number < oldest && number < head {
            return Err(StoreError::Pruned {
                block: number,
                oldest,
            });
        }
        let mut state = self.state()?;
        let changesets = self.snapshot.changesets()?;
        for later in number.saturating_add(1)..=head {
            let Some(bytes) = changesets.get(later)? else {
                return Err(StoreError::corrupt(
                    "changesets",
                    format!("block {later} has none"),
                ));
            };
            let changeset: Changeset = decode("changesets", bytes.value())?;
            for account in changeset.accounts {
                let before = match account.record.is_empty() {
                    true => None,
                    false => Some(decode("changesets", &account.record)?),
                };
                state
                    .rewind
                    .accounts
                    .entry(account.hashed_address)
                    .or_insert(before);
            }
            for slot in changeset.slots {
                state
                    .rewind
                    .slots
                    .entry((slot.hashed_address, slot.hashed_slot))
                    .or_insert(slot.value);
            }
        }
        Ok(state)
    }
}

/// Reads of state: the head's, or an earlier block's (head state under a `Rewind`).
/// `Send + Sync`, so execution can share it across threads.
pub struct StateReader {
    /// Head state: its tables and hot accounts and slots; what `rewind` holds comes first.
    pub(crate) snapshot: Arc<Snapshot>,
    rewind: Rewind,
}

/// What the blocks after some block N overwrote, keyed as the state tables are: the first
/// value recorded for a key after N is its value at N. Empty for head state.
#[derive(Default)]
struct Rewind {
    accounts: HashMap<B256, Option<TrieAccount>>,
    slots: HashMap<(B256, B256), U256>,
}

impl StateReader {
    /// The head state's hot accounts and slots, if this reader's snapshot is served by them.
    fn hot(&self) -> Option<&HotView> {
        self.snapshot.hot.as_ref()
    }

    /// Whether this is the head's state (no later blocks undone).
    pub fn is_head(&self) -> bool {
        self.rewind.accounts.is_empty() && self.rewind.slots.is_empty()
    }

    /// An account as the trie holds it, `None` if it does not exist.
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>, StoreError> {
        if !self.is_head()
            && let Some(past) = self.rewind.accounts.get(&keccak256(address))
        {
            return Ok(*past);
        }
        if let Some(hit) = self.hot().and_then(|hot| hot.account(address)) {
            return Ok(hit);
        }
        let account = self.stored_account(address)?;
        if let Some(hot) = self.hot() {
            hot.fill(&[(address, account)], &[]);
        }
        Ok(account)
    }

    /// A storage slot; absent slots read as zero, as in the EVM.
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, StoreError> {
        if !self.is_head()
            && let Some(past) = self
                .rewind
                .slots
                .get(&(keccak256(address), keccak256(slot.to_be_bytes::<32>())))
        {
            return Ok(*past);
        }
        if let Some(hit) = self.hot().and_then(|hot| hot.slot(address, slot)) {
            return Ok(hit);
        }
        let value = self.stored_slot(address, slot)?;
        if let Some(hot) = self.hot() {
            hot.fill(&[], &[((address, slot), value)]);
        }
        Ok(value)
    }

    /// The head state's account in the table, past the caches.
    fn stored_account(&self, address: Address) -> Result<Option<TrieAccount>, StoreError> {
        self.snapshot
            .accounts()?
            .get(keccak256(address).0)?
            .map(|v| decode("accounts", v.value()))
            .transpose()
    }

    /// The head state's slot in the table, past the caches.
    fn stored_slot(&self, address: Address, slot: U256) -> Result<U256, StoreError> {
        let key = (keccak256(address).0, keccak256(slot.to_be_bytes::<32>()).0);
        Ok(self
            .snapshot
            .storage()?
            .get(key)?
            .map(|v| U256::from_be_bytes(v.value()))
            .unwrap_or_default())
    }

    /// This head state read by one thread with the hot-state cache held for it (see
    /// [`PinnedState`]); any other state reads as through `self`.
    pub fn pinned(&self) -> PinnedState<'_> {
        self.pinned_keeping_misses(false)
    }

    /// [`StateReader::pinned`] for one of several threads that hold the cache at once (a
    /// block's transactions on two threads): what it misses is kept for
    /// [`PinnedState::into_misses`], for the caller to fill in with
    /// [`StateReader::fill_misses`] once none of them holds the cache. Filled in as each lets
    /// go, it would mostly be lost: a fill skips the shards another reader holds, and the
    /// other thread holds them all but for a moment between chunks.
    pub fn pinned_among_others(&self) -> PinnedState<'_> {
        self.pinned_keeping_misses(true)
    }

    fn pinned_keeping_misses(&self, keeps_misses: bool) -> PinnedState<'_> {
        let pinned = PinnedState {
            reader: self,
            guards: RefCell::new(None),
            missed_accounts: RefCell::default(),
            missed_slots: RefCell::default(),
            keeps_misses,
        };
        pinned.repin();
        pinned
    }

    /// Puts in the hot-state cache what pinned readers of this state missed, unless a commit
    /// has changed the cache since (then they are stale and dropped).
    pub fn fill_misses(&self, misses: Misses) {
        if let Some(hot) = self.hot() {
            hot.fill(&misses.accounts, &misses.slots);
        }
    }

    /// Contract code by its hash (code is content-addressed and never deleted).
    pub fn code(&self, code_hash: B256) -> Result<Option<Bytes>, StoreError> {
        Ok(self
            .snapshot
            .code()?
            .get(code_hash.0)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// Every account of this state by keccak(address), in key order: what its trie is built
    /// from (a scan of the whole state: for witnesses and tools, not for load).
    pub fn hashed_accounts(&self) -> Result<Vec<(B256, TrieAccount)>, StoreError> {
        let mut all = std::collections::BTreeMap::new();
        for entry in self.snapshot.accounts()?.iter()? {
            let (key, value) = entry?;
            all.insert(B256::from(key.value()), decode("accounts", value.value())?);
        }
        for (hashed, past) in &self.rewind.accounts {
            match past {
                Some(account) => all.insert(*hashed, *account),
                None => all.remove(hashed),
            };
        }
        Ok(all.into_iter().collect())
    }

    /// The accounts (as trie leaves; `None` absent) where this state differs from the head's.
    pub(crate) fn past_accounts(&self) -> std::collections::BTreeMap<B256, Option<Vec<u8>>> {
        self.rewind
            .accounts
            .iter()
            .map(|(hashed, account)| (*hashed, account.as_ref().map(alloy_rlp::encode)))
            .collect()
    }

    /// The slots of the account hashed to `owner` where this state differs from the head's
    /// (zero: absent), by keccak(slot).
    pub(crate) fn past_slots(&self, owner: B256) -> std::collections::BTreeMap<B256, U256> {
        self.rewind
            .slots
            .iter()
            .filter(|((account, _), _)| *account == owner)
            .map(|((_, slot), value)| (*slot, *value))
            .collect()
    }

    /// Every non-zero slot of `address` in this state by keccak(slot), in key order.
    pub fn hashed_storage(&self, address: Address) -> Result<Vec<(B256, U256)>, StoreError> {
        let hashed = keccak256(address);
        let mut all = std::collections::BTreeMap::new();
        for entry in self
            .snapshot
            .storage()?
            .range((hashed.0, [0u8; 32])..=(hashed.0, [0xffu8; 32]))?
        {
            let (key, value) = entry?;
            all.insert(
                B256::from(key.value().1),
                U256::from_be_bytes(value.value()),
            );
        }
        for ((owner, slot), past) in &self.rewind.slots {
            if *owner == hashed {
                all.insert(*slot, *past);
            }
        }
        Ok(all.into_iter().filter(|(_, v)| !v.is_zero()).collect())
    }

    /// The hash of canonical block `number`: what `BLOCKHASH` reads.
    pub fn canonical_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        Ok(self
            .snapshot
            .canonical()?
            .get(number)?
            .map(|v| B256::from(v.value())))
    }
}

/// A number kept in `META` (8 bytes, big-endian).
pub(crate) fn u64_of(bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("meta", "a number is not 8 bytes"))?;
    Ok(u64::from_be_bytes(array))
}

/// A head-state reader that holds the read side of the hot-state cache for one thread, so
/// that its reads are plain map lookups with no atomic operation each: what a block's
/// executing thread reads through. What it misses it reads from the table and fills in
/// when it lets go. It lets go at [`PinnedState::repin`] (between chunks of a block, so a
/// commit waits at most that long) and when dropped; a thread holding it must not commit.
pub struct PinnedState<'a> {
    reader: &'a StateReader,
    guards: RefCell<Option<HotGuards<'a>>>,
    missed_accounts: RefCell<Vec<(Address, Option<TrieAccount>)>>,
    missed_slots: RefCell<Vec<((Address, U256), U256)>>,
    /// Kept for [`PinnedState::into_misses`] rather than filled in on letting go.
    keeps_misses: bool,
}

/// What pinned readers read from the table because the hot-state cache did not hold it.
#[derive(Default)]
pub struct Misses {
    accounts: Vec<(Address, Option<TrieAccount>)>,
    slots: Vec<((Address, U256), U256)>,
}

impl<'a> PinnedState<'a> {
    /// The state read: for what the cache does not hold (code, block hashes).
    pub fn reader(&self) -> &'a StateReader {
        self.reader
    }

    /// As [`StateReader::account`].
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>, StoreError> {
        let guards = self.guards.borrow();
        let Some(guards) = guards.as_ref() else {
            return self.reader.account(address);
        };
        if let Some(hit) = guards.account(address) {
            return Ok(hit);
        }
        let account = self.reader.stored_account(address)?;
        self.missed_accounts.borrow_mut().push((address, account));
        Ok(account)
    }

    /// As [`StateReader::storage`].
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, StoreError> {
        let guards = self.guards.borrow();
        let Some(guards) = guards.as_ref() else {
            return self.reader.storage(address, slot);
        };
        if let Some(hit) = guards.slot(address, slot) {
            return Ok(hit);
        }
        let value = self.reader.stored_slot(address, slot)?;
        self.missed_slots
            .borrow_mut()
            .push(((address, slot), value));
        Ok(value)
    }

    /// Lets go of the cache (a waiting commit goes ahead), fills in what was missed, and holds
    /// it again if it still holds this reader's head; if not, reads go through the reader.
    pub fn repin(&self) {
        self.release();
        let Some(hot) = self.reader.hot().filter(|_| self.reader.is_head()) else {
            return;
        };
        *self.guards.borrow_mut() = hot.pin();
    }

    /// Lets go of the cache for good and returns what this reader missed (all of it for a
    /// reader made by [`StateReader::pinned_among_others`]; what is not filled in yet for
    /// another).
    pub fn into_misses(self) -> Misses {
        self.guards.borrow_mut().take();
        Misses {
            accounts: std::mem::take(&mut *self.missed_accounts.borrow_mut()),
            slots: std::mem::take(&mut *self.missed_slots.borrow_mut()),
        }
    }

    fn release(&self) {
        if self.guards.borrow_mut().take().is_none() || self.keeps_misses {
            return;
        }
        let accounts = std::mem::take(&mut *self.missed_accounts.borrow_mut());
        let slots = std::mem::take(&mut *self.missed_slots.borrow_mut());
        if let Some(hot) = self.reader.hot()
            && !(accounts.is_empty() && slots.is_empty())
        {
            hot.fill(&accounts, &slots);
        }
    }
}

impl Drop for PinnedState<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
