//! Tests of the accessors and of the upstream encoding.
#![allow(clippy::unwrap_used)]

use rampart_normalize::{encode_segment, normalize, CanonicalPath, Options};

fn c(p: &str) -> CanonicalPath {
    normalize(p, &Options::default()).unwrap()
}

#[test]
fn segments() {
    let none: [&str; 0] = [];
    assert_eq!(c("/").segments().collect::<Vec<_>>(), none);
    assert_eq!(c("/a").segments().collect::<Vec<_>>(), ["a"]);
    assert_eq!(c("/a/b/").segments().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(c("//a//b//").segments().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        c("/pets/my%20dog/x;y/%2e%2e/z")
            .segments()
            .collect::<Vec<_>>(),
        ["pets", "my dog", "z"]
    );
    assert_eq!(
        c("/admin/..;/s").segments().collect::<Vec<_>>(),
        ["admin", "..;", "s"]
    );
}

#[test]
fn trailing_slash() {
    assert!(!c("/").has_trailing_slash());
    assert!(!c("/a").has_trailing_slash());
    assert!(c("/a/").has_trailing_slash());
    assert!(c("/a/b/..").has_trailing_slash());
    assert!(c("/a/.").has_trailing_slash());
    assert!(!c("/a/..").has_trailing_slash());
    assert!(c("/a//").has_trailing_slash());
}

#[test]
fn as_str_and_conversions() {
    let p = c("/pets/my%20dog/");
    assert_eq!(p.as_str(), "/pets/my dog/");
    assert_eq!(p.to_string(), "/pets/my dog/");
    assert_eq!(AsRef::<str>::as_ref(&p), "/pets/my dog/");
    assert_eq!(String::from(p.clone()), "/pets/my dog/");
    assert_eq!(p.into_string(), "/pets/my dog/");
}

#[test]
fn to_uri_path() {
    assert_eq!(c("/").to_uri_path(), "/");
    assert_eq!(c("/admin;x").to_uri_path(), "/admin%3Bx");
    assert_eq!(c("/admin/..;/secret").to_uri_path(), "/admin/..%3B/secret");
    assert_eq!(c("/100%25").to_uri_path(), "/100%25");
    assert_eq!(c("/%252e%252e/admin").to_uri_path(), "/%252e%252e/admin");
    assert_eq!(c("/caf%c3%a9").to_uri_path(), "/caf%C3%A9");
    assert_eq!(c("/café/").to_uri_path(), "/caf%C3%A9/");
    assert_eq!(c("/a%20b").to_uri_path(), "/a%20b");
    assert_eq!(c("/a%3fb%23c").to_uri_path(), "/a%3Fb%23c");
    assert_eq!(c("/%61dmin").to_uri_path(), "/admin");
    assert_eq!(
        c("/a%22%3C%3E%5B%5D%5E%60%7B%7C%7D").to_uri_path(),
        "/a%22%3C%3E%5B%5D%5E%60%7B%7C%7D"
    );
    assert_eq!(
        c("/AZaz09-._~!$&'()*+,=:@").to_uri_path(),
        "/AZaz09-._~!$&'()*+,=:@"
    );
    assert_eq!(c("/%F0%9F%90%95/").to_uri_path(), "/%F0%9F%90%95/");
}

#[test]
fn encode_segment_matches_to_uri_path() {
    let mut s = String::from("prefix:");
    encode_segment("my dog;é%/?#", &mut s);
    assert_eq!(s, "prefix:my%20dog%3B%C3%A9%25%2F%3F%23");
    for p in ["/a b/c;d/é/%25/x", "/", "/a/", "/!$&'()*+,=:@"] {
        let canon = c(p);
        let mut joined = String::new();
        for seg in canon.segments() {
            joined.push('/');
            encode_segment(seg, &mut joined);
        }
        if canon.has_trailing_slash() || joined.is_empty() {
            joined.push('/');
        }
        assert_eq!(joined, canon.to_uri_path(), "{p:?}");
    }
}

#[test]
fn encoded_segment_value_cannot_add_segments() {
    // A path-parameter value containing '/' or '..' cannot escape its segment.
    let mut p = String::from("/files/");
    encode_segment("../admin", &mut p);
    assert_eq!(p, "/files/..%2Fadmin");
    assert!(normalize(&p, &Options::default()).is_err());
    let mut p = String::from("/files/");
    encode_segment("..", &mut p);
    // `..` itself is unreserved; the caller decides whether such values are allowed.
    assert_eq!(p, "/files/..");
}
