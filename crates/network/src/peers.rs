//! What the node remembers of each peer: misbehaviour (strikes, floods, bans), message rates,
//! and the head each one claims. Pure bookkeeping, no I/O, so that the rules are unit-tested.

use libp2p::PeerId;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Invalid blocks (or lies about blocks) a peer may send before it is banned: a block can be
/// invalid for an honest peer too, e.g. one that arrived just after its enclave expired here.
pub const MAX_STRIKES: u32 = 3;

/// Messages over a peer's rate that are dropped before the peer is banned as a flooder.
pub const MAX_DROPPED: u32 = 200;

/// A kind of message with its own per-peer rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Traffic {
    /// Gossiped blocks (honest peers forward about one per block time).
    Block,
    /// Gossiped transactions (a busy pool forwards thousands per second).
    Transaction,
    /// Sync requests served (each reads up to 128 blocks from disk).
    SyncRequest,
}

impl Traffic {
    /// Sustained messages per second, and the burst allowed above it.
    fn limit(self) -> (f64, f64) {
        match self {
            Traffic::Block => (20.0, 200.0),
            Traffic::Transaction => (5_000.0, 20_000.0),
            Traffic::SyncRequest => (20.0, 60.0),
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Clone, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// What the book says to do after a peer misbehaved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the peer; it has been noted.
    Keep,
    /// Disconnect the peer and refuse it until restart.
    Ban,
}

/// Per-peer state of one node.
#[derive(Default, Debug)]
pub struct PeerBook {
    strikes: HashMap<PeerId, u32>,
    dropped: HashMap<PeerId, u32>,
    buckets: HashMap<(PeerId, Traffic), Bucket>,
    banned: HashSet<PeerId>,
    /// The head number each connected peer last told us about.
    claimed_heads: HashMap<PeerId, u64>,
}

impl PeerBook {
    /// Whether `peer` was banned.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned.contains(peer)
    }

    /// Bans `peer`; `true` if it was not banned before.
    pub fn ban(&mut self, peer: PeerId) -> bool {
        self.claimed_heads.remove(&peer);
        self.banned.insert(peer)
    }

    /// Counts one invalid block (or a lie about blocks) against `peer`.
    pub fn strike(&mut self, peer: PeerId) -> (u32, Verdict) {
        let strikes = self.strikes.entry(peer).or_default();
        *strikes += 1;
        let verdict = if *strikes >= MAX_STRIKES {
            Verdict::Ban
        } else {
            Verdict::Keep
        };
        (*strikes, verdict)
    }

    /// Takes one message of `traffic` from `peer` out of its bucket. `Ok` if within its rate;
    /// otherwise the message is to be dropped, and the verdict says whether the peer floods.
    pub fn admit(&mut self, peer: PeerId, traffic: Traffic, now: Instant) -> Result<(), Verdict> {
        let (rate, burst) = traffic.limit();
        let bucket = self.buckets.entry((peer, traffic)).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let dropped = self.dropped.entry(peer).or_default();
        *dropped += 1;
        Err(if *dropped >= MAX_DROPPED {
            Verdict::Ban
        } else {
            Verdict::Keep
        })
    }

    /// Records the head `peer` says it has.
    pub fn claim_head(&mut self, peer: PeerId, head: u64) {
        self.claimed_heads.insert(peer, head);
    }

    /// Raises what `peer` claims to at least `number`: it just sent us that block.
    pub fn saw_block(&mut self, peer: PeerId, number: u64) {
        let head = self.claimed_heads.entry(peer).or_default();
        *head = (*head).max(number);
    }

    /// Forgets what a disconnected peer claimed (its rate state is kept: reconnecting does
    /// not refill a flooder's bucket).
    pub fn disconnected(&mut self, peer: &PeerId) {
        self.claimed_heads.remove(peer);
    }

    /// The connected peer claiming the highest head, with that head.
    pub fn best_peer(&self) -> Option<(PeerId, u64)> {
        self.claimed_heads
            .iter()
            .max_by_key(|(_, head)| **head)
            .map(|(peer, head)| (*peer, *head))
    }

    /// Forgets dropped-message counts older than a window, so that a peer that was briefly
    /// over its rate long ago is not banned for a later burst. Called periodically.
    pub fn forgive_drops(&mut self) {
        self.dropped.clear();
    }
}

/// How often dropped-message counts are forgotten.
pub const DROP_WINDOW: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_within_its_rate_is_never_dropped() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        let start = Instant::now();
        // 20 blocks a second for a minute, plus the whole burst at the start.
        for i in 0..(200 + 20 * 60) {
            let now = start + Duration::from_millis(i * 50);
            assert_eq!(book.admit(peer, Traffic::Block, now), Ok(()), "message {i}");
        }
    }

    #[test]
    fn a_flooder_is_dropped_then_banned() {
        let mut book = PeerBook::default();
        let peer = PeerId::random();
        let now = Instant::now();
        for _ in 0..60 {
            assert_eq!(book.admit(peer, Traffic::SyncRequest, now), Ok(()));
        }
        for _ in 1..MAX_DROPPED {
            assert_eq!(
                book.admit(peer, Traffic::SyncRequest, now),
                Err(Verdict::Keep)
            );
        }
        assert_eq!(
            book.admit(peer, Traffic::SyncRequest, now),
            Err(Verdict::Ban)
        );
        // Another peer's bucket is its own.
        assert_eq!(
            book.admit(PeerId::random(), Traffic::SyncRequest, now),
            Ok(())
        );
    }

    #[test]
    fn strikes_ban_at_the_limit_and_the_best_peer_is_the_highest_claim() {
        let mut book = PeerBook::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        assert_eq!(book.strike(a), (1, Verdict::Keep));
        assert_eq!(book.strike(a), (2, Verdict::Keep));
        assert_eq!(book.strike(a), (3, Verdict::Ban));
        book.claim_head(a, 90);
        book.claim_head(b, 40);
        assert_eq!(book.best_peer(), Some((a, 90)));
        assert!(book.ban(a));
        assert!(!book.ban(a));
        assert!(book.is_banned(&a));
        assert_eq!(book.best_peer(), Some((b, 40)));
        book.disconnected(&b);
        assert_eq!(book.best_peer(), None);
    }
}
