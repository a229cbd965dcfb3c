//! A child block's transactions as the whitepaper fixes them: the leaves of a 16-deep keccak
//! Merkle tree (65,536 leaves; unfilled leaves are zero), parent = keccak256(left ‖ right). The
//! block's root hash = keccak256(Merkle root ‖ previous block's root hash); the operator
//! submits it with its timestamp. An inclusion proof is the 16 sibling hashes, leaf level
//! first (512 bytes), checked against that Merkle root.

use alloy_primitives::{B256, keccak256};

/// Depth of the tree.
pub const DEPTH: usize = 16;
/// Most transactions a child block holds.
pub const MAX_LEAVES: usize = 1 << DEPTH;

/// Why a tree cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("{0} transactions: a child block holds at most 65,536")]
    TooManyLeaves(usize),
}

fn parent(left: &B256, right: &B256) -> B256 {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(left.as_slice());
    both[32..].copy_from_slice(right.as_slice());
    keccak256(both)
}

/// zero_hashes()[d]: the root of an all-zero subtree of height d.
fn zero_hashes() -> [B256; DEPTH + 1] {
    let mut zeros = [B256::ZERO; DEPTH + 1];
    for d in 1..=DEPTH {
        zeros[d] = parent(&zeros[d - 1], &zeros[d - 1]);
    }
    zeros
}

/// A tree over up to 65,536 leaves, each level kept (for proofs); only the filled part of each
/// level is hashed, the rest is known zero subtrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<B256>>,
    zeros: [B256; DEPTH + 1],
}

impl MerkleTree {
    pub fn new(leaves: Vec<B256>) -> Result<Self, MerkleError> {
        if leaves.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves(leaves.len()));
        }
        let zeros = zero_hashes();
        let mut levels = vec![leaves];
        for d in 0..DEPTH {
            let below = &levels[d];
            let above: Vec<B256> = below
                .chunks(2)
                .map(|pair| parent(&pair[0], pair.get(1).unwrap_or(&zeros[d])))
                .collect();
            levels.push(above);
        }
        Ok(Self { levels, zeros })
    }

    pub fn root(&self) -> B256 {
        self.levels[DEPTH]
            .first()
            .copied()
            .unwrap_or(self.zeros[DEPTH])
    }

    /// The 16 siblings of leaf `index` concatenated (512 bytes): the `proof` RootChain takes.
    pub fn proof_bytes(&self, index: usize) -> Vec<u8> {
        self.proof(index).iter().flat_map(|h| h.0).collect()
    }

    /// The 16 siblings of leaf `index`, leaf level first.
    pub fn proof(&self, index: usize) -> Vec<B256> {
        (0..DEPTH)
            .map(|d| {
                let sibling = (index >> d) ^ 1;
                self.levels[d]
                    .get(sibling)
                    .copied()
                    .unwrap_or(self.zeros[d])
            })
            .collect()
    }
}

/// Whether `proof` shows `leaf` at `index` under `root`.
pub fn verify(root: B256, leaf: B256, index: usize, proof: &[B256]) -> bool {
    if proof.len() != DEPTH || index >= MAX_LEAVES {
        return false;
    }
    let mut node = leaf;
    for (d, sibling) in proof.iter().enumerate() {
        node = if (index >> d) & 1 == 0 {
            parent(&node, sibling)
        } else {
            parent(sibling, &node)
        };
    }
    node == root
}

/// A child block's root hash: keccak256(Merkle root ‖ previous block's root hash).
pub fn block_root(merkle_root: B256, previous: B256) -> B256 {
    parent(&merkle_root, &previous)
}
