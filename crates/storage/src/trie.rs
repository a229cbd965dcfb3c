//! The Merkle-Patricia trie's branch nodes kept beside the hashed state, as reth keeps them, so
//! a block's root costs what the block touched — O(k log n) for k changed keys among n — and
//! not a scan of the whole state (issue 16).
//!
//! alloy-trie's `HashBuilder` decides which branch nodes are worth keeping (those with a child
//! that is itself a hashed branch) and reports them with `with_updates`. A root update walks
//! the kept nodes down the changed keys only: an untouched child's hash is taken as kept, a
//! touched one is opened (or rebuilt from its leaves), and every node opened is replaced by
//! what the builder reports, so nodes of deleted paths go too.

use crate::StoreError;
use alloy_primitives::{B256, map::HashMap};
use alloy_trie::{
    BranchNodeCompact, HashBuilder, Nibbles, TrieMask,
    proof::{ProofNodes, ProofRetainer},
};
use std::ops::Bound;

/// Where a root update reads one trie from: its kept branch nodes and its leaves.
pub(crate) trait TrieSource {
    /// The kept node with the shortest path under `prefix` (the topmost one there), if any.
    fn first_node_under(
        &self,
        prefix: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, StoreError>;

    /// Every leaf whose 32-byte key lies within the bounds, in key order, with its trie value.
    fn leaves(
        &self,
        from: Bound<B256>,
        to: Bound<B256>,
        each: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), StoreError>;
}

/// A new root and the node changes that keep the stored trie in step with it.
#[derive(Debug, Default)]
pub(crate) struct TrieUpdate {
    pub root: B256,
    /// Paths of kept nodes the update opened; any not in `updated` no longer exist.
    pub removed: Vec<Nibbles>,
    /// Branch nodes (re)built by this update, to keep.
    pub updated: HashMap<Nibbles, BranchNodeCompact>,
}

/// The root of `source` after its leaves under the `changed` keys (sorted, unique; deleted ones
/// included) changed, and the kept nodes to write. With no kept nodes this is a full build.
pub(crate) fn update_root(
    source: &impl TrieSource,
    changed: &[Nibbles],
) -> Result<TrieUpdate, StoreError> {
    debug_assert!(
        changed.windows(2).all(|w| w[0] < w[1]),
        "changed keys unsorted"
    );
    let mut walk = Walk {
        source,
        changed,
        stale: Stale::default(),
        builder: HashBuilder::default().with_updates(true),
        removed: Vec::new(),
    };
    walk.subtree(Nibbles::default())?;
    let root = walk.builder.root();
    let (_, updated) = walk.builder.split();
    Ok(TrieUpdate {
        root,
        removed: walk.removed,
        updated,
    })
}

/// Keys under which the kept nodes may be out of date down to `depth` nibbles and no deeper:
/// a reader's view of the account trie, whose top levels it has only as last checkpointed
/// (`trie_top.rs`) while the deeper nodes are current. A node on such a path, down to
/// `depth`, is rebuilt from its children; below it the kept hashes stand.
#[derive(Clone, Copy, Default)]
pub(crate) struct Stale<'a> {
    pub keys: &'a [Nibbles],
    pub depth: usize,
}

/// The root of `source` with the leaves under the `changed` keys as `source` gives them (sorted,
/// unique; any that differ from what the kept nodes were built on must be among them), and the
/// nodes on the paths to `targets`, root first: EIP-1186 proofs, and the nodes a stateless
/// run needs. Reads only the paths of `changed`, `targets` and `stale` keys, never the whole
/// trie; writes nothing. A target may be a path shorter than a key, to retain the node there.
pub(crate) fn prove(
    source: &impl TrieSource,
    changed: &[Nibbles],
    stale: Stale<'_>,
    targets: &[Nibbles],
) -> Result<(B256, ProofNodes), StoreError> {
    let mut walked: Vec<Nibbles> = changed.iter().chain(targets).copied().collect();
    walked.sort_unstable();
    walked.dedup();
    let mut walk = Walk {
        source,
        changed: &walked,
        stale,
        builder: HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets.to_vec())),
        removed: Vec::new(),
    };
    walk.subtree(Nibbles::default())?;
    let root = walk.builder.root();
    if root == alloy_trie::EMPTY_ROOT_HASH {
        // An empty trie is proven by its root alone, as geth proves it: no nodes.
        return Ok((root, ProofNodes::default()));
    }
    Ok((root, walk.builder.take_proof_nodes()))
}

