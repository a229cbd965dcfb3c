//! revm's view of state: head state from storage under a per-block overlay of changes.

use alloy_primitives::{Address, B256, U256, map::B256Map};
use alloy_trie::{KECCAK_EMPTY, TrieAccount};
use ankr_storage::{Account, AccountChanges, PinnedState, StateChanges, StateReader, StoreError};
use revm::{
    Database, DatabaseCommit, DatabaseRef,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::{AddressMap, StorageKey, StorageValue},
    state::{Account as EvmAccount, AccountInfo},
};
use std::sync::Arc;

/// A state read the EVM could not make. Fatal to the block, never to the node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    /// This node's storage failed.
    #[error("state read failed: {0}")]
    Store(Arc<StoreError>),
    /// Stateless execution: the witness does not hold what the block reads (named here).
    #[error("the witness lacks {0}")]
    Witness(Arc<str>),
}

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> Self {
        Self::Store(Arc::new(e))
    }
}
impl DBErrorMarker for StateError {}

/// A stored account as revm reads it, its code left for revm to load (`None`) when it needs
/// it. Not `AccountInfo::default()`'s `Some(Bytecode::default())`: that clones revm's one
/// process-wide empty-code `Arc`, an atomic operation on a shared counter for every account
/// read, the helper thread's reads ahead included.
fn info_of(account: Account) -> AccountInfo {
    AccountInfo {
        balance: account.balance,
        nonce: account.nonce,
        code_hash: account.code_hash,
        account_id: None,
        code: None,
    }
}

/// [`info_of`] for an account as the state trie holds it.
fn info_of_stored(account: TrieAccount) -> AccountInfo {
    info_of(Account {
        nonce: account.nonce,
        balance: account.balance,
        code_hash: account.code_hash,
    })
}

/// Head state as revm reads it.
#[derive(Clone, Copy)]
pub struct StateDb<'a> {
    pub reader: &'a StateReader,
}

impl DatabaseRef for StateDb<'_> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.reader.account(address)?.map(info_of_stored))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        Ok(
            crate::analysed_code::analysed(code_hash, || self.reader.code(code_hash))?
                .unwrap_or_default(),
        )
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        Ok(self.reader.storage(address, index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        Ok(self.reader.canonical_hash(number)?.unwrap_or_default())
    }
}

/// Head state as a block's executing thread reads it: through the hot-state cache held for
/// that thread ([`PinnedState`]), a plain map lookup a read.
#[derive(Clone, Copy)]
pub struct PinnedStateDb<'p, 'a> {
    pub state: &'p PinnedState<'a>,
}

impl DatabaseRef for PinnedStateDb<'_, '_> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.state.account(address)?.map(info_of_stored))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        self.unpinned().code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        Ok(self.state.storage(address, index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        self.unpinned().block_hash_ref(number)
    }
}

impl PinnedStateDb<'_, '_> {
    /// For what the cache does not hold: code and block hashes.
    fn unpinned(&self) -> StateDb<'_> {
        StateDb {
            reader: self.state.reader(),
        }
    }
}

/// The state a block has written so far, over its parent's. Collects exactly what changed, so
/// storage writes no more than the block touched.
pub struct BlockState<D> {
    base: D,
    changes: StateChanges,
    code_cache: B256Map<Bytecode>,
    /// Parent-state accounts read ahead for the transactions about to run (by a helper
    /// thread, see `execute_block`), found here by a plain map lookup instead of a read of
    /// `base`. Below `changes`: only accounts the block has not changed yet are read here.
    read_ahead: AddressMap<Option<AccountInfo>>,
    /// Empty code behind this block's own reference count, given to every account without
    /// code (see `analysed_code::private_copy`).
    empty_code: Bytecode,
}

impl<D: DatabaseRef> BlockState<D> {
    /// An empty overlay over `base`, the parent block's state.
    pub fn new(base: D) -> Self {
        Self::with_capacity(base, 0)
    }

    /// [`BlockState::new`] with room for the accounts `txs` transactions touch (a sender and
    /// a recipient each), so a big block does not rehash as it runs.
    pub fn with_capacity(base: D, txs: usize) -> Self {
        let changes = StateChanges {
            accounts: AccountChanges::with_capacity_and_hasher(
                txs.saturating_mul(2),
                Default::default(),
            ),
            ..StateChanges::default()
        };
        Self {
            base,
            changes,
            code_cache: B256Map::default(),
            read_ahead: AddressMap::default(),
            empty_code: crate::analysed_code::private_copy(&Bytecode::default()),
        }
    }

