//! Properties of the version algebra over generated versions.

use ferry_core::version::scheme::{bump, BumpRequest, Level, Scheme};
use ferry_core::version::staged::{Stage, Staged};
use ferry_core::version::SemVer;
use proptest::prelude::*;
use std::cmp::Ordering;

fn staged(with_dev: bool) -> impl Strategy<Value = Staged> {
    let stages = if with_dev {
        prop_oneof![
            Just(Stage::Dev),
            Just(Stage::Alpha),
            Just(Stage::Beta),
            Just(Stage::Rc)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Stage::Alpha), Just(Stage::Beta), Just(Stage::Rc)].boxed()
    };
    (
        0u64..4,
        0u64..4,
        0u64..4,
        proptest::option::of((stages, 1u64..12)),
    )
        .prop_map(|(major, minor, patch, stage)| Staged {
            major,
            minor,
            patch,
            stage,
            spelling: Default::default(),
        })
}

fn request() -> impl Strategy<Value = BumpRequest> {
    let level = prop_oneof![Just(Level::Patch), Just(Level::Minor), Just(Level::Major)];
    let stage = prop_oneof![Just(Stage::Alpha), Just(Stage::Beta), Just(Stage::Rc)];
    prop_oneof![
        (level, proptest::option::of(stage.clone()))
            .prop_map(|(level, stage)| BumpRequest::Level { level, stage }),
        stage.prop_map(|stage| BumpRequest::Stage { stage }),
        Just(BumpRequest::Release),
    ]
}

proptest! {
    /// Conversions preserve order: the canonical order equals the order of every
    /// rendering under its own ecosystem's comparison.
    #[test]
    fn renderings_sort_like_the_canonical_version(a in staged(true), b in staged(true)) {
        let want = a.cmp(&b);
        prop_assert_eq!(Scheme::Semver.compare(&a.to_semver(), &b.to_semver()).ok(), Some(want), "semver {} {}", a.to_semver(), b.to_semver());
        let (pa, pb) = (a.to_pep440().expect("pep440"), b.to_pep440().expect("pep440"));
        prop_assert_eq!(Scheme::Pep440.compare(&pa, &pb).ok(), Some(want), "pep440 {} {}", pa, pb);
        prop_assert_eq!(Scheme::Rpm.compare(&a.to_tilde(), &b.to_tilde()).ok(), Some(want), "rpm {} {}", a.to_tilde(), b.to_tilde());
        prop_assert_eq!(Scheme::Deb.compare(&a.to_tilde(), &b.to_tilde()).ok(), Some(want), "deb {} {}", a.to_tilde(), b.to_tilde());
        let (oa, ob) = (a.to_openacs().expect("openacs"), b.to_openacs().expect("openacs"));
        prop_assert_eq!(Scheme::Openacs.compare(&oa, &ob).ok(), Some(want), "openacs {} {}", oa, ob);
    }

    #[test]
    fn tarantool_rendering_sorts_like_the_canonical_version(a in staged(false), b in staged(false)) {
        prop_assert_eq!(Scheme::Tarantool.compare(&a.to_tarantool(), &b.to_tarantool()).ok(), Some(a.cmp(&b)));
    }

    /// Every rendering parses back to the same canonical version.
    #[test]
    fn renderings_round_trip(v in staged(true)) {
        prop_assert_eq!(Scheme::Semver.staged(&v.to_semver()).ok(), Some(v.clone()));
        prop_assert_eq!(Scheme::Pep440.staged(&v.to_pep440().expect("pep440")).ok(), Some(v.clone()));
        prop_assert_eq!(Scheme::Rpm.staged(&v.to_tilde()).ok(), Some(v.clone()));
        prop_assert_eq!(Scheme::Openacs.staged(&v.to_openacs().expect("openacs")).ok(), Some(v.clone()));
    }

    /// A bump result is always greater than its input.
    #[test]
    fn bumps_always_increase(v in staged(false), req in request()) {
        for scheme in [Scheme::Semver, Scheme::Tarantool, Scheme::Pep440, Scheme::Openacs] {
            let current = scheme.render(&v).expect("renderable");
            if let Ok(next) = bump(scheme, &current, &req, 2026) {
                prop_assert_eq!(scheme.compare(&next, &current).ok(), Some(Ordering::Greater), "{}: {} -> {}", scheme, current, next);
            }
        }
    }

    /// SemVer precedence is a total order consistent with printing and parsing.
    #[test]
    fn semver_total_order_and_round_trip(
        a in "(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9])(-(alpha|beta|rc|0|[1-9][0-9]?|x-y)(\\.(0|[1-9]|[a-z]{1,3})){0,2})?(\\+[a-z0-9]{1,4})?",
        b in "(0|[1-9])\\.(0|[1-9])\\.(0|[1-9])(-(alpha|beta|rc|0|[1-9])(\\.(0|[1-9]|[a-z]{1,3})){0,2})?",
        c in "(0|[1-9])\\.(0|[1-9])\\.(0|[1-9])(-(alpha|beta|rc|0|[1-9])(\\.(0|[1-9]|[a-z]{1,3})){0,2})?",
    ) {
        let (va, vb, vc) = (SemVer::parse(&a).expect("a"), SemVer::parse(&b).expect("b"), SemVer::parse(&c).expect("c"));
        prop_assert_eq!(va.to_string(), a.clone());
        prop_assert_eq!(va.precedence(&vb), vb.precedence(&va).reverse());
        if va.precedence(&vb) != Ordering::Greater && vb.precedence(&vc) != Ordering::Greater {
            prop_assert_ne!(va.precedence(&vc), Ordering::Greater, "transitivity {} {} {}", a, b, c);
        }
    }

    /// No parser panics on arbitrary input.
    #[test]
    fn parsers_never_panic(text in ".{0,40}") {
        for scheme in Scheme::ALL {
            let _ = scheme.validate(&text);
            let _ = scheme.staged(&text);
        }
    }
}
