//! The sync protocol — "send me your canonical blocks from number N" and its answer — and
//! how far behind its peers a node is.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Protocol name of block sync by range.
pub const SYNC_PROTOCOL: &str = "/ankr/sync/1";
/// Most blocks one answer carries.
pub const MAX_BLOCKS_PER_RESPONSE: u64 = 128;
/// An answer stops adding blocks past this size (it always carries at least one block), so
/// that it stays under [`MAX_RESPONSE_BYTES`] even when blocks are full.
pub const SOFT_RESPONSE_BYTES: usize = 8 << 20;
/// Largest answer read from a peer: a soft-capped answer plus one maximal block.
pub const MAX_RESPONSE_BYTES: u64 = 24 << 20;
/// Largest request read from a peer (a request is two numbers).
pub const MAX_REQUEST_BYTES: u64 = 1024;
/// A node is syncing while a peer claims a head more than this many blocks ahead of its own
/// (one or two behind is ordinary gossip latency).
pub const SYNCING_MARGIN: u64 = 2;

/// A request for canonical blocks `from`, `from + 1`, … (at most `count`; 0 asks only for the
/// peer's head).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlocksRequest {
    pub from: u64,
    pub count: u64,
}

/// Raw RLP blocks, in order, as many as the peer has (possibly none).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlocksResponse {
    pub blocks: Vec<serde_bytes::ByteBuf>,
    /// The peer's head number, so the asker knows whether to keep asking.
    pub head: u64,
}

/// A live view of a node's network, shared with RPC (`net_peerCount`, `eth_syncing`) and the
/// devnet's status lines. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct NetworkStatus {
    inner: Arc<StatusInner>,
}

#[derive(Debug, Default)]
struct StatusInner {
    peers: AtomicUsize,
    banned: AtomicUsize,
    /// The highest head a connected peer claims.
    highest: AtomicU64,
    /// The node's head when the current sync began.
    starting: AtomicU64,
}

/// Where a sync stands, as `eth_syncing` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syncing {
    pub starting: u64,
    pub current: u64,
    pub highest: u64,
}

impl NetworkStatus {
    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        self.inner.peers.load(Ordering::Relaxed)
    }

    /// Peers banned since start (invalid blocks, floods, another chain).
    pub fn banned_count(&self) -> usize {
        self.inner.banned.load(Ordering::Relaxed)
    }

    /// `Some` while a peer claims a head well beyond `head`.
    pub fn syncing(&self, head: u64) -> Option<Syncing> {
        let highest = self.inner.highest.load(Ordering::Relaxed);
        (highest > head + SYNCING_MARGIN).then(|| Syncing {
            starting: self.inner.starting.load(Ordering::Relaxed).min(head),
            current: head,
            highest,
        })
    }

    pub(crate) fn set_peers(&self, peers: usize) {
        self.inner.peers.store(peers, Ordering::Relaxed);
    }

    pub(crate) fn add_banned(&self) {
        self.inner.banned.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the best claim; a sync that begins now begins at `head`.
    pub(crate) fn set_highest(&self, highest: u64, head: u64) {
        if self.syncing(head).is_none() && highest > head + SYNCING_MARGIN {
            self.inner.starting.store(head, Ordering::Relaxed);
        }
        self.inner.highest.store(highest, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncing_starts_where_the_node_was_and_ends_near_the_best_claim() {
        let status = NetworkStatus::default();
        assert_eq!(status.syncing(0), None);
        status.set_highest(500, 10);
        assert_eq!(
            status.syncing(10),
            Some(Syncing {
                starting: 10,
                current: 10,
                highest: 500
            })
        );
        // Later claims do not move the start.
        status.set_highest(520, 300);
        assert_eq!(status.syncing(300).unwrap().starting, 10);
        // Within the margin the node is following, not syncing.
        assert_eq!(status.syncing(518), None);
        assert_eq!(status.syncing(520), None);
    }
}
