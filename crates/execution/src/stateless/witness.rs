//! The execution witness of a block, and how a node makes it from its own storage: it runs the
//! block once to learn what it touches, builds those tries from the parent's state, then runs
//! the stateless execution itself over them, recording every node it reads. What the verifier
//! will need is therefore exactly what the witness holds — including the sibling nodes a
//! deletion needs to collapse a branch.

use super::execute::{Ancestry, StatelessError, run};
use super::trie::{self, NodeDb, Nodes, TrieReadError};
use crate::{
    BlockContext, ChainConfig, ExecutionError, Mode, StateDb, StateError, execute_block_on,
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, map::HashMap};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use ankr_storage::{StateReader, StoreError, StoreReader, TouchedKeys};
use ankr_types::{Block, Header, RecoveredTx, recover_senders};
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// What a block touches, enough to execute it without the state (reth's
/// `debug_executionWitness` layout).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionWitness {
    /// RLP trie nodes (the account trie and the storage tries) the block reads or rewrites.
    pub state: Vec<Bytes>,
    /// The codes of the contracts the block touches.
    pub codes: Vec<Bytes>,
    /// RLP headers: the parent first, then each older one back to the oldest `BLOCKHASH` read.
    pub headers: Vec<Bytes>,
}

impl ExecutionWitness {
    /// Bytes the witness carries (what a proof pays for).
    pub fn size(&self) -> usize {
        self.state
            .iter()
            .chain(&self.codes)
            .chain(&self.headers)
            .map(|b| b.len())
            .sum()
    }
}

/// Why a node could not make a witness.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("block {0}'s parent is not on this node's canonical chain")]
    NotCanonical(B256),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the block does not execute on its parent: {0}")]
    Invalid(#[from] StatelessError),
    #[error("this node's {what} root {computed} differs from its header's {stored}")]
    Inconsistent {
        what: &'static str,
        computed: B256,
        stored: B256,
    },
}

impl From<TrieReadError> for WitnessError {
    fn from(error: TrieReadError) -> Self {
        Self::Invalid(error.into())
    }
}

/// The witness of `block`, whose parent must be canonical in `store` (any block of the
/// canonical chain, or one built or imported on its head). The block need not be valid: the
/// witness of a wrong block is what a fraud proof carries. Reads the parent's tries along what
/// the block touches (`StateReader::trie_nodes`), not the whole state.
pub fn make_witness(
    store: &StoreReader,
    config: &ChainConfig,
    block: &Block,
) -> Result<ExecutionWitness, WitnessError> {
    match make_witness_from(store, config, block, Tries::AlongTouched) {
        // The nodes along the touched keys should be all a run reads, hanging from the parent's
        // roots; should they ever not be, the whole tries still make the witness, at the cost
        // of a scan (and a store that is wrong fails that way too).
        Err(
            error @ (WitnessError::Invalid(StatelessError::Incomplete(_))
            | WitnessError::Inconsistent { .. }),
        ) => {
            tracing::warn!(block = %block.header.hash(), %error, "witness: the kept tries' nodes were not enough; building the whole tries");
            make_witness_from(store, config, block, Tries::Whole)
        }
        done => done,
    }
}

/// Where [`make_witness_from`] takes the parent's trie nodes from; the witness is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tries {
    /// The kept tries, read along the accounts and slots the block touches: O(k log n).
    AlongTouched,
    /// The whole account trie and the touched accounts' storage tries, rebuilt by a scan of the
    /// state: what witnesses cost before the trie was kept, kept as the fallback and the
    /// yardstick.
    Whole,
}

