//! `ankr bench --only plasma`: the Merkle root of a full child block (65,536 transactions)
//! against the keccak limit measured in the same run: the 65,535 parent hashes of 64 bytes the
//! tree needs, hashed back to back with nothing else.

use alloy_primitives::{B256, keccak256};
use ankr_plasma::MerkleTree;
use ankr_plasma::merkle::MAX_LEAVES;
use std::time::{Duration, Instant};

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .expect("at least one run")
}

pub fn run() {
    let leaves: Vec<B256> = (0..MAX_LEAVES as u32)
        .map(|i| keccak256(i.to_be_bytes()))
        .collect();
    let keccak = best_of(5, || {
        let mut block = [0u8; 64];
        let mut last = B256::ZERO;
        for i in 0..MAX_LEAVES - 1 {
            block[..32].copy_from_slice(leaves[i].as_slice());
            block[32..].copy_from_slice(last.as_slice());
            last = keccak256(block);
        }
        std::hint::black_box(last);
    });
    let mut root = B256::ZERO;
    let tree = best_of(5, || {
        root = MerkleTree::new(leaves.clone())
            .expect("a full block fits")
            .root();
    });
    println!(
        "plasma: Merkle root of 65,536 transactions {:.1} ms; 65,535 raw keccaks of 64 bytes {:.1} ms: {:.2}× the keccak limit (goal ≤ 1.2×; includes keeping every level for proofs)",
        tree.as_secs_f64() * 1e3,
        keccak.as_secs_f64() * 1e3,
        tree.as_secs_f64() / keccak.as_secs_f64()
    );
    std::hint::black_box(root);
}
