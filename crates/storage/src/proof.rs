//! Merkle proofs of kept state (EIP-1186 `eth_getProof`) and the trie nodes a stateless run of
//! a block needs (its execution witness), both read along the asked keys from the kept branch
//! nodes (`trie.rs`): O(k log n) for k keys among n, never a scan of the state (issue 16).
//!
//! The account trie's top levels live in the writer's memory (`trie_top.rs`); each commit
//! publishes them tagged with a version it also writes, and a reader whose snapshot holds that
//! version walks them. Any other reader (a snapshot older than the last publication, or taken
//! before the first writer after opening) has only the checkpoint in redb, so its walk rebuilds
//! the top nodes on the paths of the keys logged since and trusts the deeper nodes, which every
//! commit keeps current. An earlier block's state is the head's with later blocks' changes
//! undone: those keys are walked as changed, their leaves read from the undone values.

use crate::{
    StateReader, StoreError,
    reader::u64_of,
    snapshot::SlotTable,
    snapshot::Snapshot,
    tables::{ACCOUNT_TRIE, ACCOUNT_TRIE_TOP, META_TRIE_VERSION, STORAGE_TRIE},
    trie::{Stale, TrieSource, prove},
    trie_tables::{StorageTrie, account_leaves, node_at},
    trie_top::{CommittedTop, TOP_LEVELS, is_top},
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::{
    BranchNodeCompact, EMPTY_ROOT_HASH, Nibbles, TrieAccount, nodes::TrieNode, proof::ProofNodes,
};
use redb::{ReadOnlyTable, ReadableTable};
use std::{
    collections::{BTreeMap, BTreeSet},
    ops::Bound,
};

/// An account and some of its slots with the trie nodes that prove them against the state
/// root (and the account's storage root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    /// `None` if the account does not exist (the proof then shows its absence).
    pub account: Option<TrieAccount>,
    /// Nodes from the state root down to the account's leaf, root first.
    pub account_proof: Vec<Bytes>,
    /// Each asked slot with its value and the nodes from the storage root down to it.
    pub storage: Vec<(U256, U256, Vec<Bytes>)>,
}

/// The accounts and slots a stateless run reads or writes, and which of them it deletes.
#[derive(Clone, Debug, Default)]
pub struct TouchedKeys {
    /// Every account touched, with the slots of it read or written.
    pub slots: BTreeMap<Address, BTreeSet<U256>>,
    /// Accounts the run deletes.
    pub deleted_accounts: BTreeSet<Address>,
    /// Slots the run deletes (sets to zero), by account.
    pub deleted_slots: BTreeMap<Address, BTreeSet<U256>>,
}

/// What a stateless run over some accounts and slots of a state reads of its tries, and more:
/// every node on their paths and, on the paths of the keys it deletes, every child of a branch
/// (what a deletion collapses into). A superset; the run itself picks what it reads.
#[derive(Clone, Debug, Default)]
pub struct TrieNodes {
    /// The state root the nodes hang from, as the walk computed it.
    pub state_root: B256,
    /// Each asked account that has storage, with the storage root its nodes hang from.
    pub storage_roots: Vec<(Address, B256)>,
    /// RLP trie nodes, account trie and storage tries together.
    pub nodes: Vec<Bytes>,
}

/// Where a reader finds the account trie's top levels.
enum Top {
    /// As the writer published them for this very snapshot.
    Committed(CommittedTop),
    /// As last checkpointed in redb: current except on the paths of the keys logged since.
    Checkpoint(ReadOnlyTable<&'static [u8], &'static [u8]>),
}

/// The kept account trie as one snapshot sees it.
struct AccountsAt<'a> {
    snapshot: &'a Snapshot,
    top: Top,
    /// Keys whose top-level paths changed since the checkpoint, when `top` is that.
    stale: Vec<Nibbles>,
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    /// Accounts as this state holds them where they differ from the head's (trie leaves; `None`
    /// absent).
    past: BTreeMap<B256, Option<Vec<u8>>>,
}

