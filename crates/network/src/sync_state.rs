//! Which blocks to ask which peer for, as a pure state machine: the network loop feeds it
//! events (a peer connected, an answer came, an import finished, a tick) and carries out the
//! [`SyncAction`]s it returns. No I/O here, so every decision is unit-tested.
//!
//! Downloads overlap imports, but only so far: at most [`MAX_IMPORTING`] answers wait for the
//! importer, and the next range is asked for only when there is room. A node whose import
//! falls behind (a slow disk, big blocks) stops downloading instead of queueing answers
//! without bound.

use crate::sync::{BlocksResponse, MAX_BLOCKS_PER_RESPONSE};
use libp2p::PeerId;
use std::collections::HashMap;
use std::hash::Hash;

/// Sync answers handed to the importer and not yet imported, at most.
pub const MAX_IMPORTING: usize = 2;

/// What the network loop should do.
#[derive(Debug)]
pub enum SyncAction {
    /// Send `peer` a request for `count` blocks from `from` (0 asks only for its head).
    Ask { peer: PeerId, from: u64, count: u64 },
    /// Hand an answer to the importer.
    Import {
        peer: PeerId,
        response: BlocksResponse,
    },
    /// Count a misdeed against `peer`.
    Strike { peer: PeerId, reason: &'static str },
    /// Refuse `peer` from now on.
    Ban { peer: PeerId, reason: &'static str },
}

/// What the importer made of one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportReport {
    pub from: PeerId,
    /// The highest block of the answer now known here.
    pub last: u64,
    /// The peer has blocks after `last`, and the answer imported cleanly.
    pub more: bool,
    /// A block's parent was unknown: the peer's branch leaves ours below this number.
    pub fork_below: Option<u64>,
    /// The answer held a block that broke a rule.
    pub invalid: bool,
}

/// The sync requests in flight and what each peer was asked; `R` is the transport's request
/// id.
pub struct SyncState<R> {
    /// Requests awaiting an answer: first block and number of blocks asked for.
    in_flight: HashMap<R, (u64, u64)>,
    /// The last block number asked of each peer (to pipeline without asking twice).
    asked_up_to: HashMap<PeerId, u64>,
    importing: usize,
}

impl<R> Default for SyncState<R> {
    fn default() -> Self {
        Self {
            in_flight: HashMap::new(),
            asked_up_to: HashMap::new(),
            importing: 0,
        }
    }
}

impl<R: Hash + Eq> SyncState<R> {
    /// Records that the request `id` ([`SyncAction::Ask`] carried out) is on its way.
    pub fn sent(&mut self, id: R, peer: PeerId, from: u64, count: u64) {
        self.in_flight.insert(id, (from, count));
        if count > 0 {
            let asked = self.asked_up_to.entry(peer).or_default();
            *asked = (*asked).max(from + count - 1);
        }
    }

    /// A new peer: learn its head, and its blocks after ours unless a sync already runs.
    pub fn connected(&self, peer: PeerId, head: u64) -> SyncAction {
        let count = if self.in_flight.is_empty() {
            MAX_BLOCKS_PER_RESPONSE
        } else {
            0
        };
        SyncAction::Ask {
            peer,
            from: head + 1,
            count,
        }
    }

    pub fn disconnected(&mut self, peer: &PeerId) {
        self.asked_up_to.remove(peer);
    }

    /// The periodic check: unless an answer is on its way, ask `best` (the peer claiming the
    /// highest head, if above ours) or else `any` peer for the blocks after `head` — this
    /// catches missed gossip and starts syncs.
    pub fn tick(
        &mut self,
        head: u64,
        best: Option<(PeerId, u64)>,
        any: Option<PeerId>,
    ) -> Option<SyncAction> {
        if !self.in_flight.is_empty() || self.importing > 0 {
            return None;
        }
        let peer = match best {
            Some((peer, claimed)) if claimed > head => peer,
            _ => any?,
        };
        self.asked_up_to.remove(&peer);
        Some(SyncAction::Ask {
            peer,
            from: head + 1,
            count: MAX_BLOCKS_PER_RESPONSE,
        })
    }

    /// A request failed (timeout, closed stream): it is asked again at the next tick.
    pub fn failed(&mut self, id: &R, peer: &PeerId) {
        self.in_flight.remove(id);
        self.asked_up_to.remove(peer);
    }

    /// An answer to request `id`: import its blocks, and ask for the next range now if the
    /// importer has room (otherwise once it catches up).
    pub fn answered(&mut self, id: &R, peer: PeerId, response: BlocksResponse) -> Vec<SyncAction> {
        let Some((from, asked)) = self.in_flight.remove(id) else {
            return Vec::new();
        };
        let count = response.blocks.len() as u64;
        if count == 0 && asked > 0 && response.head >= from {
            // It claims blocks it will not serve: a liar would stall our sync.
            return vec![SyncAction::Strike {
                peer,
                reason: "claimed blocks it did not send",
            }];
        }
        if count == 0 {
            return Vec::new();
        }
        let mut actions = Vec::new();
        let next = from + count;
        if next <= response.head
            && self.importing + 1 < MAX_IMPORTING
            && self.asked_up_to.get(&peer).is_none_or(|&up| up < next)
        {
            actions.push(SyncAction::Ask {
                peer,
                from: next,
                count: MAX_BLOCKS_PER_RESPONSE,
            });
        }
        self.importing += 1;
        actions.push(SyncAction::Import { peer, response });
        actions
    }

