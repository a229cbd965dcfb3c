//! Storage rules: roots match an independent trie computation, and an uncommitted block leaves
//! no trace.

use alloy_primitives::{Address, B256, U256, map::HashMap};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use ankr_storage::{Account, StateChanges, StorageChanges, Store};
use proptest::prelude::*;

fn changes(balances: &[(u8, u64)], slots: &[(u8, u64, u64)]) -> StateChanges {
    let mut changes = StateChanges::default();
    for (who, balance) in balances {
        changes.accounts.insert(
            Address::repeat_byte(*who),
            Some(Account {
                nonce: 1,
                balance: U256::from(*balance),
                code_hash: KECCAK_EMPTY,
            }),
        );
    }
    for (who, slot, value) in slots {
        changes
            .storage
            .entry(Address::repeat_byte(*who))
            .or_insert_with(StorageChanges::default)
            .slots
            .insert(U256::from(*slot), U256::from(*value));
    }
    changes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn state_root_matches_alloy_trie(
        balances in prop::collection::btree_map(1u8..40, 0u64..1_000_000, 1..20),
        slots in prop::collection::vec((1u8..40, 0u64..8, 0u64..5), 0..30),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let balances: Vec<_> = balances.into_iter().collect();
        // Only accounts that exist can hold storage.
        let slots: Vec<_> = slots.into_iter().filter(|(w, _, _)| balances.iter().any(|(b, _)| b == w)).collect();
        let mut writer = store.begin_block().unwrap();
        writer.apply_state(1, &changes(&balances, &slots)).unwrap();
        let root = writer.state_root().unwrap();

        let mut expected_storage: HashMap<Address, Vec<(B256, U256)>> = HashMap::default();
        let mut last: HashMap<(u8, u64), u64> = HashMap::default();
        for (who, slot, value) in &slots { last.insert((*who, *slot), *value); }
        for ((who, slot), value) in last {
            if value != 0 {
                expected_storage.entry(Address::repeat_byte(who)).or_default()
                    .push((B256::from(U256::from(slot)), U256::from(value)));
            }
        }
        let expected = alloy_trie::root::state_root_unhashed(balances.iter().map(|(who, balance)| {
            let address = Address::repeat_byte(*who);
            let storage_root = expected_storage.get(&address).map_or(EMPTY_ROOT_HASH, |s| {
                alloy_trie::root::storage_root_unhashed(s.clone())
            });
            (address, TrieAccount { nonce: 1, balance: U256::from(*balance), storage_root, code_hash: KECCAK_EMPTY })
        }));
        prop_assert_eq!(root, expected);
    }
}

#[test]
fn a_dropped_writer_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut writer = store.begin_block().unwrap();
    writer.apply_state(1, &changes(&[(1, 100)], &[])).unwrap();
    writer.commit().unwrap();

    let mut writer = store.begin_block().unwrap();
    writer
        .apply_state(2, &changes(&[(1, 5), (2, 7)], &[]))
        .unwrap();
    drop(writer);
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let state = store.reader().unwrap().state().unwrap();
    assert_eq!(
        state
            .account(Address::repeat_byte(1))
            .unwrap()
            .unwrap()
            .balance,
        U256::from(100)
    );
    assert!(state.account(Address::repeat_byte(2)).unwrap().is_none());
}
