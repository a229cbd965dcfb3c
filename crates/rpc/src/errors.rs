//! Ethereum's JSON-RPC error codes and the mapping of ankr's errors onto them.

use alloy_primitives::Bytes;
use alloy_sol_types::decode_revert_reason;
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

pub fn reverted(data: Bytes) -> ErrorObjectOwned {
    let message = match decode_revert_reason(&data) {
        Some(reason) => format!("execution reverted: {reason}"),
        None => "execution reverted".to_string(),
    };
    ErrorObjectOwned::owned(codes::EXECUTION_REVERTED, message, Some(data))
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
