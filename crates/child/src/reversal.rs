//! Following the main chain's reversals (DESIGN §8): when a child block is proven wrong, the
//! manager reverts it and every later one, and the child chain must follow, as Ethereum's
//! rollups follow their L1. A node linked to the main chain (the operator, a watcher) reads
//! the manager's `BlocksReverted` events; if a reverted block is on its canonical chain, it
//! drops that block and its descendants ([`ankr_chain::Chain::revert_above`]): their
//! transactions go back to the pool, so the operator sequences them again, and RPC, logs and
//! subscribers see the chain without them.

use alloy_primitives::{Address, B256};
use ankr_chain::Chain;
use ankr_client::{ClientError, MainChain};
use ankr_contracts::EvmChildChain;

/// Where a node is in the manager's history of reversals.
#[derive(Debug, Default)]
pub struct Reversals {
    /// The last main-chain block whose events were read.
    scanned: Option<u64>,
}

impl Reversals {
    /// Reads reversals not read yet; drops every canonical block of `chain` one of them
    /// reverted. Returns the hashes dropped.
    pub async fn follow(
        &mut self,
        chain: &Chain,
        main: &MainChain,
        manager: Address,
    ) -> Result<Vec<B256>, ClientError> {
        let head = main.head().await?;
        let from = self.scanned.map_or(0, |scanned| scanned + 1);
        if from > head {
            return Ok(Vec::new());
        }
        let reverted = main
            .events::<EvmChildChain::BlocksReverted>(manager, from, head)
            .await?;
        let mut dropped = Vec::new();
        for event in reverted {
            let number: u64 = event.fromNumber.saturating_to();
            let ours = chain
                .reader()
                .and_then(|reader| reader.canonical_hash(number))
                .map_err(|e| ClientError::Decode(format!("the child chain's store: {e}")))?;
            if ours == Some(event.wrongHash) {
                tracing::warn!(number, hash = %event.wrongHash, "the main chain reverted our block: following");
                dropped.extend(
                    chain
                        .revert_above(number - 1)
                        .map_err(|e| ClientError::Decode(format!("reverting: {e}")))?,
                );
            }
        }
        self.scanned = Some(head);
        Ok(dropped)
    }
}
