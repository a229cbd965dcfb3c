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

fn header(number: u64) -> ankr_types::Header {
    ankr_types::Header {
        parent_hash: B256::ZERO,
        beneficiary: Address::ZERO,
        state_root: B256::ZERO,
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Reading state at any past block gives exactly what that block left, whatever the later
    /// blocks created, changed, zeroed or deleted.
    #[test]
    fn state_at_a_past_block_is_what_that_block_left(
        blocks in prop::collection::vec(
            prop::collection::vec((1u8..8, prop::option::of(0u64..5), 0u64..3, 0u64..3), 1..6),
            1..6,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut model = Model::default();
        let mut snapshots = Vec::new();
        for (i, changes_in_block) in blocks.iter().enumerate() {
            let number = i as u64 + 1;
            let changes = model.apply(changes_in_block);
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(number, &changes).unwrap();
            writer.insert_canonical_block(&header(number), &Default::default(), &[], U256::ZERO).unwrap();
            writer.commit().unwrap();
            snapshots.push(model.clone());
        }
        let reader = store.reader().unwrap();
        for (i, model) in snapshots.iter().enumerate() {
            model.check(&reader.state_at(i as u64 + 1).unwrap(), &format!("block {}", i + 1))?;
        }
    }
}

/// Writes blocks 1..=n, each setting account 1's balance to its number, chained by hash.
fn write_chain(store: &Store, n: u64) {
    write_chain_with_side_blocks(store, n, &[]);
}

/// [`write_chain`], storing a side block beside each block numbered in `side_at`; returns
/// their hashes.
fn write_chain_with_side_blocks(store: &Store, n: u64, side_at: &[u64]) -> Vec<B256> {
    let mut sides = Vec::new();
    let mut parent = B256::ZERO;
    for number in 1..=n {
        if side_at.contains(&number) {
            let mut side = header(number);
            side.parent_hash = parent;
            side.timestamp += 1_000;
            let mut writer = store.begin_block().unwrap();
            sides.push(
                writer
                    .insert_side_block(&side, &Default::default(), U256::ZERO)
                    .unwrap(),
            );
            writer.commit().unwrap();
        }
        let mut writer = store.begin_block().unwrap();
        writer
            .apply_state(number, &changes(&[(1, number)], &[]))
            .unwrap();
        let mut block = header(number);
        block.parent_hash = parent;
        block.state_root = writer.state_root().unwrap();
        parent = writer
            .insert_canonical_block(&block, &Default::default(), &[], U256::ZERO)
            .unwrap();
        writer.commit().unwrap();
    }
    sides
}

#[test]
fn history_beyond_the_kept_window_is_pruned_with_a_clear_error_and_reorgs_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.reader().unwrap().state_history().unwrap(),
        Some(ankr_storage::DEFAULT_STATE_HISTORY)
    );
    store.set_state_history(Some(10)).unwrap();
    let kept = ankr_storage::MIN_STATE_HISTORY; // 10 is raised to the minimum
    let head = kept + 72;
    let sides = write_chain_with_side_blocks(&store, head, &[5, head - 10]);
    let reader = store.reader().unwrap();
    assert_eq!(reader.state_history().unwrap(), Some(kept));
    let oldest = reader.oldest_state().unwrap();
    assert_eq!(oldest, head - kept);
    let balance = |number: u64| {
        reader
            .state_at(number)
            .map(|s| s.account(Address::repeat_byte(1)).unwrap().unwrap().balance)
    };
    assert_eq!(balance(oldest).unwrap(), U256::from(oldest));
    assert!(
        reader.header(sides[0]).unwrap().is_none(),
        "an old side block is pruned"
    );
    assert!(
        reader.header(sides[1]).unwrap().is_some(),
        "a recent one stays"
    );
    match balance(oldest - 1) {
        Err(ankr_storage::StoreError::Pruned { block, oldest: o }) => {
            assert_eq!((block, o), (oldest - 1, oldest));
        }
        other => panic!("expected a pruned error, got {other:?}"),
    }
    drop(reader);

    // A reorganisation as deep as the chain allows (64) still has the changesets it undoes.
    let mut writer = store.begin_block().unwrap();
    for _ in 0..64 {
        writer.unwind_head().unwrap();
    }
    writer.commit().unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.head().unwrap().unwrap().number, head - 64);
    let state = reader.state().unwrap();
    let balance = state
        .account(Address::repeat_byte(1))
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!(balance, U256::from(head - 64));
}

