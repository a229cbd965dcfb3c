//! The kept trie nodes in redb: the account trie's under their nibble paths (its top levels in
//! memory, `trie_top.rs`), each account's storage trie's under its hashed address followed by
//! the path. A nibble is one byte, so the tables order paths as the trie does, a node before
//! the nodes below it.

use crate::{
    StoreError,
    reader::decode,
    tables::{ACCOUNT_TRIE, ACCOUNT_TRIE_LOG, ACCOUNT_TRIE_TOP, ACCOUNTS, STORAGE, STORAGE_TRIE},
    trie::{TrieSource, TrieUpdate, decode_node, encode_node, update_root},
    trie_top::{TopNodes, TopUndo, is_top},
};
use alloy_primitives::{B256, U256};
use alloy_trie::{BranchNodeCompact, Nibbles};
use redb::{ReadableTable, Table, WriteTransaction};
use std::ops::Bound;

type NodeTable<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// The kept node with the shortest path starting with `key`. Usually it is at `key` itself,
/// found by one lookup; only below an extension does it take a range scan (two B-tree cursors).
pub(crate) fn node_at(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    path_from: usize,
) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError> {
    let decode = |bytes: &[u8]| {
        decode_node(bytes).ok_or_else(|| StoreError::corrupt("trie", "undecodable branch node"))
    };
    if let Some(bytes) = table.get(key)? {
        let path = Nibbles::from_nibbles_unchecked(&key[path_from..]);
        return Ok(Some((path, decode(bytes.value())?)));
    }
    let Some(entry) = table.range::<&[u8]>(key..)?.next() else {
        return Ok(None);
    };
    let (found, bytes) = entry?;
    if !found.value().starts_with(key) {
        return Ok(None);
    }
    let path = Nibbles::from_nibbles_unchecked(&found.value()[path_from..]);
    Ok(Some((path, decode(bytes.value())?)))
}

/// The account trie: its top nodes in memory, the deeper ones kept in redb, and `ACCOUNTS`,
/// whose values are already trie leaves.
struct AccountTrie<'a, 't> {
    top: &'a TopNodes,
    nodes: &'a NodeTable<'t>,
    accounts: &'a Table<'t, [u8; 32], &'static [u8]>,
}

impl TrieSource for AccountTrie<'_, '_> {
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError> {
        // A top node under the prefix is above any deeper one there (they share its path).
        if is_top(prefix)
            && let Some(found) = self.top.first_under(prefix)
        {
            return Ok(Some(found));
        }
        node_at(self.nodes, &prefix.to_vec(), 0)
    }

    fn leaves(
        &self,
        from: Bound<B256>,
        to: Bound<B256>,
        each: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), StoreError> {
        account_leaves(self.accounts, from, to, each)
    }
}

/// Every account leaf (`ACCOUNTS` holds them as the trie does) with its hashed address within
/// the bounds, in key order.
pub(crate) fn account_leaves(
    accounts: &impl ReadableTable<[u8; 32], &'static [u8]>,
    from: Bound<B256>,
    to: Bound<B256>,
    each: &mut dyn FnMut(B256, &[u8]),
) -> Result<(), StoreError> {
    for entry in accounts.range::<[u8; 32]>((from.map(|k| k.0), to.map(|k| k.0)))? {
        let (key, value) = entry?;
        each(B256::from(key.value()), value.value());
    }
    Ok(())
}

/// One account's storage trie: its kept nodes (`STORAGE_TRIE`) and its slots in `STORAGE`, in a
/// write transaction (a block's root) or a read one (a proof).
pub(crate) struct StorageTrie<'a, N, S> {
    pub nodes: &'a N,
    pub storage: &'a S,
    /// keccak(address).
    pub account: B256,
}

impl<N, S> TrieSource for StorageTrie<'_, N, S>
where
    N: ReadableTable<&'static [u8], &'static [u8]>,
    S: ReadableTable<([u8; 32], [u8; 32]), [u8; 32]>,
{
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError> {
        let mut key = self.account.to_vec();
        key.extend(prefix.to_vec());
        node_at(self.nodes, &key, 32)
    }

    fn leaves(
        &self,
        from: Bound<B256>,
        to: Bound<B256>,
        each: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), StoreError> {
        let account = self.account.0;
        let range = (from.map(|k| (account, k.0)), to.map(|k| (account, k.0)));
        let mut buf = Vec::with_capacity(33);
        for entry in self.storage.range::<([u8; 32], [u8; 32])>(range)? {
            let (key, value) = entry?;
            buf.clear();
            alloy_rlp::Encodable::encode(&U256::from_be_bytes(value.value()), &mut buf);
            each(B256::from(key.value().1), &buf);
        }
        Ok(())
    }
}

