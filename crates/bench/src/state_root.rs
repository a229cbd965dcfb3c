//! The state root with the kept trie against the full recompute it replaced, at growing state
//! sizes: a block's root should cost the same at 10^5 and 10^7 accounts, per trie level its
//! changed keys cross (those grow with log16 of the state), while a full scan grows with the
//! state. The in-memory HashBuilder over the same leaves is the baseline.

use alloy_primitives::{Address, B256, U256, keccak256};
use ankr_storage::{Account, StateChanges, Store, TouchedKeys};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use crate::measure::best_of;

pub(crate) fn resident_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Accounts changed by each measured block, as a full block of transfers touches about.
const TOUCHED_PER_BLOCK: u64 = 1_000;
/// Blocks measured at each size: the root's median is reported, and the mean and the slowest
/// with the commit, over enough blocks that they include one write-back of the trie's top
/// levels (a commit does one per 65,536 changed accounts).
const BLOCKS: u64 = 70;
/// Blocks of `TOUCHED_PER_BLOCK` accounts run, untimed, after the state is grown and before the
/// measured ones: enough for the write-backs of the top levels that the growth's huge commits
/// began to finish (one under way, then one covering the rest; 16 commits each at most), so
/// that the slowest block is one a running node meets, not the one that drops the growth's
/// log of hundreds of thousands of keys.
const WARM_UP_BLOCKS: u64 = 32;
/// Accounts written per block while the state is grown.
const GROWTH_BATCH: u64 = 250_000;

fn address(i: u64) -> Address {
    Address::from_word(keccak256(i.to_be_bytes()))
}

/// The first 16 nibbles of an account's trie key: enough to tell where it parts from its
/// neighbours (among 10^7 random keys the longest shared prefix is about 12 nibbles), in a
/// quarter of the memory of whole keys.
fn key_head(i: u64) -> u64 {
    u64::from_be_bytes(keccak256(address(i))[..8].try_into().expect("8 bytes"))
}

/// The trie levels a block's changed keys cross: for each key, its prefixes that another
/// account shares (lengths 0 up to its longest common prefix with a neighbour in the sorted
/// `heads`), counted once however many keys pass through them. A Merkle-Patricia root rehashes
/// a node at each, so this is a block's irreducible work, and it grows with the trie's depth
/// (log16 of the state): the yardstick for "the same cost at 10^5 and 10^7 accounts".
fn levels_crossed(heads: &[u64], changed: &[u64]) -> usize {
    let mut prefixes = HashSet::new();
    for &head in changed {
        let at = heads
            .binary_search(&head)
            .expect("a changed account exists");
        let shared = [at.checked_sub(1), Some(at + 1)]
            .into_iter()
            .flatten()
            .filter_map(|i| heads.get(i))
            .map(|other| ((head ^ other).leading_zeros() / 4).min(15))
            .max()
            .unwrap_or(0);
        for nibbles in 0..=shared {
            let prefix = if nibbles == 0 {
                0
            } else {
                head >> (64 - 4 * nibbles)
            };
            prefixes.insert((nibbles, prefix));
        }
    }
    prefixes.len()
}

/// Block `b`'s changes: `TOUCHED_PER_BLOCK` existing accounts spread over the whole state,
/// with the heads of their hashed keys.
fn spread_changes(b: u64, accounts: u64, number: u64) -> (StateChanges, Vec<u64>) {
    let mut changes = StateChanges::default();
    let mut touched = Vec::new();
    for j in 0..TOUCHED_PER_BLOCK {
        let i = keccak256([b.to_be_bytes(), j.to_be_bytes()].concat());
        let existing = u64::from_be_bytes(i[..8].try_into().expect("8 bytes")) % accounts;
        changes
            .accounts
            .insert(address(existing), account(number + j));
        touched.push(key_head(existing));
    }
    (changes, touched)
}

fn account(balance: u64) -> Option<Account> {
    Some(Account {
        nonce: 1,
        balance: U256::from(balance),
        code_hash: revm::primitives::KECCAK_EMPTY,
    })
}

