//! Proof of Useful Work (DESIGN §4), after REM (Zhang et al., USENIX Security 2017).
//!
//! Miners run other people's WebAssembly inside enclaves. The [`runtime`] runs a module
//! deterministically and [`metering`] counts its instructions; the [`enclave`] binds the block
//! template before it runs a subtask, then signs a report whose hash is a 256-bit lottery
//! draw, compared in integers with the [`lottery`] threshold for n instructions at the block's
//! difficulty. The report is the block's [`seal`]; anyone re-checks it offline. The
//! [`attestation`] service certifies enclaves for the on-chain registry; [`difficulty`]
//! retargets toward the block time; [`defences`] bound what a compromised enclave can win.
//!
//! Enclaves here are SIMULATED (DESIGN §2): the [`enclave::Enclave`] trait is where a real
//! SGX implementation would plug in.

pub mod attestation;
pub mod defences;
pub mod difficulty;
pub mod enclave;
pub mod lottery;
pub mod metering;
pub mod runtime;
pub mod seal;
pub mod signing;

pub use attestation::{AttestationService, Certificate, Platform, Quote};
pub use defences::DefenceParams;
pub use enclave::{Enclave, ResultClaim, SimulatedEnclave, Subtask, SubtaskReport, Template};
pub use runtime::{Execution, Limits, Outcome, Runtime};
pub use seal::{PouwSeal, SealError};
pub mod stats;
pub mod workloads;
