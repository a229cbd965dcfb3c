//! `plasma_sendRawTransaction` input and every leaf a watcher reads: decoding must never panic,
//! whatever decodes must re-encode to the same bytes (so the RootChain's decoder, which reads
//! the same canonical RLP, sees the same transaction), and checking it must not panic either.
#![no_main]

use ankr_plasma::PlasmaTx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = PlasmaTx::decode(data) {
        assert_eq!(tx.encode(), data);
        let _ = tx.check([None, None], Default::default());
    }
});
