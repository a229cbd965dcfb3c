//! The blob store of useful work (modules, inputs, results), bounded by what the WorkMarket
//! pays for.
//!
//! A client may store a blob only if an open WorkMarket task names it (as its module or
//! input): every stored byte belongs to a task someone posted with gas and escrow, two blobs
//! of at most [`crate::MAX_BLOB_BYTES`] per task. The store as a whole holds at most
//! [`MAX_BLOB_STORE_BYTES`]; when a new blob would pass that, blobs no recent task still needs
//! (modules and inputs of closed tasks, results of refunded ones) are collected first, and if
//! the store is still full the blob is refused. An unauthenticated `ankr_putBlob` once stored
//! 400 MB in 6 s.

use crate::{Chain, SubmitError, check_blob_size};
use alloy_primitives::{B256, U256};
use alloy_sol_types::SolCall;
use ankr_contracts::WorkMarket;
use ankr_contracts::genesis::WORK_MARKET;
use ankr_execution::{BlockContext, system_call};
use std::collections::HashSet;

/// Most bytes of blobs a node keeps.
pub const MAX_BLOB_STORE_BYTES: usize = 256 << 20;

/// How many of the latest WorkMarket tasks are looked at for blobs they name.
const RECENT_TASKS: u64 = 4096;

/// Why a client's blob was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error(
        "no open WorkMarket task names blob {0}: post the task first, then upload its module and input"
    )]
    NotNamedByOpenTask(B256),
    #[error(
        "blob store is full ({used} of {limit} bytes held for open tasks); try again once tasks end"
    )]
    StoreFull { used: usize, limit: usize },
    #[error("this chain has no WorkMarket")]
    NoMarket,
    #[error("cannot read the WorkMarket's tasks: {0}")]
    Market(String),
}

impl Chain {
    /// Stores a client's blob if an open WorkMarket task names it, within the store's bound.
    /// Admission reads tasks newest first and stops at the first that names the blob (a
    /// provider uploads right after posting); the full set of blobs still needed is read only
    /// when the store must make room.
    pub fn put_task_blob(&self, bytes: &[u8]) -> Result<B256, SubmitError> {
        check_blob_size(bytes)?;
        let hash = alloy_primitives::keccak256(bytes);
        let mut named = false;
        self.recent_tasks(|task, open| {
            named = open && (task.moduleHash == hash || task.inputHash == hash);
            !named
        })
        .map_err(SubmitError::Blob)?;
        if !named {
            return Err(SubmitError::Blob(BlobError::NotNamedByOpenTask(hash)));
        }
        if self.store.blob(hash)?.is_some() {
            return Ok(hash);
        }
        let mut sizes = self.store.blob_sizes()?;
        let mut used: usize = sizes.iter().map(|(_, size)| size).sum();
        if used + bytes.len() > MAX_BLOB_STORE_BYTES {
            // Still needed: modules and inputs of open tasks, results of delivered ones.
            let mut kept = HashSet::new();
            self.recent_tasks(|task, open| {
                if open {
                    kept.extend([task.moduleHash, task.inputHash]);
                } else if task.state == 2 {
                    kept.insert(task.resultHash);
                }
                true
            })
            .map_err(SubmitError::Blob)?;
            let unneeded: Vec<B256> = sizes
                .iter()
                .filter(|(h, _)| !kept.contains(h))
                .map(|(h, _)| *h)
                .collect();
            self.store.delete_blobs(&unneeded)?;
            sizes.retain(|(h, _)| kept.contains(h));
            used = sizes.iter().map(|(_, size)| size).sum();
            tracing::info!(collected = unneeded.len(), "collected blobs of ended tasks");
            if used + bytes.len() > MAX_BLOB_STORE_BYTES {
                return Err(SubmitError::Blob(BlobError::StoreFull {
                    used,
                    limit: MAX_BLOB_STORE_BYTES,
                }));
            }
        }
        Ok(self.store.put_blob(bytes)?)
    }

    /// Visits the latest [`RECENT_TASKS`] WorkMarket tasks in the head state, newest first,
    /// with whether each is open (before its deadline); stops when `visit` returns false.
    fn recent_tasks(
        &self,
        mut visit: impl FnMut(&WorkMarket::tasksReturn, bool) -> bool,
    ) -> Result<(), BlobError> {
        let market = *self
            .spec
            .system_contracts
            .get(WORK_MARKET)
            .ok_or(BlobError::NoMarket)?;
        let head = self.head();
        let state = self
            .reader()
            .and_then(|r| r.state())
            .map_err(|e| BlobError::Market(e.to_string()))?;
        let mut block = BlockContext::of(&head);
        block.number += 1;
        let view =
            |input: Vec<u8>| system_call(&state, &self.config, &block, market, input.into()).ok();
        let count = view(WorkMarket::taskCountCall {}.abi_encode())
            .and_then(|out| WorkMarket::taskCountCall::abi_decode_returns(&out).ok())
            .ok_or_else(|| BlobError::Market("taskCount() failed".into()))?
            .saturating_to::<u64>();
        for id in (count.saturating_sub(RECENT_TASKS - 1).max(1)..=count).rev() {
            let Some(task) = view(WorkMarket::tasksCall(U256::from(id)).abi_encode())
                .and_then(|out| WorkMarket::tasksCall::abi_decode_returns(&out).ok())
            else {
                continue;
            };
            let open = task.state == 1 && task.deadline >= block.number;
            if !visit(&task, open) {
                break;
            }
        }
        Ok(())
    }
}
