//! Plasma child chains beside a node (DESIGN §5): the operator that makes a child chain's
//! blocks, the watcher that checks them for its user, the client the `ankr plasma` commands
//! use, and the child chain's own storage and block gossip. The rules they follow (the
//! transaction, the ledger, the Merkle tree) are `ankr-plasma`'s; the main chain is reached
//! through `ankr-client`.

/// The `plasma_*` JSON-RPC, declared once for the operator and its clients.
pub mod api;
/// What a user does: deposit, pay, exit, challenge, withdraw, move between chains.
pub mod client;
/// Child blocks over libp2p gossipsub.
pub mod gossip;
/// The RootChain logs the operator and the watcher follow.
pub mod logs;
/// The operator: makes blocks, serves `plasma_*`, submits roots.
pub mod operator;
/// The child chain's redb file.
pub mod store;
/// The watcher: checks blocks, challenges, proves fraud, exits.
pub mod watcher;

/// The largest child block as JSON (65,536 transactions of up to ~320 bytes, hex-encoded),
/// with room: the limit of a block's gossip message and of an operator's `plasma_*` answers,
/// so that a full block can be had either way (jsonrpsee's default, 10 MB, holds ~25,000).
pub const MAX_BLOCK_MESSAGE_BYTES: u32 = 64 << 20;
