//! `eth_simulateV1` (execution-apis): several blocks of calls run one after another on a
//! block's state, each block with its own state and block overrides, every change carried to
//! the next call and block, nothing kept. Without validation the calls run as `eth_call` runs
//! them (no nonce or fee checks); with it, as transactions in a block would.

use crate::call::{message, not_run};
use crate::{BlockContext, BlockState, CallError, CallRequest, ChainConfig, Overrides, StateDb};
use ankr_storage::StateReader;
use revm::{
    Context, DatabaseCommit, DatabaseRef, ExecuteEvm, MainBuilder, MainContext,
    context::{TxEnv, result::ExecutionResult},
};

/// One block to simulate: its context (number, time, fees… after overrides), the state
/// overrides applied before its first call, and its calls.
pub struct SimulationBlock {
    pub context: BlockContext,
    pub overrides: Overrides,
    pub calls: Vec<CallRequest>,
}

/// One simulated call: the transaction it ran as and what it did.
pub struct SimulatedCall {
    pub tx: TxEnv,
    pub result: ExecutionResult,
}

/// Runs `blocks` in order on `state`; with `validation`, nonces and fees are checked as in a
/// real block (a missing nonce is the sender's next). A call that cannot run at all fails the
/// whole simulation, naming it; a revert or halt is that call's result.
pub fn simulate(
    state: &StateReader,
    chain: &ChainConfig,
    blocks: &[SimulationBlock],
    validation: bool,
) -> Result<Vec<Vec<SimulatedCall>>, CallError> {
    let mut db = BlockState::new(StateDb { reader: state });
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks {
        db.apply(&block.overrides)?;
        let mut calls = Vec::with_capacity(block.calls.len());
        let mut left = block.context.gas_limit;
        for (index, request) in block.calls.iter().enumerate() {
            let gas = request.gas.unwrap_or(left.min(chain.max_tx_gas));
            let (mut cfg, mut tx) = message(chain, request, gas);
            if validation {
                cfg.disable_nonce_check = false;
                cfg.disable_base_fee = false;
                cfg.disable_eip3607 = false;
                if request.nonce.is_none() {
                    tx.nonce = db
                        .basic_ref(tx.caller)?
                        .map(|a| a.nonce)
                        .unwrap_or_default();
                }
            }
            let mut evm = Context::mainnet()
                .with_db(&mut db)
                .with_cfg(cfg)
                .with_block(block.context.block_env())
                .build_mainnet();
            evm.precompiles = crate::config::ankr_precompiles();
            let outcome = evm.transact(tx.clone()).map_err(|e| match not_run(e) {
                CallError::Invalid(why) => CallError::Invalid(format!("call {index}: {why}")),
                other => other,
            })?;
            let used = outcome.result.gas().tx_gas_used();
            if used > left {
                return Err(CallError::Invalid(format!(
                    "call {index}: block gas limit reached ({} left, {used} used)",
                    left
                )));
            }
            left -= used;
            db.commit(outcome.state);
            calls.push(SimulatedCall {
                tx,
                result: outcome.result,
            });
        }
        out.push(calls);
    }
    Ok(out)
}
