//! `eth_`, `net_` and `web3_`.

use crate::{
    block_cache::{BlockCache, CachedBlock},
    convert::{self, RpcBlock},
    errors::{self, codes, header_not_found, internal, invalid_params, rpc_error},
    filters::{FilterKind, Filters},
};
use alloy_consensus::Transaction as _;
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::{
    FeeHistory, Filter, FilterBlockOption, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use ankr_chain::{Chain, next_base_fee};
use ankr_execution::{BlockContext, CallOutcome, CallRequest};
use ankr_network::NetworkStatus;
use ankr_storage::{StateReader, StoreReader};
use ankr_types::Header;
use jsonrpsee::{
    PendingSubscriptionSink, core::RpcResult, core::SubscriptionResult, proc_macros::rpc,
};
use std::sync::Arc;

/// Most blocks one `eth_getLogs` may scan.
const MAX_LOG_RANGE: u64 = 10_000;
/// Most blocks one `eth_feeHistory` may cover.
const MAX_FEE_HISTORY: u64 = 1024;
/// How many blocks behind the head state queries may look.
const STATE_HISTORY: u64 = 1024;
/// Blocks under the head the `safe` tag stays: natural forks between honest miners (two
/// winning draws in the same second, propagation delay) are one or two blocks deep on ankr's
/// networks; six is Bitcoin's customary margin over them.
const SAFE_DEPTH: u64 = 6;

#[rpc(server, namespace = "eth")]
pub trait EthRpc {
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    #[method(name = "syncing")]
    fn syncing(&self) -> RpcResult<serde_json::Value>;
    #[method(name = "accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
    #[method(name = "getBlockByNumber")]
    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>>;
    #[method(name = "getBlockByHash")]
    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>>;
    #[method(name = "getBlockTransactionCountByNumber")]
    fn block_tx_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>>;
    #[method(name = "getBlockTransactionCountByHash")]
    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    #[method(name = "getBalance")]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    #[method(name = "getTransactionCount")]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    #[method(name = "getCode")]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    #[method(name = "getProof", blocking)]
    fn proof(
        &self,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<alloy_rpc_types_eth::EIP1186AccountProofResponse>;
    #[method(name = "getStorageAt")]
    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256>;
    #[method(name = "call", blocking)]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes>;
    #[method(name = "estimateGas", blocking)]
    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<U64>;
    #[method(name = "createAccessList", blocking)]
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> RpcResult<alloy_rpc_types_eth::AccessListResult>;
    #[method(name = "gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    #[method(name = "maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "feeHistory")]
    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    #[method(name = "sendRawTransaction")]
    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    #[method(name = "getTransactionByHash")]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>>;
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<Transaction>>;
    #[method(name = "getTransactionByBlockHashAndIndex")]
    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<Transaction>>;
    #[method(name = "getRawTransactionByHash")]
    fn raw_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Bytes>>;
    #[method(name = "getTransactionReceipt")]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    #[method(name = "getBlockReceipts")]
    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>>;
    #[method(name = "blobBaseFee")]
    fn blob_base_fee(&self) -> RpcResult<Option<U256>>;
    #[method(name = "getLogs", blocking)]
    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    #[method(name = "newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U256>;
    #[method(name = "newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U256>;
    #[method(name = "newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self) -> RpcResult<U256>;
    #[method(name = "getFilterChanges", blocking)]
    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value>;
    #[method(name = "getFilterLogs", blocking)]
    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>>;
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: U256) -> RpcResult<bool>;
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = serde_json::Value)]
    async fn subscribe(
        &self,
        kind: String,
        params: Option<serde_json::Value>,
    ) -> SubscriptionResult;
}

pub struct EthRpc {
    chain: Arc<Chain>,
    filters: Arc<Filters>,
    blocks: BlockCache,
    /// Peers and sync, when the node is on a network.
    network: Option<NetworkStatus>,
}

impl EthRpc {
    pub fn new(chain: Arc<Chain>, filters: Arc<Filters>, network: Option<NetworkStatus>) -> Self {
        Self {
            chain,
            filters,
            blocks: BlockCache::default(),
            network,
        }
    }

    fn cached_block(&self, reader: &StoreReader, hash: B256) -> RpcResult<Arc<CachedBlock>> {
        self.blocks
            .get(reader, hash)
            .map_err(internal)?
            .ok_or_else(header_not_found)
    }

