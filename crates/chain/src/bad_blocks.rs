//! Blocks whose seal held but which broke a rule EXECUTE checks (their execution, or on an
//! operator's chain a header rule that follows from the parent): the blocks a watcher of a
//! child chain proves wrong on the main chain, and what geth's `debug_getBadBlocks` shows.
//! Only a block that passed its seal check is kept (on a child chain, only the operator can
//! make one), and only the most recent [`BadBlocks::KEPT`], so nobody can fill a node's memory
//! with them.

use crate::{Chain, ImportError};
use alloy_primitives::B256;
use ankr_types::Block;
use std::collections::VecDeque;
use std::sync::Arc;

/// A block refused by execution, and the rule it broke.
#[derive(Clone, Debug)]
pub struct BadBlock {
    pub hash: B256,
    pub block: Arc<Block>,
    pub reason: String,
}

/// The most recent bad blocks, oldest first.
#[derive(Default)]
pub(crate) struct BadBlocks {
    kept: VecDeque<BadBlock>,
}

impl BadBlocks {
    const KEPT: usize = 32;
}

impl ImportError {
    /// Whether executing the block found it wrong (its transactions, roots or gas): faults an
    /// execution witness proves.
    pub fn found_by_execution(&self) -> bool {
        matches!(
            self,
            Self::BadSignature { .. }
                | Self::WrongTransactionsRoot { .. }
                | Self::WrongGasUsed { .. }
                | Self::WrongReceiptsRoot { .. }
                | Self::WrongLogsBloom
                | Self::WrongStateRoot { .. }
                | Self::WrongChildChainsRoot { .. }
                | Self::Execution(_)
        )
    }
}

impl Chain {
    /// Whether a block refused with `error` is kept as a bad block: wrong by execution, or on
    /// an operator's chain (whose seal is checked before any other rule, so it held) wrong by
    /// a header rule EXECUTE also checks. A PoUW header is checked before its seal, so on the
    /// main chain such a block could be anyone's and is not kept.
    pub(crate) fn keeps_as_bad(&self, error: &ImportError) -> bool {
        error.found_by_execution()
            || (self.spec.operator.is_some() && matches!(error, ImportError::HeaderRule(_)))
    }

    /// Keeps `block`, refused with `error` though someone accountable vouched for it, among
    /// the bad blocks and marks it invalid: a watcher does so for a block whose operator
    /// committed it on the main chain but whose seal this chain refuses (signed by another
    /// key), so that it can prove it wrong there. Import keeps the blocks it refuses after
    /// their seal held by itself.
    pub fn keep_vouched_bad_block(&self, block: Block, error: &ImportError) {
        self.mark_invalid(block.header.hash());
        self.keep_bad_block(block, error);
    }

    /// Keeps `block`, found wrong by `error`, among the bad blocks.
    pub(crate) fn keep_bad_block(&self, block: Block, error: &ImportError) {
        let hash = block.header.hash();
        let mut bad = self.bad_blocks.lock().expect("bad blocks lock");
        if bad.kept.iter().any(|b| b.hash == hash) {
            return;
        }
        bad.kept.push_back(BadBlock {
            hash,
            block: Arc::new(block),
            reason: error.to_string(),
        });
        if bad.kept.len() > BadBlocks::KEPT {
            bad.kept.pop_front();
        }
    }

    /// The most recent blocks whose seal held but whose execution failed, newest first.
    pub fn bad_blocks(&self) -> Vec<BadBlock> {
        let bad = self.bad_blocks.lock().expect("bad blocks lock");
        bad.kept.iter().rev().cloned().collect()
    }

    /// The bad block `hash`, if kept.
    pub fn bad_block(&self, hash: B256) -> Option<BadBlock> {
        let bad = self.bad_blocks.lock().expect("bad blocks lock");
        bad.kept.iter().find(|b| b.hash == hash).cloned()
    }
}
