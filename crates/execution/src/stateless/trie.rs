//! Merkle-Patricia tries over a set of known nodes (`eth_trie` does the trie): reads and
//! writes that need a node the set lacks fail, naming it. New nodes go to an overlay, so one
//! set serves the account trie and every storage trie of a block. With recording on, every
//! node read from the set is remembered: that is how a node makes a witness — it runs the
//! same updates over its full tries and keeps what was read.

use alloy_primitives::{B256, Bytes, U256, keccak256, map::HashMap};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{EthTrie, Trie, TrieError};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

/// Trie nodes by hash: a witness's, or every node of a state's tries; plus the nodes a run
/// wrote, and (when recording) the known nodes it read.
#[derive(Default)]
pub struct Nodes {
    known: HashMap<B256, Vec<u8>>,
    written: RwLock<HashMap<B256, Vec<u8>>>,
    read: Option<Mutex<BTreeSet<B256>>>,
}

impl Nodes {
    /// A node set from `nodes` (keyed by their keccak hash).
    pub fn from_nodes(nodes: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            known: nodes.into_iter().map(|n| (keccak256(&n), n)).collect(),
            ..Default::default()
        }
    }

    /// Remember every known node that is read from now on.
    pub fn record(&mut self) {
        self.read = Some(Mutex::new(BTreeSet::new()));
    }

    /// The known nodes read since [`Nodes::record`], by hash order.
    pub fn recorded(&self) -> Vec<Bytes> {
        let Some(read) = &self.read else {
            return Vec::new();
        };
        read.lock()
            .expect("record lock")
            .iter()
            .map(|hash| Bytes::from(self.known[hash].clone()))
            .collect()
    }

    /// Every node written so far (to build full tries, then read them as a known set).
    pub fn written_nodes(&self) -> Vec<Vec<u8>> {
        self.written
            .read()
            .expect("nodes lock")
            .values()
            .cloned()
            .collect()
    }
}

/// `eth_trie`'s view of a node set, shared by the tries of one run.
#[derive(Clone, Default)]
pub struct NodeDb(pub Arc<Nodes>);

/// `eth_trie` wants its store's errors to be `std::error::Error`s; a node set never fails.
#[derive(Debug, thiserror::Error)]
#[error("unreachable")]
pub struct NeverFails;

impl eth_trie::DB for NodeDb {
    type Error = NeverFails;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NeverFails> {
        let hash = B256::from_slice(key);
        if let Some(node) = self.0.written.read().expect("nodes lock").get(&hash) {
            return Ok(Some(node.clone()));
        }
        let node = self.0.known.get(&hash).cloned();
        if let (Some(read), Some(_)) = (&self.0.read, &node) {
            read.lock().expect("record lock").insert(hash);
        }
        Ok(node)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> Result<(), NeverFails> {
        self.0
            .written
            .write()
            .expect("nodes lock")
            .insert(B256::from_slice(key), value);
        Ok(())
    }

    /// Old nodes stay: a later trie of the same run may still read them.
    fn remove(&self, _key: &[u8]) -> Result<(), NeverFails> {
        Ok(())
    }

    fn flush(&self) -> Result<(), NeverFails> {
        Ok(())
    }
}

/// Why a trie operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrieReadError {
    #[error("trie node {0}")]
    MissingNode(B256),
    #[error("a well-formed trie node or value: {0}")]
    Malformed(String),
}

impl From<TrieError> for TrieReadError {
    fn from(error: TrieError) -> Self {
        match error {
            TrieError::MissingTrieNode { node_hash, .. } => Self::MissingNode(node_hash),
            TrieError::InvalidStateRoot => Self::Malformed("the root node is missing".into()),
            other => Self::Malformed(format!("{other:?}")),
        }
    }
}

/// A trie rooted at `root` over `db`.
pub fn open(db: &NodeDb, root: B256) -> Result<EthTrie<NodeDb>, TrieReadError> {
    if root == EMPTY_ROOT_HASH {
        return Ok(EthTrie::new(Arc::new(db.clone())));
    }
    EthTrie::from(Arc::new(db.clone()), root).map_err(|error| match error {
        TrieError::InvalidStateRoot => TrieReadError::MissingNode(root),
        other => other.into(),
    })
}

/// The account trie's key of an address, and a storage trie's key of a slot.
pub fn hashed_key(bytes: &[u8]) -> B256 {
    keccak256(bytes)
}

/// An account as the account trie holds it.
pub fn read_account(
    trie: &EthTrie<NodeDb>,
    hashed_address: B256,
) -> Result<Option<TrieAccount>, TrieReadError> {
    trie.get(hashed_address.as_slice())?
        .map(|bytes| {
            alloy_rlp::decode_exact::<TrieAccount>(&bytes)
                .map_err(|e| TrieReadError::Malformed(format!("account: {e}")))
        })
        .transpose()
}

/// A slot as a storage trie holds it (absent = zero).
pub fn read_slot(trie: &EthTrie<NodeDb>, hashed_slot: B256) -> Result<U256, TrieReadError> {
    trie.get(hashed_slot.as_slice())?
        .map(|bytes| {
            alloy_rlp::decode_exact::<U256>(&bytes)
                .map_err(|e| TrieReadError::Malformed(format!("slot: {e}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Writes `value` at `hashed_slot` (zero removes it, as Ethereum's tries keep no zeros).
pub fn write_slot(
    trie: &mut EthTrie<NodeDb>,
    hashed_slot: B256,
    value: U256,
) -> Result<(), TrieReadError> {
    if value.is_zero() {
        trie.remove(hashed_slot.as_slice())?;
    } else {
        trie.insert(hashed_slot.as_slice(), &alloy_rlp::encode(value))?;
    }
    Ok(())
}

/// Writes an account (`None` removes it).
pub fn write_account(
    trie: &mut EthTrie<NodeDb>,
    hashed_address: B256,
    account: Option<&TrieAccount>,
) -> Result<(), TrieReadError> {
    match account {
        Some(account) => trie.insert(hashed_address.as_slice(), &alloy_rlp::encode(account))?,
        None => {
            trie.remove(hashed_address.as_slice())?;
        }
    }
    Ok(())
}

/// The trie's root after its writes.
pub fn root(trie: &mut EthTrie<NodeDb>) -> Result<B256, TrieReadError> {
    Ok(trie.root_hash()?)
}
