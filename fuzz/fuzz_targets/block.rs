//! Blocks from peers and `ankr_submitBlock`: decoding must never panic, and whatever decodes
//! must re-encode to the same bytes (one meaning per byte string).
#![no_main]

use ankr_types::{Block, Header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode_exact(data) {
        assert_eq!(alloy_rlp::encode(&block), data);
    }
    if let Ok(header) = Header::decode_exact(data) {
        assert_eq!(alloy_rlp::encode(&header), data);
    }
});
