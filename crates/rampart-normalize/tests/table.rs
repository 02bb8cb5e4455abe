//! Data-driven table of inputs and their canonical form or rejection, under
//! both duplicate-slash policies. `docs/canonical-path.md` mirrors the bypass
//! part of this table.
#![allow(clippy::unwrap_used)]

use rampart_normalize::{normalize, DuplicateSlashes, Options, Rejection};
use Rejection::*;

type Outcome = Result<&'static str, Rejection>;

/// `(input, outcome with Merge, outcome with Reject)`; `None` = same as Merge.
pub const CASES: &[(&str, Outcome, Option<Outcome>)] = &[
    // --- rule 1: absolute
    ("", Err(NotAbsolute), None),
    ("*", Err(NotAbsolute), None),
    ("a/b", Err(NotAbsolute), None),
    ("%2Fadmin", Err(NotAbsolute), None),
    ("\\admin", Err(NotAbsolute), None),
    ("/", Ok("/"), None),
    // --- dot segments (rule 5)
    ("/admin/../public", Ok("/public"), None),
    ("/public/../admin", Ok("/admin"), None),
    ("/%2e%2e/", Ok("/"), None),
    ("/%2E%2E/admin", Ok("/admin"), None),
    ("/public/.%2E/admin", Ok("/admin"), None),
    ("/public/%2E./admin", Ok("/admin"), None),
    ("/public/%2e/admin", Ok("/public/admin"), None),
    ("/a/./b", Ok("/a/b"), None),
    ("/a/b/../../../../c", Ok("/c"), None),
    ("/../a", Ok("/a"), None),
    ("/..", Ok("/"), None),
    ("/.", Ok("/"), None),
    ("/a/b/..", Ok("/a/"), None),
    ("/a/b/../", Ok("/a/"), None),
    ("/a/.", Ok("/a/"), None),
    ("/a/./", Ok("/a/"), None),
    ("/a/..", Ok("/"), None),
    ("/a/b/./../c", Ok("/a/c"), None),
    ("/a/.../b", Ok("/a/.../b"), None),
    ("/a/.b/..c/b.", Ok("/a/.b/..c/b."), None),
    ("/a/%2e%2e%2e", Ok("/a/..."), None),
    // --- matrix parameters are literal (rule 6)
    ("/admin;x", Ok("/admin;x"), None),
    ("/admin/..;/secret", Ok("/admin/..;/secret"), None),
    ("/admin/.;/secret", Ok("/admin/.;/secret"), None),
    ("/admin%3Bx", Ok("/admin;x"), None),
    ("/admin/..%3B/secret", Ok("/admin/..;/secret"), None),
    ("/a+b", Ok("/a+b"), None),
    // --- duplicate slashes (rule 4)
    ("//admin", Ok("/admin"), Some(Err(DuplicateSlash))),
    ("///admin", Ok("/admin"), Some(Err(DuplicateSlash))),
    ("/a//b", Ok("/a/b"), Some(Err(DuplicateSlash))),
    ("/a//", Ok("/a/"), Some(Err(DuplicateSlash))),
    ("//", Ok("/"), Some(Err(DuplicateSlash))),
    ("/a/", Ok("/a/"), None),
    ("/a/b/", Ok("/a/b/"), None),
    ("/a/.//b", Ok("/a/b"), Some(Err(DuplicateSlash))),
    ("//..", Ok("/"), Some(Err(DuplicateSlash))),
    // --- case preserved
    ("/ADMIN", Ok("/ADMIN"), None),
    ("/Admin/Users", Ok("/Admin/Users"), None),
    // --- encoded slash (rule 2)
    ("/public/..%2fadmin", Err(EncodedSlash), None),
    ("/public/..%2Fadmin", Err(EncodedSlash), None),
    ("/admin%2f", Err(EncodedSlash), None),
    ("/admin%2F..", Err(EncodedSlash), None),
    ("/%2f", Err(EncodedSlash), None),
    // --- backslash
    ("/admin%5c..%5csecret", Err(Backslash), None),
    ("/admin%5C..%5Csecret", Err(Backslash), None),
    ("/admin\\", Err(Backslash), None),
    ("/admin\\..\\secret", Err(Backslash), None),
    // --- NUL and control characters
    ("/admin%00", Err(Nul), None),
    ("/admin%00.json", Err(Nul), None),
    ("/admin\0", Err(Nul), None),
    ("/a%09b", Err(ControlCharacter), None),
    ("/a%7Fb", Err(ControlCharacter), None),
    ("/a%0d%0aX-Injected:%201", Err(ControlCharacter), None),
    ("/a\tb", Err(ControlCharacter), None),
    ("/a\u{7f}b", Err(ControlCharacter), None),
    ("/a%1F", Err(ControlCharacter), None),
    // --- invalid UTF-8, overlong forms, surrogates (rule 3)
    ("/%c0%ae%c0%ae/admin", Err(InvalidUtf8), None),
    ("/%c0%af", Err(InvalidUtf8), None),
    ("/%e0%80%ae", Err(InvalidUtf8), None),
    ("/%ed%a0%80", Err(InvalidUtf8), None),
    ("/%ff", Err(InvalidUtf8), None),
    ("/%C3", Err(InvalidUtf8), None),
    ("/%C3/%A9", Err(InvalidUtf8), None),
    ("/%f4%90%80%80", Err(InvalidUtf8), None),
    ("/x/%ff/..", Err(InvalidUtf8), None),
    // --- invalid percent-encoding
    ("/%", Err(InvalidPercentEncoding), None),
    ("/%4", Err(InvalidPercentEncoding), None),
    ("/%zz", Err(InvalidPercentEncoding), None),
    ("/%4g", Err(InvalidPercentEncoding), None),
    ("/%%41", Err(InvalidPercentEncoding), None),
    ("/a%/b", Err(InvalidPercentEncoding), None),
    ("/%u002e", Err(InvalidPercentEncoding), None),
    // --- ordinary decoding
    ("/a%20b", Ok("/a b"), None),
    ("/%61dmin", Ok("/admin"), None),
    ("/%41DMIN", Ok("/ADMIN"), None),
    ("/caf%C3%A9", Ok("/café"), None),
    ("/caf%c3%a9", Ok("/café"), None),
    ("/café", Ok("/café"), None),
    ("/%F0%9F%90%95", Ok("/🐕"), None),
    ("/100%25", Ok("/100%"), None),
    ("/%2541", Ok("/%41"), None),
    ("/%252e%252e/admin", Ok("/%2e%2e/admin"), None),
    ("/a/../../b", Ok("/b"), None),
    ("/a%5Cb", Err(Backslash), None),
    ("/a%3Fb%23c", Ok("/a?b#c"), None),
    ("/pets/my%20dog/", Ok("/pets/my dog/"), None),
    ("/~user/a-b_c.d", Ok("/~user/a-b_c.d"), None),
    ("/a:b@c!$&'()*,=", Ok("/a:b@c!$&'()*,="), None),
];