#[test]
fn an_archive_node_keeps_every_block_of_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.set_state_history(None).unwrap();
    write_chain(&store, 300);
    let reader = store.reader().unwrap();
    assert_eq!(reader.state_history().unwrap(), None);
    assert_eq!(reader.oldest_state().unwrap(), 0);
    let state = reader.state_at(1).unwrap();
    let balance = state
        .account(Address::repeat_byte(1))
        .unwrap()
        .unwrap()
        .balance;
    assert_eq!(balance, U256::from(1));
}

/// The model of state the property tests check reads against: balances (absent: no account)
/// and slot values, for accounts 1..8 and slots 0..3.
#[derive(Clone, Default)]
struct Model {
    accounts: HashMap<u8, u64>,
    slots: HashMap<(u8, u64), u64>,
}

impl Model {
    /// Applies one block's changes to the model and returns them as the store takes them.
    fn apply(&mut self, block: &[(u8, Option<u64>, u64, u64)]) -> StateChanges {
        let mut changes = StateChanges::default();
        for (who, balance, slot, value) in block {
            let address = Address::repeat_byte(*who);
            match balance {
                Some(b) => {
                    changes.accounts.insert(
                        address,
                        Some(Account {
                            nonce: 1,
                            balance: U256::from(*b),
                            code_hash: KECCAK_EMPTY,
                        }),
                    );
                    changes
                        .storage
                        .entry(address)
                        .or_default()
                        .slots
                        .insert(U256::from(*slot), U256::from(*value));
                    self.accounts.insert(*who, *b);
                    self.slots.insert((*who, *slot), *value);
                }
                None => {
                    changes.accounts.insert(address, None);
                    let wiped = changes.storage.entry(address).or_default();
                    wiped.wiped = true;
                    wiped.slots.clear();
                    self.accounts.remove(who);
                    self.slots.retain(|(w, _), _| w != who);
                }
            }
        }
        changes
    }

    /// Reads every account and slot through `state` (filling the cache as it goes), then
    /// again through the cache held for this thread (which fills what it missed when let go),
    /// and compares both with the model.
    fn check(&self, state: &ankr_storage::StateReader, what: &str) -> Result<(), TestCaseError> {
        self.check_reads(
            |address| state.account(address).unwrap(),
            |address, slot| state.storage(address, slot).unwrap(),
            what,
        )?;
        let pinned = state.pinned();
        self.check_reads(
            |address| pinned.account(address).unwrap(),
            |address, slot| pinned.storage(address, slot).unwrap(),
            &format!("{what}, pinned"),
        )
    }

