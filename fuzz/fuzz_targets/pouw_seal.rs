//! PoUW seals from blocks of peers and external miners: decoding and verifying must never
//! panic, and whatever decodes must re-encode to the same bytes.
#![no_main]

use ankr_pouw::PouwSeal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(seal) = PouwSeal::decode(data) {
        assert_eq!(seal.encode().as_ref(), data);
        let _ = seal.verify(Default::default(), ankr_types::U256::from(1_000u64));
    }
});
