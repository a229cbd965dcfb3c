//! Otterscan's API (`ots_*`, level 8), so that Otterscan runs unmodified against a node. Its
//! traces replay blocks as `trace_*` does; its searches walk blocks (ankr keeps no address
//! index), at most [`MAX_SEARCH_BLOCKS`] a call, and say where they stopped so that
//! Otterscan pages on from there.

use crate::convert;
use crate::errors::{codes, header_not_found, internal, rpc_error};
use crate::trace::Replayable;
use alloy_consensus::Transaction as _;
use alloy_eips::BlockId;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{Transaction, TransactionReceipt};
use alloy_rpc_types_trace::otterscan::{
    ContractCreator, InternalOperation, OtsReceipt, OtsTransactionReceipt, TraceEntry,
};
use ankr_chain::Chain;
use ankr_execution::revm::{context::result::ExecutionResult, inspector::NoOpInspector};
use ankr_storage::{StoreReader, StoredBody};
use ankr_types::{Header, RecoveredTx};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use revm_inspectors::otterscan::InternalOperationsInspector;
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};
use serde_json::{Value, json};
use std::sync::Arc;

/// The Otterscan API level served (Otterscan 2.x asks for 8).
pub const API_LEVEL: u64 = 8;
/// The most blocks one search walks before it answers with what it found.
pub const MAX_SEARCH_BLOCKS: u64 = 10_000;
/// Blocks back the binary searches (creator, sender and nonce) can read state: the node's
/// historical state window.
const STATE_WINDOW: u64 = crate::eth::STATE_HISTORY;

#[rpc(server, client, namespace = "ots")]
pub trait OtterscanApi {
    #[method(name = "getApiLevel")]
    fn api_level(&self) -> RpcResult<u64>;
    #[method(name = "hasCode")]
    fn has_code(&self, address: Address, block: Option<BlockId>) -> RpcResult<bool>;
    #[method(name = "getInternalOperations", blocking)]
    fn internal_operations(&self, hash: B256) -> RpcResult<Vec<InternalOperation>>;
    #[method(name = "getTransactionError", blocking)]
    fn transaction_error(&self, hash: B256) -> RpcResult<Option<Bytes>>;
    #[method(name = "traceTransaction", blocking)]
    fn trace_transaction(&self, hash: B256) -> RpcResult<Option<Vec<TraceEntry>>>;
    #[method(name = "getBlockDetails", blocking)]
    fn block_details(&self, number: u64) -> RpcResult<Option<Value>>;
    #[method(name = "getBlockDetailsByHash", blocking)]
    fn block_details_by_hash(&self, hash: B256) -> RpcResult<Option<Value>>;
    #[method(name = "getBlockTransactions", blocking)]
    fn block_transactions(&self, number: u64, page: usize, page_size: usize) -> RpcResult<Value>;
    #[method(name = "searchTransactionsBefore", blocking)]
    fn search_before(&self, address: Address, block: u64, page_size: usize) -> RpcResult<Value>;
    #[method(name = "searchTransactionsAfter", blocking)]
    fn search_after(&self, address: Address, block: u64, page_size: usize) -> RpcResult<Value>;
    #[method(name = "getTransactionBySenderAndNonce", blocking)]
    fn transaction_by_sender_and_nonce(
        &self,
        sender: Address,
        nonce: u64,
    ) -> RpcResult<Option<B256>>;
    #[method(name = "getContractCreator", blocking)]
    fn contract_creator(&self, address: Address) -> RpcResult<Option<ContractCreator>>;
}

/// Serves `ots_*` over one chain.
pub struct OtterscanRpc {
    chain: Arc<Chain>,
}

