//! Stateless execution (DESIGN §8): a block re-executed with nothing but its parent's header
//! and a **witness** — the trie nodes, contract codes and ancestor headers it touches, as
//! reth's `debug_executionWitness` lays them out — by the same code every node runs (this crate's
//! `execute_block_on`), so the result is the node's by construction. This is what the main chain's EXECUTE
//! check of a child block runs, and what a watcher runs to find a wrong one.
//!
//! - [`witness`]: the witness and how a node makes one from its storage.
//! - [`trie`]: Merkle-Patricia tries over only the nodes a witness holds.
//! - [`mod@execute`]: the stateless run and the check of a block against it.
//! - [`precompile`]: EXECUTE, the check of a child block from the main chain.
//! - [`proof`]: STORAGE_PROOF, another chain's state read from a header and `eth_getProof`.
//! - [`body`]: BLOCK_BODY, a published block checked against its header.
//!
//! Trust: the parent header is the witness's first header and must hash to the block's
//! `parent_hash`; every trie node is looked up by its keccak hash and every older header must
//! link to its child, so a witness can leave something out (the run then stops, naming what
//! is missing) but cannot lie about anything it holds.

pub mod body;
pub mod execute;
pub mod precompile;
pub mod proof;
pub mod trie;
pub mod witness;

pub use body::BLOCK_BODY_ADDRESS;
pub use execute::{StatelessError, StatelessOutcome, execute, verify};
pub use precompile::{EXECUTE_ADDRESS, execute_gas};
pub use proof::{ProofError, ProvenSlot, STORAGE_PROOF_ADDRESS, prove_slot};
pub use witness::{ExecutionWitness, Tries, WitnessError, make_witness, make_witness_from};