fn opts(d: DuplicateSlashes) -> Options {
    Options {
        duplicate_slashes: d,
    }
}

#[test]
fn table() {
    assert!(CASES.len() >= 40);
    let mut failures = Vec::new();
    for &(input, merge, reject) in CASES {
        for (policy, expected) in [
            (DuplicateSlashes::Merge, merge),
            (DuplicateSlashes::Reject, reject.unwrap_or(merge)),
        ] {
            let got = normalize(input, &opts(policy));
            let got = got.as_ref().map(|c| c.as_str()).map_err(|e| *e);
            if got != expected {
                failures.push(format!(
                    "{input:?} ({policy:?}): expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_round_trips() {
    for &(input, _, _) in CASES {
        for policy in [DuplicateSlashes::Merge, DuplicateSlashes::Reject] {
            let o = opts(policy);
            if let Ok(c) = normalize(input, &o) {
                let uri = c.to_uri_path();
                assert_eq!(normalize(&uri, &o).as_ref(), Ok(&c), "{input:?} -> {uri:?}");
                // the canonical form is itself canonical
                let again = normalize(&uri, &o).unwrap();
                assert_eq!(again.to_uri_path(), uri);
                if !c.as_str().contains('%') {
                    assert_eq!(normalize(c.as_str(), &o).as_ref(), Ok(&c), "{input:?}");
                }
            }
        }
    }
}

#[test]
fn rejections_have_reasons() {
    let all = [
        NotAbsolute,
        InvalidPercentEncoding,
        EncodedSlash,
        Backslash,
        Nul,
        ControlCharacter,
        InvalidUtf8,
        DuplicateSlash,
    ];
    let mut seen = std::collections::HashSet::new();
    for r in all {
        assert!(!r.reason().is_empty());
        assert!(r.reason().is_ascii());
        assert_eq!(r.to_string(), r.reason());
        assert!(seen.insert(r.reason()), "duplicate reason {r:?}");
        let _: &dyn std::error::Error = &r;
    }
    assert_eq!(EncodedSlash.reason(), "encoded slash in path");
}
