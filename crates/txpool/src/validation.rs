//! The admission rules, each with the error that names it.

use crate::{PoolConfig, SenderState};
use alloy_consensus::Transaction;
use alloy_primitives::U256;
use ankr_types::{RecoveryError, TxEnvelope};

/// Why the pool refused a transaction, worded as geth words it because wallets match on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("nonce too low: next nonce {next}, tx nonce {got}")]
    NonceTooLow { next: u64, got: u64 },
    #[error("nonce too high: next nonce {next}, tx nonce {got} is too far ahead")]
    NonceTooHigh { next: u64, got: u64 },
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}")]
    InsufficientFunds { balance: U256, cost: U256 },
    #[error("transaction underpriced: max fee per gas {max_fee} below base fee {base_fee}")]
    Underpriced { max_fee: u128, base_fee: u64 },
    #[error("replacement transaction underpriced: both fees must rise by {bump}%")]
    ReplacementUnderpriced { bump: u128 },
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    #[error("invalid chain id: expected {expected}, got {got}")]
    WrongChainId { expected: u64, got: u64 },
    #[error("only replay-protected (EIP-155) transactions allowed")]
    Unprotected,
    #[error("oversized data: transaction is {size} bytes, limit {limit}")]
    Oversized { size: usize, limit: usize },
    #[error("exceeds block gas limit: transaction gas {gas} above the cap {cap}")]
    GasAboveCap { gas: u64, cap: u64 },
    #[error("intrinsic gas too low: need {need}, have {have}")]
    IntrinsicGasTooLow { need: u64, have: u64 },
    #[error("{0}")]
    BadSignature(#[from] RecoveryError),
    #[error("already known")]
    AlreadyKnown,
    #[error("sender has {limit} pending transactions, the most the pool keeps per sender")]
    SenderFull { limit: usize },
    #[error("txpool is full ({limit} transactions) and this one pays less than any")]
    PoolFull { limit: usize },
    #[error("sender has {limit} queued transactions behind a nonce gap, the most the pool keeps")]
    SenderQueueFull { limit: usize },
    #[error(
        "txpool holds {limit} queued transactions behind nonce gaps, the most it keeps, and this one pays less than any"
    )]
    QueueFull { limit: usize },
}

/// EIP-7623's tokens of calldata: 1 per zero byte, 4 per other byte (calldata costs 4 gas a
/// token, and at least 10 a token when that is more than the execution).
pub fn calldata_tokens(input: &[u8]) -> u64 {
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    zeros + 4 * (input.len() as u64 - zeros)
}

/// Gas a transaction uses before any EVM instruction, with Prague's calldata floor (EIP-7623).
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let input = tx.input();
    let tokens = calldata_tokens(input);
    let mut gas = 21_000 + 4 * tokens;
    if tx.kind().is_create() {
        gas += 32_000 + 2 * (input.len() as u64).div_ceil(32);
    }
    if let Some(list) = tx.access_list() {
        gas += list
            .iter()
            .map(|item| 2_400 + 1_900 * item.storage_keys.len() as u64)
            .sum::<u64>();
    }
    if let Some(auths) = tx.authorization_list() {
        gas += 25_000 * auths.len() as u64;
    }
    gas.max(21_000 + 10 * tokens)
}

pub(crate) fn check_stateless(
    config: &PoolConfig,
    tx: &TxEnvelope,
    encoded_len: usize,
    base_fee: u64,
) -> Result<(), PoolError> {
    if encoded_len > config.max_tx_bytes {
        return Err(PoolError::Oversized {
            size: encoded_len,
            limit: config.max_tx_bytes,
        });
    }
    match tx.chain_id() {
        None => return Err(PoolError::Unprotected),
        Some(id) if id != config.chain_id => {
            return Err(PoolError::WrongChainId {
                expected: config.chain_id,
                got: id,
            });
        }
        Some(_) => {}
    }
    if tx.gas_limit() > config.max_tx_gas {
        return Err(PoolError::GasAboveCap {
            gas: tx.gas_limit(),
            cap: config.max_tx_gas,
        });
    }
    let need = intrinsic_gas(tx);
    if tx.gas_limit() < need {
        return Err(PoolError::IntrinsicGasTooLow {
            need,
            have: tx.gas_limit(),
        });
    }
    if tx
        .max_priority_fee_per_gas()
        .is_some_and(|tip| tip > tx.max_fee_per_gas())
    {
        return Err(PoolError::TipAboveFeeCap);
    }
    if tx.max_fee_per_gas() < base_fee as u128 {
        return Err(PoolError::Underpriced {
            max_fee: tx.max_fee_per_gas(),
            base_fee,
        });
    }
    Ok(())
}

pub(crate) fn check_against_account(
    tx: &TxEnvelope,
    account: SenderState,
) -> Result<(), PoolError> {
    if tx.nonce() < account.nonce {
        return Err(PoolError::NonceTooLow {
            next: account.nonce,
            got: tx.nonce(),
        });
    }
    let cost = U256::from(tx.gas_limit()) * U256::from(tx.max_fee_per_gas()) + tx.value();
    if cost > account.balance {
        return Err(PoolError::InsufficientFunds {
            balance: account.balance,
            cost,
        });
    }
    Ok(())
}

pub(crate) fn check_replacement(
    config: &PoolConfig,
    old: &TxEnvelope,
    new: &TxEnvelope,
) -> Result<(), PoolError> {
    let bumped = |old: u128| old + old * config.limits.price_bump_percent / 100;
    let old_tip = old
        .max_priority_fee_per_gas()
        .unwrap_or(old.max_fee_per_gas());
    let new_tip = new
        .max_priority_fee_per_gas()
        .unwrap_or(new.max_fee_per_gas());
    if new.max_fee_per_gas() < bumped(old.max_fee_per_gas()) || new_tip < bumped(old_tip) {
        return Err(PoolError::ReplacementUnderpriced {
            bump: config.limits.price_bump_percent,
        });
    }
    Ok(())
}