impl TrieSource for AccountsAt<'_> {
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError> {
        let path = prefix.to_vec();
        if is_top(prefix) {
            let found = match &self.top {
                Top::Committed(top) => top.first_under(prefix),
                Top::Checkpoint(table) => node_at(table, &path, 0)?,
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        node_at(&self.nodes, &path, 0)
    }

    fn leaves(
        &self,
        from: Bound<B256>,
        to: Bound<B256>,
        each: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), StoreError> {
        let past = self.past.range((from, to)).map(|(k, v)| (*k, v.clone()));
        let accounts = self.snapshot.accounts()?;
        merge(
            |stored| account_leaves(accounts, from, to, stored),
            past,
            each,
        )
    }
}

impl AccountsAt<'_> {
    /// [`with_children`] over this trie: the keys its state undid walked as changed, the top
    /// paths logged since its checkpoint rebuilt.
    fn prove(
        &self,
        targets: &[Nibbles],
        deleted: &[Nibbles],
    ) -> Result<(B256, ProofNodes), StoreError> {
        let stale = Stale {
            keys: &self.stale,
            depth: TOP_LEVELS,
        };
        with_children(self, &keys(self.past.keys()), stale, targets, deleted)
    }
}

/// One account's kept storage trie as one snapshot's state holds it.
struct StorageAt<'a> {
    kept: StorageTrie<'a, ReadOnlyTable<&'static [u8], &'static [u8]>, SlotTable>,
    /// Slots as this state holds them where they differ from the head's (zero: absent).
    past: BTreeMap<B256, U256>,
}

impl TrieSource for StorageAt<'_> {
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError> {
        self.kept.first_node_under(prefix)
    }

    fn leaves(
        &self,
        from: Bound<B256>,
        to: Bound<B256>,
        each: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), StoreError> {
        let past = self
            .past
            .range((from, to))
            .map(|(k, v)| (*k, (!v.is_zero()).then(|| slot_leaf(*v))));
        merge(|stored| self.kept.leaves(from, to, stored), past, each)
    }
}

impl StorageAt<'_> {
    /// [`with_children`] over this trie, the slots its state undid walked as changed.
    fn prove(
        &self,
        targets: &[Nibbles],
        deleted: &[Nibbles],
    ) -> Result<(B256, ProofNodes), StoreError> {
        let changed = keys(self.past.keys());
        with_children(self, &changed, Stale::default(), targets, deleted)
    }
}

/// A slot's value as its trie leaf holds it.
fn slot_leaf(value: U256) -> Vec<u8> {
    alloy_rlp::encode(value)
}

/// Feeds `each` the leaves `stored` feeds (in key order) with `past` laid over them: an entry
/// there replaces the stored one, `None` removes it.
fn merge(
    stored: impl FnOnce(&mut dyn FnMut(B256, &[u8])) -> Result<(), StoreError>,
    past: impl Iterator<Item = (B256, Option<Vec<u8>>)>,
    each: &mut dyn FnMut(B256, &[u8]),
) -> Result<(), StoreError> {
    let mut past = past.peekable();
    let mut emit = |key: B256, value: Option<Vec<u8>>| {
        if let Some(value) = value {
            each(key, &value);
        }
    };
    stored(&mut |key, value| {
        while let Some((k, v)) = past.next_if(|(k, _)| *k < key) {
            emit(k, v);
        }
        match past.next_if(|(k, _)| *k == key) {
            Some((k, v)) => emit(k, v),
            None => emit(key, Some(value.to_vec())),
        }
    })?;
    for (k, v) in past {
        emit(k, v);
    }
    Ok(())
}

/// The nodes on each target's path, root first.
fn paths(nodes: &ProofNodes, targets: &[Nibbles]) -> Vec<Vec<Bytes>> {
    targets
        .iter()
        .map(|target| {
            nodes
                .matching_nodes_sorted(target)
                .into_iter()
                .map(|(_, node)| node)
                .collect()
        })
        .collect()
}

/// Proves `targets` in `source` with `changed` walked, and with every child of each branch on
/// the paths of `deleted` (some of the targets): the nodes a stateless run needs to read, insert
/// and delete at the targets. Only a deletion reads off its path: a branch left with one child
/// collapses into it.
fn with_children(
    source: &impl TrieSource,
    changed: &[Nibbles],
    stale: Stale<'_>,
    targets: &[Nibbles],
    deleted: &[Nibbles],
) -> Result<(B256, ProofNodes), StoreError> {
    if deleted.is_empty() {
        return prove(source, changed, stale, targets);
    }
    let (_, first) = prove(source, changed, stale, deleted)?;
    let mut wider: BTreeSet<Nibbles> = targets.iter().copied().collect();
    for (path, node) in first.into_nodes_sorted() {
        if let Ok(TrieNode::Branch(branch)) = TrieNode::decode(&mut &node[..]) {
            for nibble in 0..16u8 {
                if branch.state_mask.is_bit_set(nibble) {
                    let mut child = path;
                    child.push(nibble);
                    wider.insert(child);
                }
            }
        }
    }
    let wider: Vec<Nibbles> = wider.into_iter().collect();
    prove(source, changed, stale, &wider)
}

