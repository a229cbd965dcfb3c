//! What a datagram is and what the enclave signs: the same rules `NativeOracle.sol` checks.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

/// Response codes (the NativeOracle contract's).
pub mod code {
    pub const OK: u16 = 0;
    pub const BAD_REQUEST: u16 = 1;
    pub const NOT_FOUND: u16 = 2;
    pub const SOURCE_TIMEOUT: u16 = 3;
    pub const TOO_LARGE: u16 = 4;
    pub const FORBIDDEN: u16 = 5;
    /// At or above: the oracle's own fault; the requester is refunded.
    pub const FIRST_FAULT: u16 = 16;
    /// The source could not be reached or spoke bad TLS/HTTP.
    pub const SOURCE_UNREACHABLE: u16 = 16;
}

/// Request kinds.
pub mod kind {
    /// HTTPS GET of JSON, a JSONPath selects one value.
    pub const JSON: u8 = 0;
    /// HTTPS GET of XML, a path selects one value.
    pub const XML: u8 = 1;
    /// HTTPS GET of a whole JSON or XML document.
    pub const DOCUMENT: u8 = 2;
}

/// `NativeOracle.DATAGRAM_DOMAIN`.
pub fn datagram_domain() -> B256 {
    keccak256("ankr.oracle.datagram.v2")
}

/// `NativeOracle.paramsHashOf`: binds kind and params to the requester.
pub fn params_hash(kind: u8, params: &[u8], requester: Address) -> B256 {
    keccak256((U256::from(kind), keccak256(params), requester).abi_encode_params())
}

/// `NativeOracle.datagramDigest`: what the enclave signs, for `relay` alone to deliver (so
/// that nobody can copy a delivery from the pool and take the fee of the relay that did the
/// work).
pub fn datagram_digest(
    chain_id: u64,
    oracle: Address,
    id: u64,
    params_hash: B256,
    code: u16,
    data: &[u8],
    relay: Address,
) -> B256 {
    keccak256(
        (
            datagram_domain(),
            U256::from(chain_id),
            oracle,
            U256::from(id),
            params_hash,
            U256::from(code),
            keccak256(data),
            relay,
        )
            .abi_encode_params(),
    )
}

/// A request as the contract's `RequestInfo` event gives it to the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleRequest {
    pub chain_id: u64,
    pub oracle: Address,
    pub id: u64,
    pub requester: Address,
    pub kind: u8,
    pub params: Vec<u8>,
}

impl OracleRequest {
    pub fn params_hash(&self) -> B256 {
        params_hash(self.kind, &self.params, self.requester)
    }
}

/// A signed answer, ready for `NativeOracle.deliver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub id: u64,
    pub params_hash: B256,
    pub code: u16,
    pub data: Vec<u8>,
    pub signature: [u8; 65],
}
