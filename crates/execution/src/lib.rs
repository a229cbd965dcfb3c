//! Block execution: ankr's rules around revm.
//!
//! revm runs each transaction; this crate owns what a block adds around it (DESIGN §3): the
//! gas-limit budget, receipts and their roots, the block reward, and the [`StateChanges`] that
//! storage writes in one transaction. Building a block and importing one run the same code
//! ([`execute_block`]), differing only in whether a bad transaction is skipped or fatal.
//!
//! [`StateChanges`]: ankr_storage::StateChanges

mod access_list;
mod analysed_code;
mod bloom;
mod call;
mod config;
mod db;
mod executor;
mod genesis;
mod overrides;
mod parallel;
pub mod simulate;
pub mod trace;
mod tx_env;

pub use access_list::create_access_list;
pub mod stateless;

pub use call::{
    CallError, CallOutcome, CallRequest, SYSTEM_ADDRESS, SYSTEM_CALL_GAS, call, call_with,
    estimate_gas, estimate_gas_with, system_call,
};
pub use config::{BlockContext, CHILD_BRIDGE_ADDRESS, ChainConfig};
pub use db::{BlockState, PinnedStateDb, StateDb, StateError};
pub use executor::{
    ExecutedBlock, ExecutionError, Mode, execute_block, execute_block_on, receipts_root,
    transactions_root,
};
pub use genesis::{GenesisError, genesis_changes, genesis_header, write_genesis};
pub use overrides::{AccountOverride, OverriddenDb, Overrides, StorageOverride};
pub use parallel::TwoThreads;
pub use revm;
pub use tx_env::tx_env;
