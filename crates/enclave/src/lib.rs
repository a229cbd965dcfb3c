//! Where useful work runs (DESIGN §2, §4.3): the deterministic, metered WebAssembly
//! [`runtime`], the [`metering`] that counts a module's instructions, the committed
//! [`workloads`], and the [`Enclave`] boundary with the [`SimulatedEnclave`] this repository
//! ships.
//!
//! Only miners and the node that wires them link this crate (and with it wasmtime); whoever
//! only checks blocks needs `ankr-pouw`'s rules alone.

mod enclave;
pub mod metering;
pub mod runtime;
pub mod workloads;

pub use enclave::{
    Enclave, EnclaveError, ResultClaim, SimulatedEnclave, Subtask, SubtaskReport, Template,
    simulated_measurement,
};
pub use runtime::{Execution, Limits, Outcome, Runtime};
