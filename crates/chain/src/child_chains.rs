//! The header's `child_chains_root` (DESIGN §5; the whitepaper: "each block of the main chain
//! contains the references to the boundary of child chains"). A block commits to every child
//! chain's latest boundary in `ChildChainRegistry` as its parent's state holds them: the
//! 16-deep keccak Merkle root (the child chains' own tree) over one leaf per chain, by id,
//! leaf = keccak256(abi.encode(id, rootChain, blknum, root)); zero when no chain is registered.
//! The leaves are kept by root so that `ankr_childChains` can prove any header's boundaries.

use crate::{Chain, ChainError};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolCall, SolValue};
use ankr_contracts::ChildChainRegistry;
use ankr_contracts::genesis::CHILD_CHAIN_REGISTRY;
use ankr_execution::{BlockContext, system_call};
use ankr_plasma::MerkleTree;
use ankr_storage::StateReader;

/// A child chain's latest child block as the registry records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// The registry's id (1, 2, …).
    pub id: u64,
    pub root_chain: Address,
    pub blknum: u64,
    pub root: B256,
}

impl Boundary {
    /// abi.encode(id, rootChain, blknum, root): 128 bytes, the leaf's preimage.
    pub fn encode(&self) -> Vec<u8> {
        (
            U256::from(self.id),
            self.root_chain,
            U256::from(self.blknum),
            self.root,
        )
            .abi_encode()
    }

    /// The boundary's leaf in the header's tree.
    pub fn leaf(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Boundaries as [`Boundary::encode`] concatenated them.
    pub fn decode_all(bytes: &[u8]) -> Option<Vec<Boundary>> {
        if !bytes.len().is_multiple_of(128) {
            return None;
        }
        bytes
            .chunks(128)
            .map(|chunk| {
                let (id, root_chain, blknum, root) =
                    <(U256, Address, U256, B256)>::abi_decode(chunk).ok()?;
                Some(Boundary {
                    id: id.saturating_to(),
                    root_chain,
                    blknum: blknum.saturating_to(),
                    root,
                })
            })
            .collect()
    }
}

/// The tree over the boundaries' leaves (at most the registry's 1,024 chains, well under the
/// tree's 65,536).
pub fn boundaries_tree(boundaries: &[Boundary]) -> MerkleTree {
    MerkleTree::new(boundaries.iter().map(Boundary::leaf).collect())
        .expect("the registry holds at most 1,024 chains")
}

/// What a header commits to: zero without child chains, else the tree's root.
pub fn child_chains_root(boundaries: &[Boundary]) -> B256 {
    if boundaries.is_empty() {
        return B256::ZERO;
    }
    boundaries_tree(boundaries).root()
}

impl Chain {
    /// Every registered child chain's boundary in `state` (the parent's), read by a system call.
    pub fn child_chain_boundaries(
        &self,
        state: &StateReader,
        block: &BlockContext,
    ) -> Result<Vec<Boundary>, ChainError> {
        let Some(registry) = self
            .spec
            .system_contracts
            .get(CHILD_CHAIN_REGISTRY)
            .copied()
        else {
            return Ok(Vec::new());
        };
        let call = ChildChainRegistry::boundariesCall {};
        let output = system_call(
            state,
            &self.config,
            block,
            registry,
            call.abi_encode().into(),
        )
        .map_err(|e| ChainError::system_call("ChildChainRegistry")(e.into()))?;
        let all = ChildChainRegistry::boundariesCall::abi_decode_returns(&output)
            .map_err(|e| ChainError::system_call("ChildChainRegistry")(e.into()))?;
        Ok(all
            .rootChains
            .into_iter()
            .zip(all.blknums)
            .zip(all.roots)
            .enumerate()
            .map(|(i, ((root_chain, blknum), root))| Boundary {
                id: i as u64 + 1,
                root_chain,
                blknum: blknum.saturating_to(),
                root,
            })
            .collect())
    }

    /// The commitment of a block on `state`, its leaves kept for proofs.
    pub(crate) fn commit_child_chains(
        &self,
        state: &StateReader,
        block: &BlockContext,
    ) -> Result<B256, ChainError> {
        let boundaries = self.child_chain_boundaries(state, block)?;
        let root = child_chains_root(&boundaries);
        if !boundaries.is_empty() {
            let encoded: Vec<u8> = boundaries.iter().flat_map(Boundary::encode).collect();
            self.store.put_child_chains(root, &encoded)?;
        }
        Ok(root)
    }

    /// What kind of child chain `root_chain` manages ("plasma", "evm"), as its contract says
    /// (`kind()`) in `state`; `None` for a contract that does not answer.
    pub fn child_chain_kind(
        &self,
        state: &StateReader,
        block: &BlockContext,
        root_chain: Address,
    ) -> Option<String> {
        let call = ankr_contracts::EvmChildChain::kindCall {};
        let output = system_call(
            state,
            &self.config,
            block,
            root_chain,
            call.abi_encode().into(),
        )
        .ok()?;
        ankr_contracts::EvmChildChain::kindCall::abi_decode_returns(&output).ok()
    }

    /// The boundaries a header's `child_chains_root` commits to, if this node made or imported it.
    pub fn child_chains_of(&self, root: B256) -> Result<Option<Vec<Boundary>>, ChainError> {
        if root == B256::ZERO {
            return Ok(Some(Vec::new()));
        }
        Ok(self
            .store
            .child_chains(root)?
            .and_then(|bytes| Boundary::decode_all(&bytes)))
    }
}
