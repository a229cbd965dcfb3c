//! Plasma child chains (DESIGN §5; the whitepaper's "Multi-chain Structure"): what a child
//! chain's transactions and blocks are, byte for byte, so that the operator, the watcher and
//! the root-chain contract agree. See `transaction.rs` for the transaction and its
//! signatures, `merkle.rs` for the block's tree and root hash, and the test vector in
//! `tests/layout.rs`.

pub mod ledger;
pub mod merkle;
pub mod transaction;

pub use ledger::{
    CHILD_BLOCK_INTERVAL, ChildBlock, FEE_OINDEX, InvalidBlock, Ledger, LedgerError, UtxoPos,
    chained_to,
};
pub use merkle::{MerkleTree, block_root, verify};
pub use transaction::{Input, Output, PlasmaTx, TxDomain, TxError, utxo_position};
