//! Tracing, as reth serves it with the same `revm-inspectors`: geth's `debug_trace*` (the
//! struct logger, `callTracer`, `flatCallTracer`, `prestateTracer` with `diffMode`,
//! `4byteTracer`, `muxTracer`, `noopTracer`) and parity's `trace_*`. Every trace replays the
//! block on its parent's state exactly as the chain ran it (`ankr_execution::trace`).

use crate::errors::{codes, from_call, header_not_found, internal, invalid_params, rpc_error};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{B256, map::HashSet};
use alloy_rpc_types_eth::{TransactionInfo, TransactionRequest};
use alloy_rpc_types_trace::{
    common::TraceResult,
    filter::TraceFilter,
    geth::{GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace},
    parity::{LocalizedTransactionTrace, TraceResultsWithTransactionHash, TraceType},
};
use ankr_chain::Chain;
use ankr_execution::BlockContext;
use ankr_execution::revm::{Inspector, handler::MainnetContext};
use ankr_execution::trace::{ReplayDb, Traced, replay_block, trace_call};
use ankr_storage::{StateReader, StoreReader};
use ankr_types::{Header, RecoveredTx};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use revm_inspectors::tracing::{
    DebugInspector, TracingInspector, TracingInspectorConfig, TransactionContext,
};
use std::sync::Arc;

/// The most blocks one `trace_filter` replays: each costs a block's execution.
pub const MAX_TRACE_FILTER_BLOCKS: u64 = 1_000;

#[rpc(server, client, namespace = "debug")]
pub trait DebugTraceApi {
    #[method(name = "traceTransaction", blocking)]
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace>;
    #[method(name = "traceCall", blocking)]
    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace>;
    #[method(name = "traceBlockByNumber", blocking)]
    fn trace_block_by_number(
        &self,
        number: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult<GethTrace, String>>>;
    #[method(name = "traceBlockByHash", blocking)]
    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult<GethTrace, String>>>;
}

#[rpc(server, client, namespace = "trace")]
pub trait ParityTraceApi {
    #[method(name = "transaction", blocking)]
    fn transaction(&self, hash: B256) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>>;
    #[method(name = "block", blocking)]
    fn block(&self, block: BlockId) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>>;
    #[method(name = "replayBlockTransactions", blocking)]
    fn replay_block_transactions(
        &self,
        block: BlockId,
        trace_types: HashSet<TraceType>,
    ) -> RpcResult<Option<Vec<TraceResultsWithTransactionHash>>>;
    #[method(name = "filter", blocking)]
    fn filter(&self, filter: TraceFilter) -> RpcResult<Vec<LocalizedTransactionTrace>>;
}

/// Serves the tracing namespaces over one chain.
pub struct TraceRpc {
    chain: Arc<Chain>,
}

impl TraceRpc {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }
}

/// A canonical block ready to replay: its header, its transactions and its parent's state.
pub(crate) struct Replayable {
    pub header: Header,
    pub txs: Vec<RecoveredTx>,
    parent_state: StateReader,
}

impl Replayable {
    /// The canonical block `hash` (`None` if unknown), with its parent's state.
    pub(crate) fn load(reader: &StoreReader, hash: B256) -> RpcResult<Option<Self>> {
        let Some(header) = reader.header(hash).map_err(internal)? else {
            return Ok(None);
        };
        if reader.canonical_hash(header.number).map_err(internal)? != Some(hash) {
            return Err(rpc_error(
                codes::SERVER,
                "only canonical blocks can be traced: this block is on a side branch",
            ));
        }
        if header.number == 0 {
            return Ok(Some(Self {
                header,
                txs: Vec::new(),
                parent_state: reader.state().map_err(internal)?,
            }));
        }
        let head = crate::eth::head_of(reader)?.number;
        if head - (header.number - 1) > crate::eth::STATE_HISTORY {
            return Err(rpc_error(
                codes::SERVER,
                format!(
                    "block {} is too old to trace: this node keeps the state of the last {} \
                     blocks (head {head})",
                    header.number,
                    crate::eth::STATE_HISTORY
                ),
            ));
        }
        let parent_state = reader.state_at(header.number - 1).map_err(|e| {
            rpc_error(
                codes::SERVER,
                format!(
                    "the state before block {} is not available: {e}",
                    header.number
                ),
            )
        })?;
        let body = reader.body(hash).map_err(internal)?.unwrap_or_default();
        let txs = body
            .transactions
            .into_iter()
            .zip(body.senders)
            .map(|(tx, sender)| RecoveredTx::new(tx, sender))
            .collect();
        Ok(Some(Self {
            header,
            txs,
            parent_state,
        }))
    }

