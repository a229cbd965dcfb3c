//! The data of the ankr main chain: headers with their Proof of Useful Work seal, blocks of
//! Ethereum typed transactions, sender recovery and the chain spec that fixes genesis.
//!
//! The whitepaper's "Main Chain" section describes the chain; `shared/DESIGN.md` §3 fixes the
//! header layout: Ethereum's fields plus `difficulty` (expected instructions per block),
//! `child_chains_root` (Plasma boundaries, §5) and the `seal` (§4).

pub mod block;
pub mod chain_spec;
pub mod dev_accounts;
pub mod fees;
pub mod header;
pub mod header_rules;
pub mod recovery;

pub use alloy_consensus::TxEnvelope;
pub use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
pub use block::{Block, RecoveredTx};
pub use chain_spec::{ChainSpec, ChainSpecError, GenesisAccount, PouwParams};
pub use header::{Header, Seal, SealKind, operator_seal_digest};
pub use header_rules::{HeaderRuleError, next_base_fee};
pub use recovery::{RecoveryError, recover_sender, recover_senders};
