//! What every parser's fuzz target checks.

use ferry_core::version::scheme::{self, Scheme, Target};

/// Parse, compare, round-trip and convert `text` under `scheme`; panics on a bug.
pub fn exercise(scheme: Scheme, text: &str) {
    let _ = scheme.compare(text, text);
    if scheme.validate(text).is_ok() {
        assert_eq!(scheme.compare(text, text).ok(), Some(std::cmp::Ordering::Equal), "{text:?} equals itself");
    }
    if let Ok(staged) = scheme.staged(text) {
        if let Ok(rendered) = scheme.render(&staged) {
            assert_eq!(scheme.staged(&rendered).ok(), Some(staged), "{scheme}: {text:?} -> {rendered:?}");
        }
    }
    for t in [Target::Semver, Target::Pep440, Target::Rpm, Target::Deb, Target::Tarball, Target::Openacs] {
        let _ = scheme::convert(scheme, text, t);
    }
}