fn keep(nodes: &mut NodeTable<'_>, prefix: &[u8], update: TrieUpdate) -> Result<B256, StoreError> {
    let key = |path: &Nibbles| [prefix, &path.to_vec()].concat();
    // A rebuilt node is overwritten below; only those that ceased to exist are removed.
    for path in update
        .removed
        .iter()
        .filter(|p| !update.updated.contains_key(*p))
    {
        nodes.remove(key(path).as_slice())?;
    }
    for (path, node) in &update.updated {
        nodes.insert(key(path).as_slice(), encode_node(node).as_slice())?;
    }
    Ok(update.root)
}

/// Sorted, unique nibble paths of hashed keys, as [`update_root`] takes them.
pub(crate) fn changed_keys(keys: impl IntoIterator<Item = B256>) -> Vec<Nibbles> {
    let mut keys: Vec<B256> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(Nibbles::unpack).collect()
}

/// The state root after the accounts under `changed` (hashed) changed; keeps the new nodes,
/// the top ones in `top` (recording what they replaced in `undo`), the rest in `txn`.
pub(crate) fn update_account_trie(
    txn: &WriteTransaction,
    top: &mut TopNodes,
    undo: &mut TopUndo,
    changed: &[Nibbles],
) -> Result<B256, StoreError> {
    let mut nodes = txn.open_table(ACCOUNT_TRIE)?;
    let accounts = txn.open_table(ACCOUNTS)?;
    let update = update_root(
        &AccountTrie {
            top,
            nodes: &nodes,
            accounts: &accounts,
        },
        changed,
    )?;
    for path in &update.removed {
        if !update.updated.contains_key(path) {
            match is_top(path) {
                true => top.set(*path, None, undo),
                false => {
                    nodes.remove(path.to_vec().as_slice())?;
                }
            }
        }
    }
    for (path, node) in update.updated {
        match is_top(&path) {
            true => top.set(path, Some(node), undo),
            false => {
                nodes.insert(path.to_vec().as_slice(), encode_node(&node).as_slice())?;
            }
        }
    }
    Ok(update.root)
}

/// `account`'s storage root after its slots under `changed` (hashed) changed; keeps the nodes.
pub(crate) fn update_storage_trie(
    nodes: &mut NodeTable<'_>,
    storage: &Table<'_, ([u8; 32], [u8; 32]), [u8; 32]>,
    account: B256,
    changed: &[Nibbles],
) -> Result<B256, StoreError> {
    let update = update_root(
        &StorageTrie {
            nodes,
            storage,
            account,
        },
        changed,
    )?;
    keep(nodes, account.as_slice(), update)
}

/// Drops every kept node of `account`'s storage trie (its storage was wiped).
pub(crate) fn forget_storage_trie(
    nodes: &mut NodeTable<'_>,
    account: B256,
) -> Result<(), StoreError> {
    let low = account.to_vec();
    let high = [account.as_slice(), &[0x10]].concat();
    for entry in nodes.extract_from_if::<&[u8], _>(low.as_slice()..high.as_slice(), |_, _| true)? {
        entry?;
    }
    Ok(())
}