impl OtterscanRpc {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }

    fn reader(&self) -> RpcResult<StoreReader> {
        self.chain.reader().map_err(internal)
    }

    fn locate(&self, hash: B256) -> RpcResult<Option<(Replayable, usize)>> {
        Replayable::locate(&self.reader()?, hash)
    }

    /// Canonical block `number`: header, body and receipts.
    fn block(&self, reader: &StoreReader, number: u64) -> RpcResult<Option<FullBlock>> {
        let Some(header) = reader.header_by_number(number).map_err(internal)? else {
            return Ok(None);
        };
        FullBlock::read(reader, header).map(Some)
    }

    /// `ots_getBlockDetails`'s answer for `block`: the block without its transactions, its
    /// count, what it issued and the fees its transactions paid.
    fn details(&self, reader: &StoreReader, block: FullBlock) -> RpcResult<Value> {
        let td = reader
            .total_difficulty(block.header.hash())
            .map_err(internal)?
            .unwrap_or_default();
        let mut rpc = to_value(convert::block(&block.header, &block.body, td, false))?;
        rpc["transactionCount"] = json!(block.body.transactions.len());
        if let Some(map) = rpc.as_object_mut() {
            map.remove("transactions");
        }
        let fees: U256 = block
            .receipts()
            .iter()
            .map(|r| U256::from(r.gas_used) * U256::from(r.effective_gas_price))
            .sum();
        let reward = self.chain.execution_config().block_reward;
        Ok(json!({
            "block": rpc,
            "issuance": { "blockReward": reward, "uncleReward": U256::ZERO, "issuance": reward },
            "totalFees": fees,
        }))
    }

    /// Walks blocks from `start` in `direction` (−1 back, +1 on) collecting the transactions
    /// `address` sent, received or created, whole blocks at a time, until `page_size` are
    /// found, the chain ends or [`MAX_SEARCH_BLOCKS`] are walked.
    fn search(
        &self,
        address: Address,
        start: u64,
        backwards: bool,
        page_size: usize,
    ) -> RpcResult<(Vec<(Transaction, OtsTransactionReceipt)>, bool)> {
        let reader = self.reader()?;
        let head = crate::eth::head_of(&reader)?.number;
        let mut found = Vec::new();
        let mut number = start;
        for _ in 0..MAX_SEARCH_BLOCKS {
            let ended = if backwards {
                number == 0
            } else {
                number >= head
            };
            if ended {
                return Ok((found, true));
            }
            number = if backwards { number - 1 } else { number + 1 };
            let block = self.block(&reader, number)?.ok_or_else(header_not_found)?;
            let receipts = block.receipts();
            let mut in_block: Vec<_> = block
                .transactions()
                .zip(receipts)
                .filter(|(tx, receipt)| {
                    tx.inner.signer() == address
                        || tx.to() == Some(address)
                        || receipt.contract_address == Some(address)
                })
                .map(|(tx, receipt)| (tx, ots_receipt(receipt, block.header.timestamp)))
                .collect();
            // Newest first, as Otterscan lists them.
            in_block.reverse();
            if backwards {
                found.extend(in_block);
            } else {
                in_block.extend(found);
                found = in_block;
            }
            if found.len() >= page_size {
                let ended = if backwards {
                    number == 0
                } else {
                    number >= head
                };
                return Ok((found, ended));
            }
        }
        Ok((found, false))
    }

    /// The first block in `(low, high]` where `holds` is true of the state, given that it is
    /// false at `low` and true at `high` (binary search over historical state).
    fn first_block_where(
        &self,
        reader: &StoreReader,
        mut low: u64,
        mut high: u64,
        holds: impl Fn(&ankr_storage::StateReader) -> RpcResult<bool>,
    ) -> RpcResult<u64> {
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            let state = reader.state_at(middle).map_err(internal)?;
            if holds(&state)? {
                high = middle;
            } else {
                low = middle;
            }
        }
        Ok(high)
    }

    /// The lowest block whose state the binary searches may read, and whether `holds` is
    /// already true there (then the answer is older than the node's state window).
    fn window_start(
        &self,
        reader: &StoreReader,
        holds: &impl Fn(&ankr_storage::StateReader) -> RpcResult<bool>,
    ) -> RpcResult<(u64, bool)> {
        let head = crate::eth::head_of(reader)?.number;
        let low = head.saturating_sub(STATE_WINDOW);
        let state = reader.state_at(low).map_err(internal)?;
        Ok((low, holds(&state)?))
    }
}

impl OtterscanApiServer for OtterscanRpc {
    fn api_level(&self) -> RpcResult<u64> {
        Ok(API_LEVEL)
    }

    fn has_code(&self, address: Address, block: Option<BlockId>) -> RpcResult<bool> {
        let reader = self.reader()?;
        let (_, state) = crate::eth::state_at(&reader, block)?;
        code_at(&state, address)
    }

    fn internal_operations(&self, hash: B256) -> RpcResult<Vec<InternalOperation>> {
        let (block, index) = self.locate(hash)?.ok_or_else(|| not_found(hash))?;
        let operations = block.replay(
            &self.chain,
            |i| i == index,
            InternalOperationsInspector::default,
            |traced, _| traced.inspector.into_operations(),
        )?;
        Ok(operations.into_iter().flatten().collect())
    }

    fn transaction_error(&self, hash: B256) -> RpcResult<Option<Bytes>> {
        let Some((block, index)) = self.locate(hash)? else {
            return Ok(None);
        };
        let outputs = block.replay(
            &self.chain,
            |i| i == index,
            || NoOpInspector,
            |traced, _| match &traced.outcome.result {
                ExecutionResult::Revert { output, .. } => output.clone(),
                _ => Bytes::new(),
            },
        )?;
        Ok(outputs.into_iter().next())
    }

