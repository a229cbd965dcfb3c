//! What executing a block changes, and the reverse changeset kept to undo it.

use alloy_primitives::{
    Address, B256, Bytes, U256,
    map::{AddressIndexMap, AddressMap, B256Map, U256Map},
};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// An account as the EVM sees it (the storage root is storage's business).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub nonce: u64,
    pub balance: U256,
    pub code_hash: B256,
}

/// Storage writes of one account in one block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageChanges {
    /// All earlier slots are gone (contract created or self-destructed) before `slots` apply.
    pub wiped: bool,
    pub slots: U256Map<U256>,
}

/// An account as the trie holds it after a block: the new values with `storage_root`, deleted,
/// or — when only its storage changed — the old one with `storage_root`. Storage and stateless
/// execution both write accounts through this, so that they agree on every state root.
pub fn account_after(
    before: Option<alloy_trie::TrieAccount>,
    change: Option<&Option<Account>>,
    storage_root: B256,
) -> Option<alloy_trie::TrieAccount> {
    match change {
        Some(Some(account)) => Some(alloy_trie::TrieAccount {
            nonce: account.nonce,
            balance: account.balance,
            storage_root,
            code_hash: account.code_hash,
        }),
        Some(None) => None,
        None => before.map(|a| alloy_trie::TrieAccount { storage_root, ..a }),
    }
}

/// Everything a block changed in state. Written once per transaction while a block runs, so
/// its maps hash their fixed-size keys with alloy's cheap fixed-bytes hasher.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// New account values; `None` deletes the account.
    pub accounts: AccountChanges,
    pub storage: AddressMap<StorageChanges>,
    /// New contract code by hash.
    pub codes: B256Map<Bytes>,
}

impl StateChanges {
    /// Every account the block changed (its fields or its storage), in address order: what
    /// storage and stateless execution both rewrite.
    pub fn touched(&self) -> std::collections::BTreeSet<Address> {
        self.accounts
            .keys()
            .chain(self.storage.keys())
            .copied()
            .collect()
    }
}

/// The accounts a block changed, in the order it first changed them: a small hash index over
/// the entries, which are appended (alloy's `IndexMap` keyed by address). The executor writes
/// here once per account per transaction; a map of whole accounts (over 100 bytes an entry) had
/// each write land in memory the block had not touched yet, and those cache misses held up
/// revm's next atomic operation — a sixth of a block of transfers. Equality ignores the order.
pub type AccountChanges = AddressIndexMap<Option<Account>>;

/// The values a block overwrote, written beside it so the block can be undone on a reorg.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct Changeset {
    /// (keccak(address), previous rlp(TrieAccount) or empty if it did not exist)
    pub accounts: Vec<AccountBefore>,
    pub slots: Vec<SlotBefore>,
}

#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct AccountBefore {
    pub hashed_address: B256,
    pub record: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub(crate) struct SlotBefore {
    pub hashed_address: B256,
    pub hashed_slot: B256,
    pub value: U256,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the block writes, the changes read back as a map of the last value per
        /// account would, and compare equal to the same changes made in another order.
        #[test]
        fn account_changes_read_like_a_map_of_the_last_writes(
            writes in proptest::collection::vec((0u8..12, proptest::option::of(any::<u64>())), 0..40)
        ) {
            let mut changes = AccountChanges::with_capacity_and_hasher(4, Default::default());
            let mut model = std::collections::HashMap::new();
            for (who, nonce) in &writes {
                let address = Address::with_last_byte(*who);
                let account = nonce.map(|nonce| Account { nonce, ..Account::default() });
                changes.insert(address, account);
                model.insert(address, account);
            }
            prop_assert_eq!(changes.len(), model.len());
            for who in 0u8..12 {
                let address = Address::with_last_byte(who);
                prop_assert_eq!(changes.get(&address), model.get(&address));
                prop_assert_eq!(changes.contains_key(&address), model.contains_key(&address));
            }
            let mut backwards: Vec<_> = changes.iter().map(|(a, v)| (*a, *v)).collect();
            backwards.reverse();
            let reversed: AccountChanges = backwards.into_iter().collect();
            prop_assert_eq!(&reversed, &changes);
            let mut one_less = changes.clone();
            if let Some((address, account)) = changes.iter().next() {
                one_less.insert(*address, account.map(|a| Account { nonce: a.nonce ^ 1, ..a }).or(Some(Account::default())));
                prop_assert_ne!(&one_less, &changes);
            }
        }
    }
}