/// Builds every kept node from the hashed state (a database written before nodes were kept):
/// each account's storage trie, then the account trie. Checks each storage root on the way.
pub(crate) fn rebuild(txn: &WriteTransaction) -> Result<B256, StoreError> {
    {
        let mut nodes = txn.open_table(ACCOUNT_TRIE)?;
        for entry in nodes.extract_from_if::<&[u8], _>(.., |_, _| true)? {
            entry?;
        }
        let mut top_nodes = txn.open_table(ACCOUNT_TRIE_TOP)?;
        for entry in top_nodes.extract_from_if::<&[u8], _>(.., |_, _| true)? {
            entry?;
        }
        let mut log = txn.open_table(ACCOUNT_TRIE_LOG)?;
        for entry in log.extract_from_if::<u64, _>(.., |_, _| true)? {
            entry?;
        }
        let mut storage_nodes = txn.open_table(STORAGE_TRIE)?;
        for entry in storage_nodes.extract_from_if::<&[u8], _>(.., |_, _| true)? {
            entry?;
        }
        let storage = txn.open_table(STORAGE)?;
        let accounts = txn.open_table(ACCOUNTS)?;
        for entry in accounts.iter()? {
            let (key, value) = entry?;
            let account: alloy_trie::TrieAccount = decode("accounts", value.value())?;
            if account.storage_root == alloy_trie::EMPTY_ROOT_HASH {
                continue;
            }
            let hashed = B256::from(key.value());
            let root = update_storage_trie(&mut storage_nodes, &storage, hashed, &[])?;
            if root != account.storage_root {
                return Err(StoreError::corrupt(
                    "storage",
                    format!("storage of {hashed} does not hash to its account's root"),
                ));
            }
        }
    }
    let mut top = TopNodes::default();
    let root = update_account_trie(txn, &mut top, &mut TopUndo::new(), &[])?;
    top.write_back(txn)?;
    Ok(root)
}

