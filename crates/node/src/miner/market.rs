//! Finding WorkMarket tasks a miner can run: open, before their deadline, with module and
//! input blobs stored on this node, not tried before.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use ankr_chain::Chain;
use ankr_contracts::WorkMarket;
use ankr_contracts::genesis::WORK_MARKET;
use ankr_enclave::Subtask;
use ankr_execution::{BlockContext, system_call};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An open task with its blobs, ready to run.
pub struct OpenTask {
    pub market: Address,
    pub id: u64,
    pub module: Arc<[u8]>,
    pub input: Arc<[u8]>,
    pub max_instructions: u64,
}

impl OpenTask {
    /// The subtask the enclave runs: the whole task, as task `B256::from(id)`, index 0.
    pub fn subtask(&self) -> Subtask {
        Subtask {
            task_id: B256::from(U256::from(self.id)),
            index: 0,
            module: self.module.clone(),
            input: self.input.clone(),
            budget: self.max_instructions,
        }
    }
}

/// How often an empty market is read again (subtasks run every few milliseconds).
const RESCAN_EVERY: Duration = Duration::from_millis(500);

/// Remembers which tasks were tried and where the open ones start.
#[derive(Default)]
pub struct MarketScanner {
    /// Every task below this id is closed or tried.
    first_open: u64,
    tried: HashSet<u64>,
    /// When the market was last found empty.
    empty_at: Option<Instant>,
}

impl MarketScanner {
    /// The next task to run, if any. Read failures count as "no task": built-in work goes on.
    pub fn next_task(&mut self, chain: &Chain) -> Option<OpenTask> {
        if self.empty_at.is_some_and(|at| at.elapsed() < RESCAN_EVERY) {
            return None;
        }
        let task = self.scan(chain);
        self.empty_at = task.is_none().then(Instant::now);
        task
    }

    fn scan(&mut self, chain: &Chain) -> Option<OpenTask> {
        let market = *chain.spec().system_contracts.get(WORK_MARKET)?;
        let head = chain.head();
        let state = chain.reader().ok()?.state().ok()?;
        let mut block = BlockContext::of(&head);
        block.number += 1;
        let view = |input: Vec<u8>| {
            system_call(
                &state,
                chain.execution_config(),
                &block,
                market,
                input.into(),
            )
            .ok()
        };
        let count = WorkMarket::taskCountCall::abi_decode_returns(&view(
            WorkMarket::taskCountCall {}.abi_encode(),
        )?)
        .ok()?
        .saturating_to::<u64>();
        self.first_open = self.first_open.max(1);
        for id in self.first_open..=count {
            if self.tried.contains(&id) {
                continue;
            }
            let task = WorkMarket::tasksCall(U256::from(id));
            let task = WorkMarket::tasksCall::abi_decode_returns(&view(task.abi_encode())?).ok()?;
            let open = task.state == 1 && task.deadline >= block.number;
            if !open {
                if id == self.first_open {
                    self.first_open += 1;
                }
                continue;
            }
            let blobs = chain
                .blob(task.moduleHash)
                .ok()
                .flatten()
                .zip(chain.blob(task.inputHash).ok().flatten());
            let Some((module, input)) = blobs else {
                continue; // not here (yet): the provider uploads blobs with `ankr_putBlob`
            };
            self.tried.insert(id);
            // A subtask is one bounded slice: a task that may need more than a seal can hold
            // would keep the miner off fresh templates (an endless loop with a huge budget
            // stopped every miner). It stays open until its deadline refunds the provider.
            let slice = chain.spec().pouw.max_subtask_tickets;
            if task.maxInstructions > slice {
                tracing::warn!(
                    task = id,
                    budget = task.maxInstructions,
                    slice,
                    "skipping a WorkMarket task whose budget exceeds one subtask's tickets"
                );
                continue;
            }
            return Some(OpenTask {
                market,
                id,
                module: module.into(),
                input: input.into(),
                max_instructions: task.maxInstructions,
            });
        }
        None
    }
}
