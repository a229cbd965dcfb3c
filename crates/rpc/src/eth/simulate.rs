//! `eth_simulateV1` (execution-apis, as geth serves it): blocks of calls on top of a block's
//! state, each with its own overrides, answered as blocks with each call's result; and
//! `eth_fillTransaction`: a transaction completed (nonce, gas, fees) for a wallet to sign.

use super::*;
use alloy_consensus::{Signed, TxEip1559, TxEnvelope, TxLegacy};
use alloy_primitives::Signature;
use alloy_rpc_types_eth::simulate::{SimBlock, SimulatePayload};
use ankr_execution::revm::context::result::ExecutionResult;
use ankr_execution::simulate::{SimulatedCall, SimulationBlock, simulate};
use ankr_types::RecoveredTx;
use serde_json::{Value, json};

/// The most blocks one simulation may hold (geth's limit).
pub const MAX_SIMULATE_BLOCKS: usize = 256;

#[rpc(server, namespace = "eth")]
pub trait EthSimulateApi {
    #[method(name = "simulateV1", blocking)]
    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<Value>>;
    #[method(name = "fillTransaction", blocking)]
    fn fill_transaction(&self, request: TransactionRequest) -> RpcResult<Value>;
}

impl EthSimulateApiServer for EthRpc {
    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<Value>> {
        if payload.trace_transfers {
            return Err(invalid_params(
                "traceTransfers is not supported yet: simulate without it and read the logs",
            ));
        }
        if payload.block_state_calls.len() > MAX_SIMULATE_BLOCKS {
            return Err(invalid_params(format!(
                "too many blocks: at most {MAX_SIMULATE_BLOCKS}"
            )));
        }
        let reader = self.reader()?;
        let (base, state) = state_at(&reader, block)?;
        let blocks = self.blocks_of(&base, payload.block_state_calls, payload.validation)?;
        let results = simulate(
            &state,
            self.chain.execution_config(),
            &blocks,
            payload.validation,
        )
        .map_err(errors::from_call)?;
        let mut parent = base.hash();
        let mut answer = Vec::with_capacity(blocks.len());
        for (block, calls) in blocks.iter().zip(results) {
            let (json, hash) =
                simulated_block(parent, block, calls, payload.return_full_transactions)?;
            parent = hash;
            answer.push(json);
        }
        Ok(answer)
    }

    fn fill_transaction(&self, request: TransactionRequest) -> RpcResult<Value> {
        self.fill(request)
    }
}

impl EthRpc {
    /// geth's `eth_fillTransaction`: the sender's next nonce (the pool counted), the gas an
    /// estimate finds, EIP-1559 fees (legacy if a `gasPrice` is given) and this chain's id;
    /// answered as `{ raw, tx }`, the unsigned transaction's encoding and its JSON.
    fn fill(&self, mut request: TransactionRequest) -> RpcResult<Value> {
        let from = request
            .from
            .ok_or_else(|| invalid_params("from is required: whose nonce and balance to use"))?;
        let reader = self.reader()?;
        let head = head_of(&reader)?;
        if request.nonce.is_none() {
            request.nonce = Some(self.chain.pending_nonce(from).map_err(internal)?);
        }
        let chain_id = self.chain.spec().chain_id;
        if request.chain_id.is_some_and(|id| id != chain_id) {
            return Err(invalid_params(format!("chainId must be {chain_id}")));
        }
        request.chain_id = Some(chain_id);
        let legacy = request.gas_price.is_some();
        if !legacy {
            let tip = request
                .max_priority_fee_per_gas
                .unwrap_or(self.suggested_tip());
            request.max_priority_fee_per_gas = Some(tip);
            request.max_fee_per_gas.get_or_insert(
                ankr_types::fees::Fees::following(next_base_fee(&head) as u128, tip)
                    .max_fee_per_gas,
            );
        }
        if request.gas.is_none() {
            let gas = Simulation::at(&reader, None, None, None)?.run(
                &self.chain,
                request.clone(),
                ankr_execution::estimate_gas_with,
            )?;
            request.gas = Some(gas);
        }
        let call = call_request(request);
        let filled = unsigned(&ankr_execution::revm::context::TxEnv {
            tx_type: if legacy { 0 } else { 2 },
            caller: from,
            gas_limit: call.gas.unwrap_or_default(),
            gas_price: if legacy {
                call.gas_price
            } else {
                call.max_fee_per_gas
            }
            .unwrap_or_default(),
            gas_priority_fee: call.max_priority_fee_per_gas,
            kind: call.to.map_or(TxKind::Create, TxKind::Call),
            value: call.value.unwrap_or_default(),
            data: call.input,
            nonce: call.nonce.unwrap_or_default(),
            chain_id: Some(chain_id),
            access_list: call.access_list.unwrap_or_default(),
            ..Default::default()
        });
        let raw = Bytes::from(alloy_eips::Encodable2718::encoded_2718(&filled.tx));
        let tx = convert::transaction(&filled, None);
        Ok(json!({ "raw": raw, "tx": tx }))
    }

