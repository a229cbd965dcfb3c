//! The sync protocol: "send me your canonical blocks from number N" and its answer.

use serde::{Deserialize, Serialize};

/// Protocol name of block sync by range.
pub const SYNC_PROTOCOL: &str = "/ankr/sync/1";
/// Most blocks one answer carries.
pub const MAX_BLOCKS_PER_RESPONSE: u64 = 128;

/// A request for canonical blocks `from`, `from + 1`, … (at most `count`).
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
