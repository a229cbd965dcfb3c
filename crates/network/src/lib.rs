//! The main chain's peer-to-peer network (DESIGN §3): libp2p with TCP, noise and yamux;
//! gossipsub spreads new blocks and pooled transactions; request-response serves blocks by
//! number range so that a new or restarted node catches up; Kademlia finds peers beyond the
//! boot peers; identify and ping keep connections honest. No home-made wire protocol: the
//! messages are raw RLP blocks and EIP-2718 transactions, the same bytes `debug_getRawBlock`
//! and `eth_sendRawTransaction` use.
//!
//! The chain does the validating: a gossiped block goes through `Chain::import_raw_block`
//! (side blocks and reorganisations included); a block whose parent is unknown makes the node
//! ask that peer for the blocks it is missing. Peers that send invalid blocks, junk or floods
//! lose gossip score and strikes, then are banned (`peers.rs`).

mod behaviour;
mod identity;
mod import;
mod peers;
mod serve;
mod service;
mod sync;
mod sync_state;
mod verdict;

pub use libp2p::Multiaddr;
pub use service::{Network, NetworkConfig, NetworkError};
pub use sync::{NetworkStatus, Syncing};
