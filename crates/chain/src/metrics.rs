//! What the chain counts about its own work since the node started, for `/metrics`: blocks
//! imported and how long they took, blocks built, refusals and reorganisations. Atomics only,
//! so counting never waits on the writer.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters of the chain's work since the node started.
#[derive(Debug, Default)]
pub struct ChainMetrics {
    blocks_imported: AtomicU64,
    import_nanos: AtomicU64,
    blocks_built: AtomicU64,
    templates_reused: AtomicU64,
    transactions_executed: AtomicU64,
    transactions_on_two_threads: AtomicU64,
    blocks_refused: AtomicU64,
    reorganisations: AtomicU64,
    reorganised_blocks: AtomicU64,
}

/// One reading of [`ChainMetrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainCounts {
    pub blocks_imported: u64,
    /// Total time spent importing them (a summary's sum, with `blocks_imported` its count).
    pub import_time: Duration,
    pub blocks_built: u64,
    /// Sealed templates of this node imported from the execution kept when they were built.
    pub templates_reused: u64,
    /// Transactions of the blocks this node built or imported and executed.
    pub transactions_executed: u64,
    /// Of those, the ones that ran on two threads and were kept (a block's conflict-free
    /// prefix): how often a second core does its share.
    pub transactions_on_two_threads: u64,
    /// Blocks refused for breaking a rule (not those already known or awaiting a parent).
    pub blocks_refused: u64,
    pub reorganisations: u64,
    /// Blocks unwound by those reorganisations.
    pub reorganised_blocks: u64,
}

impl ChainMetrics {
    pub(crate) fn imported(&self, took: Duration) {
        self.blocks_imported.fetch_add(1, Relaxed);
        self.import_nanos
            .fetch_add(took.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub(crate) fn built(&self) {
        self.blocks_built.fetch_add(1, Relaxed);
    }

    pub(crate) fn template_reused(&self) {
        self.templates_reused.fetch_add(1, Relaxed);
    }

    pub(crate) fn executed(&self, block: &ankr_execution::ExecutedBlock) {
        self.transactions_executed
            .fetch_add(block.transactions.len() as u64, Relaxed);
        self.transactions_on_two_threads
            .fetch_add(block.on_two_threads as u64, Relaxed);
    }

    pub(crate) fn refused(&self) {
        self.blocks_refused.fetch_add(1, Relaxed);
    }

    pub(crate) fn reorganised(&self, unwound: usize) {
        self.reorganisations.fetch_add(1, Relaxed);
        self.reorganised_blocks.fetch_add(unwound as u64, Relaxed);
    }

    /// The counts now.
    pub fn read(&self) -> ChainCounts {
        ChainCounts {
            blocks_imported: self.blocks_imported.load(Relaxed),
            import_time: Duration::from_nanos(self.import_nanos.load(Relaxed)),
            blocks_built: self.blocks_built.load(Relaxed),
            templates_reused: self.templates_reused.load(Relaxed),
            transactions_executed: self.transactions_executed.load(Relaxed),
            transactions_on_two_threads: self.transactions_on_two_threads.load(Relaxed),
            blocks_refused: self.blocks_refused.load(Relaxed),
            reorganisations: self.reorganisations.load(Relaxed),
            reorganised_blocks: self.reorganised_blocks.load(Relaxed),
        }
    }
}
