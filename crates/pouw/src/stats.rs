//! What a local miner has done, for `ankr_pouwStatus` and the devnet's display.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters a miner updates and the RPC reads; cheap to share.
#[derive(Debug, Default)]
pub struct MiningStats {
    pub subtasks: AtomicU64,
    pub instructions: AtomicU64,
    pub wins: AtomicU64,
    /// Subtasks whose task failed (trap, budget, memory, …): recorded, not fatal.
    pub failed_subtasks: AtomicU64,
    /// Nanoseconds spent running subtasks, for the local instruction rate.
    pub busy_nanos: AtomicU64,
    pub last_failure: Mutex<Option<String>>,
}

impl MiningStats {
    /// Records one subtask.
    pub fn record(&self, instructions: u64, nanos: u64, won: bool, failure: Option<String>) {
        self.subtasks.fetch_add(1, Relaxed);
        self.instructions.fetch_add(instructions, Relaxed);
        self.busy_nanos.fetch_add(nanos, Relaxed);
        if won {
            self.wins.fetch_add(1, Relaxed);
        }
        if let Some(failure) = failure {
            self.failed_subtasks.fetch_add(1, Relaxed);
            *self.last_failure.lock().expect("stats lock") = Some(failure);
        }
    }

    /// Instructions per second while running subtasks.
    pub fn instruction_rate(&self) -> u64 {
        let nanos = self.busy_nanos.load(Relaxed).max(1) as u128;
        (self.instructions.load(Relaxed) as u128 * 1_000_000_000 / nanos) as u64
    }
}
