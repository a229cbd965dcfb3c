//! Genesis: the spec's allocations as the changes of block 0.

use alloy_primitives::{U256, keccak256};
use alloy_trie::KECCAK_EMPTY;
use ankr_storage::StoredBody;
use ankr_storage::{Account, StateChanges, StorageChanges, Store, StoreError};
use ankr_types::{ChainSpec, Header};

/// The state changes that create the genesis allocations.
pub fn genesis_changes(spec: &ChainSpec) -> StateChanges {
    let mut changes = StateChanges::default();
    for (address, account) in &spec.alloc {
        let code_hash = if account.code.is_empty() {
            KECCAK_EMPTY
        } else {
            let hash = keccak256(&account.code);
            changes.codes.insert(hash, account.code.clone());
            hash
        };
        changes.accounts.insert(
            *address,
            Some(Account {
                nonce: account.nonce,
                balance: account.balance,
                code_hash,
            }),
        );
        if !account.storage.is_empty() {
            let slots = account
                .storage
                .iter()
                .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0)))
                .collect();
            changes.storage.insert(
                *address,
                StorageChanges {
                    wiped: false,
                    slots,
                },
            );
        }
    }
    changes
}

/// The genesis header of `spec`, computed without a store (the genesis state's tries are
/// built in memory): what a child chain's manager is deployed with before its node first runs.
pub fn genesis_header(spec: &ChainSpec) -> Header {
    let db = crate::stateless::trie::NodeDb::default();
    let root = crate::stateless::execute::post_state_root(
        &db,
        alloy_trie::EMPTY_ROOT_HASH,
        &genesis_changes(spec),
    )
    .expect("building a trie from nothing reads no missing node");
    spec.genesis_header(root)
}

/// Writes genesis into an empty store, or checks that a non-empty store was made from the same
/// spec. Returns the genesis header.
pub fn write_genesis(store: &Store, spec: &ChainSpec) -> Result<Header, GenesisError> {
    let spec_json = serde_json::to_vec(spec).expect("a chain spec always serialises");
    let reader = store.reader()?;
    if let Some(stored) = reader.chain_spec_json()? {
        if stored != spec_json {
            return Err(GenesisError::SpecMismatch);
        }
        let hash = reader.genesis_hash()?.ok_or(GenesisError::SpecMismatch)?;
        return reader
            .header(hash)?
            .ok_or(GenesisError::Store(StoreError::MissingBlock(hash)));
    }
    let mut writer = store.begin_block()?;
    writer.apply_state(0, &genesis_changes(spec))?;
    let header = spec.genesis_header(writer.state_root()?);
    let hash =
        writer.insert_canonical_block(&header, &StoredBody::default(), &[], header.difficulty)?;
    writer.set_genesis(hash, &spec_json)?;
    writer.commit()?;
    Ok(header)
}

/// Why genesis could not be written or matched.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data folder holds a chain made from a different chain spec")]
    SpecMismatch,
}
