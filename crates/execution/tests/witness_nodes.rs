//! The trie nodes a witness is cut from (`StateReader::trie_nodes`, read along the kept trie)
//! against a stateless trie's needs: deleting accounts collapses branches into siblings off the
//! deleted keys' paths, and the nodes given must hold those siblings, or the run stops on a
//! missing node.

use alloy_primitives::{Address, U256};
use alloy_trie::KECCAK_EMPTY;
use ankr_execution::stateless::trie::{self, NodeDb, Nodes};
use ankr_storage::{Account, StateChanges, Store, TouchedKeys};
use proptest::prelude::*;
use std::{collections::BTreeSet, sync::Arc};

fn address(i: u16) -> Address {
    Address::left_padding_from(&i.to_be_bytes())
}

fn account(balance: u64) -> Option<Account> {
    Some(Account {
        nonce: 1,
        balance: U256::from(balance),
        code_hash: KECCAK_EMPTY,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn the_nodes_given_let_a_stateless_trie_delete_and_update(
        accounts in 2u16..400,
        deleted in prop::collection::btree_set(0u16..400, 1..12),
        updated in prop::collection::btree_set(0u16..400, 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut genesis = StateChanges::default();
        for i in 0..accounts {
            genesis.accounts.insert(address(i), account(u64::from(i) + 1));
        }
        let mut writer = store.begin_block().unwrap();
        writer.apply_state(1, &genesis).unwrap();
        let before = writer.state_root().unwrap();
        writer.commit().unwrap();

        // The block: some accounts deleted (some never existed), others updated.
        let deleted: BTreeSet<u16> = deleted.into_iter().collect();
        let updated: BTreeSet<u16> = updated.difference(&deleted).copied().collect();
        let mut block = StateChanges::default();
        for i in &deleted {
            block.accounts.insert(address(*i), None);
        }
        for i in &updated {
            block.accounts.insert(address(*i), account(7));
        }
        let mut writer = store.begin_block().unwrap();
        writer.apply_state(2, &block).unwrap();
        let after = writer.state_root().unwrap();
        drop(writer);

        let state = store.reader().unwrap().state().unwrap();
        let keys = TouchedKeys {
            slots: deleted.iter().chain(&updated).map(|i| (address(*i), BTreeSet::new())).collect(),
            deleted_accounts: deleted.iter().map(|i| address(*i)).collect(),
            ..TouchedKeys::default()
        };
        let given = state.trie_nodes(&keys).unwrap();
        prop_assert_eq!(given.state_root, before);
        let db = NodeDb(Arc::new(Nodes::from_nodes(given.nodes.into_iter().map(Vec::from))));
        let mut accounts_trie = trie::open(&db, before).unwrap();
        for (address, change) in &block.accounts {
            let change = change.map(|a| alloy_trie::TrieAccount {
                nonce: a.nonce,
                balance: a.balance,
                storage_root: alloy_trie::EMPTY_ROOT_HASH,
                code_hash: a.code_hash,
            });
            trie::write_account(&mut accounts_trie, trie::hashed_key(address.as_slice()), change.as_ref())
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        }
        prop_assert_eq!(trie::root(&mut accounts_trie).unwrap(), after);
    }
}