#[cfg(test)]
pub(crate) mod tests {
    //! The kept trie against the full scan it replaces: same roots after every block and every
    //! undone block, and the same kept nodes as a rebuild from scratch (no stale node left).
    use super::*;
    use crate::{Account, StateChanges, StorageChanges, Store, tables::META};
    use alloy_primitives::{Address, U256};
    use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, TrieMask};
    use proptest::prelude::*;
    use redb::{ReadableDatabase, ReadableTableMetadata};

    type Dump = Vec<(Vec<u8>, Vec<u8>)>;

    fn dump(txn: &WriteTransaction) -> (Dump, Dump, Dump) {
        let all = |table: NodeTable<'_>| -> Dump {
            table
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value().to_vec(), v.value().to_vec())
                })
                .collect()
        };
        (
            all(txn.open_table(ACCOUNT_TRIE_TOP).unwrap()),
            all(txn.open_table(ACCOUNT_TRIE).unwrap()),
            all(txn.open_table(STORAGE_TRIE).unwrap()),
        )
    }

    /// Every account's storage root from a scan of its slots.
    fn storage_roots_by_scan(txn: &WriteTransaction) -> Vec<(B256, B256, B256)> {
        let accounts = txn.open_table(ACCOUNTS).unwrap();
        let storage = txn.open_table(STORAGE).unwrap();
        let mut out = Vec::new();
        for entry in accounts.iter().unwrap() {
            let (key, value) = entry.unwrap();
            let account: alloy_trie::TrieAccount = decode("accounts", value.value()).unwrap();
            let mut builder = HashBuilder::default();
            let mut any = false;
            let range = (key.value(), [0u8; 32])..=(key.value(), [0xff; 32]);
            for slot in storage.range(range).unwrap() {
                let (k, v) = slot.unwrap();
                let leaf = alloy_rlp::encode(U256::from_be_bytes(v.value()));
                builder.add_leaf(Nibbles::unpack(k.value().1), &leaf);
                any = true;
            }
            let scanned = if any { builder.root() } else { EMPTY_ROOT_HASH };
            out.push((B256::from(key.value()), account.storage_root, scanned));
        }
        out
    }

    pub(crate) fn header(number: u64, parent_hash: B256, state_root: B256) -> ankr_types::Header {
        ankr_types::Header {
            parent_hash,
            beneficiary: Address::ZERO,
            state_root,
            transactions_root: B256::ZERO,
            receipts_root: B256::ZERO,
            logs_bloom: Default::default(),
            difficulty: U256::from(1),
            number,
            gas_limit: 30_000_000,
            gas_used: 0,
            timestamp: number,
            extra_data: Default::default(),
            base_fee_per_gas: 1,
            child_chains_root: B256::ZERO,
            seal: ankr_types::Seal::dev(),
        }
    }

    /// One change: account `who` gets `balance` (or is deleted, storage wiped) and, if it
    /// lives, slot `slot` of it gets `value` (0 clears it).
    pub(crate) type Change = (u16, Option<u64>, u16, u64);

    pub(crate) fn apply(changes: &[Change]) -> StateChanges {
        let mut out = StateChanges::default();
        for (who, balance, slot, value) in changes {
            let address = Address::left_padding_from(&who.to_be_bytes());
            match balance {
                Some(balance) => {
                    out.accounts.insert(
                        address,
                        Some(Account {
                            nonce: 1,
                            balance: U256::from(*balance),
                            code_hash: KECCAK_EMPTY,
                        }),
                    );
                    let slots = out
                        .storage
                        .entry(address)
                        .or_insert_with(StorageChanges::default);
                    slots.slots.insert(U256::from(*slot), U256::from(*value));
                }
                None => {
                    out.accounts.insert(address, None);
                    let slots = out.storage.entry(address).or_default();
                    slots.wiped = true;
                    slots.slots.clear();
                }
            }
        }
        out
    }

    pub(crate) fn change() -> impl Strategy<Value = Change> {
        // Few accounts holding many slots and many accounts holding few, so that both kinds of
        // trie grow kept nodes two and three levels down (the account trie's then lie on both
        // sides of its top levels, two in tests).
        (
            prop_oneof![0u16..6, 0u16..600, 0u16..4000],
            prop_oneof![9 => (0u64..1000).prop_map(Some), 1 => Just(None)],
            prop_oneof![0u16..4, 0u16..400],
            prop_oneof![Just(0u64), 1u64..50],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn kept_trie_roots_and_nodes_match_a_full_rebuild(
            blocks in prop::collection::vec(
                (prop::collection::vec(change(), 1..300), 0usize..3, any::<bool>(), any::<bool>()),
                1..7,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(dir.path()).unwrap();
            let mut heads = vec![B256::ZERO];
            let mut number = 0u64;
            for (changes, undo, dropped_first, reopen) in &blocks {
                if *dropped_first {
                    // A template's writer: it changes the top nodes, on paths the block that
                    // follows may leave alone, and is never committed.
                    let elsewhere: Vec<Change> = changes
                        .iter()
                        .map(|(who, _, slot, value)| (who.wrapping_add(7), Some(12_345), *slot, *value))
                        .collect();
                    let mut writer = store.begin_block().unwrap();
                    writer.apply_state(number + 1, &apply(&elsewhere)).unwrap();
                    writer.state_root().unwrap();
                }
                number += 1;
                let mut writer = store.begin_block().unwrap();
                writer.apply_state(number, &apply(changes)).unwrap();
                let root = writer.state_root().unwrap();
                prop_assert_eq!(root, writer.state_root_by_scan().unwrap());
                let block = header(number, *heads.last().unwrap(), root);
                heads.push(writer.insert_canonical_block(&block, &Default::default(), &[], U256::ZERO).unwrap());
                // Undo up to `undo` blocks (never genesis): the kept nodes must follow.
                for _ in 0..(*undo).min(heads.len() - 2) {
                    writer.unwind_head().unwrap();
                    heads.pop();
                    number -= 1;
                }
                writer.commit().unwrap();
                // What a reopen would load now is what the writer holds, whatever part of a
                // write-back has been done.
                let (held, reloaded) =
                    store.top.held_and_reloaded(&store.db.begin_write().unwrap()).unwrap();
                prop_assert_eq!(held, reloaded, "a reopen would load other top nodes");
                if *reopen {
                    // As after a crash: the top nodes come from the checkpoint and the log.
                    drop(store);
                    store = Store::open(dir.path()).unwrap();
                }
            }
            drop(store.begin_block().unwrap()); // loads the top nodes if reopened last
            let txn = store.db.begin_write().unwrap();
            store.top.write_back(&txn).unwrap();
            for (account, kept, scanned) in storage_roots_by_scan(&txn) {
                prop_assert_eq!(kept, scanned, "storage root of {}", account);
            }
            let incremental = dump(&txn);
            let root = rebuild(&txn).unwrap();
            prop_assert_eq!(incremental, dump(&txn), "kept nodes differ from a rebuild");
            {
                let mut writer =
                    crate::BlockWriter::new(
                        txn,
                        store.hot.clone(),
                        Default::default(),
                        Default::default(),
                    )
                    .unwrap();
                prop_assert_eq!(root, writer.state_root_by_scan().unwrap());
                prop_assert_eq!(root, writer.state_root().unwrap());
            }
        }
    }

    /// A leaf whose siblings all go moves up into its parent's place and hashes differently, so
    /// nothing kept for it below may stand in for it. Deleting accounts one by one collapses
    /// branch after branch (an attempt to keep leaves' hashes failed here until it read such a
    /// leaf instead; docs/benchmarks.md).
    #[test]
    fn deleting_siblings_moves_a_leaf_up_and_the_root_follows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let everyone: Vec<Change> = (0..60).map(|i| (i, Some(5), 0, 0)).collect();
        let mut writer = store.begin_block().unwrap();
        writer.apply_state(1, &apply(&everyone)).unwrap();
        writer.state_root().unwrap();
        writer.commit().unwrap();
        // Every third one first, then the rest from the far end, one a block, with a balance
        // change beside each so that every block also rebuilds paths that do not collapse.
        let order = (0..60)
            .step_by(3)
            .chain((0..60).rev().filter(|i| i % 3 != 0));
        for (block, gone) in order.enumerate().take(59) {
            let number = block as u64 + 2;
            let mut writer = store.begin_block().unwrap();
            writer
                .apply_state(
                    number,
                    &apply(&[(gone, None, 0, 0), (59 - gone / 2, Some(number), 0, 0)]),
                )
                .unwrap();
            let root = writer.state_root().unwrap();
            assert_eq!(
                root,
                writer.state_root_by_scan().unwrap(),
                "after deleting {gone}"
            );
            writer.commit().unwrap();
        }
    }

    /// The layout before the top levels moved to their own table kept them in `ACCOUNT_TRIE`,
    /// where they would now stand in for deeper nodes: such a database is rebuilt on open.
    #[test]
    fn a_database_with_the_top_levels_among_the_deeper_nodes_is_rebuilt_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let changes: Vec<Change> = (0..500).map(|i| (i, Some(7), 0, 0)).collect();
        {
            let store = Store::open(dir.path()).unwrap();
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(1, &apply(&changes)).unwrap();
            writer.state_root().unwrap();
            writer.commit().unwrap();
            // What the previous layout left: a top node in the deeper nodes' table.
            let txn = store.db.begin_write().unwrap();
            let stale = BranchNodeCompact::new(
                TrieMask::new(1),
                TrieMask::new(0),
                TrieMask::new(1),
                vec![B256::repeat_byte(0xee)],
                None,
            );
            txn.open_table(ACCOUNT_TRIE)
                .unwrap()
                .insert([0u8].as_slice(), encode_node(&stale).as_slice())
                .unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(crate::tables::META_TRIE, [1u8].as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let read = store.db.begin_read().unwrap();
        let deeper = read.open_table(ACCOUNT_TRIE).unwrap();
        for entry in deeper.iter().unwrap() {
            let path = entry.unwrap().0.value().len();
            assert!(
                path >= crate::trie_top::TOP_LEVELS,
                "a top node at depth {path} left"
            );
        }
        drop((deeper, read));
        let mut writer = store.begin_block().unwrap();
        writer
            .apply_state(2, &apply(&[(3, Some(1), 0, 0)]))
            .unwrap();
        assert_eq!(
            writer.state_root().unwrap(),
            writer.state_root_by_scan().unwrap()
        );
    }

    #[test]
    fn a_database_from_before_kept_nodes_gets_them_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let changes: Vec<Change> = (0..500).map(|i| (i, Some(7), i % 50, 3)).collect();
        let root = {
            let store = Store::open(dir.path()).unwrap();
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(1, &apply(&changes)).unwrap();
            let root = writer.state_root().unwrap();
            writer.commit().unwrap();
            // What an older binary left: state, no nodes, no marker.
            let txn = store.db.begin_write().unwrap();
            txn.delete_table(ACCOUNT_TRIE).unwrap();
            txn.delete_table(ACCOUNT_TRIE_TOP).unwrap();
            txn.delete_table(ACCOUNT_TRIE_LOG).unwrap();
            txn.delete_table(STORAGE_TRIE).unwrap();
            txn.open_table(META)
                .unwrap()
                .remove(crate::tables::META_TRIE)
                .unwrap();
            txn.commit().unwrap();
            root
        };
        let store = Store::open(dir.path()).unwrap();
        let mut writer = store.begin_block().unwrap();
        let read = store.db.begin_read().unwrap();
        assert!(
            read.open_table(ACCOUNT_TRIE_TOP).unwrap().len().unwrap() > 0,
            "nodes rebuilt"
        );
        drop(read);
        assert_eq!(writer.state_root().unwrap(), root);
        let one_more = apply(&[(3, Some(1), 1, 1)]);
        writer.apply_state(2, &one_more).unwrap();
        assert_eq!(
            writer.state_root().unwrap(),
            writer.state_root_by_scan().unwrap()
        );
    }
}
