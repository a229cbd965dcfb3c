//! The stateless run: a block executed over a witness, its post-state root computed by
//! rewriting only the witness's tries, and the check of a block's header against the result.

use super::trie::{self, NodeDb, Nodes, TrieReadError};
use super::witness::ExecutionWitness;
use crate::{
    BlockContext, ChainConfig, ExecutionError, Mode, StateError, execute_block_on, receipts_root,
    transactions_root,
};
use alloy_primitives::{Address, B256, Bloom, Bytes, U256, keccak256, map::HashMap};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use ankr_storage::StateChanges;
use ankr_types::{
    Block, Header, HeaderRuleError, RecoveredTx, RecoveryError, SealKind, header_rules,
    recover_senders,
};
use eth_trie::EthTrie;
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};
use std::sync::Arc;

/// What a block computes, as its header must state it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatelessOutcome {
    pub state_root: B256,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    pub gas_used: u64,
}

/// Why a block could not be executed from its witness, or does not match it. Each variant
/// names the rule or the missing piece, so that a refused proof says why.
#[derive(Debug, thiserror::Error)]
pub enum StatelessError {
    #[error("malformed witness: {0}")]
    Malformed(String),
    #[error("the witness's first header {got} is not the block's parent {expected}")]
    NotTheParent { expected: B256, got: B256 },
    /// A header rule that follows from the parent (the one nodes check on import).
    #[error(transparent)]
    HeaderRule(#[from] HeaderRuleError),
    #[error("the block is not sealed by an operator")]
    NotOperatorSealed,
    #[error("incomplete witness: it lacks {0}")]
    Incomplete(String),
    #[error("transaction {index}: {source}")]
    BadSignature { index: usize, source: RecoveryError },
    #[error(transparent)]
    Execution(ExecutionError),
    #[error("state root {got} differs from the computed {expected}")]
    WrongStateRoot { expected: B256, got: B256 },
    #[error("transactions root {got} differs from the computed {expected}")]
    WrongTransactionsRoot { expected: B256, got: B256 },
    #[error("receipts root {got} differs from the computed {expected}")]
    WrongReceiptsRoot { expected: B256, got: B256 },
    #[error("gas used {got} differs from the computed {expected}")]
    WrongGasUsed { expected: u64, got: u64 },
    #[error("logs bloom differs from the computed one")]
    WrongLogsBloom,
}

impl From<TrieReadError> for StatelessError {
    fn from(error: TrieReadError) -> Self {
        match error {
            TrieReadError::MissingNode(hash) => Self::Incomplete(format!("trie node {hash}")),
            TrieReadError::Malformed(what) => Self::Malformed(what),
        }
    }
}

impl From<ExecutionError> for StatelessError {
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::State(StateError::Witness(what)) => Self::Incomplete(what.to_string()),
            other => Self::Execution(other),
        }
    }
}

/// Checks `block`'s header against its parent's by the rules of an operator's (child) chain,
/// exactly as its nodes do on import: operator-sealed, timestamp not before the parent's, the
/// parent's gas limit and difficulty, the base fee EIP-1559 gives, at most 32 bytes of extra
/// data. Who signed the seal, and whether the timestamp is timely, only the main chain can
/// judge (the manager compares the signer with its owner, the time with its commitment's).
pub fn check_child_header(parent: &Header, header: &Header) -> Result<(), StatelessError> {
    if header.seal.kind != SealKind::Operator {
        return Err(StatelessError::NotOperatorSealed);
    }
    header_rules::check_against_parent(
        parent,
        header,
        header_rules::Expected {
            earliest_timestamp: parent.timestamp,
            gas_limit: parent.gas_limit,
            difficulty: parent.difficulty,
        },
    )?;
    Ok(())
}

/// Executes `block` from `witness` alone and returns what it computes; a header that breaks
/// [`check_child_header`] is refused before anything runs.
pub fn execute(
    config: &ChainConfig,
    block: &Block,
    witness: &ExecutionWitness,
) -> Result<StatelessOutcome, StatelessError> {
    let ancestry = Ancestry::of(&block.header, witness)?;
    check_child_header(&ancestry.parent, &block.header)?;
    let codes = witness
        .codes
        .iter()
        .map(|code| (keccak256(code), code.clone()))
        .collect();
    let nodes = Arc::new(Nodes::from_nodes(
        witness.state.iter().map(|node| node.to_vec()),
    ));
    run(config, block, &ancestry, nodes, &codes)
}

/// Executes `block` from `witness` and checks every root, the gas and the bloom its header
/// states; the first difference is the error.
pub fn verify(
    config: &ChainConfig,
    block: &Block,
    witness: &ExecutionWitness,
) -> Result<StatelessOutcome, StatelessError> {
    let outcome = execute(config, block, witness)?;
    let header = &block.header;
    if outcome.transactions_root != header.transactions_root {
        return Err(StatelessError::WrongTransactionsRoot {
            expected: outcome.transactions_root,
            got: header.transactions_root,
        });
    }
    if outcome.gas_used != header.gas_used {
        return Err(StatelessError::WrongGasUsed {
            expected: outcome.gas_used,
            got: header.gas_used,
        });
    }
    if outcome.receipts_root != header.receipts_root {
        return Err(StatelessError::WrongReceiptsRoot {
            expected: outcome.receipts_root,
            got: header.receipts_root,
        });
    }
    if outcome.logs_bloom != header.logs_bloom {
        return Err(StatelessError::WrongLogsBloom);
    }
    if outcome.state_root != header.state_root {
        return Err(StatelessError::WrongStateRoot {
            expected: outcome.state_root,
            got: header.state_root,
        });
    }
    Ok(outcome)
}

