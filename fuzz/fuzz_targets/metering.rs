//! Work modules from providers: the metering pass must never panic, and what it accepts must
//! still be valid wasm for the runtime.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(metered) = ankr_enclave::metering::instrument(data) {
        wasmparser::Validator::new_with_features(ankr_enclave::metering::allowed_features())
            .validate_all(&metered)
            .expect("metered module is valid");
    }
});
