//! The state root with the kept trie against the full recompute it replaced, at growing state
//! sizes: a block's root should cost the same at 10^5 and 10^7 accounts while a full scan
//! grows with the state. The in-memory HashBuilder over the same leaves is the baseline.

use alloy_primitives::{Address, B256, U256, keccak256};
use ankr_storage::{Account, StateChanges, Store};
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
/// Accounts written per block while the state is grown.
const GROWTH_BATCH: u64 = 250_000;

fn address(i: u64) -> Address {
    Address::from_word(keccak256(i.to_be_bytes()))
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
    let mut first_block: Option<Duration> = None;
    for &size in sizes {
        while accounts < size {
            let batch = (size - accounts).min(GROWTH_BATCH);
            let mut changes = StateChanges::default();
            for i in accounts..accounts + batch {
                changes.accounts.insert(address(i), account(i));
            }
            number += 1;
            let mut writer = store.begin_block()?;
            writer.apply_state(number, &changes)?;
            writer.state_root()?;
            writer.commit()?;
            accounts += batch;
        }
        let mut blocks = Vec::new();
        let mut with_commits = Duration::ZERO;
        let mut slowest = Duration::ZERO;
        for b in 0..BLOCKS {
            // Most changes hit existing accounts spread over the whole state, a few create.
            let mut changes = StateChanges::default();
            for j in 0..TOUCHED_PER_BLOCK {
                let i = keccak256([b.to_be_bytes(), j.to_be_bytes()].concat());
                let existing = u64::from_be_bytes(i[..8].try_into()?) % accounts;
                changes
                    .accounts
                    .insert(address(existing), account(number + j));
            }
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
        let first = *first_block.get_or_insert(per_block);
        println!(
            "    per-block root {:.2}× the smallest size's",
            per_block.as_secs_f64() / first.as_secs_f64()
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