struct Walk<'a, S> {
    source: &'a S,
    changed: &'a [Nibbles],
    stale: Stale<'a>,
    builder: HashBuilder,
    removed: Vec<Nibbles>,
}

/// Whether any of `keys` (sorted) lies under `prefix`.
fn any_under(keys: &[Nibbles], prefix: &Nibbles) -> bool {
    let at = keys.partition_point(|key| key < prefix);
    keys.get(at).is_some_and(|key| key.starts_with(prefix))
}

impl<S: TrieSource> Walk<'_, S> {
    fn touched(&self, prefix: &Nibbles) -> bool {
        any_under(self.changed, prefix)
            || (prefix.len() <= self.stale.depth && any_under(self.stale.keys, prefix))
    }

    /// Feeds the builder everything under `prefix`, in key order.
    fn subtree(&mut self, prefix: Nibbles) -> Result<(), StoreError> {
        let (low, high) = key_bounds(&prefix);
        match self.source.first_node_under(&prefix)? {
            None => self.leaves(Bound::Included(low), Bound::Included(high)),
            Some((path, node)) => {
                // Keys beside the kept node's extension can only be new ones (it was alone).
                let (path_low, path_high) = key_bounds(&path);
                if path_low > low {
                    self.leaves(Bound::Included(low), Bound::Excluded(path_low))?;
                }
                self.open(path, &node)?;
                if path_high < high {
                    self.leaves(Bound::Excluded(path_high), Bound::Included(high))?;
                }
                Ok(())
            }
        }
    }

    /// Feeds the builder the children of the kept node at `path`: untouched ones by hash.
    /// Children with nothing kept below them (untouched plain leaves, touched children outside
    /// the tree mask) are read by one range scan per run of them, not one lookup and one scan
    /// per child: near the bottom of a large trie most of a node's children are leaves, and a
    /// B-tree descent each cost a tenth of a block's root (issue 16).
    fn open(&mut self, path: Nibbles, node: &BranchNodeCompact) -> Result<(), StoreError> {
        self.removed.push(path);
        let mut hashes = node.hashes.iter();
        // The children to read leaf by leaf since the last other child: (first, last).
        let mut leaf_run: Option<(Nibbles, Nibbles)> = None;
        for nibble in 0..16u8 {
            let mut child = path;
            child.push(nibble);
            let hash = node
                .hash_mask
                .is_bit_set(nibble)
                .then(|| hashes.next().copied())
                .flatten();
            let touched = self.touched(&child);
            if !touched && !node.state_mask.is_bit_set(nibble) {
                continue; // nothing there
            }
            let kept_below = node.tree_mask.is_bit_set(nibble);
            match hash {
                Some(hash) if !touched => {
                    self.scan(leaf_run.take())?;
                    self.builder.add_branch(child, hash, kept_below);
                }
                // Nothing is kept below a child the tree mask leaves out (a kept node's parents
                // are all kept): its leaves are all there is, read with its neighbours'.
                _ if !kept_below => leaf_run.get_or_insert((child, child)).1 = child,
                _ => {
                    self.scan(leaf_run.take())?;
                    self.subtree(child)?;
                }
            }
        }
        self.scan(leaf_run.take())
    }

    /// Feeds the builder the leaves of a finished run, if any.
    fn scan(&mut self, run: Option<(Nibbles, Nibbles)>) -> Result<(), StoreError> {
        let Some((first, last)) = run else {
            return Ok(());
        };
        let (low, _) = key_bounds(&first);
        let (_, high) = key_bounds(&last);
        self.leaves(Bound::Included(low), Bound::Included(high))
    }

    fn leaves(&mut self, from: Bound<B256>, to: Bound<B256>) -> Result<(), StoreError> {
        let builder = &mut self.builder;
        self.source.leaves(from, to, &mut |key, value| {
            builder.add_leaf(Nibbles::unpack(key), value)
        })
    }
}

