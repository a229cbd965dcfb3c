//! The operator's commitments: each time the child chain's head moves, the operator commits
//! the new head's hash to its `EvmChildChain` manager on the main chain. While a commitment
//! waits to be mined, blocks pile up and the next one commits them all (a block hash commits
//! to its ancestors), so commitments batch themselves under load and cost one main-chain
//! transaction per main-chain block at most.

use alloy_primitives::{Address, B256, U256};
use ankr_chain::Chain;
use ankr_client::{ClientError, Sender};
use ankr_contracts::EvmChildChain;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Gas a commitment may use (≈ 75,000 with the registry's boundary write).
const COMMIT_GAS: u64 = 200_000;
/// How long to wait before retrying after the main chain refused or did not answer.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Commits `chain`'s head to `manager` through `sender` (the operator's main-chain account)
/// until `stop` turns true.
pub async fn run(
    chain: Arc<Chain>,
    sender: Sender,
    manager: Address,
    mut stop: watch::Receiver<bool>,
) {
    let mut heads = chain.subscribe();
    let mut committed = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let head = chain.head();
        let step = async {
            let known = match committed {
                Some(number) => number,
                None => latest_committed(&sender, manager).await?,
            };
            if head.number <= known {
                return Ok::<_, ClientError>((known, false));
            }
            commit(&sender, manager, head.number, head.hash()).await?;
            tracing::info!(number = head.number, hash = %head.hash(), "committed child block to the main chain");
            Ok((head.number, true))
        };
        let outcome = tokio::select! {
            _ = stop.changed() => return,
            outcome = step => outcome,
        };
        match outcome {
            // Committed: the head may have moved meanwhile; look again at once.
            Ok((number, true)) => committed = Some(number),
            Ok((number, false)) => {
                committed = Some(number);
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = heads.recv() => {}
                }
            }
            Err(error) => {
                // Ask the manager again: a retried commitment may have landed after all.
                committed = None;
                tracing::warn!(%error, "commitment to the main chain failed; retrying");
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }
}

/// The highest child block the manager holds.
pub async fn latest_committed(sender: &Sender, manager: Address) -> Result<u64, ClientError> {
    let number = sender
        .chain()
        .read(manager, EvmChildChain::latestNumberCall {})
        .await?;
    Ok(number.saturating_to())
}

/// Commits child block `number` with `hash` and waits until the main chain has mined it.
pub async fn commit(
    sender: &Sender,
    manager: Address,
    number: u64,
    hash: B256,
) -> Result<(), ClientError> {
    let call = EvmChildChain::commitBlockCall {
        number: U256::from(number),
        hash,
    };
    sender
        .transact(manager, &call, U256::ZERO, COMMIT_GAS)
        .await?;
    Ok(())
}