    /// Each block's context (its number and time following the one before unless
    /// overridden; without validation, no base fee), overrides and calls.
    fn blocks_of(
        &self,
        base: &Header,
        blocks: Vec<SimBlock>,
        validation: bool,
    ) -> RpcResult<Vec<SimulationBlock>> {
        let step = self.chain.spec().target_block_time_ms.div_ceil(1000).max(1);
        let mut parent = BlockContext::of(base);
        parent.base_fee = base.base_fee_per_gas;
        let mut parent_header = base.clone();
        let mut out = Vec::with_capacity(blocks.len());
        for (index, block) in blocks.into_iter().enumerate() {
            let mut context = parent.clone();
            context.number = parent.number + 1;
            context.timestamp = parent.timestamp + step;
            context.base_fee = if validation {
                next_base_fee(&parent_header)
            } else {
                0
            };
            let mut overrides =
                crate::overrides::state(crate::overrides::to_json(block.state_overrides)?)?;
            crate::overrides::block(
                crate::overrides::to_json(block.block_overrides)?,
                &mut context,
                &mut overrides,
            )?;
            if !overrides.block_hashes.is_empty() {
                return Err(invalid_params(
                    "blockHash overrides are not supported by eth_simulateV1",
                ));
            }
            if context.number != parent.number + 1 {
                return Err(invalid_params(format!(
                    "block {index}: number {} must follow {} (gaps are not filled)",
                    context.number, parent.number
                )));
            }
            if context.timestamp <= parent.timestamp {
                return Err(invalid_params(format!(
                    "block {index}: timestamp {} must be after {}",
                    context.timestamp, parent.timestamp
                )));
            }
            parent_header.number = context.number;
            parent_header.timestamp = context.timestamp;
            parent_header.base_fee_per_gas = context.base_fee;
            parent_header.gas_limit = context.gas_limit;
            parent = context.clone();
            out.push(SimulationBlock {
                context,
                overrides,
                calls: block.calls.into_iter().map(call_request).collect(),
            });
        }
        Ok(out)
    }
}