    /// The importer finished an answer; `connected` says whether its peer still is.
    pub fn imported(&mut self, report: ImportReport, connected: bool) -> Option<SyncAction> {
        self.importing = self.importing.saturating_sub(1);
        let peer = report.from;
        if report.invalid {
            return Some(SyncAction::Strike {
                peer,
                reason: "invalid block in a sync answer",
            });
        }
        if let Some(first) = report.fork_below {
            if first <= 1 {
                // Their block 1 has another parent: another genesis, another chain.
                return Some(SyncAction::Ban {
                    peer,
                    reason: "follows another chain (another genesis)",
                });
            }
            // Their branch left ours below `first`: ask from further back.
            self.asked_up_to.remove(&peer);
            return Some(SyncAction::Ask {
                peer,
                from: first.saturating_sub(MAX_BLOCKS_PER_RESPONSE).max(1),
                count: MAX_BLOCKS_PER_RESPONSE,
            });
        }
        (report.more
            && connected
            && self
                .asked_up_to
                .get(&peer)
                .is_none_or(|&up| up <= report.last))
        .then_some(SyncAction::Ask {
            peer,
            from: report.last + 1,
            count: MAX_BLOCKS_PER_RESPONSE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(from: u64, count: u64, head: u64) -> BlocksResponse {
        BlocksResponse {
            blocks: (from..from + count)
                .map(|n| serde_bytes::ByteBuf::from(n.to_be_bytes().to_vec()))
                .collect(),
            head,
        }
    }

    fn asks(actions: &[SyncAction]) -> Vec<(u64, u64)> {
        actions
            .iter()
            .filter_map(|a| match a {
                SyncAction::Ask { from, count, .. } => Some((*from, *count)),
                _ => None,
            })
            .collect()
    }

    /// Carries out an ask as the network loop would, with request id `id`.
    fn send(state: &mut SyncState<u32>, id: u32, action: &SyncAction) {
        if let SyncAction::Ask { peer, from, count } = action {
            state.sent(id, *peer, *from, *count);
        }
    }

    #[test]
    fn downloads_stop_while_the_importer_is_behind_and_resume_when_it_catches_up() {
        let peer = PeerId::random();
        let mut state = SyncState::<u32>::default();
        let first = state.tick(0, Some((peer, 10_000)), None).unwrap();
        assert!(matches!(first, SyncAction::Ask { from: 1, .. }));
        send(&mut state, 1, &first);
        // The first answer is imported while the second range downloads.
        let actions = state.answered(&1, peer, answer(1, 128, 10_000));
        assert_eq!(asks(&actions), vec![(129, 128)]);
        send(&mut state, 2, &actions[0]);
        // The second answer arrives before the first is imported: the importer is full, so
        // nothing more is asked.
        let actions = state.answered(&2, peer, answer(129, 128, 10_000));
        assert!(asks(&actions).is_empty(), "{actions:?}");
        assert_eq!(actions.len(), 1);
        // Nor does a tick start another download meanwhile.
        assert!(state.tick(0, Some((peer, 10_000)), None).is_none());
        // The first import finishes: its range is behind what was asked, so still nothing.
        let report = ImportReport {
            from: peer,
            last: 128,
            more: true,
            fork_below: None,
            invalid: false,
        };
        assert!(state.imported(report, true).is_none());
        // The second finishes: the download resumes after it.
        let report = ImportReport {
            last: 256,
            ..report
        };
        let next = state.imported(report, true).unwrap();
        assert!(matches!(
            next,
            SyncAction::Ask {
                from: 257,
                count: 128,
                ..
            }
        ));
    }

    #[test]
    fn a_peer_that_claims_blocks_it_does_not_send_is_struck() {
        let peer = PeerId::random();
        let mut state = SyncState::<u32>::default();
        state.sent(7, peer, 5, 128);
        let actions = state.answered(&7, peer, answer(5, 0, 900));
        assert!(matches!(actions[..], [SyncAction::Strike { .. }]));
        // An answer nobody asked for is ignored.
        assert!(state.answered(&8, peer, answer(5, 3, 900)).is_empty());
    }

    #[test]
    fn forks_are_followed_back_and_another_genesis_is_banned() {
        let peer = PeerId::random();
        let mut state = SyncState::<u32>::default();
        let report = ImportReport {
            from: peer,
            last: 0,
            more: false,
            fork_below: Some(300),
            invalid: false,
        };
        let back = state.imported(report, true).unwrap();
        assert!(matches!(back, SyncAction::Ask { from: 172, .. }));
        let other_chain = ImportReport {
            fork_below: Some(1),
            ..report
        };
        assert!(matches!(
            state.imported(other_chain, true),
            Some(SyncAction::Ban { .. })
        ));
        let invalid = ImportReport {
            fork_below: None,
            invalid: true,
            ..report
        };
        assert!(matches!(
            state.imported(invalid, true),
            Some(SyncAction::Strike { .. })
        ));
    }

    #[test]
    fn a_new_peer_is_asked_only_for_its_head_while_a_sync_runs() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut state = SyncState::<u32>::default();
        assert!(matches!(
            state.connected(a, 10),
            SyncAction::Ask {
                from: 11,
                count: 128,
                ..
            }
        ));
        state.sent(1, a, 11, 128);
        assert!(matches!(
            state.connected(b, 10),
            SyncAction::Ask { count: 0, .. }
        ));
    }
}