    fn check_reads(
        &self,
        account: impl Fn(Address) -> Option<TrieAccount>,
        storage: impl Fn(Address, U256) -> U256,
        what: &str,
    ) -> Result<(), TestCaseError> {
        for who in 1u8..8 {
            let address = Address::repeat_byte(who);
            let balance = account(address).map(|a| a.balance.to::<u64>());
            prop_assert_eq!(
                balance,
                self.accounts.get(&who).copied(),
                "{} account {}",
                what,
                who
            );
            for slot in 0u64..3 {
                let value = storage(address, U256::from(slot));
                let expected = self.slots.get(&(who, slot)).copied().unwrap_or(0);
                prop_assert_eq!(
                    value,
                    U256::from(expected),
                    "{} slot {}/{}",
                    what,
                    who,
                    slot
                );
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The head's accounts and slots cached in memory across blocks never answer for a state
    /// they were not: a reader opened before a commit keeps its snapshot's values while later
    /// blocks change them, deletion wipes cached slots, and undone blocks leave nothing stale.
    #[test]
    fn cached_head_state_answers_only_for_its_own_snapshot(
        steps in prop::collection::vec(
            (
                prop::collection::vec((1u8..8, prop::option::of(0u64..5), 0u64..3, 0u64..3), 1..6),
                0usize..3,
            ),
            1..8,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // The canonical chain: each block's hash and the model of the state it left.
        let mut chain: Vec<(B256, Model)> = vec![(B256::ZERO, Model::default())];
        // Readers opened along the way, each with the model of its snapshot.
        let mut readers = Vec::new();
        for (block, undo) in &steps {
            let (parent, before) = chain.last().unwrap().clone();
            let mut after = before.clone();
            let changes = after.apply(block);
            let number = chain.len() as u64;
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(number, &changes).unwrap();
            let mut header = header(number);
            header.parent_hash = parent;
            header.state_root = writer.state_root().unwrap();
            let hash = writer.insert_canonical_block(&header, &Default::default(), &[], U256::ZERO).unwrap();
            // A reader of the parent, filling the cache while the block is being written.
            let reader = store.reader().unwrap();
            before.check(&reader.state().unwrap(), "parent while the block is written")?;
            writer.commit().unwrap();
            chain.push((hash, after));
            readers.push((reader, before));
            // Undo up to `undo` blocks (never block 1: its parent is no stored block).
            let undo = (*undo).min(chain.len() - 2);
            if undo > 0 {
                let reader = store.reader().unwrap();
                chain.last().unwrap().1.check(&reader.state().unwrap(), "head before an undo")?;
                readers.push((reader, chain.last().unwrap().1.clone()));
                let mut writer = store.begin_block().unwrap();
                for _ in 0..undo {
                    writer.unwind_head().unwrap();
                    chain.pop();
                }
                writer.commit().unwrap();
            }
            let reader = store.reader().unwrap();
            chain.last().unwrap().1.check(&reader.state().unwrap(), "head")?;
            readers.push((reader, chain.last().unwrap().1.clone()));
            for (reader, model) in &readers {
                model.check(&reader.state().unwrap(), "an older snapshot")?;
            }
        }
    }
}

/// A block executing on one thread holds the hot-state cache while a commit on another
/// waits: the executing thread keeps reading its own snapshot's values, a reader opened
/// meanwhile reads the committed block from the table, and the commit finishes as soon as the
/// cache is let go, after which the cache serves the new head.
#[test]
fn a_commit_waits_for_a_pinned_reader_and_neither_reads_the_other_s_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut model = Model::default();
    let block = |model: &mut Model, balance: u64| {
        model.apply(&[
            (1, Some(balance), 0, balance),
            (2, Some(balance + 1), 1, balance),
        ])
    };
    let mut writer = store.begin_block().unwrap();
    writer.apply_state(1, &block(&mut model, 10)).unwrap();
    writer.commit().unwrap();
    let first = model.clone();

    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    first.check(&state, "block 1").unwrap();
    let pinned = state.pinned();
    let second_changes = block(&mut model, 20);
    std::thread::scope(|scope| {
        let commit = scope.spawn(|| {
            let mut writer = store.begin_block().unwrap();
            writer.apply_state(2, &second_changes).unwrap();
            writer.commit().unwrap();
        });
        // The commit is durable in the table but cannot change the cache the reader holds.
        while store
            .reader()
            .unwrap()
            .state()
            .unwrap()
            .account(Address::repeat_byte(1))
            .unwrap()
            .is_none_or(|a| a.balance != U256::from(20))
        {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !commit.is_finished(),
            "the commit waits for the pinned reader"
        );
        first
            .check_reads(
                |address| pinned.account(address).unwrap(),
                |address, slot| pinned.storage(address, slot).unwrap(),
                "pinned while a commit waits",
            )
            .unwrap();
        model
            .check(
                &store.reader().unwrap().state().unwrap(),
                "opened while the commit waits",
            )
            .unwrap();
        drop(pinned);
        commit.join().unwrap();
    });
    model
        .check(
            &store.reader().unwrap().state().unwrap(),
            "after the commit",
        )
        .unwrap();
    first
        .check(&state, "the first snapshot, after the commit")
        .unwrap();
}

/// A block's two threads read through pinned readers that keep what they miss, for the cache
/// once neither holds it. Handed over after a commit has changed the cache, those misses are
/// values of an older state and are dropped: the new head reads what was committed.
#[test]
fn misses_kept_by_a_block_s_threads_never_fill_the_cache_with_an_older_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    let block = |model: &mut Model, balance: u64| {
        model.apply(&[
            (1, Some(balance), 0, balance),
            (2, Some(balance + 1), 1, balance),
        ])
    };
    {
        let store = Store::open(dir.path()).unwrap();
        let mut writer = store.begin_block().unwrap();
        writer.apply_state(1, &block(&mut model, 10)).unwrap();
        writer.commit().unwrap();
    }
    // Reopened, the cache is empty: every read below misses.
    let store = Store::open(dir.path()).unwrap();
    let first = model.clone();
    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    let misses = std::thread::scope(|scope| {
        let read = || {
            let pinned = state.pinned_among_others();
            first
                .check_reads(
                    |address| pinned.account(address).unwrap(),
                    |address, slot| pinned.storage(address, slot).unwrap(),
                    "a block's thread",
                )
                .unwrap();
            pinned.into_misses()
        };
        let other = scope.spawn(read);
        [read(), other.join().unwrap()]
    });
    let mut writer = store.begin_block().unwrap();
    writer.apply_state(2, &block(&mut model, 20)).unwrap();
    writer.commit().unwrap();
    for misses in misses {
        state.fill_misses(misses);
    }
    model
        .check(&store.reader().unwrap().state().unwrap(), "the head after")
        .unwrap();
    first.check(&state, "the first snapshot after").unwrap();
}

/// Readers between two commits share one snapshot (`snapshot.rs`); every kind of commit ends
/// the sharing, and a reader taken before a commit keeps what it saw.
#[test]
fn a_reader_sees_every_commit_before_it_and_none_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    write_chain(&store, 3);
    let before = store.reader().unwrap();
    let shared = store.reader().unwrap();
    assert_eq!(shared.head().unwrap().unwrap().number, 3);

    // A commit that is not a block's.
    store.set_state_history(Some(500)).unwrap();
    let after_setting = store.reader().unwrap();
    assert_eq!(after_setting.state_history().unwrap(), Some(500));
    assert_eq!(
        before.state_history().unwrap(),
        Some(ankr_storage::DEFAULT_STATE_HISTORY)
    );

    // A block's commit (the head and the state move).
    let mut writer = store.begin_block().unwrap();
    writer.apply_state(4, &changes(&[(1, 40)], &[])).unwrap();
    let mut block = header(4);
    block.parent_hash = after_setting.head().unwrap().unwrap().hash();
    writer
        .insert_canonical_block(&block, &Default::default(), &[], U256::ZERO)
        .unwrap();
    writer.commit().unwrap();
    let latest = store.reader().unwrap();
    assert_eq!(latest.head().unwrap().unwrap().number, 4);
    let balance = |reader: &ankr_storage::StoreReader| {
        let state = reader.state().unwrap();
        state
            .account(Address::repeat_byte(1))
            .unwrap()
            .unwrap()
            .balance
    };
    assert_eq!(balance(&latest), U256::from(40));
    assert_eq!(balance(&after_setting), U256::from(3));
    assert_eq!(after_setting.head().unwrap().unwrap().number, 3);

    // A writer dropped uncommitted changes nothing a reader sees.
    let mut writer = store.begin_block().unwrap();
    writer.apply_state(5, &changes(&[(1, 50)], &[])).unwrap();
    drop(writer);
    assert_eq!(balance(&store.reader().unwrap()), U256::from(40));
}