    /// The block transaction `hash` is in, ready to replay, and its index there.
    pub(crate) fn locate(reader: &StoreReader, hash: B256) -> RpcResult<Option<(Self, usize)>> {
        let Some(location) = reader.tx_location(hash).map_err(internal)? else {
            return Ok(None);
        };
        let block = Self::load(reader, location.block_hash)?.ok_or_else(header_not_found)?;
        Ok(Some((block, location.index as usize)))
    }

    /// Replays the transactions `watch` selects (see [`replay_block`]).
    pub(crate) fn replay<'a, I, R>(
        &'a self,
        chain: &Chain,
        watch: impl Fn(usize) -> bool,
        inspector: impl FnMut() -> I,
        visit: impl FnMut(Traced<'_, I>, &ReplayDb<'a>) -> R,
    ) -> RpcResult<Vec<R>>
    where
        I: Inspector<MainnetContext<ReplayDb<'a>>>,
    {
        replay_block(
            &self.parent_state,
            chain.execution_config(),
            &BlockContext::of(&self.header),
            &self.txs,
            watch,
            inspector,
            visit,
        )
        .map_err(|e| internal(format!("replaying block {}: {e}", self.header.number)))
    }

    /// What parity's and Otterscan's traces say of transaction `index`.
    pub(crate) fn info(&self, index: usize) -> TransactionInfo {
        TransactionInfo {
            hash: self.txs.get(index).map(|tx| tx.hash),
            index: Some(index as u64),
            block_hash: Some(self.header.hash()),
            block_number: Some(self.header.number),
            base_fee: Some(self.header.base_fee_per_gas),
            block_timestamp: Some(self.header.timestamp),
        }
    }
}

impl TraceRpc {
    fn reader(&self) -> RpcResult<StoreReader> {
        self.chain.reader().map_err(internal)
    }

    fn locate(&self, hash: B256) -> RpcResult<Option<(Replayable, usize)>> {
        Replayable::locate(&self.reader()?, hash)
    }

    fn block_hash(&self, block: BlockId) -> RpcResult<Option<B256>> {
        let reader = self.reader()?;
        Ok(crate::eth::header_of(&reader, block)?.map(|h| h.hash()))
    }

    /// geth's traces of every transaction in block `hash`, each with its hash.
    fn geth_block(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult<GethTrace, String>>> {
        let reader = self.reader()?;
        let block = Replayable::load(&reader, hash)?.ok_or_else(header_not_found)?;
        geth_traces(&self.chain, &block, |_| true, options.unwrap_or_default())
    }

    /// Parity's call traces of the transactions `watch` selects in `block`.
    fn parity_traces(
        &self,
        block: &Replayable,
        watch: impl Fn(usize) -> bool,
    ) -> RpcResult<Vec<LocalizedTransactionTrace>> {
        let traces = block.replay(
            &self.chain,
            watch,
            || TracingInspector::new(TracingInspectorConfig::default_parity()),
            |traced, _| {
                traced
                    .inspector
                    .into_parity_builder()
                    .into_localized_transaction_traces(block.info(traced.index))
            },
        )?;
        Ok(traces.into_iter().flatten().collect())
    }
}

/// geth's traces of the transactions `watch` selects in `block`.
fn geth_traces(
    chain: &Chain,
    block: &Replayable,
    watch: impl Fn(usize) -> bool,
    options: GethDebugTracingOptions,
) -> RpcResult<Vec<TraceResult<GethTrace, String>>> {
    let template = DebugInspector::new(options).map_err(|e| invalid_params(e.to_string()))?;
    let block_env = BlockContext::of(&block.header).block_env();
    let block_hash = block.header.hash();
    block.replay(
        chain,
        watch,
        || template.try_clone().expect("a built-in tracer clones"),
        |traced, db| {
            let mut inspector = traced.inspector;
            let tx_hash = block.txs[traced.index].hash;
            let context = TransactionContext {
                block_hash: Some(block_hash),
                tx_index: Some(traced.index),
                tx_hash: Some(tx_hash),
            };
            match inspector.get_result(
                Some(context),
                traced.tx,
                &block_env,
                traced.outcome,
                &mut &*db,
            ) {
                Ok(result) => TraceResult::Success {
                    result,
                    tx_hash: Some(tx_hash),
                },
                Err(error) => TraceResult::Error {
                    error: error.to_string(),
                    tx_hash: Some(tx_hash),
                },
            }
        },
    )
}

impl DebugTraceApiServer for TraceRpc {
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace> {
        let (block, index) = self
            .locate(hash)?
            .ok_or_else(|| rpc_error(codes::SERVER, format!("transaction {hash} not found")))?;
        let traces = geth_traces(
            &self.chain,
            &block,
            |i| i == index,
            options.unwrap_or_default(),
        )?;
        match traces.into_iter().next() {
            Some(TraceResult::Success { result, .. }) => Ok(result),
            Some(TraceResult::Error { error, .. }) => Err(rpc_error(codes::SERVER, error)),
            None => Err(internal("the replay did not reach the transaction")),
        }
    }

    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace> {
        let options = options.unwrap_or_default();
        if options.tx_index.is_some() {
            return Err(invalid_params(
                "txIndex is not supported: debug_traceCall runs on the block's final state",
            ));
        }
        let simulation = crate::eth::Simulation::at(
            &self.reader()?,
            block,
            crate::overrides::to_json(options.state_overrides)?,
            crate::overrides::to_json(options.block_overrides)?,
        )?;
        let inspector = DebugInspector::new(options.tracing_options)
            .map_err(|e| invalid_params(e.to_string()))?;
        let (state, overrides, context) = simulation.parts();
        let traced = trace_call(
            state,
            overrides,
            self.chain.execution_config(),
            context,
            &crate::eth::call_request(request),
            inspector,
        )
        .map_err(from_call)?;
        let mut inspector = traced.inspector;
        inspector
            .get_result(
                None,
                &traced.tx,
                &context.block_env(),
                &traced.outcome,
                &mut &traced.db,
            )
            .map_err(|e| rpc_error(codes::SERVER, e.to_string()))
    }