    fn trace_transaction(&self, hash: B256) -> RpcResult<Option<Vec<TraceEntry>>> {
        let Some((block, index)) = self.locate(hash)? else {
            return Ok(None);
        };
        let traces = block.replay(
            &self.chain,
            |i| i == index,
            || TracingInspector::new(TracingInspectorConfig::default_parity()),
            |traced, _| {
                traced
                    .inspector
                    .into_parity_builder()
                    .into_transaction_traces()
                    .iter()
                    .filter_map(TraceEntry::from_transaction_trace)
                    .collect::<Vec<_>>()
            },
        )?;
        Ok(traces.into_iter().next())
    }

    fn block_details(&self, number: u64) -> RpcResult<Option<Value>> {
        let reader = self.reader()?;
        match self.block(&reader, number)? {
            Some(block) => self.details(&reader, block).map(Some),
            None => Ok(None),
        }
    }

    fn block_details_by_hash(&self, hash: B256) -> RpcResult<Option<Value>> {
        let reader = self.reader()?;
        let Some(header) = reader.header(hash).map_err(internal)? else {
            return Ok(None);
        };
        let block = FullBlock::read(&reader, header)?;
        self.details(&reader, block).map(Some)
    }

    fn block_transactions(&self, number: u64, page: usize, page_size: usize) -> RpcResult<Value> {
        let reader = self.reader()?;
        let block = self.block(&reader, number)?.ok_or_else(header_not_found)?;
        let td = reader
            .total_difficulty(block.header.hash())
            .map_err(internal)?
            .unwrap_or_default();
        let count = block.body.transactions.len();
        let first = page.saturating_mul(page_size).min(count);
        let last = first.saturating_add(page_size).min(count);
        let mut rpc = to_value(convert::block(&block.header, &block.body, td, true))?;
        rpc["transactionCount"] = json!(count);
        if let Some(Value::Array(txs)) = rpc.get_mut("transactions") {
            let page: Vec<Value> = txs.drain(first..last).map(truncated_input).collect();
            *txs = page;
        }
        let receipts: Vec<_> = block.receipts()[first..last]
            .iter()
            .cloned()
            .map(|r| ots_receipt(r, block.header.timestamp))
            .collect();
        Ok(json!({ "fullblock": rpc, "receipts": receipts }))
    }

    fn search_before(&self, address: Address, block: u64, page_size: usize) -> RpcResult<Value> {
        let reader = self.reader()?;
        let head = crate::eth::head_of(&reader)?.number;
        // 0 means "from the newest".
        let start = if block == 0 { head + 1 } else { block };
        let (found, last_page) = self.search(address, start, true, page_size)?;
        Ok(page(found, block == 0, last_page))
    }

    fn search_after(&self, address: Address, block: u64, page_size: usize) -> RpcResult<Value> {
        let (found, reached_head) = self.search(address, block, false, page_size)?;
        Ok(page(found, reached_head, block == 0))
    }

    fn transaction_by_sender_and_nonce(
        &self,
        sender: Address,
        nonce: u64,
    ) -> RpcResult<Option<B256>> {
        let reader = self.reader()?;
        let head = crate::eth::head_of(&reader)?.number;
        let used = |state: &ankr_storage::StateReader| -> RpcResult<bool> {
            let account = state.account(sender).map_err(internal)?;
            Ok(account.is_some_and(|a| a.nonce > nonce))
        };
        if !used(&reader.state().map_err(internal)?)? {
            return Ok(None);
        }
        let (low, already) = self.window_start(&reader, &used)?;
        if already {
            return Err(older_than_window("the transaction"));
        }
        let number = self.first_block_where(&reader, low, head, used)?;
        let block = self.block(&reader, number)?.ok_or_else(header_not_found)?;
        Ok(block
            .recovered()
            .find(|tx| tx.sender == sender && tx.tx.nonce() == nonce)
            .map(|tx| tx.hash))
    }