    fn reader(&self) -> RpcResult<StoreReader> {
        self.chain.reader().map_err(internal)
    }
}

fn head_of(reader: &StoreReader) -> RpcResult<Header> {
    reader
        .head()
        .map_err(internal)?
        .ok_or_else(|| internal("no genesis"))
}

/// The block number a tag names, or `None` for a block not yet made.
fn number_of(reader: &StoreReader, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
    let head = head_of(reader)?.number;
    Ok(match tag {
        BlockNumberOrTag::Earliest => Some(0),
        BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
        BlockNumberOrTag::Safe => Some(head.saturating_sub(SAFE_DEPTH)),
        // The fork choice refuses to reorganise deeper than this: nothing this node accepts
        // can replace these blocks.
        BlockNumberOrTag::Finalized => Some(head.saturating_sub(ankr_chain::MAX_REORG_DEPTH)),
        // As geth since it stopped building pending blocks: the head (state queries that
        // count the pool, like a sender's next nonce, do so themselves).
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(head),
    })
}

fn header_of(reader: &StoreReader, id: BlockId) -> RpcResult<Option<Header>> {
    match id {
        BlockId::Hash(hash) => {
            let header = reader.header(hash.block_hash).map_err(internal)?;
            if hash.require_canonical == Some(true) {
                if let Some(h) = &header {
                    let canonical = reader.canonical_hash(h.number).map_err(internal)?;
                    if canonical != Some(hash.block_hash) {
                        return Err(invalid_params("block is not canonical"));
                    }
                }
            }
            Ok(header)
        }
        BlockId::Number(tag) => match number_of(reader, tag)? {
            Some(n) => reader.header_by_number(n).map_err(internal),
            None => Ok(None),
        },
    }
}

/// Where a simulation (`eth_call`, `eth_estimateGas`, `eth_createAccessList`) runs: the state
/// of `block` (default latest) under the state overrides, and its context under the block
/// overrides.
fn simulation_at(
    reader: &StoreReader,
    block: Option<BlockId>,
    state_overrides: Option<serde_json::Value>,
    block_overrides: Option<serde_json::Value>,
) -> RpcResult<(StateReader, ankr_execution::Overrides, BlockContext)> {
    let (header, state) = state_at(reader, block)?;
    let mut overrides = crate::overrides::state(state_overrides)?;
    let mut context = BlockContext::of(&header);
    crate::overrides::block(block_overrides, &mut context, &mut overrides)?;
    Ok((state, overrides, context))
}

/// The state as of `block` (default latest) and that block's header. Blocks up to
/// [`STATE_HISTORY`] behind the head are served by undoing later changesets; older state is not.
fn state_at(reader: &StoreReader, block: Option<BlockId>) -> RpcResult<(Header, StateReader)> {
    let head = head_of(reader)?;
    let header = header_of(reader, block.unwrap_or_default())?.ok_or_else(header_not_found)?;
    if reader.canonical_hash(header.number).map_err(internal)? != Some(header.hash()) {
        return Err(rpc_error(
            codes::SERVER,
            "state of a non-canonical block is not available",
        ));
    }
    if head.number - header.number > STATE_HISTORY {
        return Err(rpc_error(
            codes::SERVER,
            format!(
                "historical state is not available: this node serves the state of the last \
                 {STATE_HISTORY} blocks (head {}), block {} was asked for",
                head.number, header.number
            ),
        ));
    }
    let state = if header.number == head.number {
        reader.state()
    } else {
        reader.state_at(header.number)
    };
    Ok((header, state.map_err(internal)?))
}

fn call_request(request: TransactionRequest) -> CallRequest {
    CallRequest {
        from: request.from,
        to: match request.to {
            Some(TxKind::Call(to)) => Some(to),
            _ => None,
        },
        gas: request.gas,
        gas_price: request.gas_price,
        max_fee_per_gas: request.max_fee_per_gas,
        max_priority_fee_per_gas: request.max_priority_fee_per_gas,
        value: request.value,
        input: request.input.into_input().unwrap_or_default(),
        nonce: request.nonce,
        access_list: request.access_list,
        authorization_list: request.authorization_list,
    }
}