    fn trace_block_by_number(
        &self,
        number: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult<GethTrace, String>>> {
        let hash = self
            .block_hash(BlockId::Number(number))?
            .ok_or_else(header_not_found)?;
        self.geth_block(hash, options)
    }

    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult<GethTrace, String>>> {
        self.geth_block(hash, options)
    }
}

impl ParityTraceApiServer for TraceRpc {
    fn transaction(&self, hash: B256) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>> {
        let Some((block, index)) = self.locate(hash)? else {
            return Ok(None);
        };
        self.parity_traces(&block, |i| i == index).map(Some)
    }

    fn block(&self, block: BlockId) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>> {
        let Some(hash) = self.block_hash(block)? else {
            return Ok(None);
        };
        let reader = self.reader()?;
        let Some(block) = Replayable::load(&reader, hash)? else {
            return Ok(None);
        };
        self.parity_traces(&block, |_| true).map(Some)
    }

    fn replay_block_transactions(
        &self,
        block: BlockId,
        trace_types: HashSet<TraceType>,
    ) -> RpcResult<Option<Vec<TraceResultsWithTransactionHash>>> {
        let Some(hash) = self.block_hash(block)? else {
            return Ok(None);
        };
        let reader = self.reader()?;
        let Some(block) = Replayable::load(&reader, hash)? else {
            return Ok(None);
        };
        let results = block.replay(
            &self.chain,
            |_| true,
            || TracingInspector::new(TracingInspectorConfig::from_parity_config(&trace_types)),
            |traced, db| {
                traced
                    .inspector
                    .into_parity_builder()
                    .into_trace_results_with_state(traced.outcome, &trace_types, db)
                    .map(|full_trace| TraceResultsWithTransactionHash {
                        full_trace,
                        transaction_hash: block.txs[traced.index].hash,
                    })
            },
        )?;
        results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(internal)
    }

    fn filter(&self, filter: TraceFilter) -> RpcResult<Vec<LocalizedTransactionTrace>> {
        let reader = self.reader()?;
        let head = crate::eth::head_of(&reader)?.number;
        let from = filter.from_block.unwrap_or(0);
        let to = filter.to_block.unwrap_or(head).min(head);
        if from > to {
            return Err(invalid_params(format!(
                "fromBlock {from} is after toBlock {to}"
            )));
        }
        if to - from >= MAX_TRACE_FILTER_BLOCKS {
            return Err(invalid_params(format!(
                "trace_filter spans {} blocks; at most {MAX_TRACE_FILTER_BLOCKS} are replayed per call",
                to - from + 1
            )));
        }
        let matcher = filter.matcher();
        let mut found = Vec::new();
        for number in from..=to {
            let hash = reader
                .canonical_hash(number)
                .map_err(internal)?
                .ok_or_else(header_not_found)?;
            let block = Replayable::load(&reader, hash)?.ok_or_else(header_not_found)?;
            found.extend(
                self.parity_traces(&block, |_| true)?
                    .into_iter()
                    .filter(|trace| matcher.matches(&trace.trace)),
            );
        }
        let after = filter.after.unwrap_or(0) as usize;
        let count = filter.count.map_or(usize::MAX, |c| c as usize);
        Ok(found.into_iter().skip(after).take(count).collect())
    }
}
