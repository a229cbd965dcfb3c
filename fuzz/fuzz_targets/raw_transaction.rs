//! `eth_sendRawTransaction` input: decoding and sender recovery must never panic, and whatever
//! decodes must re-encode to the same bytes.
#![no_main]

use alloy_eips::{Decodable2718, Encodable2718};
use ankr_types::{TxEnvelope, recover_sender};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = TxEnvelope::decode_2718_exact(data) {
        let _ = recover_sender(&tx);
        assert_eq!(tx.encoded_2718(), data);
    }
});
