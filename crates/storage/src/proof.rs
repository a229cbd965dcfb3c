//! EIP-1186 Merkle proofs (`eth_getProof`) of any kept state: the trie is rebuilt by ordered
//! scan, as the state root is, keeping the nodes on the paths to the asked keys. Costs a scan
//! of the state (and of the account's storage), so it serves tools and bridges, not load.

use crate::{StateReader, StoreError};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount, proof::ProofRetainer};
use redb::ReadableTable;

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

/// Nodes on the path to `target` from `leaves` in key order, root first.
fn prove(
    leaves: impl Iterator<Item = Result<(Nibbles, Vec<u8>), StoreError>>,
    targets: &[Nibbles],
) -> Result<(B256, Vec<Vec<Bytes>>), StoreError> {
    let mut builder =
        HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets.to_vec()));
    let mut any = false;
    for leaf in leaves {
        let (key, value) = leaf?;
        builder.add_leaf(key, &value);
        any = true;
    }
    let root = if any { builder.root() } else { EMPTY_ROOT_HASH };
    let nodes = builder.take_proof_nodes();
    let proofs = targets
        .iter()
        .map(|target| {
            nodes
                .matching_nodes_sorted(target)
                .into_iter()
                .map(|(_, node)| node)
                .collect()
        })
        .collect();
    Ok((root, proofs))
}

impl StateReader {
    /// Proofs of `address` and its `slots` against this state's root: the head's from its
    /// tables, an earlier block's from the head's with that block's later changes undone.
    pub fn proof(&self, address: Address, slots: &[U256]) -> Result<AccountProof, StoreError> {
        let hashed = keccak256(address);
        let targets: Vec<Nibbles> = slots
            .iter()
            .map(|slot| Nibbles::unpack(keccak256(slot.to_be_bytes::<32>())))
            .collect();
        let account_target = [Nibbles::unpack(hashed)];
        let (mut account_proof, storage_proofs) = if self.is_head() {
            let accounts = self.snapshot.accounts()?.iter()?.map(|entry| {
                let (key, value) = entry?;
                Ok((Nibbles::unpack(key.value()), value.value().to_vec()))
            });
            let (_, account_proof) = prove(accounts, &account_target)?;
            let range = self
                .snapshot
                .storage()?
                .range((hashed.0, [0u8; 32])..=(hashed.0, [0xffu8; 32]))?;
            let leaves = range.map(|entry| {
                let (key, value) = entry?;
                let mut encoded = Vec::with_capacity(33);
                U256::from_be_bytes(value.value()).encode(&mut encoded);
                Ok((Nibbles::unpack(key.value().1), encoded))
            });
            (account_proof, prove(leaves, &targets)?.1)
        } else {
            let accounts = self
                .hashed_accounts()?
                .into_iter()
                .map(|(key, account)| Ok((Nibbles::unpack(key), alloy_rlp::encode(account))));
            let (_, account_proof) = prove(accounts, &account_target)?;
            let leaves = self
                .hashed_storage(address)?
                .into_iter()
                .map(|(key, value)| Ok((Nibbles::unpack(key), alloy_rlp::encode(value))));
            (account_proof, prove(leaves, &targets)?.1)
        };
        let account = self.account(address)?;
        let storage = slots
            .iter()
            .zip(storage_proofs)
            .map(|(slot, proof)| Ok((*slot, self.storage(address, *slot)?, proof)))
            .collect::<Result<_, StoreError>>()?;
        Ok(AccountProof {
            account,
            account_proof: account_proof.pop().unwrap_or_default(),
            storage,
        })
    }
}
