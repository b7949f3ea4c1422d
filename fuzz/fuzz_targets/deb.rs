#![no_main]
//! The deb parser must never panic; what parses must round-trip through its rendering.

use ferry_core::version::scheme::Scheme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        ferry_fuzz_common::exercise(Scheme::Deb, text);
    }
});