/// The lowest and highest 32-byte keys that start with `prefix`.
fn key_bounds(prefix: &Nibbles) -> (B256, B256) {
    let mut low = [0u8; 64];
    let mut high = [0x0fu8; 64];
    for (i, nibble) in prefix.iter().enumerate() {
        low[i] = nibble;
        high[i] = nibble;
    }
    let pack = |nibbles: [u8; 64]| {
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = nibbles[2 * i] << 4 | nibbles[2 * i + 1];
        }
        B256::from(key)
    };
    (pack(low), pack(high))
}

/// A kept node's bytes: three masks, the root hash if it is the root, then the child hashes.
pub(crate) fn encode_node(node: &BranchNodeCompact) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + 32 * (node.hashes.len() + 1));
    for mask in [node.state_mask, node.tree_mask, node.hash_mask] {
        out.extend_from_slice(&mask.get().to_be_bytes());
    }
    match node.root_hash {
        Some(root) => {
            out.push(1);
            out.extend_from_slice(root.as_slice());
        }
        None => out.push(0),
    }
    for hash in node.hashes.iter() {
        out.extend_from_slice(hash.as_slice());
    }
    out
}

/// Reads what [`encode_node`] wrote; `None` if the bytes are not a node.
pub(crate) fn decode_node(bytes: &[u8]) -> Option<BranchNodeCompact> {
    let mask = |i: usize| -> Option<TrieMask> {
        let pair = bytes.get(2 * i..2 * i + 2)?;
        Some(TrieMask::new(u16::from_be_bytes([pair[0], pair[1]])))
    };
    let (state_mask, tree_mask, hash_mask) = (mask(0)?, mask(1)?, mask(2)?);
    let (root_hash, rest) = match bytes.get(6)? {
        0 => (None, &bytes[7..]),
        1 => (Some(B256::from_slice(bytes.get(7..39)?)), &bytes[39..]),
        _ => return None,
    };
    let valid = rest.len() == 32 * hash_mask.count_ones() as usize
        && tree_mask.get() & !state_mask.get() == 0
        && hash_mask.get() & !state_mask.get() == 0;
    if !valid {
        return None;
    }
    let hashes = rest.chunks_exact(32).map(B256::from_slice).collect();
    Some(BranchNodeCompact::new(
        state_mask, tree_mask, hash_mask, hashes, root_hash,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bounds_span_exactly_the_keys_under_a_prefix() {
        let prefix = Nibbles::from_nibbles([0xa, 0x3, 0x7]);
        let (low, high) = key_bounds(&prefix);
        assert_eq!(low.0[..2], [0xa3, 0x70]);
        assert!(low.0[2..].iter().all(|b| *b == 0));
        assert_eq!(high.0[..2], [0xa3, 0x7f]);
        assert!(high.0[2..].iter().all(|b| *b == 0xff));
        let (low, high) = key_bounds(&Nibbles::default());
        assert_eq!((low, high), (B256::ZERO, B256::repeat_byte(0xff)));
    }

    #[test]
    fn a_node_survives_its_encoding_and_garbage_is_refused() {
        let node = BranchNodeCompact::new(
            TrieMask::new(0b1011),
            TrieMask::new(0b0010),
            TrieMask::new(0b1010),
            vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            Some(B256::repeat_byte(9)),
        );
        assert_eq!(decode_node(&encode_node(&node)), Some(node.clone()));
        let bytes = encode_node(&node);
        assert_eq!(decode_node(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_node(&[0, 1]), None);
    }
}