/// Grows one store through `sizes` (ascending) and measures, at each size, a block's root with
/// the kept trie and a full recompute.
pub(crate) fn state_root(sizes: &[u64]) -> anyhow::Result<()> {
    println!(
        "== state root: a block of {TOUCHED_PER_BLOCK} changed accounts with the kept trie vs a full recompute"
    );
    println!(
        "  {:>12} {:>16} {:>16} {:>16} {:>16} {:>10} {:>12} {:>10}",
        "accounts",
        "per block (ms)",
        "+ commit (ms)",
        "slowest (ms)",
        "full scan (ms)",
        "scan/block",
        "store (MiB)",
        "RSS (MiB)"
    );
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let mut accounts = 0u64;
    let mut number = 0u64;
    let mut first: Option<(Duration, f64)> = None;
    let mut heads: Vec<u64> = Vec::new();
    for &size in sizes {
        while accounts < size {
            let batch = (size - accounts).min(GROWTH_BATCH);
            let mut changes = StateChanges::default();
            for i in accounts..accounts + batch {
                changes.accounts.insert(address(i), account(i));
                heads.push(key_head(i));
            }
            number += 1;
            let mut writer = store.begin_block()?;
            writer.apply_state(number, &changes)?;
            writer.state_root()?;
            writer.commit()?;
            accounts += batch;
        }
        heads.sort_unstable();
        for b in 0..WARM_UP_BLOCKS {
            let (changes, _) = spread_changes(u64::MAX - b, accounts, number);
            number += 1;
            let mut writer = store.begin_block()?;
            writer.apply_state(number, &changes)?;
            writer.state_root()?;
            writer.commit()?;
        }
        let mut blocks = Vec::new();
        let mut with_commits = Duration::ZERO;
        let mut slowest = Duration::ZERO;
        let mut levels = 0;
        for b in 0..BLOCKS {
            let (changes, touched) = spread_changes(b, accounts, number);
            levels += levels_crossed(&heads, &touched);
            number += 1;
            let mut writer = store.begin_block()?;
            writer.apply_state(number, &changes)?;
            let started = Instant::now();
            writer.state_root()?;
            blocks.push(started.elapsed());
            writer.commit()?;
            let took = started.elapsed();
            with_commits += took;
            slowest = slowest.max(took);
        }
        blocks.sort();
        let per_block = blocks[blocks.len() / 2];
        let mut scanned = B256::ZERO;
        let full = best_of(1, || {
            scanned = store.begin_block()?.state_root_by_scan()?;
            Ok(())
        })?;
        let kept = store.begin_block()?.state_root()?;
        anyhow::ensure!(
            kept == scanned,
            "kept trie and full scan disagree at {size}"
        );
        let file = std::fs::metadata(dir.path().join("chain.redb"))?.len();
        println!(
            "  {:>12} {:>16.2} {:>16.2} {:>16.2} {:>16.1} {:>10.0} {:>12} {:>10}",
            size,
            per_block.as_secs_f64() * 1e3,
            with_commits.as_secs_f64() * 1e3 / BLOCKS as f64,
            slowest.as_secs_f64() * 1e3,
            full.as_secs_f64() * 1e3,
            full.as_secs_f64() / per_block.as_secs_f64(),
            file >> 20,
            resident_kib("VmRSS:") / 1024
        );
        // What reads the kept trie along a few keys instead of scanning the state: an
        // `eth_getProof` of one account, and the trie nodes of a witness touching 100.
        let state = store.reader()?.state()?;
        let proof = best_of(3, || {
            state.proof(address(accounts / 2), &[])?;
            Ok(())
        })?;
        let touched = TouchedKeys {
            slots: (0..100)
                .map(|j| (address(j * (accounts / 100)), BTreeSet::new()))
                .collect(),
            ..TouchedKeys::default()
        };
        let nodes = best_of(3, || {
            state.trie_nodes(&touched)?;
            Ok(())
        })?;
        // Deleting them too: every branch on their paths gives its children.
        let deleting = TouchedKeys {
            deleted_accounts: touched.slots.keys().copied().collect(),
            ..touched.clone()
        };
        let nodes_deleting = best_of(3, || {
            state.trie_nodes(&deleting)?;
            Ok(())
        })?;
        // The same proof from that snapshot once one block, then two, have landed: the store
        // keeps the top levels of the last two commits published; older snapshots rebuild the
        // top paths of every key logged since the checkpoint.
        let mut behind = Vec::new();
        for b in BLOCKS..BLOCKS + 2 {
            let (changes, _) = spread_changes(b, accounts, number);
            number += 1;
            let mut writer = store.begin_block()?;
            writer.apply_state(number, &changes)?;
            writer.state_root()?;
            writer.commit()?;
            behind.push(best_of(3, || {
                state.proof(address(accounts / 2), &[])?;
                Ok(())
            })?);
        }
        println!(
            "    eth_getProof of one account {:.2} ms ({:.2} ms from a snapshot a block behind, \
             {:.2} ms two behind); a witness's trie nodes for 100 accounts changed {:.2} ms, \
             deleted {:.2} ms (all read along the kept trie; a full scan is {:.0} ms)",
            proof.as_secs_f64() * 1e3,
            behind[0].as_secs_f64() * 1e3,
            behind[1].as_secs_f64() * 1e3,
            nodes.as_secs_f64() * 1e3,
            nodes_deleting.as_secs_f64() * 1e3,
            full.as_secs_f64() * 1e3,
        );
        drop(state);
        // The bench's own list of key heads is not the store's memory.
        let heads_mib = (heads.capacity() * 8) >> 20;
        let levels = levels as f64 / BLOCKS as f64;
        let (first_root, first_levels) = *first.get_or_insert((per_block, levels));
        let root_growth = per_block.as_secs_f64() / first_root.as_secs_f64();
        let levels_growth = levels / first_levels;
        println!(
            "    per-block root {root_growth:.2}× the smallest size's; its changed keys cross \
             {levels:.0} trie levels ({levels_growth:.2}×), so {:.2}× per level \
             (RSS includes the bench's own {heads_mib} MiB of key heads)",
            root_growth / levels_growth
        );
    }
    in_memory_baseline(sizes[0])
}