    fn contract_creator(&self, address: Address) -> RpcResult<Option<ContractCreator>> {
        let reader = self.reader()?;
        let head = crate::eth::head_of(&reader)?.number;
        let has_code = |state: &ankr_storage::StateReader| code_at(state, address);
        if !has_code(&reader.state().map_err(internal)?)? {
            return Ok(None);
        }
        let (low, already) = self.window_start(&reader, &has_code)?;
        if already {
            // In the genesis (nobody created it) or before the node's state window.
            return if low == 0 {
                Ok(None)
            } else {
                Err(older_than_window("the contract's creation"))
            };
        }
        let number = self.first_block_where(&reader, low, head, has_code)?;
        let hash = reader
            .canonical_hash(number)
            .map_err(internal)?
            .ok_or_else(header_not_found)?;
        let block = Replayable::load(&reader, hash)?.ok_or_else(header_not_found)?;
        let creations = block.replay(
            &self.chain,
            |_| true,
            || TracingInspector::new(TracingInspectorConfig::default_parity()),
            |traced, _| {
                let tx_hash = block.txs[traced.index].hash;
                traced
                    .inspector
                    .into_parity_builder()
                    .into_transaction_traces()
                    .into_iter()
                    .filter_map(move |trace| {
                        let created = trace.result.as_ref()?.created_contract()?;
                        let creator = trace.action.as_create()?.from;
                        (created == address).then_some(ContractCreator {
                            hash: tx_hash,
                            creator,
                        })
                    })
                    .collect::<Vec<_>>()
            },
        )?;
        Ok(creations.into_iter().flatten().next())
    }
}

/// A canonical block read whole.
struct FullBlock {
    header: Header,
    body: StoredBody,
    receipts: Vec<alloy_consensus::ReceiptEnvelope>,
}

impl FullBlock {
    fn read(reader: &StoreReader, header: Header) -> RpcResult<Self> {
        let hash = header.hash();
        Ok(Self {
            body: reader.body(hash).map_err(internal)?.unwrap_or_default(),
            receipts: reader.receipts(hash).map_err(internal)?.unwrap_or_default(),
            header,
        })
    }

    fn recovered(&self) -> impl Iterator<Item = RecoveredTx> + '_ {
        self.body
            .transactions
            .iter()
            .zip(&self.body.senders)
            .map(|(tx, sender)| RecoveredTx::new(tx.clone(), *sender))
    }

    fn transactions(&self) -> impl Iterator<Item = Transaction> + '_ {
        self.recovered()
            .enumerate()
            .map(|(i, tx)| convert::transaction(&tx, Some((&self.header, i))))
    }

    fn receipts(&self) -> Vec<TransactionReceipt> {
        (0..self.body.transactions.len())
            .filter_map(|i| convert::receipt(&self.header, &self.body, &self.receipts, i))
            .collect()
    }
}

/// A receipt as Otterscan's lists carry it: no logs, no bloom, the block's time.
fn ots_receipt(receipt: TransactionReceipt, timestamp: u64) -> OtsTransactionReceipt {
    let inner = &receipt.inner;
    OtsTransactionReceipt {
        receipt: TransactionReceipt {
            inner: OtsReceipt {
                status: inner.status(),
                cumulative_gas_used: inner.cumulative_gas_used(),
                logs: None,
                logs_bloom: None,
                r#type: inner.tx_type() as u8,
            },
            transaction_hash: receipt.transaction_hash,
            transaction_index: receipt.transaction_index,
            block_hash: receipt.block_hash,
            block_number: receipt.block_number,
            gas_used: receipt.gas_used,
            effective_gas_price: receipt.effective_gas_price,
            blob_gas_used: receipt.blob_gas_used,
            blob_gas_price: receipt.blob_gas_price,
            from: receipt.from,
            to: receipt.to,
            contract_address: receipt.contract_address,
        },
        timestamp: Some(timestamp),
    }
}

/// A page of a search: transactions and receipts, newest first.
fn page(found: Vec<(Transaction, OtsTransactionReceipt)>, first: bool, last: bool) -> Value {
    let (txs, receipts): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    json!({ "txs": txs, "receipts": receipts, "firstPage": first, "lastPage": last })
}

/// A transaction with its input cut to the 4-byte selector, as Otterscan's block pages show it.
fn truncated_input(mut tx: Value) -> Value {
    if let Some(Value::String(input)) = tx.get_mut("input") {
        input.truncate(10);
    }
    tx
}

fn code_at(state: &ankr_storage::StateReader, address: Address) -> RpcResult<bool> {
    let account = state.account(address).map_err(internal)?;
    Ok(account.is_some_and(|a| a.code_hash != alloy_primitives::KECCAK256_EMPTY))
}

fn to_value(value: impl serde::Serialize) -> RpcResult<Value> {
    serde_json::to_value(value).map_err(internal)
}

fn not_found(hash: B256) -> jsonrpsee::types::ErrorObjectOwned {
    rpc_error(codes::SERVER, format!("transaction {hash} not found"))
}

fn older_than_window(what: &str) -> jsonrpsee::types::ErrorObjectOwned {
    rpc_error(
        codes::SERVER,
        format!(
            "{what} is older than the {STATE_WINDOW} blocks of state this node keeps; \
             ask an archive node"
        ),
    )
}
