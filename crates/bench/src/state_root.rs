//! The state root from redb against an in-memory HashBuilder on the same leaves.

//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root.

use alloy_primitives::{Address, B256, U256, keccak256};
use ankr_storage::{Account, StateChanges, Store};

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

pub(crate) fn state_root(n: usize) -> anyhow::Result<()> {
    println!(
        "== state root of {n} accounts: redb scan vs in-memory HashBuilder on the same leaves"
    );
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let mut changes = StateChanges::default();
    for i in 0..n {
        let address = Address::from_word(keccak256((i as u64).to_be_bytes()));
        changes.accounts.insert(
            address,
            Some(Account {
                nonce: 1,
                balance: U256::from(i),
                code_hash: revm::primitives::KECCAK_EMPTY,
            }),
        );
    }
    let mut writer = store.begin_block()?;
    writer.apply_state(1, &changes)?;
    writer.commit()?;
    drop(changes);

    let rss_before = resident_kib("VmRSS:");
    let mut root = B256::ZERO;
    let stored = best_of(3, || {
        root = store.begin_block()?.state_root()?;
        Ok(())
    })?;
    let rss_after = resident_kib("VmRSS:");

    let mut leaves: Vec<(B256, Vec<u8>)> = (0..n)
        .map(|i| {
            let address = Address::from_word(keccak256((i as u64).to_be_bytes()));
            let account = alloy_trie::TrieAccount {
                nonce: 1,
                balance: U256::from(i),
                storage_root: alloy_trie::EMPTY_ROOT_HASH,
                code_hash: revm::primitives::KECCAK_EMPTY,
            };
            (keccak256(address), alloy_rlp::encode(account))
        })
        .collect();
    leaves.sort_unstable_by_key(|(k, _)| *k);
    let mut expected = B256::ZERO;
    let memory = best_of(3, || {
        let mut builder = alloy_trie::HashBuilder::default();
        for (key, value) in &leaves {
            builder.add_leaf(alloy_trie::Nibbles::unpack(key), value);
        }
        expected = builder.root();
        Ok(())
    })?;
    anyhow::ensure!(root == expected, "state roots disagree");
    println!(
        "  {:<28} {:>10.1} ms {:>8.2} µs/account",
        "redb scan + HashBuilder",
        stored.as_secs_f64() * 1e3,
        stored.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  {:<28} {:>10.1} ms {:>8.2} µs/account",
        "in-memory HashBuilder",
        memory.as_secs_f64() * 1e3,
        memory.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  ratio {:.2} (in-memory time / node time); resident memory {} MiB, grew {} MiB while computing\n",
        memory.as_secs_f64() / stored.as_secs_f64(),
        rss_after / 1024,
        rss_after.saturating_sub(rss_before) / 1024
    );
    Ok(())
}
