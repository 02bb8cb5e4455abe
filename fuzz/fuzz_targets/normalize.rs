//! Fuzz target for `rampart_normalize::normalize`.
//!
//! Run with `cargo +nightly fuzz run normalize` from the repository root.
//! For every input that normalizes, checks the canonical-path invariants:
//! starts with '/', no empty segment, no '.' / '..' segment, no separator,
//! NUL or control byte, idempotent through the upstream encoding, and the
//! duplicate-slash policy only turns an accepted path into DuplicateSlash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_normalize::{normalize, CanonicalPath, DuplicateSlashes, Options, Rejection};

fn check(input: &str, opts: &Options, c: &CanonicalPath) {
    let s = c.as_str();
    assert!(s.starts_with('/'), "{input:?} -> {s:?}");
    assert!(!s.contains("//"), "{input:?} -> {s:?}");
    assert!(
        !s.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7F),
        "{input:?} -> {s:?}"
    );
    assert!(
        s.split('/').all(|seg| seg != "." && seg != ".."),
        "{input:?} -> {s:?}"
    );
    assert!(c.segments().all(|seg| !seg.is_empty()));
    assert_eq!(c.has_trailing_slash(), s.len() > 1 && s.ends_with('/'));

    let uri = c.to_uri_path();
    assert!(uri.is_ascii() && !uri.contains(';'), "{uri:?}");
    assert_eq!(
        normalize(&uri, opts).as_ref(),
        Ok(c),
        "{input:?} -> {uri:?}"
    );
    if !s.contains('%') {
        assert_eq!(normalize(s, opts).as_ref(), Ok(c), "{input:?}");
    }
}

fuzz_target!(|input: &str| {
    let merge = Options::default();
    let reject = Options {
        duplicate_slashes: DuplicateSlashes::Reject,
    };
    let m = normalize(input, &merge);
    let r = normalize(input, &reject);
    match (&m, &r) {
        (Ok(cm), Ok(cr)) => {
            assert_eq!(cm, cr);
            check(input, &merge, cm);
            check(input, &reject, cr);
        }
        (Ok(cm), Err(Rejection::DuplicateSlash)) => check(input, &merge, cm),
        (Err(em), Err(er)) => {
            assert_eq!(em, er, "{input:?}");
            if *em == Rejection::NotAbsolute {
                assert!(!input.starts_with('/'));
            }
        }
        _ => panic!("{input:?}: merge {m:?}, reject {r:?}"),
    }
});