/// A simulated block as geth answers it: a block (its transactions unsigned, with a zero
/// signature, from the call's sender; no state root, since nothing is committed) and its calls.
fn simulated_block(
    parent: B256,
    block: &SimulationBlock,
    calls: Vec<SimulatedCall>,
    full: bool,
) -> RpcResult<(Value, B256)> {
    let context = &block.context;
    let mut txs = Vec::with_capacity(calls.len());
    let mut receipts = Vec::with_capacity(calls.len());
    let mut cumulative = 0;
    for call in &calls {
        txs.push(unsigned(&call.tx));
        cumulative += call.result.gas().tx_gas_used();
        receipts.push(alloy_consensus::ReceiptEnvelope::Eip1559(
            alloy_consensus::ReceiptWithBloom::from(alloy_consensus::Receipt {
                status: call.result.is_success().into(),
                cumulative_gas_used: cumulative,
                logs: call.result.logs().to_vec(),
            }),
        ));
    }
    let mut bloom = alloy_primitives::Bloom::default();
    for receipt in &receipts {
        bloom.accrue_bloom(&alloy_consensus::TxReceipt::bloom(receipt));
    }
    let header = Header {
        parent_hash: parent,
        beneficiary: context.beneficiary,
        transactions_root: ankr_execution::transactions_root(&txs),
        receipts_root: ankr_execution::receipts_root(&receipts),
        logs_bloom: bloom,
        number: context.number,
        gas_limit: context.gas_limit,
        gas_used: cumulative,
        timestamp: context.timestamp,
        base_fee_per_gas: context.base_fee,
        state_root: B256::ZERO,
        difficulty: context.difficulty,
        extra_data: Bytes::new(),
        child_chains_root: B256::ZERO,
        seal: ankr_types::Seal::dev(),
    };
    let hash = header.hash();
    let body = ankr_storage::StoredBody {
        transactions: txs.iter().map(|t| t.tx.clone()).collect(),
        senders: txs.iter().map(|t| t.sender).collect(),
    };
    let mut json =
        serde_json::to_value(convert::block(&header, &body, U256::ZERO, full)).map_err(internal)?;
    let mut log_index = 0u64;
    let results: Vec<Value> = calls
        .iter()
        .zip(&txs)
        .enumerate()
        .map(|(index, (call, tx))| {
            let logs: Vec<Log> = call
                .result
                .logs()
                .iter()
                .map(|inner| {
                    log_index += 1;
                    Log {
                        inner: inner.clone(),
                        block_hash: Some(hash),
                        block_number: Some(context.number),
                        block_timestamp: Some(context.timestamp),
                        transaction_hash: Some(tx.hash),
                        transaction_index: Some(index as u64),
                        log_index: Some(log_index - 1),
                        removed: false,
                    }
                })
                .collect();
            let gas_used = call.result.gas().tx_gas_used();
            let (status, data, error) = match &call.result {
                ExecutionResult::Success { output, .. } => (true, output.data().clone(), None),
                ExecutionResult::Revert { output, .. } => (
                    false,
                    output.clone(),
                    Some(json!({ "code": 3, "message": "execution reverted", "data": output })),
                ),
                ExecutionResult::Halt { reason, .. } => (
                    false,
                    Bytes::new(),
                    Some(json!({ "code": -32015, "message": format!("execution halted: {reason:?}") })),
                ),
            };
            let mut result = json!({
                "status": if status { "0x1" } else { "0x0" },
                "returnData": data,
                "gasUsed": U64::from(gas_used),
                "logs": logs,
            });
            if let Some(error) = error {
                result["error"] = error;
            }
            result
        })
        .collect();
    json["calls"] = Value::Array(results);
    Ok((json, hash))
}

/// A call's transaction as geth shows a simulated one: unsigned (zero signature), from its sender.
fn unsigned(tx: &ankr_execution::revm::context::TxEnv) -> RecoveredTx {
    let signature = Signature::new(U256::ZERO, U256::ZERO, false);
    let envelope = match tx.tx_type {
        0 => TxEnvelope::Legacy(Signed::new_unhashed(
            TxLegacy {
                chain_id: tx.chain_id,
                nonce: tx.nonce,
                gas_price: tx.gas_price,
                gas_limit: tx.gas_limit,
                to: tx.kind,
                value: tx.value,
                input: tx.data.clone(),
            },
            signature,
        )),
        _ => TxEnvelope::Eip1559(Signed::new_unhashed(
            TxEip1559 {
                chain_id: tx.chain_id.unwrap_or_default(),
                nonce: tx.nonce,
                gas_limit: tx.gas_limit,
                max_fee_per_gas: tx.gas_price,
                max_priority_fee_per_gas: tx.gas_priority_fee.unwrap_or_default(),
                to: tx.kind,
                value: tx.value,
                access_list: tx.access_list.clone(),
                input: tx.data.clone(),
            },
            signature,
        )),
    };
    RecoveredTx::new(envelope, tx.caller)
}