    /// Puts `accounts`, read from the parent state, in front of `base` for the next
    /// transactions, and returns the ones put there before (for the caller to reuse).
    pub fn read_ahead(
        &mut self,
        accounts: AddressMap<Option<AccountInfo>>,
    ) -> AddressMap<Option<AccountInfo>> {
        std::mem::replace(&mut self.read_ahead, accounts)
    }

    /// What the block changed, for storage to write.
    pub fn into_changes(self) -> StateChanges {
        self.changes
    }

    /// What the block changed and the code it has seen: what a thread running part of a block
    /// hands back (see `parallel`).
    pub(crate) fn into_parts(self) -> (StateChanges, B256Map<Bytecode>) {
        (self.changes, self.code_cache)
    }

    /// Takes over what other threads ran of this block: their changes, and the code they saw
    /// (so code the block has seen is not recorded again by a later transaction).
    pub(crate) fn resume(&mut self, changes: StateChanges, code_cache: B256Map<Bytecode>) {
        debug_assert!(self.changes.accounts.is_empty() && self.changes.storage.is_empty());
        self.changes = changes;
        self.code_cache = code_cache;
    }

    /// Pays the beneficiary the tips of transactions run with their tips held back (see
    /// `parallel`), exactly as revm would have paid each after its transaction: the account
    /// touched, the tip added unless it would overflow, an account left empty deleted
    /// (EIP-161). Only sound when no transaction of those read the beneficiary.
    pub(crate) fn pay_tips(&mut self, beneficiary: Address, tips: &[U256]) -> Result<(), D::Error> {
        if tips.is_empty() {
            return Ok(());
        }
        // Loaded as revm loads it, so its code counts as seen by the block.
        let mut account = Database::basic(self, beneficiary)?;
        let mut wiped = false;
        for tip in tips {
            let mut info = account.take().unwrap_or_default();
            if let Some(balance) = info.balance.checked_add(*tip) {
                info.balance = balance;
            }
            if info.is_empty() {
                wiped = true;
            } else {
                account = Some(info);
            }
        }
        self.changes.accounts.insert(
            beneficiary,
            account.map(|info| Account {
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
            }),
        );
        if wiped {
            let storage = self.changes.storage.entry(beneficiary).or_default();
            storage.wiped = true;
            storage.slots.clear();
        }
        Ok(())
    }

    /// Credits `amount` outside any transaction (block reward).
    pub fn credit(&mut self, address: Address, amount: U256) -> Result<(), D::Error> {
        let mut account = match self.basic(address)? {
            Some(info) => Account {
                nonce: info.nonce,
                balance: info.balance,
                code_hash: info.code_hash,
            },
            None => Account {
                code_hash: KECCAK_EMPTY,
                ..Default::default()
            },
        };
        account.balance = account.balance.saturating_add(amount);
        self.changes.accounts.insert(address, Some(account));
        Ok(())
    }

