//! The sync importer: answers are imported one after another, in the order they arrived, on a
//! task of their own, and each import is reported back to the network loop.

use crate::service::Imported;
use crate::sync::BlocksResponse;
use crate::sync_state::ImportReport;
use crate::verdict::{BlockVerdict, verdict};
use ankr_chain::Chain;
use ankr_types::Block;
use libp2p::PeerId;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A sync answer waiting to be imported.
pub(crate) struct SyncBatch {
    pub from: PeerId,
    pub response: BlocksResponse,
}

/// Imports sync answers one after another, in the order they arrived, so that the network loop
/// can ask for the next range while this one executes.
pub(crate) async fn import_sync_batches(
    chain: Arc<Chain>,
    mut batches: mpsc::Receiver<SyncBatch>,
    report: mpsc::UnboundedSender<Imported>,
) {
    while let Some(batch) = batches.recv().await {
        let chain = chain.clone();
        let imported = tokio::task::spawn_blocking(move || import_batch(&chain, batch)).await;
        match imported {
            Ok(imported) => {
                if report.send(imported).is_err() {
                    return;
                }
            }
            Err(panic) => tracing::error!(%panic, "sync import panicked"),
        }
    }
}

fn import_batch(chain: &Chain, batch: SyncBatch) -> Imported {
    let SyncBatch { from, response } = batch;
    let mut last = chain.head().number;
    let mut fork_below = None;
    let mut failed = false;
    let mut invalid = false;
    for raw in &response.blocks {
        let number = Block::decode_exact(raw).map(|b| b.header.number);
        let result = chain.import_raw_block(raw);
        match verdict(&result) {
            BlockVerdict::Taken => last = number.unwrap_or(last),
            BlockVerdict::MissingParent => {
                fork_below = Some(number.unwrap_or(1));
                break;
            }
            BlockVerdict::Invalid => {
                tracing::warn!(peer = %from, error = %result.unwrap_err(), "invalid block in sync answer");
                invalid = true;
                break;
            }
            BlockVerdict::LocalFailure => {
                tracing::error!(peer = %from, error = %result.unwrap_err(), "this node failed to import a synced block");
                failed = true;
                break;
            }
        }
    }
    failed |= invalid || fork_below.is_some();
    Imported::Synced(ImportReport {
        from,
        last,
        more: !failed && response.head > last && !response.blocks.is_empty(),
        fork_below,
        invalid,
    })
}
