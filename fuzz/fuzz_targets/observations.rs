//! libFuzzer entry for `truce_fuzz_targets::observations` (what it checks is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| truce_fuzz_targets::observations(data));
