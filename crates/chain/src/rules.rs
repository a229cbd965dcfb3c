//! Header rules that follow from the parent alone.

use alloy_eips::eip1559::BaseFeeParams;
use ankr_types::Header;

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

/// How far ahead of local time a block's timestamp may be.
pub const MAX_FUTURE_SECONDS: u64 = 15;

/// Wall-clock seconds, as block timestamps count them.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