impl EthRpc {
    fn block_rpc(&self, reader: &StoreReader, header: Header, full: bool) -> RpcResult<RpcBlock> {
        let hash = header.hash();
        let block = self.cached_block(reader, hash)?;
        let td = reader
            .total_difficulty(hash)
            .map_err(internal)?
            .unwrap_or_default();
        Ok(convert::block(&header, &block.body, td, full))
    }

    /// Logs matching `filter` in blocks `from..=to` of the canonical chain.
    fn logs_in_range(
        &self,
        reader: &StoreReader,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> RpcResult<Vec<Log>> {
        if to >= from && to - from >= MAX_LOG_RANGE {
            return Err(rpc_error(
                codes::LIMIT_EXCEEDED,
                format!("query exceeds max block range {MAX_LOG_RANGE}"),
            ));
        }
        let mut out = Vec::new();
        for number in from..=to {
            let Some(header) = reader.header_by_number(number).map_err(internal)? else {
                break;
            };
            self.collect_block_logs(reader, filter, &header, &mut out)?;
        }
        Ok(out)
    }

    fn collect_block_logs(
        &self,
        reader: &StoreReader,
        filter: &Filter,
        header: &Header,
        out: &mut Vec<Log>,
    ) -> RpcResult<()> {
        if !filter.matches_bloom(header.logs_bloom) {
            return Ok(());
        }
        let block = self.cached_block(reader, header.hash())?;
        let hashes: Vec<B256> = block
            .body
            .transactions
            .iter()
            .map(|t| *t.tx_hash())
            .collect();
        for logs in convert::block_logs(header, &hashes, &block.receipts) {
            out.extend(logs.into_iter().filter(|log| filter.matches(&log.inner)));
        }
        Ok(())
    }

    fn filter_logs_now(&self, filter: &Filter) -> RpcResult<Vec<Log>> {
        let reader = self.reader()?;
        match &filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let header = reader
                    .header(*hash)
                    .map_err(internal)?
                    .ok_or_else(header_not_found)?;
                let mut out = Vec::new();
                self.collect_block_logs(&reader, filter, &header, &mut out)?;
                Ok(out)
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let head = head_of(&reader)?.number;
                let resolve = |tag: Option<BlockNumberOrTag>| -> RpcResult<u64> {
                    Ok(match tag.unwrap_or(BlockNumberOrTag::Latest) {
                        BlockNumberOrTag::Number(n) => n,
                        other => number_of(&reader, other)?.unwrap_or(head),
                    })
                };
                let (from, to) = (resolve(*from_block)?, resolve(*to_block)?.min(head));
                if from > to {
                    return Ok(vec![]);
                }
                self.logs_in_range(&reader, filter, from, to)
            }
        }
    }

    fn suggested_tip(&self) -> u128 {
        ankr_types::fees::DEFAULT_TIP
    }
}

