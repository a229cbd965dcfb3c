//! `--txpool.*`: the transaction pool's limits on `ankr node`, `ankr devnet` (its EVM child
//! chains too) and `ankr child`, named as geth names them so that an operator's habits carry
//! over.

use ankr_node::PoolLimits;

/// The pool's limits as flags; geth's defaults unless set.
#[derive(clap::Args, Clone, Debug)]
pub struct PoolArgs {
    /// Executable transactions each sender may hold whatever others hold; a sender beyond
    /// them holds more only while the pool has room, and is the first to lose its tail.
    #[arg(long = "txpool.accountslots", value_name = "N", default_value_t = PoolLimits::default().account_slots)]
    account_slots: usize,
    /// Transactions the pool holds in all (bounds its memory).
    #[arg(long = "txpool.globalslots", value_name = "N", default_value_t = PoolLimits::default().global_slots)]
    global_slots: usize,
    /// Queued transactions (behind a nonce gap) kept per sender.
    #[arg(long = "txpool.accountqueue", value_name = "N", default_value_t = PoolLimits::default().account_queue)]
    account_queue: usize,
    /// Queued transactions kept in all.
    #[arg(long = "txpool.globalqueue", value_name = "N", default_value_t = PoolLimits::default().global_queue)]
    global_queue: usize,
    /// Seconds a queued transaction may wait for its gap to close.
    #[arg(long = "txpool.lifetime", value_name = "SECONDS", default_value_t = PoolLimits::default().lifetime.as_secs())]
    lifetime: u64,
    /// Percent by which a replacement must raise both fee fields.
    #[arg(long = "txpool.pricebump", value_name = "PERCENT", default_value_t = PoolLimits::default().price_bump_percent)]
    price_bump: u128,
}

impl PoolArgs {
    /// The limits, refused with the reason if the pool could not keep its rules under them.
    pub fn limits(&self) -> anyhow::Result<PoolLimits> {
        let limits = PoolLimits {
            account_slots: self.account_slots,
            global_slots: self.global_slots,
            account_queue: self.account_queue,
            global_queue: self.global_queue,
            lifetime: std::time::Duration::from_secs(self.lifetime),
            price_bump_percent: self.price_bump,
        };
        limits.check().map_err(anyhow::Error::msg)?;
        Ok(limits)
    }
}