/// Hashed keys as the walk takes them.
fn keys<'k>(hashed: impl Iterator<Item = &'k B256>) -> Vec<Nibbles> {
    hashed.map(Nibbles::unpack).collect()
}

/// The account trie keys of `addresses`.
fn account_keys<'a>(addresses: impl IntoIterator<Item = &'a Address>) -> Vec<Nibbles> {
    addresses
        .into_iter()
        .map(|address| Nibbles::unpack(keccak256(address)))
        .collect()
}

/// The storage trie keys of `slots`.
fn slot_keys<'s>(slots: impl IntoIterator<Item = &'s U256>) -> Vec<Nibbles> {
    slots
        .into_iter()
        .map(|slot| Nibbles::unpack(keccak256(slot.to_be_bytes::<32>())))
        .collect()
}

impl StateReader {
    /// The storage trie of the account hashed to `account` as this reader's state holds it.
    fn storage_at<'s>(
        &'s self,
        nodes: &'s ReadOnlyTable<&'static [u8], &'static [u8]>,
        account: B256,
    ) -> Result<StorageAt<'s>, StoreError> {
        Ok(StorageAt {
            kept: StorageTrie {
                nodes,
                storage: self.snapshot.storage()?,
                account,
            },
            past: self.past_slots(account),
        })
    }

    /// The account trie as this reader's state holds it.
    fn accounts_at(&self) -> Result<AccountsAt<'_>, StoreError> {
        let snapshot = &*self.snapshot;
        let version = match snapshot.meta()?.get(META_TRIE_VERSION)? {
            Some(bytes) => u64_of(bytes.value())?,
            None => 0,
        };
        let mut stale = Vec::new();
        let top = match snapshot.top.committed_at(version) {
            Some(top) => Top::Committed(top),
            // No longer published (or not yet): the checkpoint, and its stale paths.
            None => {
                for entry in snapshot.trie_log()?.iter()? {
                    let (_, bytes) = entry?;
                    stale.extend(bytes.value().chunks_exact(32).map(Nibbles::unpack));
                }
                stale.sort_unstable();
                stale.dedup();
                Top::Checkpoint(snapshot.trie_table(ACCOUNT_TRIE_TOP)?)
            }
        };
        Ok(AccountsAt {
            snapshot,
            top,
            stale,
            nodes: snapshot.trie_table(ACCOUNT_TRIE)?,
            past: self.past_accounts(),
        })
    }

    /// Proofs of `address` and its `slots` against this state's root (the head's, or an
    /// earlier block's within the kept history).
    pub fn proof(&self, address: Address, slots: &[U256]) -> Result<AccountProof, StoreError> {
        let hashed = keccak256(address);
        let target = [Nibbles::unpack(hashed)];
        let (_, nodes) = self.accounts_at()?.prove(&target, &[])?;
        let account_proof = paths(&nodes, &target).pop().unwrap_or_default();

        let targets = slot_keys(slots);
        let storage_nodes = self.snapshot.trie_table(STORAGE_TRIE)?;
        let (_, nodes) = self
            .storage_at(&storage_nodes, hashed)?
            .prove(&targets, &[])?;
        let storage = slots
            .iter()
            .zip(paths(&nodes, &targets))
            .map(|(slot, proof)| Ok((*slot, self.storage(address, *slot)?, proof)))
            .collect::<Result<_, StoreError>>()?;
        Ok(AccountProof {
            account: self.account(address)?,
            account_proof,
            storage,
        })
    }

    /// The trie nodes a stateless run needs to read and rewrite `touched` accounts and their
    /// slots in this state (see [`TrieNodes`]): what a block's execution witness is cut from.
    pub fn trie_nodes(&self, touched: &TouchedKeys) -> Result<TrieNodes, StoreError> {
        let targets = account_keys(touched.slots.keys());
        let deleted = account_keys(&touched.deleted_accounts);
        let (state_root, nodes) = self.accounts_at()?.prove(&targets, &deleted)?;
        let mut out = TrieNodes {
            state_root,
            storage_roots: Vec::new(),
            nodes: nodes.into_inner().into_values().collect(),
        };
        let storage_nodes = self.snapshot.trie_table(STORAGE_TRIE)?;
        for (address, slots) in &touched.slots {
            let Some(account) = self.account(*address)? else {
                continue;
            };
            if account.storage_root == EMPTY_ROOT_HASH {
                continue;
            }
            let deleted = slot_keys(touched.deleted_slots.get(address).into_iter().flatten());
            let (root, nodes) = self
                .storage_at(&storage_nodes, keccak256(address))?
                .prove(&slot_keys(slots), &deleted)?;
            out.storage_roots.push((*address, root));
            out.nodes.extend(nodes.into_inner().into_values());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    //! Proofs read along the kept trie against proofs from a full rebuild of the same state, at
    //! the head and at earlier blocks, with the top levels checkpointed, logged and reopened.
    use super::*;
    use crate::Store;
    use crate::trie_tables::tests::{Change, apply, change, header};
    use alloy_trie::{HashBuilder, proof::ProofRetainer};
    use proptest::prelude::*;

    /// The proof of `target` among `leaves` (key order) by building the whole trie: the oracle.
    fn by_rebuild(leaves: Vec<(B256, Vec<u8>)>, target: Nibbles) -> (B256, Vec<Bytes>) {
        let mut builder =
            HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target]));
        let any = !leaves.is_empty();
        for (key, value) in leaves {
            builder.add_leaf(Nibbles::unpack(key), &value);
        }
        let root = if any { builder.root() } else { EMPTY_ROOT_HASH };
        let nodes = builder.take_proof_nodes();
        (root, paths(&nodes, &[target]).pop().unwrap())
    }

    fn address(who: u16) -> Address {
        Address::left_padding_from(&who.to_be_bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn proofs_along_the_kept_trie_match_a_full_rebuild(
            blocks in prop::collection::vec(
                (prop::collection::vec(change(), 1..200), any::<bool>()),
                3..9,
            ),
            asked in prop::collection::vec((0u16..4000, 0u16..400), 1..6),
            back in 0u64..4,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(dir.path()).unwrap();
            let mut parent = B256::ZERO;
            let mut roots = vec![EMPTY_ROOT_HASH];
            for (number, (changes, reopen)) in blocks.iter().enumerate() {
                let number = number as u64 + 1;
                let mut writer = store.begin_block().unwrap();
                writer.apply_state(number, &apply(changes)).unwrap();
                let root = writer.state_root().unwrap();
                parent = writer
                    .insert_canonical_block(&header(number, parent, root), &Default::default(), &[], U256::ZERO)
                    .unwrap();
                writer.commit().unwrap();
                roots.push(root);
                if *reopen {
                    drop(store);
                    store = Store::open(dir.path()).unwrap();
                }
            }
            let head = blocks.len() as u64;
            let at = head.saturating_sub(back).max(1);
            let reader = store.reader().unwrap();
            let state = reader.state_at(at).unwrap();
            // Every account the blocks named, and the asked ones, some never written.
            let mut who: BTreeSet<u16> = blocks.iter().flat_map(|(c, _)| c.iter().map(|c: &Change| c.0)).take(20).collect();
            who.extend(asked.iter().map(|(w, _)| *w));
            let mut touched = BTreeMap::new();
            for who in &who {
                let slots: Vec<U256> = asked.iter().map(|(_, s)| U256::from(*s)).chain([U256::ZERO, U256::from(1)]).collect();
                touched.insert(address(*who), slots.iter().copied().collect::<BTreeSet<U256>>());
                let proof = state.proof(address(*who), &slots).unwrap();
                let leaves: Vec<(B256, Vec<u8>)> = state
                    .hashed_accounts()
                    .unwrap()
                    .into_iter()
                    .map(|(k, a)| (k, alloy_rlp::encode(a)))
                    .collect();
                let (root, expected) = by_rebuild(leaves, Nibbles::unpack(keccak256(address(*who))));
                prop_assert_eq!(root, roots[at as usize]);
                prop_assert_eq!(&proof.account_proof, &expected, "account {} at block {}", who, at);
                let slot_leaves: Vec<(B256, Vec<u8>)> = state
                    .hashed_storage(address(*who))
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, slot_leaf(v)))
                    .collect();
                for (slot, value, nodes) in &proof.storage {
                    let target = Nibbles::unpack(keccak256(slot.to_be_bytes::<32>()));
                    let (_, expected) = by_rebuild(slot_leaves.clone(), target);
                    prop_assert_eq!(nodes, &expected, "slot {} of {}", slot, who);
                    prop_assert_eq!(*value, state.storage(address(*who), *slot).unwrap());
                }
            }
            let keys = TouchedKeys {
                deleted_accounts: touched.keys().copied().collect(),
                deleted_slots: touched.clone(),
                slots: touched,
            };
            let nodes = state.trie_nodes(&keys).unwrap();
            prop_assert_eq!(nodes.state_root, roots[at as usize]);
            for (owner, root) in nodes.storage_roots {
                prop_assert_eq!(Some(root), state.account(owner).unwrap().map(|a| a.storage_root));
            }
        }
    }

    /// After a checkpoint (600 accounts) and a block logged since (a few of them changed), a
    /// proof of an account that block left alone hangs from the current root: read with the
    /// top levels the writer published, and, once reopened (nothing published yet), with the
    /// checkpoint's. The second fails if the logged keys' top paths are trusted.
    #[test]
    fn a_proof_after_a_checkpoint_hangs_from_the_current_root() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut parent = B256::ZERO;
        let blocks: [Vec<Change>; 2] = [
            (0..600).map(|who| (who, Some(5), 1, 7)).collect(),
            (0..40).map(|who| (who * 13, Some(9), 2, 3)).collect(),
        ];
        let mut root = EMPTY_ROOT_HASH;
        for (number, changes) in blocks.iter().enumerate() {
            let number = number as u64 + 1;
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(number, &apply(changes)).unwrap();
            root = writer.state_root().unwrap();
            parent = writer
                .insert_canonical_block(
                    &header(number, parent, root),
                    &Default::default(),
                    &[],
                    U256::ZERO,
                )
                .unwrap();
            writer.commit().unwrap();
        }
        for reopened in [false, true] {
            if reopened {
                drop(store);
                store = Store::open(dir.path()).unwrap();
            }
            let state = store.reader().unwrap().state().unwrap();
            let accounts = state.accounts_at().unwrap();
            match reopened {
                false => assert!(matches!(accounts.top, Top::Committed(_))),
                true => assert!(!accounts.stale.is_empty(), "the second block is logged"),
            }
            proofs_hang_from(&state, root);
        }
        // A writer's uncommitted changes to the top levels (a block template's) are not what
        // readers see: they read the published ones.
        let mut template = store.begin_block().unwrap();
        let everyone: Vec<Change> = (0..600).map(|who| (who, Some(77), 1, 1)).collect();
        template.apply_state(3, &apply(&everyone)).unwrap();
        let template_root = template.state_root().unwrap();
        assert_ne!(template_root, root);
        let state = store.reader().unwrap().state().unwrap();
        assert!(matches!(
            state.accounts_at().unwrap().top,
            Top::Committed(_)
        ));
        proofs_hang_from(&state, root);
        // Committed, those top levels are published beside the ones before, which a reader of
        // the snapshot before the commit still finds.
        template.commit().unwrap();
        assert!(matches!(
            state.accounts_at().unwrap().top,
            Top::Committed(_)
        ));
        proofs_hang_from(&state, root);
        let after_template = store.reader().unwrap().state().unwrap();
        // One more commit and they are no longer published: that reader must not take the
        // newer ones for its own (it fails if the version is not checked).
        let mut writer = store.begin_block().unwrap();
        let again: Vec<Change> = (0..50).map(|who| (who * 7, Some(11), 3, 4)).collect();
        writer.apply_state(4, &apply(&again)).unwrap();
        writer.state_root().unwrap();
        writer.commit().unwrap();
        assert!(matches!(
            state.accounts_at().unwrap().top,
            Top::Checkpoint(_)
        ));
        proofs_hang_from(&state, root);
        assert!(matches!(
            after_template.accounts_at().unwrap().top,
            Top::Committed(_)
        ));
        proofs_hang_from(&after_template, template_root);
    }

    fn proofs_hang_from(state: &StateReader, root: B256) {
        let leaves: Vec<(B256, Vec<u8>)> = state
            .hashed_accounts()
            .unwrap()
            .into_iter()
            .map(|(k, a)| (k, alloy_rlp::encode(a)))
            .collect();
        for who in [1u16, 2, 599] {
            let target = Nibbles::unpack(keccak256(address(who)));
            let (rebuilt_root, expected) = by_rebuild(leaves.clone(), target);
            assert_eq!(rebuilt_root, root);
            assert_eq!(
                state.proof(address(who), &[]).unwrap().account_proof,
                expected
            );
        }
        let touched = TouchedKeys {
            slots: BTreeMap::from([(address(1), BTreeSet::from([U256::from(1)]))]),
            ..TouchedKeys::default()
        };
        assert_eq!(state.trie_nodes(&touched).unwrap().state_root, root);
    }
}
