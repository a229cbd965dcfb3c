//! Replays with an inspector watching: what `debug_trace*`, `trace_*` and `ots_*` are made of.
//! A block's transactions are replayed on its parent's state exactly as the block ran them
//! (its anchor first, every earlier transaction committed), so a trace shows what the chain
//! executed; a call is traced as `eth_call` runs it.

use crate::call::{message, not_run, simulation_db};
use crate::executor::write_anchor;
use crate::{
    BlockContext, BlockState, CallError, CallRequest, ChainConfig, ExecutionError, Overrides,
    StateDb, StateError, tx_env,
};
use ankr_storage::StateReader;
use ankr_types::RecoveredTx;
use revm::{
    Context, DatabaseCommit, ExecuteCommitEvm, InspectEvm, Inspector, MainBuilder, MainContext,
    context::{
        TxEnv,
        result::{EVMError, ResultAndState},
    },
    handler::MainnetContext,
};

/// The database a replayed block runs on: its parent's state under what the block wrote so far.
pub type ReplayDb<'a> = BlockState<StateDb<'a>>;

/// One watched transaction of a replay.
pub struct Traced<'a, I> {
    /// Its index in the block.
    pub index: usize,
    pub tx: &'a TxEnv,
    /// The inspector that watched it alone.
    pub inspector: I,
    /// What it did, before it is committed.
    pub outcome: &'a ResultAndState,
}

/// Replays the first transactions of a block (those up to the last one `watch` selects) on
/// `state`, its parent's, and hands each watched one to `visit` with a fresh inspector from
/// `inspector` and the state just before it (where prestate and diff tracers read the values
/// it replaced). The others run without an inspector, as fast as import runs them.
pub fn replay_block<'s, I, R>(
    state: &'s StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    txs: &[RecoveredTx],
    watch: impl Fn(usize) -> bool,
    mut inspector: impl FnMut() -> I,
    mut visit: impl FnMut(Traced<'_, I>, &ReplayDb<'s>) -> R,
) -> Result<Vec<R>, ExecutionError>
where
    I: Inspector<MainnetContext<ReplayDb<'s>>>,
{
    let Some(last) = (0..txs.len()).rev().find(|&i| watch(i)) else {
        return Ok(Vec::new());
    };
    let mut evm = Context::mainnet()
        .with_db(BlockState::new(StateDb { reader: state }))
        .with_cfg(chain.cfg_env())
        .with_block(block.block_env())
        .build_mainnet_with_inspector(inspector());
    evm.precompiles = crate::config::ankr_precompiles();
    write_anchor(&mut evm, chain, block)?;
    let mut out = Vec::new();
    for (index, tx) in txs.iter().enumerate().take(last + 1) {
        let env = tx_env(&tx.tx, tx.sender);
        let invalid = |error: EVMError<StateError>| match error {
            EVMError::Database(e) => ExecutionError::State(e),
            other => ExecutionError::InvalidTransaction {
                index,
                hash: tx.hash,
                reason: other.to_string(),
            },
        };
        if !watch(index) {
            evm.transact_commit(env).map_err(invalid)?;
            continue;
        }
        evm.set_inspector(inspector());
        let outcome = evm.inspect_tx(env.clone()).map_err(invalid)?;
        let watched = std::mem::replace(&mut evm.inspector, inspector());
        out.push(visit(
            Traced {
                index,
                tx: &env,
                inspector: watched,
                outcome: &outcome,
            },
            &evm.ctx.journaled_state.database,
        ));
        evm.ctx.journaled_state.database.commit(outcome.state);
    }
    Ok(out)
}

/// Runs `request` as `eth_call` would on `state` under `overrides`, watched by `inspector`;
/// returns the inspector, the message's transaction, what it did and the state it ran on.
pub fn trace_call<'s, I>(
    state: &'s StateReader,
    overrides: &'s Overrides,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
    inspector: I,
) -> Result<CallTrace<'s, I>, CallError>
where
    I: Inspector<MainnetContext<BlockState<crate::OverriddenDb<'s, StateDb<'s>>>>>,
{
    let gas = request.gas_within(chain);
    let (cfg, tx) = message(chain, request, gas);
    let mut evm = Context::mainnet()
        .with_db(simulation_db(state, overrides))
        .with_cfg(cfg)
        .with_block(block.block_env())
        .build_mainnet_with_inspector(inspector);
    evm.precompiles = crate::config::ankr_precompiles();
    let outcome = evm.inspect_tx(tx.clone()).map_err(not_run)?;
    Ok(CallTrace {
        inspector: evm.inspector,
        tx,
        outcome,
        db: evm.ctx.journaled_state.database,
    })
}

/// A traced call: see [`trace_call`].
pub struct CallTrace<'s, I> {
    pub inspector: I,
    pub tx: TxEnv,
    pub outcome: ResultAndState,
    pub db: BlockState<crate::OverriddenDb<'s, StateDb<'s>>>,
}
