//! The Native Oracle System's off-chain half (DESIGN §6, the whitepaper's "Native Data Feed"):
//! Town Crier's design with its flaws fixed. `NativeOracle.sol` takes requests and fees; the
//! relay hands each `RequestInfo` to the oracle enclave; the enclave fetches over HTTPS with
//! rustls, extracts the value and signs (chain id, oracle address, id, params hash, code,
//! keccak(data)); the relay delivers. Enclaves are SIMULATED (DESIGN §2).

pub mod address_policy;
pub mod datagram;
pub mod enclave;
pub mod extract;
pub mod fetch;
pub mod private;
/// Follows requests on chain, has the enclave answer them, delivers the answers.
pub mod relay;
pub mod source;

pub use datagram::{Datagram, OracleRequest};
pub use enclave::{OracleEnclave, oracle_measurement};
pub use fetch::{FetchError, FetchLimits, Fetcher};
