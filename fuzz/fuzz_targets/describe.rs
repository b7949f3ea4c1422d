#![no_main]
//! `git describe` translation and the bump grammar must never panic.

use ferry_core::version::scheme::{self, BumpRequest, Scheme, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for t in [Target::Semver, Target::Pep440, Target::Rpm, Target::Deb, Target::Tarball, Target::Openacs] {
        let _ = scheme::describe(text, t);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Ok(req) = BumpRequest::parse(&words) {
        for (s, cur) in [(Scheme::Semver, "1.2.3-rc.1"), (Scheme::Openacs, "5.0.0b1"), (Scheme::Calver, "2025.1.1")] {
            if let Ok(next) = scheme::bump(s, cur, &req, 2026) {
                assert_eq!(s.compare(&next, cur).ok(), Some(std::cmp::Ordering::Greater), "{cur} -> {next}");
            }
        }
    }
});