#[jsonrpsee::core::async_trait]
impl EthRpcServer for EthRpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.chain.spec().chain_id))
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.chain.head().number))
    }

    /// `false`, or geth's object while a peer claims blocks well beyond the head.
    fn syncing(&self) -> RpcResult<serde_json::Value> {
        let head = self.chain.head().number;
        Ok(match self.network.as_ref().and_then(|n| n.syncing(head)) {
            None => serde_json::Value::Bool(false),
            Some(sync) => serde_json::json!({
                "startingBlock": U64::from(sync.starting),
                "currentBlock": U64::from(sync.current),
                "highestBlock": U64::from(sync.highest),
            }),
        })
    }

    /// The node holds no keys: wallets sign, the node verifies.
    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(vec![])
    }

    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        match header_of(&reader, BlockId::Number(number))? {
            Some(header) => Ok(Some(self.block_rpc(&reader, header, full)?)),
            None => Ok(None),
        }
    }

    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        match reader.header(hash).map_err(internal)? {
            Some(header) => Ok(Some(self.block_rpc(&reader, header, full)?)),
            None => Ok(None),
        }
    }

    fn block_tx_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, BlockId::Number(number))? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        Ok(Some(U64::from(block.body.transactions.len())))
    }

    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        let block = self.blocks.get(&reader, hash).map_err(internal)?;
        Ok(block.map(|b| U64::from(b.body.transactions.len())))
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let account = state.account(address).map_err(internal)?;
        Ok(account.map(|a| a.balance).unwrap_or_default())
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        let reader = self.reader()?;
        let pending = block == Some(BlockId::Number(BlockNumberOrTag::Pending));
        let (_, state) = state_at(&reader, block)?;
        let account = state.account(address).map_err(internal)?;
        let nonce = account.map(|a| a.nonce).unwrap_or_default();
        Ok(U64::from(if pending {
            self.chain.pending_nonce(address, nonce)
        } else {
            nonce
        }))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let Some(account) = state.account(address).map_err(internal)? else {
            return Ok(Bytes::new());
        };
        Ok(state
            .code(account.code_hash)
            .map_err(internal)?
            .unwrap_or_default())
    }

    fn proof(
        &self,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<alloy_rpc_types_eth::EIP1186AccountProofResponse> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let slots: Vec<U256> = keys.iter().map(|k| k.as_b256().into()).collect();
        let Some(proof) = state.proof(address, &slots).map_err(internal)? else {
            return Err(rpc_error(
                codes::SERVER,
                "proofs are served for the head state only: its trie is the one this node keeps",
            ));
        };
        let account = proof.account.unwrap_or_default();
        let (code_hash, storage_hash) = match proof.account {
            Some(account) => (account.code_hash, account.storage_root),
            None => (
                alloy_primitives::KECCAK256_EMPTY,
                alloy_consensus::EMPTY_ROOT_HASH,
            ),
        };
        Ok(alloy_rpc_types_eth::EIP1186AccountProofResponse {
            address,
            balance: account.balance,
            code_hash,
            nonce: account.nonce,
            storage_hash,
            account_proof: proof.account_proof,
            storage_proof: keys
                .into_iter()
                .zip(proof.storage)
                .map(
                    |(key, (_, value, proof))| alloy_rpc_types_eth::EIP1186StorageProof {
                        key,
                        value,
                        proof,
                    },
                )
                .collect(),
        })
    }

    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let value = state.storage(address, slot).map_err(internal)?;
        Ok(B256::from(value))
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes> {
        let (state, overrides, context) =
            simulation_at(&self.reader()?, block, state_overrides, block_overrides)?;
        let outcome = ankr_execution::call_with(
            &state,
            &overrides,
            self.chain.execution_config(),
            &context,
            &call_request(request),
        )
        .map_err(errors::from_call)?;
        match outcome {
            CallOutcome::Success { output, .. } => Ok(output),
            CallOutcome::Revert { output, .. } => Err(errors::reverted(output)),
            CallOutcome::Halt { reason, .. } => Err(rpc_error(
                codes::SERVER,
                format!("execution halted: {reason}"),
            )),
        }
    }

    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<U64> {
        let (state, overrides, context) =
            simulation_at(&self.reader()?, block, state_overrides, block_overrides)?;
        let gas = ankr_execution::estimate_gas_with(
            &state,
            &overrides,
            self.chain.execution_config(),
            &context,
            &call_request(request),
        )
        .map_err(errors::from_call)?;
        Ok(U64::from(gas))
    }

    /// geth's answer: the list, the gas used with it, and `error` if the message failed.
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> RpcResult<alloy_rpc_types_eth::AccessListResult> {
        let (state, overrides, context) =
            simulation_at(&self.reader()?, block, state_overrides, None)?;
        let (access_list, gas_used, result) = ankr_execution::create_access_list(
            &state,
            &overrides,
            self.chain.execution_config(),
            &context,
            &call_request(request),
        )
        .map_err(errors::from_call)?;
        let error = match result {
            ankr_execution::revm::context::result::ExecutionResult::Success { .. } => None,
            ankr_execution::revm::context::result::ExecutionResult::Revert { .. } => {
                Some("execution reverted".to_string())
            }
            ankr_execution::revm::context::result::ExecutionResult::Halt { reason, .. } => {
                Some(format!("execution halted: {reason:?}"))
            }
        };
        Ok(alloy_rpc_types_eth::AccessListResult {
            access_list,
            gas_used: U256::from(gas_used),
            error,
        })
    }

    fn gas_price(&self) -> RpcResult<U256> {
        Ok(U256::from(
            next_base_fee(&self.chain.head()) as u128 + self.suggested_tip(),
        ))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::from(self.suggested_tip()))
    }

    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let count = match &block_count {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s
                .strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok()),
            _ => None,
        }
        .ok_or_else(|| invalid_params("blockCount must be a number or hex quantity"))?;
        let count = count.min(MAX_FEE_HISTORY);
        if let Some(p) = &percentiles {
            if p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]) {
                return Err(invalid_params(
                    "reward percentiles must be ascending within [0, 100]",
                ));
            }
        }
        let reader = self.reader()?;
        let newest = number_of(&reader, newest)?.ok_or_else(header_not_found)?;
        let oldest = (newest + 1).saturating_sub(count);
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..Default::default()
        };
        let mut last = None;
        for number in oldest..=newest {
            if count == 0 {
                break;
            }
            let header = reader
                .header_by_number(number)
                .map_err(internal)?
                .ok_or_else(header_not_found)?;
            history
                .base_fee_per_gas
                .push(header.base_fee_per_gas as u128);
            history
                .gas_used_ratio
                .push(header.gas_used as f64 / header.gas_limit as f64);
            history.base_fee_per_blob_gas.push(0);
            history.blob_gas_used_ratio.push(0.0);
            if let Some(p) = &percentiles {
                let rewards = block_rewards(&reader, &header, p)?;
                history.reward.get_or_insert_with(Vec::new).push(rewards);
            }
            last = Some(header);
        }
        if let Some(last) = last {
            history.base_fee_per_gas.push(next_base_fee(&last) as u128);
            history.base_fee_per_blob_gas.push(0);
        }
        Ok(history)
    }

    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        self.chain
            .submit_raw_transaction(&raw)
            .map_err(errors::from_submit)
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        if let Some(location) = reader.tx_location(hash).map_err(internal)? {
            let block = self.cached_block(&reader, location.block_hash)?;
            let (header, body) = (&block.header, &block.body);
            let index = location.index as usize;
            let (Some(tx), Some(sender)) = (body.transactions.get(index), body.senders.get(index))
            else {
                return Err(internal("transaction index points outside its block"));
            };
            let tx = ankr_types::RecoveredTx::new(tx.clone(), *sender);
            return Ok(Some(convert::transaction(&tx, Some((header, index)))));
        }
        Ok(self
            .chain
            .pooled_transaction(&hash)
            .map(|tx| convert::transaction(&tx, None)))
    }

    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, BlockId::Number(number))? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        let (body, index) = (&block.body, index.to::<usize>());
        Ok(body
            .transactions
            .get(index)
            .zip(body.senders.get(index))
            .map(|(tx, sender)| {
                convert::transaction(
                    &ankr_types::RecoveredTx::new(tx.clone(), *sender),
                    Some((&header, index)),
                )
            }))
    }

    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        if reader.header(hash).map_err(internal)?.is_none() {
            return Ok(None);
        }
        let block = self.cached_block(&reader, hash)?;
        let (header, body, index) = (&block.header, &block.body, index.to::<usize>());
        Ok(body
            .transactions
            .get(index)
            .zip(body.senders.get(index))
            .map(|(tx, sender)| {
                convert::transaction(
                    &ankr_types::RecoveredTx::new(tx.clone(), *sender),
                    Some((header, index)),
                )
            }))
    }

    fn raw_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Bytes>> {
        let reader = self.reader()?;
        if let Some(location) = reader.tx_location(hash).map_err(internal)? {
            let block = self.cached_block(&reader, location.block_hash)?;
            return Ok(block
                .body
                .transactions
                .get(location.index as usize)
                .map(|tx| alloy_eips::Encodable2718::encoded_2718(tx).into()));
        }
        Ok(self
            .chain
            .pooled_transaction(&hash)
            .map(|tx| alloy_eips::Encodable2718::encoded_2718(&tx.tx).into()))
    }

    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, block)? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        let (header, body, receipts) = (&block.header, &block.body, &block.receipts);
        (0..body.transactions.len())
            .map(|index| {
                convert::receipt(header, body, receipts, index)
                    .ok_or_else(|| internal("a block's receipt is missing"))
            })
            .collect::<RpcResult<Vec<_>>>()
            .map(Some)
    }

    /// What geth answers on a chain without blobs (no `excessBlobGas` in its headers): null.
    fn blob_base_fee(&self) -> RpcResult<Option<U256>> {
        Ok(None)
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        let reader = self.reader()?;
        let Some(location) = reader.tx_location(hash).map_err(internal)? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, location.block_hash)?;
        let (header, body, receipts) = (&block.header, &block.body, &block.receipts);
        Ok(convert::receipt(
            header,
            body,
            receipts,
            location.index as usize,
        ))
    }

    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        self.filter_logs_now(&filter)
    }

    fn new_filter(&self, filter: Filter) -> RpcResult<U256> {
        let head = self.chain.head().number;
        // A log filter reports from its fromBlock if that is earlier than the head.
        let start = match filter.block_option.get_from_block() {
            Some(&BlockNumberOrTag::Number(n)) => n.saturating_sub(1).min(head),
            Some(&BlockNumberOrTag::Earliest) => 0,
            _ => head,
        };
        self.filters
            .install(FilterKind::Logs(Box::new(filter)), start)
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn new_block_filter(&self) -> RpcResult<U256> {
        self.filters
            .install(FilterKind::Blocks, self.chain.head().number)
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn new_pending_transaction_filter(&self) -> RpcResult<U256> {
        self.filters
            .install(FilterKind::PendingTransactions, self.chain.latest_arrival())
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value> {
        let reader = self.reader()?;
        let head = head_of(&reader)?.number;
        if let Some(FilterKind::PendingTransactions) = self.filters.get(id).map(|f| f.kind) {
            let seen = self.filters.get(id).map_or(0, |f| f.reported_up_to);
            let (hashes, latest) = self.chain.arrivals_since(seen);
            self.filters.advance(id, latest);
            return serde_json::to_value(hashes).map_err(internal);
        }
        let filter = self
            .filters
            .poll(id, head)
            .ok_or_else(|| rpc_error(codes::SERVER, "filter not found"))?;
        let from = filter.reported_up_to + 1;
        let value = match filter.kind {
            FilterKind::Blocks => {
                let mut hashes = Vec::new();
                for n in from..=head {
                    hashes.extend(reader.canonical_hash(n).map_err(internal)?);
                }
                serde_json::to_value(hashes)
            }
            FilterKind::PendingTransactions => unreachable!("answered above"),
            FilterKind::Logs(filter) => {
                let to = match filter.block_option.get_to_block() {
                    Some(&BlockNumberOrTag::Number(n)) => n.min(head),
                    _ => head,
                };
                let logs = if from > to {
                    vec![]
                } else {
                    self.logs_in_range(&reader, &filter, from, to)?
                };
                serde_json::to_value(logs)
            }
        };
        value.map_err(internal)
    }

    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        match self.filters.get(id).map(|f| f.kind) {
            Some(FilterKind::Logs(filter)) => self.filter_logs_now(&filter),
            Some(_) => Err(invalid_params("filter is not a log filter")),
            None => Err(rpc_error(codes::SERVER, "filter not found")),
        }
    }

    fn uninstall_filter(&self, id: U256) -> RpcResult<bool> {
        Ok(self.filters.uninstall(id))
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        params: Option<serde_json::Value>,
    ) -> SubscriptionResult {
        let logs_filter = match (kind.as_str(), params) {
            ("newHeads", None) => None,
            ("logs", None) => Some(Filter::default()),
            ("logs", Some(filter)) => match serde_json::from_value::<Filter>(filter) {
                Ok(filter) => Some(filter),
                Err(error) => {
                    pending
                        .reject(invalid_params(format!("bad logs filter: {error}")))
                        .await;
                    return Ok(());
                }
            },
            ("newPendingTransactions", full) => {
                let full = match full {
                    None => false,
                    Some(serde_json::Value::Bool(full)) => full,
                    Some(other) => {
                        pending
                            .reject(invalid_params(format!(
                                "newPendingTransactions takes true (full transactions) or false, not {other}"
                            )))
                            .await;
                        return Ok(());
                    }
                };
                return self.pending_transactions(pending, full).await;
            }
            ("newHeads", Some(other)) => {
                pending
                    .reject(invalid_params(format!(
                        "newHeads takes no parameters, got {other}"
                    )))
                    .await;
                return Ok(());
            }
            (other, _) => {
                pending
                    .reject(invalid_params(format!(
                        "unsupported subscription {other:?}: use newHeads, logs or newPendingTransactions"
                    )))
                    .await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        let mut blocks = self.chain.subscribe();
        loop {
            let block = tokio::select! {
                _ = sink.closed() => return Ok(()),
                block = blocks.recv() => match block {
                    Ok(block) => block,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                },
            };
            let messages: Vec<serde_json::Value> = match &logs_filter {
                None => {
                    let body = ankr_storage::StoredBody::default();
                    let mut head = serde_json::to_value(convert::block(
                        &block.header,
                        &body,
                        U256::ZERO,
                        false,
                    ))?;
                    // Ethereum's header fields only, as geth sends them: tools recognise a
                    // header by its keys (web3.py formats one only if 90 % of them are
                    // Ethereum's), and ankr's own (`childChainsRoot`, `seal`) are in
                    // `eth_getBlockByHash`.
                    if let Some(object) = head.as_object_mut() {
                        for key in [
                            "transactions",
                            "totalDifficulty",
                            "uncles",
                            "size",
                            "childChainsRoot",
                            "seal",
                        ] {
                            object.remove(key);
                        }
                    }
                    vec![head]
                }
                Some(filter) => {
                    let logs = convert::block_logs(
                        &block.header,
                        &block.transaction_hashes,
                        &block.receipts,
                    );
                    let mut out = Vec::new();
                    for log in logs
                        .iter()
                        .flatten()
                        .filter(|log| filter.matches(&log.inner))
                    {
                        out.push(serde_json::to_value(log)?);
                    }
                    out
                }
            };
            for message in messages {
                let raw = serde_json::value::to_raw_value(&message)?;
                if sink.send(raw).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

impl EthRpc {
    /// `newPendingTransactions`: each transaction's hash (or, with `full`, the transaction) as
    /// it enters the pool.
    async fn pending_transactions(
        &self,
        pending: PendingSubscriptionSink,
        full: bool,
    ) -> SubscriptionResult {
        let mut arrived = self.chain.subscribe_pending();
        let sink = pending.accept().await?;
        loop {
            let tx = tokio::select! {
                _ = sink.closed() => return Ok(()),
                tx = arrived.recv() => match tx {
                    Ok(tx) => tx,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                },
            };
            let message = if full {
                serde_json::to_value(convert::transaction(&tx, None))?
            } else {
                serde_json::to_value(tx.tx.tx_hash())?
            };
            let raw = serde_json::value::to_raw_value(&message)?;
            if sink.send(raw).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// Effective tips at the given gas-weighted percentiles of one block (as geth computes them).
fn block_rewards(
    reader: &StoreReader,
    header: &Header,
    percentiles: &[f64],
) -> RpcResult<Vec<u128>> {
    let hash = header.hash();
    let body = reader.body(hash).map_err(internal)?.unwrap_or_default();
    let receipts = reader.receipts(hash).map_err(internal)?.unwrap_or_default();
    if body.transactions.is_empty() {
        return Ok(vec![0; percentiles.len()]);
    }
    let mut tips: Vec<(u128, u64)> = Vec::with_capacity(body.transactions.len());
    let mut previous = 0;
    for (tx, receipt) in body.transactions.iter().zip(&receipts) {
        let gas = receipt.cumulative_gas_used() - previous;
        previous = receipt.cumulative_gas_used();
        tips.push((
            tx.effective_tip_per_gas(header.base_fee_per_gas)
                .unwrap_or(0),
            gas,
        ));
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, g)| g).sum();
    Ok(percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map_or(0, |(tip, _)| *tip)
        })
        .collect())
}

#[rpc(server, namespace = "net")]
pub trait NetRpc {
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<U64>;
}

pub struct NetRpc {
    chain: Arc<Chain>,
    /// Peers and sync, when the node is on a network.
    network: Option<NetworkStatus>,
}

impl NetRpc {
    pub fn new(chain: Arc<Chain>, network: Option<NetworkStatus>) -> Self {
        Self { chain, network }
    }
}

impl NetRpcServer for NetRpc {
    fn version(&self) -> RpcResult<String> {
        Ok(self.chain.spec().chain_id.to_string())
    }
    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }
    fn peer_count(&self) -> RpcResult<U64> {
        let peers = self.network.as_ref().map_or(0, |n| n.peer_count());
        Ok(U64::from(peers))
    }
}

#[rpc(server, namespace = "web3")]
pub trait Web3Rpc {
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    #[method(name = "sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<B256>;
}

pub struct Web3Rpc;

impl Web3RpcServer for Web3Rpc {
    fn client_version(&self) -> RpcResult<String> {
        Ok(crate::client_version())
    }
    fn sha3(&self, data: Bytes) -> RpcResult<B256> {
        Ok(alloy_primitives::keccak256(data))
    }
}