/// The parent header and the hashes of the ancestors the witness links to it.
pub(crate) struct Ancestry {
    pub parent: Header,
    pub hashes: HashMap<u64, B256>,
}

impl Ancestry {
    /// Decodes the witness's headers: the first must be `header`'s parent, each next one the
    /// parent of the one before.
    pub(crate) fn of(header: &Header, witness: &ExecutionWitness) -> Result<Self, StatelessError> {
        let mut headers = witness.headers.iter().map(|raw| {
            Header::decode_exact(raw).map_err(|e| StatelessError::Malformed(format!("header: {e}")))
        });
        let parent = headers
            .next()
            .ok_or_else(|| StatelessError::Incomplete("the parent header".into()))??;
        if parent.hash() != header.parent_hash {
            return Err(StatelessError::NotTheParent {
                expected: header.parent_hash,
                got: parent.hash(),
            });
        }
        let mut hashes = HashMap::default();
        hashes.insert(parent.number, parent.hash());
        let mut child = parent.clone();
        for older in headers {
            let older = older?;
            if older.hash() != child.parent_hash || older.number + 1 != child.number {
                return Err(StatelessError::Malformed(format!(
                    "header {} is not the parent of header {}",
                    older.number, child.number
                )));
            }
            hashes.insert(older.number, older.hash());
            child = older;
        }
        Ok(Self { parent, hashes })
    }
}

/// Recovers the senders, executes the block over `nodes` and rewrites the tries.
pub(crate) fn run(
    config: &ChainConfig,
    block: &Block,
    ancestry: &Ancestry,
    nodes: Arc<Nodes>,
    codes: &HashMap<B256, Bytes>,
) -> Result<StatelessOutcome, StatelessError> {
    let mut txs = Vec::with_capacity(block.transactions.len());
    for (index, (tx, sender)) in block
        .transactions
        .iter()
        .zip(recover_senders(&block.transactions))
        .enumerate()
    {
        let sender = sender.map_err(|source| StatelessError::BadSignature { index, source })?;
        txs.push(RecoveredTx::new(tx.clone(), sender));
    }
    let db = NodeDb(nodes);
    let state = WitnessState {
        accounts: trie::open(&db, ancestry.parent.state_root)?,
        db: db.clone(),
        codes,
        hashes: &ancestry.hashes,
    };
    let context = BlockContext::of(&block.header);
    let executed = execute_block_on(
        &state,
        config,
        &context,
        txs,
        Mode::Import,
        block.header.gas_used,
    )?;
    let state_root = post_state_root(&db, ancestry.parent.state_root, &executed.changes)?;
    Ok(StatelessOutcome {
        state_root,
        transactions_root: transactions_root(&executed.transactions),
        receipts_root: receipts_root(&executed.receipts),
        logs_bloom: executed.logs_bloom,
        gas_used: executed.gas_used,
    })
}

/// The parent's state as revm reads it, from the witness's tries.
struct WitnessState<'a> {
    db: NodeDb,
    accounts: EthTrie<NodeDb>,
    codes: &'a HashMap<B256, Bytes>,
    hashes: &'a HashMap<u64, B256>,
}

fn lacks(what: impl std::fmt::Display) -> StateError {
    StateError::Witness(what.to_string().into())
}

impl WitnessState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>, StateError> {
        trie::read_account(&self.accounts, keccak256(address))
            .map_err(|e| lacks(format_args!("{e} (account {address})")))
    }
}

impl DatabaseRef for &WitnessState<'_> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.account(address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        self.codes
            .get(&code_hash)
            .map(|code| Bytecode::new_raw(code.clone()))
            .ok_or_else(|| lacks(format_args!("the code {code_hash}")))
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, StateError> {
        let Some(account) = self.account(address)? else {
            return Ok(U256::ZERO);
        };
        let storage = trie::open(&self.db, account.storage_root)
            .map_err(|e| lacks(format_args!("{e} (storage of {address})")))?;
        trie::read_slot(&storage, keccak256(index.to_be_bytes::<32>()))
            .map_err(|e| lacks(format_args!("{e} (slot {index} of {address})")))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        self.hashes
            .get(&number)
            .copied()
            .ok_or_else(|| lacks(format_args!("the header of block {number}")))
    }
}

/// The state root after `changes` on the state whose root is `parent_root`, rewriting the tries exactly as storage writes its tables
/// (`BlockWriter::apply_state`): storage first (wiped = from empty), then the account.
pub fn post_state_root(
    db: &NodeDb,
    parent_root: B256,
    changes: &StateChanges,
) -> Result<B256, TrieReadError> {
    let mut accounts = trie::open(db, parent_root)?;
    for address in changes.touched() {
        let hashed = keccak256(address);
        let before = trie::read_account(&accounts, hashed)?;
        let mut storage_root = before.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
        if let Some(slots) = changes.storage.get(&address) {
            let start = if slots.wiped {
                EMPTY_ROOT_HASH
            } else {
                storage_root
            };
            let mut storage = trie::open(db, start)?;
            let ordered: std::collections::BTreeMap<_, _> = slots.slots.iter().collect();
            for (slot, value) in ordered {
                trie::write_slot(&mut storage, keccak256(slot.to_be_bytes::<32>()), *value)?;
            }
            storage_root = trie::root(&mut storage)?;
        }
        let after =
            ankr_storage::account_after(before, changes.accounts.get(&address), storage_root);
        trie::write_account(&mut accounts, hashed, after.as_ref())?;
    }
    trie::root(&mut accounts)
}
