//! Proof of Useful Work's consensus rules (DESIGN §4), after REM (Zhang et al., USENIX
//! Security 2017): everything a node needs to check a block, and nothing that runs work.
//!
//! An enclave (crate `ankr-enclave`) binds the block template, runs a subtask and signs a
//! report whose hash is a 256-bit lottery draw, compared in integers with the [`lottery`]
//! threshold for n instructions at the block's difficulty. The report is the block's
//! [`seal`]; anyone re-checks it offline with [`signing`]. The [`attestation`] service
//! certifies enclaves for the on-chain registry; [`difficulty`] retargets toward the block
//! time; [`defences`] bound what a compromised enclave can win.
//!
//! This crate links no WebAssembly runtime, so the chain, RPC and oracle crates that check
//! seals do not build one.

pub mod attestation;
pub mod defences;
pub mod difficulty;
pub mod lottery;
pub mod seal;
pub mod signing;
pub mod stats;

pub use attestation::{AttestationService, Certificate, Platform, Quote};
pub use defences::DefenceParams;
pub use seal::{PouwSeal, SealError};
