//! `eth_call` and `eth_estimateGas`: run a message against head state and keep nothing.

use crate::{BlockContext, BlockState, ChainConfig, OverriddenDb, Overrides, StateDb, StateError};
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use ankr_storage::StateReader;
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{
        TxEnv,
        result::{EVMError, ExecutionResult},
    },
};

/// A message to simulate, as `eth_call` receives it (every field optional).
#[derive(Clone, Debug, Default)]
pub struct CallRequest {
    pub from: Option<Address>,
    pub to: Option<Address>,
    pub gas: Option<u64>,
    pub gas_price: Option<u128>,
    pub max_fee_per_gas: Option<u128>,
    pub max_priority_fee_per_gas: Option<u128>,
    pub value: Option<U256>,
    pub input: Bytes,
    pub nonce: Option<u64>,
    pub access_list: Option<AccessList>,
    /// EIP-7702 delegations: each costs intrinsic gas and sets code before the call runs.
    pub authorization_list: Option<Vec<alloy_eips::eip7702::SignedAuthorization>>,
}

impl CallRequest {
    /// The gas a simulation gives the request: its own, or the per-transaction cap, never
    /// more than the cap.
    pub(crate) fn gas_within(&self, chain: &ChainConfig) -> u64 {
        self.gas.unwrap_or(chain.max_tx_gas).min(chain.max_tx_gas)
    }
}

/// How a simulated message ended; a revert is an outcome, not an error, for `eth_call`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Success {
        output: Bytes,
        gas_used: u64,
    },
    /// The contract reverted; `output` is its revert data.
    Revert {
        output: Bytes,
        gas_used: u64,
    },
    /// The EVM stopped it (out of gas, invalid opcode, …).
    Halt {
        reason: String,
        gas_used: u64,
    },
}

/// Why a simulation could not produce an outcome, or (for estimation) why no gas limit works.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The message could not start (insufficient funds, gas above the cap, …).
    #[error("{0}")]
    Invalid(String),
    #[error("execution reverted")]
    Reverted(Bytes),
    #[error("{0}")]
    Halted(String),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a message could not start, in geth's words where tools match on them (viem classifies
/// "insufficient funds for gas * price + value"; revm says "lack of funds (0) for max fee").
fn geth_words(error: &revm::context::result::InvalidTransaction) -> String {
    use revm::context::result::InvalidTransaction::*;
    match error {
        LackOfFundForMaxFee { .. } | OverflowPaymentInTransaction => {
            "insufficient funds for gas * price + value".to_string()
        }
        CallGasCostMoreThanGasLimit { .. } => "intrinsic gas too low".to_string(),
        NonceTooLow { tx, state } => format!("nonce too low: next nonce {state}, tx nonce {tx}"),
        NonceTooHigh { tx, state } => format!("nonce too high: next nonce {state}, tx nonce {tx}"),
        GasPriceLessThanBasefee => "max fee per gas less than block base fee".to_string(),
        other => other.to_string(),
    }
}

fn run(
    state: &StateReader,
    overrides: &Overrides,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
    gas: u64,
) -> Result<(ExecutionResult, u64), CallError> {
    let (cfg, tx) = message(chain, request, gas);
    let mut evm = Context::mainnet()
        .with_db(simulation_db(state, overrides))
        .with_cfg(cfg)
        .with_block(block.block_env())
        .build_mainnet();
    evm.precompiles = crate::config::ankr_precompiles();
    let outcome = evm.transact(tx).map_err(not_run)?;
    let spent = outcome.result.gas().total_gas_spent();
    Ok((outcome.result, spent))
}

/// What a simulation reads: `state` as `overrides` change it, under an overlay the message
/// writes to and nobody keeps.
pub(crate) fn simulation_db<'a>(
    state: &'a StateReader,
    overrides: &'a Overrides,
) -> BlockState<OverriddenDb<'a, StateDb<'a>>> {
    BlockState::new(OverriddenDb {
        base: StateDb { reader: state },
        overrides,
    })
}

/// Why the EVM did not run a simulated message, as the caller is told.
pub(crate) fn not_run(error: EVMError<StateError>) -> CallError {
    match error {
        EVMError::Database(e) => e.into(),
        EVMError::Transaction(e) => CallError::Invalid(geth_words(&e)),
        e => CallError::Invalid(e.to_string()),
    }
}

