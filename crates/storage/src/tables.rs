//! Table layout. Keys are fixed-size arrays so that redb orders them bytewise.

use redb::TableDefinition;

/// block hash → rlp(header)
pub const HEADERS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("headers");
/// block hash → rlp(StoredBody)
pub const BODIES: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("bodies");
/// block hash → rlp([receipt envelope, …])
pub const RECEIPTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("receipts");
/// block hash → cumulative difficulty (big-endian), for fork choice.
pub const TOTAL_DIFFICULTY: TableDefinition<[u8; 32], [u8; 32]> =
    TableDefinition::new("total_difficulty");
/// number → hash of the canonical block at that height.
pub const CANONICAL: TableDefinition<u64, [u8; 32]> = TableDefinition::new("canonical");
/// tx hash → (block number, index) on the canonical chain.
pub const TX_LOOKUP: TableDefinition<[u8; 32], (u64, u32)> = TableDefinition::new("tx_lookup");
/// keccak(address) → rlp(TrieAccount), exactly the trie's leaf value.
pub const ACCOUNTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("accounts");
/// (keccak(address), keccak(slot)) → value (big-endian); zero values are absent.
pub const STORAGE: TableDefinition<([u8; 32], [u8; 32]), [u8; 32]> =
    TableDefinition::new("storage");
/// nibble path (a byte per nibble) → a kept branch node of the account trie (`trie.rs`).
pub const ACCOUNT_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("account_trie");
/// nibble path → a kept node of the account trie's top levels as of the last checkpoint; the
/// current ones are in memory and `ACCOUNT_TRIE` holds only the deeper ones (`trie_top.rs`).
pub const ACCOUNT_TRIE_TOP: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("account_trie_top");
/// nibble path → a top node as of the commit that began a write-back of them, copied here a
/// slice per commit; the last slice's commit renames it to `ACCOUNT_TRIE_TOP`, so that table
/// always holds the top levels as of one commit, never a mix of two (`trie_top.rs`).
pub const ACCOUNT_TRIE_TOP_NEXT: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("account_trie_top_next");
/// commit sequence → the hashed accounts (32 bytes each) whose trie paths that commit rebuilt
/// since the last checkpoint of the top levels, replayed on open to bring them up to date.
pub const ACCOUNT_TRIE_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("account_trie_log");
/// keccak(address) ++ nibble path → a kept branch node of that account's storage trie.
pub const STORAGE_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_trie");
/// code hash → bytecode
pub const CODE: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("code");
/// (number, hash) of every stored block that is not canonical: side blocks and unwound ones,
/// so that those behind the kept history can be pruned without a scan of every header.
pub const SIDE_BLOCKS: TableDefinition<(u64, [u8; 32]), ()> = TableDefinition::new("side_blocks");
/// block number → rlp(Changeset): the values its state changes overwrote.
pub const CHANGESETS: TableDefinition<u64, &[u8]> = TableDefinition::new("changesets");
/// named singletons: head hash, genesis hash, chain spec.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Content-addressed blobs (work modules, inputs, results) by keccak hash.
pub const BLOBS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("blobs");
/// A header's `child_chains_root` → the child-chain boundaries it commits to.
pub const CHILD_CHAINS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("child_chains");

pub const META_HEAD: &str = "head";
pub const META_GENESIS: &str = "genesis";
pub const META_CHAIN_SPEC: &str = "chain_spec";
/// A reorganisation under way: the tip it goes to, then the head it left (64 bytes).
pub const META_REORG: &str = "reorg";
/// Blocks of state history kept (u64 big-endian; `u64::MAX` keeps all: archive). Absent:
/// [`crate::DEFAULT_STATE_HISTORY`].
pub const META_STATE_HISTORY: &str = "state_history";
/// The lowest block number whose changeset is still kept (u64 big-endian; absent: 0).
pub const META_HISTORY_FROM: &str = "history_from";
/// The layout of the kept trie nodes, [`TRIE_LAYOUT`] once the trie tables hold every kept
/// node of the state (absent in databases from before nodes were kept; 1 before the top
/// levels had their own table). Any other value has them rebuilt on open.
pub const META_TRIE: &str = "trie";
/// See [`META_TRIE`].
pub const TRIE_LAYOUT: u8 = 2;
/// Commits that changed the account trie's top levels so far (u64 big-endian; absent: 0): a
/// reader uses the top nodes a writer published only for the snapshot of that very commit.
pub const META_TRIE_VERSION: &str = "trie_version";

pub fn create_all(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(HEADERS)?;
    txn.open_table(BODIES)?;
    txn.open_table(RECEIPTS)?;
    txn.open_table(TOTAL_DIFFICULTY)?;
    txn.open_table(CANONICAL)?;
    txn.open_table(TX_LOOKUP)?;
    txn.open_table(ACCOUNTS)?;
    txn.open_table(STORAGE)?;
    txn.open_table(ACCOUNT_TRIE)?;
    txn.open_table(ACCOUNT_TRIE_TOP)?;
    txn.open_table(ACCOUNT_TRIE_LOG)?;
    txn.open_table(STORAGE_TRIE)?;
    txn.open_table(CODE)?;
    txn.open_table(CHANGESETS)?;
    txn.open_table(SIDE_BLOCKS)?;
    txn.open_table(META)?;
    txn.open_table(BLOBS)?;
    txn.open_table(CHILD_CHAINS)?;
    Ok(())
}