/// The full recompute's floor: alloy-trie's HashBuilder over the same leaves in memory.
fn in_memory_baseline(n: u64) -> anyhow::Result<()> {
    let mut leaves: Vec<(B256, Vec<u8>)> = (0..n)
        .map(|i| {
            let trie_account = alloy_trie::TrieAccount {
                nonce: 1,
                balance: U256::from(i),
                storage_root: alloy_trie::EMPTY_ROOT_HASH,
                code_hash: revm::primitives::KECCAK_EMPTY,
            };
            (keccak256(address(i)), alloy_rlp::encode(trie_account))
        })
        .collect();
    leaves.sort_unstable_by_key(|(k, _)| *k);
    let memory = best_of(3, || {
        let mut builder = alloy_trie::HashBuilder::default();
        for (key, value) in &leaves {
            builder.add_leaf(alloy_trie::Nibbles::unpack(key), value);
        }
        builder.root();
        Ok(())
    })?;
    println!(
        "  baseline: in-memory HashBuilder over {n} leaves {:.1} ms ({:.2} µs/account)\n",
        memory.as_secs_f64() * 1e3,
        memory.as_secs_f64() * 1e6 / n as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::levels_crossed;

    #[test]
    fn a_level_counts_once_for_the_keys_that_share_it() {
        let heads = [0x12 << 56, 0x13 << 56, 0x45 << 56];
        // 0x12… parts from 0x13… at its second nibble: the root and the node at "1".
        assert_eq!(levels_crossed(&heads, &[heads[0]]), 2);
        assert_eq!(levels_crossed(&heads, &[heads[0], heads[1]]), 2);
        // 0x45… shares nothing but the root.
        assert_eq!(levels_crossed(&heads, &[heads[2]]), 1);
        assert_eq!(levels_crossed(&heads, &heads), 2);
    }
}
