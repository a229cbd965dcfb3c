//! What one simulation may pretend (geth's `eth_call` state and block overrides): an account's
//! balance, nonce, code or storage, and the hashes `BLOCKHASH` sees. Read through
//! [`OverriddenDb`], so nothing is written and the next call sees the real state.

use crate::StateError;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use alloy_trie::KECCAK_EMPTY;
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};

/// Changes to the state one simulation runs against.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub accounts: HashMap<Address, AccountOverride>,
    /// `BLOCKHASH(n)` answers for these block numbers.
    pub block_hashes: HashMap<u64, B256>,
}

/// One account as the simulation should see it; `None` fields keep the real value.
#[derive(Clone, Debug, Default)]
pub struct AccountOverride {
    pub balance: Option<U256>,
    pub nonce: Option<u64>,
    pub code: Option<Bytes>,
    pub storage: Option<StorageOverride>,
}

/// An account's storage in a simulation.
#[derive(Clone, Debug)]
pub enum StorageOverride {
    /// Only these slots hold values; every other slot reads zero (geth's `state`).
    Replace(HashMap<B256, B256>),
    /// These slots hold these values; the others keep theirs (geth's `stateDiff`).
    Patch(HashMap<B256, B256>),
}

/// `base` as the overrides change it.
pub struct OverriddenDb<'a, D> {
    pub base: D,
    pub overrides: &'a Overrides,
}

impl<D: DatabaseRef<Error = StateError>> DatabaseRef for OverriddenDb<'_, D> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let base = self.base.basic_ref(address)?;
        let Some(change) = self.overrides.accounts.get(&address) else {
            return Ok(base);
        };
        let mut info = base.unwrap_or_default();
        if let Some(balance) = change.balance {
            info.balance = balance;
        }
        if let Some(nonce) = change.nonce {
            info.nonce = nonce;
        }
        if let Some(code) = &change.code {
            info.code_hash = if code.is_empty() {
                KECCAK_EMPTY
            } else {
                keccak256(code)
            };
            info.code = Some(Bytecode::new_raw(code.clone()));
        }
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        for change in self.overrides.accounts.values() {
            if let Some(code) = &change.code
                && keccak256(code) == code_hash
            {
                return Ok(Bytecode::new_raw(code.clone()));
            }
        }
        self.base.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        let slot = B256::from(index);
        match self
            .overrides
            .accounts
            .get(&address)
            .and_then(|c| c.storage.as_ref())
        {
            Some(StorageOverride::Replace(slots)) => {
                Ok(slots.get(&slot).map_or(U256::ZERO, |v| (*v).into()))
            }
            Some(StorageOverride::Patch(slots)) => match slots.get(&slot) {
                Some(value) => Ok((*value).into()),
                None => self.base.storage_ref(address, index),
            },
            None => self.base.storage_ref(address, index),
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        match self.overrides.block_hashes.get(&number) {
            Some(hash) => Ok(*hash),
            None => self.base.block_hash_ref(number),
        }
    }
}