    /// Writes `overrides` into the state as if a block had made them (what `eth_simulateV1`
    /// does before each simulated block's calls).
    pub fn apply(&mut self, overrides: &crate::Overrides) -> Result<(), D::Error> {
        for (address, change) in &overrides.accounts {
            let before = self.info_without_code(*address)?.unwrap_or_default();
            let code_hash = match &change.code {
                Some(code) if code.is_empty() => KECCAK_EMPTY,
                Some(code) => {
                    let hash = alloy_primitives::keccak256(code);
                    self.changes.codes.insert(hash, code.clone());
                    self.code_cache
                        .insert(hash, Bytecode::new_raw(code.clone()));
                    hash
                }
                None => before.code_hash,
            };
            self.changes.accounts.insert(
                *address,
                Some(Account {
                    nonce: change.nonce.unwrap_or(before.nonce),
                    balance: change.balance.unwrap_or(before.balance),
                    code_hash,
                }),
            );
            let slots = match &change.storage {
                Some(crate::StorageOverride::Replace(slots)) => {
                    let storage = self.changes.storage.entry(*address).or_default();
                    storage.wiped = true;
                    storage.slots.clear();
                    slots
                }
                Some(crate::StorageOverride::Patch(slots)) => slots,
                None => continue,
            };
            let storage = self.changes.storage.entry(*address).or_default();
            storage.slots.extend(
                slots
                    .iter()
                    .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0))),
            );
        }
        Ok(())
    }

    /// The account as the block has left it so far, its code not loaded.
    fn info_without_code(&self, address: Address) -> Result<Option<AccountInfo>, D::Error> {
        Ok(match self.changes.accounts.get(&address) {
            Some(account) => account.map(info_of),
            None => match self.read_ahead.get(&address) {
                Some(info) => info.clone(),
                None => self.base.basic_ref(address)?,
            },
        })
    }

    fn commit_account(&mut self, address: Address, account: EvmAccount) {
        if !account.is_touched() {
            return;
        }
        // EIP-161: a touched account left empty is deleted, as is a self-destructed one.
        if account.is_selfdestructed() || account.is_empty() {
            self.changes.accounts.insert(address, None);
            let storage = self.changes.storage.entry(address).or_default();
            storage.wiped = true;
            storage.slots.clear();
            return;
        }
        if account.is_created() {
            let storage = self.changes.storage.entry(address).or_default();
            storage.wiped = true;
            storage.slots.clear();
        }
        // Code the block has already seen (read from the parent, or written by an earlier
        // transaction) is not new: a contract touched by every transaction of a block is not
        // re-recorded every time.
        if let Some(code) = &account.info.code
            && account.info.code_hash != KECCAK_EMPTY
            && !self.code_cache.contains_key(&account.info.code_hash)
        {
            self.changes
                .codes
                .insert(account.info.code_hash, code.original_bytes());
            self.code_cache.insert(account.info.code_hash, code.clone());
        }
        self.changes.accounts.insert(
            address,
            Some(Account {
                nonce: account.info.nonce,
                balance: account.info.balance,
                code_hash: account.info.code_hash,
            }),
        );
        let mut changed = account
            .storage
            .iter()
            .filter(|(_, slot)| slot.is_changed())
            .map(|(key, slot)| (*key, slot.present_value))
            .peekable();
        if changed.peek().is_some() {
            self.changes
                .storage
                .entry(address)
                .or_default()
                .slots
                .extend(changed);
        }
    }
}

impl<D: DatabaseRef> Database for BlockState<D> {
    type Error = D::Error;

    /// Returns the account with its code: revm runs what `info.code` holds and does not look a
    /// missing one up by hash (nor, for an account without code, clone its shared default).
    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(mut info) = self.info_without_code(address)? else {
            return Ok(None);
        };
        info.code = Some(match info.code_hash {
            KECCAK_EMPTY => self.empty_code.clone(),
            code_hash => self.code_by_hash(code_hash)?,
        });
        Ok(Some(info))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if let Some(code) = self.code_cache.get(&code_hash) {
            return Ok(code.clone());
        }
        let code = crate::analysed_code::private_copy(&self.base.code_by_hash_ref(code_hash)?);
        self.code_cache.insert(code_hash, code.clone());
        Ok(code)
    }

    fn storage(
        &mut self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        self.storage_ref(address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.base.block_hash_ref(number)
    }
}

/// The block's state so far, read without caching: what a prestate or state-diff tracer reads
/// the values a transaction replaced from.
impl<D: DatabaseRef> DatabaseRef for BlockState<D> {
    type Error = D::Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(mut info) = self.info_without_code(address)? else {
            return Ok(None);
        };
        if info.code_hash != KECCAK_EMPTY {
            info.code = Some(self.code_by_hash_ref(info.code_hash)?);
        }
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        match self.code_cache.get(&code_hash) {
            Some(code) => Ok(code.clone()),
            None => self.base.code_by_hash_ref(code_hash),
        }
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        if let Some(storage) = self.changes.storage.get(&address) {
            if let Some(value) = storage.slots.get(&index) {
                return Ok(*value);
            }
            if storage.wiped {
                return Ok(U256::ZERO);
            }
        }
        self.base.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.base.block_hash_ref(number)
    }
}

impl<D: DatabaseRef> DatabaseCommit for BlockState<D> {
    fn commit(&mut self, changes: AddressMap<EvmAccount>) {
        for (address, account) in changes {
            self.commit_account(address, account);
        }
    }
}