/// [`make_witness`] from the trie nodes `tries` names, without the fallback.
pub fn make_witness_from(
    store: &StoreReader,
    config: &ChainConfig,
    block: &Block,
    tries: Tries,
) -> Result<ExecutionWitness, WitnessError> {
    let parent_hash = block.header.parent_hash;
    let parent = store
        .header(parent_hash)?
        .ok_or(WitnessError::NotCanonical(parent_hash))?;
    if store.canonical_hash(parent.number)? != Some(parent_hash) {
        return Err(WitnessError::NotCanonical(parent_hash));
    }
    let state = store.state_at(parent.number)?;

    // 1. What the block touches, from a run over the parent's state.
    let senders = recover_senders(&block.transactions);
    let mut txs = Vec::with_capacity(senders.len());
    for (tx, sender) in block.transactions.iter().zip(senders) {
        let Ok(sender) = sender else {
            // A signature that recovers no sender makes the block invalid before any state is
            // read: the parent header is all a proof of it needs.
            return Ok(ExecutionWitness {
                headers: vec![Bytes::from(alloy_rlp::encode(&parent))],
                ..Default::default()
            });
        };
        txs.push(RecoveredTx::new(tx.clone(), sender));
    }
    let touching = Touching {
        inner: StateDb { reader: &state },
        touched: Mutex::default(),
        blocks: Mutex::default(),
    };
    let run_on_state = execute_block_on(
        &touching,
        config,
        &BlockContext::of(&block.header),
        txs,
        Mode::Import,
        block.header.gas_used,
    );
    let mut touched = TouchedKeys {
        slots: touching.touched.into_inner().expect("touch lock"),
        ..TouchedKeys::default()
    };
    match run_on_state {
        Ok(executed) => {
            for address in executed.changes.touched() {
                touched.slots.entry(address).or_default();
            }
            for (address, account) in &executed.changes.accounts {
                if account.is_none() {
                    touched.deleted_accounts.insert(*address);
                }
            }
            for (address, storage) in &executed.changes.storage {
                touched
                    .slots
                    .entry(*address)
                    .or_default()
                    .extend(storage.slots.keys());
                let deleted = touched.deleted_slots.entry(*address).or_default();
                deleted.extend(
                    storage
                        .slots
                        .iter()
                        .filter(|(_, v)| v.is_zero())
                        .map(|(k, _)| *k),
                );
                if storage.wiped {
                    deleted.extend(touched.slots[address].iter().copied());
                }
            }
        }
        // An invalid block's witness covers what it read up to where it fails: enough to
        // prove it invalid.
        Err(ExecutionError::State(error)) => {
            return Err(StatelessError::from(ExecutionError::State(error)).into());
        }
        // What it would have deleted is unknown: any key may be.
        Err(_) => {
            touched.deleted_accounts = touched.slots.keys().copied().collect();
            touched.deleted_slots = touched.slots.clone();
        }
    }

    // 2. The headers back to the oldest `BLOCKHASH` read, and the touched contracts' codes.
    let blocks = touching.blocks.into_inner().expect("touch lock");
    let oldest = blocks
        .first()
        .copied()
        .unwrap_or(parent.number)
        .min(parent.number);
    let mut headers = Vec::new();
    for number in (oldest..=parent.number).rev() {
        let header = store
            .header_by_number(number)?
            .ok_or(WitnessError::NotCanonical(parent_hash))?;
        headers.push(Bytes::from(alloy_rlp::encode(&header)));
    }
    let mut codes = Vec::new();
    for &address in touched.slots.keys() {
        if let Some(account) = state.account(address)?
            && account.code_hash != KECCAK_EMPTY
            && let Some(code) = state.code(account.code_hash)?
        {
            codes.push(code);
        }
    }
    let witness = ExecutionWitness {
        state: Vec::new(),
        codes,
        headers,
    };

    // 3. The parent's trie nodes, then the stateless run itself over them, keeping exactly the
    //    nodes it reads.
    let nodes = match tries {
        Tries::AlongTouched => along_touched(&state, &parent, &touched)?,
        Tries::Whole => whole_tries(&state, &parent, &touched.slots)?,
    };
    record_run(config, block, witness, nodes)
}