/// The EVM configuration and transaction of a simulated `request` with `gas`: no nonce check,
/// no base fee unless the request names a price, no EIP-3607 (a contract may "send").
pub(crate) fn message(
    chain: &ChainConfig,
    request: &CallRequest,
    gas: u64,
) -> (revm::context::CfgEnv, TxEnv) {
    let priced = request.gas_price.is_some() || request.max_fee_per_gas.is_some();
    let mut cfg = chain.cfg_env();
    cfg.disable_nonce_check = true;
    cfg.disable_base_fee = !priced;
    cfg.disable_eip3607 = true;
    let tx = TxEnv {
        tx_type: if request.authorization_list.is_some() {
            4
        } else if request.max_fee_per_gas.is_some() {
            2
        } else if request.access_list.is_some() {
            1
        } else {
            0
        },
        caller: request.from.unwrap_or_default(),
        gas_limit: gas,
        gas_price: request
            .max_fee_per_gas
            .or(request.gas_price)
            .unwrap_or_default(),
        gas_priority_fee: request.max_priority_fee_per_gas,
        kind: request.to.map_or(TxKind::Create, TxKind::Call),
        value: request.value.unwrap_or_default(),
        data: request.input.clone(),
        nonce: request.nonce.unwrap_or_default(),
        chain_id: Some(chain.chain_id),
        access_list: request.access_list.clone().unwrap_or_default(),
        authorization_list: request
            .authorization_list
            .iter()
            .flatten()
            .cloned()
            .map(revm::context_interface::either::Either::Left)
            .collect(),
        ..Default::default()
    };
    (cfg, tx)
}

/// Simulates `request` with its gas (or the per-transaction cap).
pub fn call(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
) -> Result<CallOutcome, CallError> {
    call_with(state, &Overrides::default(), chain, block, request)
}

/// [`call`] against `state` as `overrides` change it.
pub fn call_with(
    state: &StateReader,
    overrides: &Overrides,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
) -> Result<CallOutcome, CallError> {
    let gas = request.gas_within(chain);
    let (result, _) = run(state, overrides, chain, block, request, gas)?;
    let gas_used = result.tx_gas_used();
    Ok(match result {
        ExecutionResult::Success { output, .. } => CallOutcome::Success {
            output: output.into_data(),
            gas_used,
        },
        ExecutionResult::Revert { output, .. } => CallOutcome::Revert { output, gas_used },
        ExecutionResult::Halt { reason, .. } => CallOutcome::Halt {
            reason: format!("{reason:?}"),
            gas_used,
        },
    })
}

/// The least gas limit with which `request` succeeds, by binary search above the gas it spent.
pub fn estimate_gas(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
) -> Result<u64, CallError> {
    estimate_gas_with(state, &Overrides::default(), chain, block, request)
}

/// [`estimate_gas`] against `state` as `overrides` change it.
pub fn estimate_gas_with(
    state: &StateReader,
    overrides: &Overrides,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
) -> Result<u64, CallError> {
    let cap = request.gas_within(chain);
    let (result, spent) = run(state, overrides, chain, block, request, cap)?;
    match result {
        ExecutionResult::Success { .. } => {}
        ExecutionResult::Revert { output, .. } => return Err(CallError::Reverted(output)),
        ExecutionResult::Halt { reason, .. } => {
            return Err(CallError::Halted(format!("{reason:?}")));
        }
    }
    let succeeds = |gas: u64| -> Result<bool, CallError> {
        match run(state, overrides, chain, block, request, gas) {
            Ok((result, _)) => Ok(result.is_success()),
            Err(CallError::Invalid(_)) => Ok(false),
            Err(e) => Err(e),
        }
    };
    if succeeds(spent)? {
        return Ok(spent);
    }
    let (mut lo, mut hi) = (spent, cap);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if succeeds(mid)? { hi = mid } else { lo = mid }
    }
    Ok(hi)
}

/// The caller of system calls: the address Ethereum uses for its own (EIP-4788), which no key
/// controls.
pub const SYSTEM_ADDRESS: Address =
    alloy_primitives::address!("fffffffffffffffffffffffffffffffffffffffe");

/// Gas a system call may use: enough for any view a consensus rule makes, bounded so that a
/// broken system contract cannot stall block validation.
pub const SYSTEM_CALL_GAS: u64 = 30_000_000;

/// A read-only call into a system contract (EnclaveRegistry, WorkMarket, …) against `state`,
/// as consensus code makes it: from [`SYSTEM_ADDRESS`], without fees, nothing committed.
/// A revert or halt is an error, since a consensus rule cannot proceed on it.
pub fn system_call(
    state: &StateReader,
    chain: &ChainConfig,
    block: &BlockContext,
    contract: Address,
    input: Bytes,
) -> Result<Bytes, CallError> {
    let request = CallRequest {
        from: Some(SYSTEM_ADDRESS),
        to: Some(contract),
        gas: Some(SYSTEM_CALL_GAS),
        input,
        ..Default::default()
    };
    let mut chain = chain.clone();
    chain.max_tx_gas = chain.max_tx_gas.max(SYSTEM_CALL_GAS);
    match call(state, &chain, block, &request)? {
        CallOutcome::Success { output, .. } => Ok(output),
        CallOutcome::Revert { output, .. } => Err(CallError::Reverted(output)),
        CallOutcome::Halt { reason, .. } => Err(CallError::Halted(reason)),
    }
}
