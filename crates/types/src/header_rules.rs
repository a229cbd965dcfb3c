//! The header rules that follow from the parent header alone, in one place: a node checks
//! them on import and the main chain's EXECUTE precompile checks them on a child block, so the
//! two can never disagree about which headers are valid.

use crate::Header;
use alloy_eips::eip1559::BaseFeeParams;
use alloy_primitives::U256;

/// The longest extra data a header may carry (Ethereum's rule).
pub const MAX_EXTRA_DATA: usize = 32;

/// EIP-1559 base fee of the block after `parent` (Ethereum's parameters: target half full,
/// at most ±12.5 % a block).
pub fn next_base_fee(parent: &Header) -> u64 {
    alloy_eips::calc_next_block_base_fee(
        parent.gas_used,
        parent.gas_limit,
        parent.base_fee_per_gas,
        BaseFeeParams::ethereum(),
    )
}

/// What a chain expects of the header after a given parent, where chains differ.
#[derive(Clone, Copy, Debug)]
pub struct Expected {
    /// The earliest timestamp (PoUW: parent + 1; an operator's chain may stamp several
    /// blocks in one second: the parent's own).
    pub earliest_timestamp: u64,
    pub gas_limit: u64,
    pub difficulty: U256,
}

/// The rule a header breaks, with what was expected and what it states.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderRuleError {
    #[error("block number {got} does not follow parent {parent}")]
    WrongNumber { parent: u64, got: u64 },
    #[error("timestamp {got} is before the earliest the parent's {parent} allows")]
    TimestampNotAfterParent { parent: u64, got: u64 },
    #[error("gas limit {got} differs from the chain's {expected}")]
    WrongGasLimit { expected: u64, got: u64 },
    #[error("base fee {got} differs from the expected {expected}")]
    WrongBaseFee { expected: u64, got: u64 },
    #[error("extra data is {0} bytes, at most 32 allowed")]
    ExtraDataTooLong(usize),
    #[error("difficulty {got} differs from the expected {expected}")]
    WrongDifficulty { expected: U256, got: U256 },
}

/// Checks `header` against `parent`: numbering, time, gas limit, base fee, extra data and
/// difficulty; the first rule broken is the error.
pub fn check_against_parent(
    parent: &Header,
    header: &Header,
    expected: Expected,
) -> Result<(), HeaderRuleError> {
    if header.number != parent.number + 1 {
        return Err(HeaderRuleError::WrongNumber {
            parent: parent.number,
            got: header.number,
        });
    }
    if header.timestamp < expected.earliest_timestamp {
        return Err(HeaderRuleError::TimestampNotAfterParent {
            parent: parent.timestamp,
            got: header.timestamp,
        });
    }
    if header.gas_limit != expected.gas_limit {
        return Err(HeaderRuleError::WrongGasLimit {
            expected: expected.gas_limit,
            got: header.gas_limit,
        });
    }
    let base_fee = next_base_fee(parent);
    if header.base_fee_per_gas != base_fee {
        return Err(HeaderRuleError::WrongBaseFee {
            expected: base_fee,
            got: header.base_fee_per_gas,
        });
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Err(HeaderRuleError::ExtraDataTooLong(header.extra_data.len()));
    }
    if header.difficulty != expected.difficulty {
        return Err(HeaderRuleError::WrongDifficulty {
            expected: expected.difficulty,
            got: header.difficulty,
        });
    }
    Ok(())
}
