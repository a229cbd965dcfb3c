//! The one fee rule every sender in this repository follows (the miner's registrations, the
//! relay's deliveries, the Plasma operator and watcher, the CLI, the history generator), so
//! that no transaction of ours gets stuck when the base fee rises.

/// The tip offered, and suggested by `eth_maxPriorityFeePerGas` when recent blocks say nothing
/// better: 1 gwei.
pub const DEFAULT_TIP: u128 = 1_000_000_000;

/// EIP-1559 fees for a transaction meant for the next block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Twice the next block's base fee plus the tip, as ethers and viem offer: the base fee
    /// may rise 12.5 % a block, so the transaction stays includable through six full blocks
    /// in a row, and it pays only the base fee actually charged.
    pub fn following(next_base_fee: u128, tip: u128) -> Self {
        Self {
            max_fee_per_gas: next_base_fee.saturating_mul(2).saturating_add(tip),
            max_priority_fee_per_gas: tip,
        }
    }

    /// The fees that replace a stuck transaction paying `self`: both raised by a quarter (a
    /// pool refuses a replacement that raises them less than 10 %), and never below what the
    /// rule asks at today's base fee.
    pub fn replacing(self, now: Fees) -> Self {
        let raise = |fee: u128| fee.saturating_add(fee / 4).max(fee + 1);
        Self {
            max_fee_per_gas: raise(self.max_fee_per_gas).max(now.max_fee_per_gas),
            max_priority_fee_per_gas: raise(self.max_priority_fee_per_gas)
                .max(now.max_priority_fee_per_gas),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_follow_the_base_fee() {
        let fees = Fees::following(30_000_000_000, DEFAULT_TIP);
        assert_eq!(fees.max_fee_per_gas, 61_000_000_000);
        assert_eq!(fees.max_priority_fee_per_gas, DEFAULT_TIP);
    }

    #[test]
    fn a_replacement_raises_both_fees_by_at_least_a_tenth() {
        let old = Fees::following(10, 4);
        let new = old.replacing(Fees::following(1, 1));
        assert!(new.max_fee_per_gas * 10 >= old.max_fee_per_gas * 11);
        assert!(new.max_priority_fee_per_gas * 10 >= old.max_priority_fee_per_gas * 11);
        // A base fee that rose meanwhile wins over the raise.
        let later = old.replacing(Fees::following(1_000, 4));
        assert_eq!(later.max_fee_per_gas, 2_004);
    }
}
