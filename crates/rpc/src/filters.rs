//! Polled filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_getFilterChanges`): each remembers
//! the last block it reported; a poll answers from storage, so no background task is needed.
//! Filters not polled for five minutes are dropped, as geth does.

use alloy_primitives::U256;
use alloy_rpc_types_eth::Filter;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_FILTERS: usize = 1024;

#[derive(Clone, Debug)]
pub enum FilterKind {
    Blocks,
    Logs(Box<Filter>),
    PendingTransactions,
}

#[derive(Clone, Debug)]
pub struct ActiveFilter {
    pub kind: FilterKind,
    /// The last block (for pending-transaction filters: the last pool arrival) reported.
    pub reported_up_to: u64,
    last_poll: Instant,
}

#[derive(Default)]
pub struct Filters {
    inner: Mutex<(u64, HashMap<U256, ActiveFilter>)>,
}

impl Filters {
    /// Installs a filter that reports changes after block `head`. `None` when too many exist.
    pub fn install(&self, kind: FilterKind, head: u64) -> Option<U256> {
        let mut guard = self.inner.lock().expect("filters lock");
        let (next, filters) = &mut *guard;
        filters.retain(|_, f| f.last_poll.elapsed() < IDLE_TIMEOUT);
        if filters.len() >= MAX_FILTERS {
            return None;
        }
        *next += 1;
        let id = U256::from(*next);
        filters.insert(
            id,
            ActiveFilter {
                kind,
                reported_up_to: head,
                last_poll: Instant::now(),
            },
        );
        Some(id)
    }

    /// Returns the filter and marks changes up to `head` reported.
    pub fn poll(&self, id: U256, head: u64) -> Option<ActiveFilter> {
        let mut guard = self.inner.lock().expect("filters lock");
        let filter = guard.1.get_mut(&id)?;
        let before = filter.clone();
        filter.reported_up_to = head.max(filter.reported_up_to);
        filter.last_poll = Instant::now();
        Some(before)
    }

    /// Moves a filter's mark to `reported_up_to` (and counts as a poll).
    pub fn advance(&self, id: U256, reported_up_to: u64) {
        if let Some(filter) = self.inner.lock().expect("filters lock").1.get_mut(&id) {
            filter.reported_up_to = reported_up_to;
            filter.last_poll = Instant::now();
        }
    }

    pub fn get(&self, id: U256) -> Option<ActiveFilter> {
        self.inner.lock().expect("filters lock").1.get(&id).cloned()
    }

    pub fn uninstall(&self, id: U256) -> bool {
        self.inner
            .lock()
            .expect("filters lock")
            .1
            .remove(&id)
            .is_some()
    }
}
