//! EVM child chains (DESIGN §8): application chains under the main chain. A child chain's node
//! is the main chain's own node (storage, execution, pool, JSON-RPC, network) with its seal
//! swapped for the operator's signature; the main chain holds the operator's stake and a
//! commitment to its blocks in an `EvmChildChain` manager, which reports each one to the
//! `ChildChainRegistry` so that every main-chain header covers the child chain too.
//!
//! - [`profile`]: the whitepaper's application profiles as presets of a chain spec.
//! - [`manager`]: deploying and registering the manager on the main chain.
//! - [`bridge`]: ANKR in (deposits, anchored and credited) and out (withdrawals, proven).
//! - [`committer`]: the operator's loop that commits its blocks there.
//! - [`reversal`]: a node dropping its blocks the main chain reverted.
//! - [`watcher`]: a follower's check of every commitment, and the proof of a wrong one.
//! - [`node`]: a child-chain node (operator, follower or watcher), started and stopped as one.

pub mod bridge;
pub mod committer;
pub mod manager;
pub mod node;
pub mod profile;
pub mod reversal;
pub mod watcher;

pub use node::{ChildConfig, ChildError, ChildNode, MainLink, Role};
pub use profile::{Profile, ValidityMode};