/// The nodes along the touched accounts and slots (and their branches' children), their roots
/// checked against the parent's.
fn along_touched(
    state: &StateReader,
    parent: &Header,
    touched: &TouchedKeys,
) -> Result<Vec<Vec<u8>>, WitnessError> {
    let along = state.trie_nodes(touched)?;
    check_root("state", along.state_root, parent.state_root)?;
    for (address, root) in &along.storage_roots {
        let stored = state
            .account(*address)?
            .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        check_root("storage", *root, stored)?;
    }
    Ok(along.nodes.into_iter().map(Vec::from).collect())
}

/// Runs `block` statelessly over `nodes` and returns `witness` with the nodes it read.
fn record_run(
    config: &ChainConfig,
    block: &Block,
    mut witness: ExecutionWitness,
    nodes: impl IntoIterator<Item = Vec<u8>>,
) -> Result<ExecutionWitness, WitnessError> {
    let mut nodes = Nodes::from_nodes(nodes);
    nodes.record();
    let nodes = Arc::new(nodes);
    let ancestry = Ancestry::of(&block.header, &witness)?;
    let by_hash: HashMap<B256, Bytes> = witness
        .codes
        .iter()
        .map(|code| (keccak256(code), code.clone()))
        .collect();
    // The block need not be valid: a wrong block's witness is what proves it wrong (a header
    // that breaks a rule needs no state at all, but its witness still links it to its parent).
    match run(config, block, &ancestry, nodes.clone(), &by_hash) {
        Ok(_)
        | Err(
            StatelessError::Execution(_)
            | StatelessError::BadSignature { .. }
            | StatelessError::HeaderRule(_)
            | StatelessError::NotOperatorSealed,
        ) => {}
        Err(other) => return Err(other.into()),
    }
    witness.state = nodes.recorded();
    Ok(witness)
}

/// Every node of the parent's account trie and of the touched accounts' storage tries, built
/// from a scan of the state: the fallback of [`make_witness`].
fn whole_tries(
    state: &StateReader,
    parent: &Header,
    touched: &BTreeMap<Address, BTreeSet<U256>>,
) -> Result<Vec<Vec<u8>>, WitnessError> {
    let builder = NodeDb::default();
    let mut accounts = trie::open(&builder, EMPTY_ROOT_HASH)?;
    for (hashed, account) in state.hashed_accounts()? {
        trie::write_account(&mut accounts, hashed, Some(&account))?;
    }
    check_root("state", trie::root(&mut accounts)?, parent.state_root)?;
    for &address in touched.keys() {
        let Some(account) = state.account(address)? else {
            continue;
        };
        if account.storage_root == EMPTY_ROOT_HASH {
            continue;
        }
        let mut storage = trie::open(&builder, EMPTY_ROOT_HASH)?;
        for (hashed_slot, value) in state.hashed_storage(address)? {
            trie::write_slot(&mut storage, hashed_slot, value)?;
        }
        check_root("storage", trie::root(&mut storage)?, account.storage_root)?;
    }
    drop(accounts);
    Ok(builder.0.written_nodes())
}

fn check_root(what: &'static str, computed: B256, stored: B256) -> Result<(), WitnessError> {
    if computed == stored {
        Ok(())
    } else {
        Err(WitnessError::Inconsistent {
            what,
            computed,
            stored,
        })
    }
}

/// The parent's state, remembering which accounts, slots and block hashes the block reads.
struct Touching<'a> {
    inner: StateDb<'a>,
    touched: Mutex<BTreeMap<Address, BTreeSet<U256>>>,
    blocks: Mutex<BTreeSet<u64>>,
}

impl DatabaseRef for &Touching<'_> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        self.touched
            .lock()
            .expect("touch lock")
            .entry(address)
            .or_default();
        self.inner.basic_ref(address)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        self.inner.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        self.touched
            .lock()
            .expect("touch lock")
            .entry(address)
            .or_default()
            .insert(index);
        self.inner.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        self.blocks.lock().expect("touch lock").insert(number);
        self.inner.block_hash_ref(number)
    }
}
