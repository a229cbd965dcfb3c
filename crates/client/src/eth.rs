//! The Ethereum JSON-RPC methods our own services call, declared once with alloy's RPC types:
//! a misspelt method or a parameter of the wrong type is a compile error, and an answer that
//! does not parse as Ethereum's types is a clear error, never a silently missing field.

use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    Block, BlockId, BlockNumberOrTag, Filter, Log, Transaction, TransactionReceipt,
    TransactionRequest,
};
use jsonrpsee::proc_macros::rpc;

/// `eth_*` as a client sees it (implemented for every jsonrpsee client as `EthApiClient`).
#[rpc(client, namespace = "eth")]
pub trait EthApi {
    #[method(name = "chainId")]
    async fn chain_id(&self) -> RpcResult<U64>;
    #[method(name = "blockNumber")]
    async fn block_number(&self) -> RpcResult<U64>;
    #[method(name = "getBlockByNumber")]
    async fn block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block>>;
    #[method(name = "getBalance")]
    async fn balance(&self, address: Address, block: BlockId) -> RpcResult<U256>;
    #[method(name = "getTransactionCount")]
    async fn transaction_count(&self, address: Address, block: BlockId) -> RpcResult<U64>;
    #[method(name = "getCode")]
    async fn code(&self, address: Address, block: BlockId) -> RpcResult<Bytes>;
    #[method(name = "call")]
    async fn call(&self, request: TransactionRequest, block: BlockId) -> RpcResult<Bytes>;
    #[method(name = "estimateGas")]
    async fn estimate_gas(&self, request: TransactionRequest) -> RpcResult<U64>;
    #[method(name = "maxPriorityFeePerGas")]
    async fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    #[method(name = "getTransactionByHash")]
    async fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>>;
    #[method(name = "getTransactionReceipt")]
    async fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    #[method(name = "getLogs")]
    async fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    #[method(name = "getProof")]
    async fn proof(
        &self,
        address: Address,
        keys: Vec<B256>,
        block: BlockId,
    ) -> RpcResult<alloy_rpc_types_eth::EIP1186AccountProofResponse>;
}

/// `debug_*` as a client sees it: the raw forms of blocks, which proofs on another chain need.
#[rpc(client, namespace = "debug")]
pub trait DebugApi {
    #[method(name = "getRawHeader")]
    async fn raw_header(&self, block: BlockId) -> RpcResult<Bytes>;
}
