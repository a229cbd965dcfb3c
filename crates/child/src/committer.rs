//! The operator's commitments: each time the child chain's head moves, the operator brings its
//! `EvmChildChain` manager up to date. On an optimistic chain it commits the new blocks' hashes
//! (up to `MAX_BATCH` per transaction: while one commitment waits to be mined, blocks pile up
//! and the next carries them all). On an every-block chain it submits each block with its
//! witness, which the manager executes with EXECUTE before taking it. Before each step it
//! follows the manager's reversals ([`crate::reversal`]) and answers an availability challenge
//! of one of its blocks by publishing the block.

use crate::ValidityMode;
use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_chain::Chain;
use ankr_client::{ClientError, Sender};
use ankr_contracts::EvmChildChain;
use ankr_types::Block;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Gas of a batch of hash commitments (≈ 45,000 per hash at most, with the boundary report).
const COMMIT_GAS_PER_HASH: u64 = 50_000;
/// Hashes one commitment carries at most (the manager's `MAX_BATCH`).
const MAX_BATCH: u64 = 256;
/// How long to wait before retrying after the main chain refused or did not answer.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why the operator could not bring its manager up to date.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Main(#[from] ClientError),
    #[error("the child chain's own store: {0}")]
    Store(String),
    #[error("manager {0} answers an unknown validity mode")]
    UnknownMode(Address),
}

/// Commits `chain`'s blocks to `manager` through `sender` (the operator's main-chain account)
/// until `stop` turns true.
pub async fn run(
    chain: Arc<Chain>,
    sender: Sender,
    manager: Address,
    mut stop: watch::Receiver<bool>,
) {
    let mut heads = chain.subscribe();
    let mut reversals = crate::reversal::Reversals::default();
    loop {
        if *stop.borrow() {
            return;
        }
        // A block of ours the main chain reverted is dropped before anything is committed, so
        // that the operator never commits it again and sequences its transactions anew.
        let step = async {
            reversals.follow(&chain, sender.chain(), manager).await?;
            answer_challenge(&chain, &sender, manager).await?;
            catch_up(&chain, &sender, manager).await
        };
        let outcome = tokio::select! {
            _ = stop.changed() => return,
            outcome = step => outcome,
        };
        match outcome {
            // Something was committed: the head may have moved meanwhile; look again at once.
            Ok(true) => {}
            Ok(false) => {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = heads.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "commitment to the main chain failed; retrying");
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }
}

/// One step towards the head: commits what the manager lacks (a batch of hashes, or the next
/// block with its witness); `false` when the manager is up to date.
pub async fn catch_up(
    chain: &Chain,
    sender: &Sender,
    manager: Address,
) -> Result<bool, CommitError> {
    let main = sender.chain();
    let (latest, mode) = tokio::try_join!(
        main.read(manager, EvmChildChain::latestNumberCall {}),
        main.read(manager, EvmChildChain::modeCall {}),
    )?;
    let latest: u64 = latest.saturating_to();
    let head = chain.head().number;
    if head <= latest {
        return Ok(false);
    }
    let reader = chain
        .reader()
        .map_err(|e| CommitError::Store(e.to_string()))?;
    match ValidityMode::from_code(mode).ok_or(CommitError::UnknownMode(manager))? {
        ValidityMode::Optimistic => {
            let last = head.min(latest + MAX_BATCH);
            let mut hashes = Vec::new();
            for number in latest + 1..=last {
                let hash = reader
                    .canonical_hash(number)
                    .map_err(|e| CommitError::Store(e.to_string()))?
                    .ok_or_else(|| CommitError::Store(format!("no block {number}")))?;
                hashes.push(hash);
            }
            let call = EvmChildChain::commitBlocksCall {
                first: U256::from(latest + 1),
                hashes,
            };
            let gas = 100_000 + COMMIT_GAS_PER_HASH * (last - latest);
            sender.transact(manager, &call, U256::ZERO, gas).await?;
            tracing::info!(
                first = latest + 1,
                last,
                "committed child blocks to the main chain"
            );
        }
        ValidityMode::EveryBlock => {
            let number = latest + 1;
            let block = stored_block(&reader, number)?;
            let witness =
                ankr_execution::stateless::make_witness(&reader, chain.execution_config(), &block)
                    .map_err(|e| CommitError::Store(e.to_string()))?;
            let raw = Bytes::from(alloy_rlp::encode(&block));
            let size = raw.len() + witness.size();
            let gas = 300_000
                + ankr_execution::stateless::execute_gas(block.header.gas_used, size)
                + 40 * size as u64;
            let call = EvmChildChain::submitBlockCall {
                block_: raw,
                state: witness.state,
                codes: witness.codes,
                headers: witness.headers,
            };
            sender.transact(manager, &call, U256::ZERO, gas).await?;
            tracing::info!(number, hash = %block.header.hash(), "submitted child block to the main chain (executed there)");
        }
    }
    Ok(true)
}

/// Publishes the body of a block of ours whose availability is challenged (the bond then pays
/// the operator); a challenge of a block that is not ours is left to expire.
pub async fn answer_challenge(
    chain: &Chain,
    sender: &Sender,
    manager: Address,
) -> Result<(), CommitError> {
    let main = sender.chain();
    let challenged: u64 = main
        .read(manager, EvmChildChain::challengedBlockCall {})
        .await?
        .saturating_to();
    if challenged == 0 {
        return Ok(());
    }
    let committed = committed_hash(sender, manager, challenged).await?;
    let reader = chain
        .reader()
        .map_err(|e| CommitError::Store(e.to_string()))?;
    if reader
        .canonical_hash(challenged)
        .map_err(|e| CommitError::Store(e.to_string()))?
        != Some(committed)
    {
        return Ok(());
    }
    let block = stored_block(&reader, challenged)?;
    let raw = alloy_rlp::encode(&block);
    let gas = 150_000 + 40 * raw.len() as u64;
    sender
        .transact(
            manager,
            &EvmChildChain::publishBlockCall { block_: raw.into() },
            U256::ZERO,
            gas,
        )
        .await?;
    tracing::info!(
        number = challenged,
        "published a challenged block's body on the main chain"
    );
    Ok(())
}

/// The canonical child block `number` from the chain's store.
pub fn stored_block(reader: &ankr_storage::StoreReader, number: u64) -> Result<Block, CommitError> {
    let missing = || CommitError::Store(format!("no block {number}"));
    let header = reader
        .header_by_number(number)
        .map_err(|e| CommitError::Store(e.to_string()))?
        .ok_or_else(missing)?;
    let body = reader
        .body(header.hash())
        .map_err(|e| CommitError::Store(e.to_string()))?
        .ok_or_else(missing)?;
    Ok(Block {
        header,
        transactions: body.transactions,
    })
}

/// The highest child block the manager holds.
pub async fn latest_committed(sender: &Sender, manager: Address) -> Result<u64, ClientError> {
    let number = sender
        .chain()
        .read(manager, EvmChildChain::latestNumberCall {})
        .await?;
    Ok(number.saturating_to())
}

/// The hash the manager holds for child block `number` (zero if none stands).
pub async fn committed_hash(
    sender: &Sender,
    manager: Address,
    number: u64,
) -> Result<B256, ClientError> {
    sender
        .chain()
        .read(manager, EvmChildChain::blockHashCall(U256::from(number)))
        .await
}
