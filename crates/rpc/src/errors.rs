//! Ethereum's JSON-RPC error codes and the mapping of ankr's errors onto them.

use alloy_primitives::Bytes;
use alloy_sol_types::SolError;
use ankr_chain::SubmitError;
use ankr_execution::CallError;
use jsonrpsee::types::ErrorObjectOwned;

/// JSON-RPC error codes as Ethereum clients use them.
pub mod codes {
    /// Malformed or wrongly typed parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// A failure inside the node, never the caller's fault.
    pub const INTERNAL: i32 = -32603;
    /// geth's code for a refused transaction or an unavailable resource.
    pub const SERVER: i32 = -32000;
    /// A call or estimate that reverted; `data` carries the revert bytes.
    pub const EXECUTION_REVERTED: i32 = 3;
    /// A query too large to answer (e.g. `eth_getLogs` over too many blocks).
    pub const LIMIT_EXCEEDED: i32 = -32005;
}

/// An error object without data.
pub fn rpc_error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    rpc_error(codes::INVALID_PARAMS, message)
}

pub fn internal(error: impl std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(%error, "internal error answering RPC");
    rpc_error(codes::INTERNAL, format!("internal error: {error}"))
}

pub fn header_not_found() -> ErrorObjectOwned {
    rpc_error(codes::SERVER, "header not found")
}

/// A revert in geth's words: `execution reverted: <reason>` for `Error(string)` and
/// `Panic(uint256)`, plain `execution reverted` otherwise (custom errors, no data); the revert
/// bytes go in `data`.
pub fn reverted(data: Bytes) -> ErrorObjectOwned {
    let message = match revert_reason(&data) {
        Some(reason) => format!("execution reverted: {reason}"),
        None => "execution reverted".to_string(),
    };
    ErrorObjectOwned::owned(codes::EXECUTION_REVERTED, message, Some(data))
}

/// The reason geth gives for revert bytes, if they name one.
fn revert_reason(data: &[u8]) -> Option<String> {
    if let Ok(revert) = alloy_sol_types::Revert::abi_decode(data) {
        return Some(revert.reason);
    }
    let panic = alloy_sol_types::Panic::abi_decode(data).ok()?;
    let code = panic.code.saturating_to::<u64>();
    // geth's `panicReasons`.
    Some(match code {
        0x00 => "generic panic".into(),
        0x01 => "assert(false)".into(),
        0x11 => "arithmetic underflow or overflow".into(),
        0x12 => "division or modulo by zero".into(),
        0x21 => "enum overflow".into(),
        0x22 => "invalid encoded storage byte array accessed".into(),
        0x31 => "out-of-bounds array access; popping on an empty array".into(),
        0x32 => "out-of-bounds access of an array or bytesN".into(),
        0x41 => "out of memory".into(),
        0x51 => "uninitialized function".into(),
        other => format!("unknown panic code: {other:#x}"),
    })
}

pub fn from_call(error: CallError) -> ErrorObjectOwned {
    match error {
        CallError::Reverted(data) => reverted(data),
        CallError::Halted(reason) => {
            rpc_error(codes::SERVER, format!("execution halted: {reason}"))
        }
        CallError::Invalid(reason) => rpc_error(codes::SERVER, reason),
        CallError::State(e) => internal(e),
    }
}

pub fn from_submit(error: SubmitError) -> ErrorObjectOwned {
    match &error {
        SubmitError::Decode(_) => invalid_params(error.to_string()),
        SubmitError::Pool(e) => rpc_error(codes::SERVER, e.to_string()),
        SubmitError::Blob(e) => rpc_error(codes::SERVER, e.to_string()),
        SubmitError::Chain(e) => internal(e),
    }
}
