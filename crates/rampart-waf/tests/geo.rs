//! Country lookup (`rampart_waf::geo`) against small country databases built in memory by
//! a test MMDB writer (`support/mmdb_writer.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/mmdb_writer.rs"]
mod mmdb_writer;

use mmdb_writer::{map, s, MmdbWriter, Value};
use rampart_waf::geo::GeoDb;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A GeoLite2-like country map: code, geoname id, names.
fn country(code: &str, name: &str) -> Value {
    map(vec![
        ("geoname_id", Value::U32(2_750_405)),
        ("is_in_european_union", Value::Bool(true)),
        ("iso_code", s(code)),
        ("names", map(vec![("en", s(name)), ("de", s(name))])),
    ])
}

fn continent(code: &str) -> Value {
    map(vec![
        ("code", s(code)),
        ("geoname_id", Value::U32(6_255_148)),
        ("names", map(vec![("en", s("Somewhere"))])),
    ])
}

/// A record with `country` and `registered_country` both set to `code`.
fn full_record(code: &str) -> Value {
    map(vec![
        ("continent", continent("EU")),
        ("country", country(code, "Land")),
        ("registered_country", country(code, "Land")),
    ])
}

/// IPv4 networks in the test databases, broadest first.
fn ipv4_networks(w: &mut MmdbWriter) {
    let nl = w.add_data(&full_record("NL"));
    let us = w.add_data(&full_record("US"));
    let de = w.add_data(&full_record("DE"));
    let jp = w.add_data(&full_record("JP"));
    let ad = w.add_data(&full_record("AD"));
    // Only `registered_country` (as for some anycast or satellite networks).
    let sg = w.add_data(&map(vec![
        ("continent", continent("AS")),
        ("registered_country", country("SG", "Singapore")),
        ("traits", map(vec![("is_anycast", Value::Bool(true))])),
    ]));
    // A `country` without an `iso_code`: falls back to `registered_country`.
    let it = w.add_data(&map(vec![
        ("country", map(vec![("names", map(vec![("en", s("?"))]))])),
        ("registered_country", country("IT", "Italy")),
    ]));
    // No country at all.
    let none = w.add_data(&map(vec![("continent", continent("AS"))]));
    // Lowercase code.
    let ch = w.add_data(&map(vec![("country", country("ch", "Switzerland"))]));

    w.insert("0.0.0.0/31", ad);
    w.insert("1.2.3.0/24", nl);
    w.insert("10.0.0.0/8", us);
    w.insert("10.1.0.0/16", de);
    w.insert("100.64.0.0/10", it);
    w.insert("192.0.2.1/32", jp);
    w.insert("198.51.100.0/24", none);
    w.insert("203.0.113.0/25", sg);
    w.insert("224.0.0.0/3", ch);
}

/// IPv6 networks in the test databases, broadest first.
fn ipv6_networks(w: &mut MmdbWriter) {
    let fr = w.add_data(&full_record("FR"));
    // `country` differs from `registered_country`: `country` wins.
    let gb = w.add_data(&map(vec![
        ("country", country("GB", "United Kingdom")),
        ("registered_country", country("US", "United States")),
    ]));
    let aq = w.add_data(&full_record("AQ"));
    // Keys and values behind pointers, as MaxMind's writer deduplicates them.
    let br_country = w.add_data(&country("BR", "Brazil"));
    let key_country = w.add_data(&s("country"));
    let key_registered = w.add_data(&s("registered_country"));
    let br = w.add_data(&Value::Map(vec![
        (Value::Pointer(key_country), Value::Pointer(br_country)),
        (Value::Pointer(key_registered), Value::Pointer(br_country)),
    ]));

    w.insert("2001:db8::/32", fr);
    w.insert("2001:db8:1::/48", br);
    w.insert("2a02:1234::/31", gb);
    w.insert("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", aq);
}

fn ipv6_db(record_size: u16) -> Vec<u8> {
    let mut w = MmdbWriter::new(6, record_size);
    ipv4_networks(&mut w);
    ipv6_networks(&mut w);
    w.build()
}

fn ipv4_db(record_size: u16) -> Vec<u8> {
    let mut w = MmdbWriter::new(4, record_size);
    w.database_type = "DBIP-Country-Lite".to_string();
    ipv4_networks(&mut w);
    w.build()
}

/// IPv4 addresses and their expected countries: each network's first and last address
/// and the addresses just outside it.
const IPV4_CASES: &[(&str, Option<&str>)] = &[
    ("0.0.0.0", Some("AD")),
    ("0.0.0.1", Some("AD")),
    ("0.0.0.2", None),
    ("1.2.2.255", None),
    ("1.2.3.0", Some("NL")),
    ("1.2.3.128", Some("NL")),
    ("1.2.3.255", Some("NL")),
    ("1.2.4.0", None),
    ("8.8.8.8", None),
    ("9.255.255.255", None),
    ("10.0.0.0", Some("US")),
    ("10.0.255.255", Some("US")),
    ("10.1.0.0", Some("DE")),
    ("10.1.200.3", Some("DE")),
    ("10.1.255.255", Some("DE")),
    ("10.2.0.0", Some("US")),
    ("10.255.255.255", Some("US")),
    ("11.0.0.0", None),
    ("100.63.255.255", None),
    ("100.64.0.0", Some("IT")),
    ("100.127.255.255", Some("IT")),
    ("100.128.0.0", None),
    ("192.0.2.0", None),
    ("192.0.2.1", Some("JP")),
    ("192.0.2.2", None),
    ("198.51.100.0", None),
    ("198.51.100.255", None),
    ("203.0.112.255", None),
    ("203.0.113.0", Some("SG")),
    ("203.0.113.127", Some("SG")),
    ("203.0.113.128", None),
    ("223.255.255.255", None),
    ("224.0.0.0", Some("CH")),
    ("255.255.255.255", Some("CH")),
];

const IPV6_CASES: &[(&str, Option<&str>)] = &[
    ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ("2001:db8::", Some("FR")),
    ("2001:db8:0:ffff:ffff:ffff:ffff:ffff", Some("FR")),
    ("2001:db8:1::", Some("BR")),
    ("2001:db8:1:ffff:ffff:ffff:ffff:ffff", Some("BR")),
    ("2001:db8:2::", Some("FR")),
    ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Some("FR")),
    ("2001:db9::", None),
    ("2a02:1233:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ("2a02:1234::", Some("GB")),
    ("2a02:1235:ffff:ffff:ffff:ffff:ffff:ffff", Some("GB")),
    ("2a02:1236::", None),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", None),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", Some("AQ")),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("AQ")),
    // 6to4 is not aliased to the IPv4 tree in the test databases.
    ("2002:102:304::", None),
    ("::ffff:0:0:1", None),
];

fn lookup(db: &GeoDb, ip: &str) -> Option<String> {
    let ip: IpAddr = ip.parse().unwrap();
    db.country(ip)
        .map(|code| String::from_utf8(code.to_vec()).unwrap())
}

fn check(db: &GeoDb, cases: &[(&str, Option<&str>)], what: &str) {
    let mut wrong = Vec::new();
    for (ip, expected) in cases {
        let got = lookup(db, ip);
        if got.as_deref() != *expected {
            wrong.push(format!("{ip}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

/// `::ffff:a.b.c.d` for each IPv4 case.
fn mapped(cases: &[(&'static str, Option<&'static str>)]) -> Vec<(String, Option<&'static str>)> {
    cases
        .iter()
        .map(|(ip, expected)| {
            let v4: std::net::Ipv4Addr = ip.parse().unwrap();
            (v4.to_ipv6_mapped().to_string(), *expected)
        })
        .collect()
}

fn check_owned(db: &GeoDb, cases: &[(String, Option<&str>)], what: &str) {
    let cases: Vec<(&str, Option<&str>)> = cases.iter().map(|(ip, e)| (ip.as_str(), *e)).collect();
    check(db, &cases, what);
}

#[test]
fn ipv6_database_all_record_sizes() {
    for record_size in [24, 28, 32] {
        let db = GeoDb::from_bytes(ipv6_db(record_size)).unwrap();
        assert_eq!(db.database_type(), "GeoLite2-Country");
        assert_eq!(db.ip_version(), 6);
        check(
            &db,
            IPV4_CASES,
            &format!("IPv4 in IPv6 db, {record_size}-bit"),
        );
        check(&db, IPV6_CASES, &format!("IPv6, {record_size}-bit"));
    }
}

#[test]
fn ipv4_only_database() {
    for record_size in [24, 28, 32] {
        let db = GeoDb::from_bytes(ipv4_db(record_size)).unwrap();
        assert_eq!(db.database_type(), "DBIP-Country-Lite");
        assert_eq!(db.ip_version(), 4);
        check(&db, IPV4_CASES, &format!("IPv4 db, {record_size}-bit"));
        // No IPv6 address has a country in an IPv4 database (not even IPv4-compatible ones).
        let none: Vec<(&str, Option<&str>)> = IPV6_CASES
            .iter()
            .map(|(ip, _)| (*ip, None))
            .chain([("::1.2.3.4", None), ("::a01:0", None)])
            .collect();
        check(&db, &none, &format!("IPv6 in IPv4 db, {record_size}-bit"));
    }
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    // The test databases have no `::ffff:0:0/96` alias: only the conversion finds these.
    let cases = mapped(IPV4_CASES);
    assert_eq!(cases[4].0, "::ffff:1.2.3.0");
    for record_size in [24, 28] {
        let v6 = GeoDb::from_bytes(ipv6_db(record_size)).unwrap();
        check_owned(&v6, &cases, "IPv4-mapped in IPv6 db");
        let v4 = GeoDb::from_bytes(ipv4_db(record_size)).unwrap();
        check_owned(&v4, &cases, "IPv4-mapped in IPv4 db");
    }
}

#[test]
fn ipv4_compatible_addresses_use_the_ipv4_subtree_of_an_ipv6_database() {
    let db = GeoDb::from_bytes(ipv6_db(24)).unwrap();
    check(
        &db,
        &[
            ("::1.2.3.4", Some("NL")),
            ("::10.1.0.1", Some("DE")),
            ("::1.2.4.0", None),
            ("::1:0:0", None),
        ],
        "::/96",
    );
}

#[test]
fn registered_country_fallback_and_precedence() {
    let db = GeoDb::from_bytes(ipv6_db(28)).unwrap();
    // Only registered_country.
    assert_eq!(lookup(&db, "203.0.113.9").as_deref(), Some("SG"));
    // A country map without iso_code.
    assert_eq!(lookup(&db, "100.100.100.100").as_deref(), Some("IT"));
    // country wins over registered_country (GB vs US).
    assert_eq!(lookup(&db, "2a02:1234:5::1").as_deref(), Some("GB"));
    // Neither.
    assert_eq!(lookup(&db, "198.51.100.7"), None);
    // Uppercased.
    assert_eq!(
        db.country("230.1.2.3".parse().unwrap()),
        Some(*b"CH"),
        "lowercase iso_code is uppercased"
    );
}

#[test]
fn no_record_is_none() {
    let db = GeoDb::from_bytes(ipv6_db(24)).unwrap();
    for ip in [
        "8.8.8.8",
        "127.0.0.1",
        "fe80::1",
        "2600::1",
        "::ffff:8.8.4.4",
        "::1:0:0:0",
    ] {
        assert_eq!(lookup(&db, ip), None, "{ip}");
    }
}

#[test]
fn large_data_offsets_and_pointers() {
    // A 16.8 MB value first in the data section puts the records beyond 2^24: tree
    // records need the high bits of 28 and 32-bit records, and pointers their long
    // forms.
    for record_size in [28, 32] {
        let mut w = MmdbWriter::new(6, record_size);
        w.add_data(&s(&"x".repeat(16_800_000)));
        let far_country = w.add_data(&country("PT", "Portugal"));
        let far_key = w.add_data(&s("country"));
        assert!(far_country > 1 << 24);
        ipv4_networks(&mut w);
        let pt = w.add_data(&Value::Map(vec![(
            Value::Pointer(far_key),
            Value::Pointer(far_country),
        )]));
        w.insert("2c0f::/16", pt);
        let db = GeoDb::from_bytes(w.build()).unwrap();
        check(&db, IPV4_CASES, &format!("far records, {record_size}-bit"));
        check(
            &db,
            &[
                ("2c0e:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
                ("2c0f::", Some("PT")),
                ("2c0f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("PT")),
                ("2c10::", None),
            ],
            "far pointers",
        );
    }
}

#[test]
fn written_databases_pass_the_full_check() {
    for record_size in [24, 28, 32] {
        GeoDb::from_bytes(ipv6_db(record_size))
            .unwrap()
            .verify()
            .unwrap();
        GeoDb::from_bytes(ipv4_db(record_size))
            .unwrap()
            .verify()
            .unwrap();
    }
}

#[test]
fn geodb_is_send_sync_debug() {
    fn assert_traits<T: Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<GeoDb>();
    let db = GeoDb::from_bytes(ipv6_db(24)).unwrap();
    let debug = format!("{db:?}");
    assert!(debug.contains("GeoLite2-Country"), "{debug}");
    assert_eq!(db.build_epoch(), 1_700_000_000);
    // Shared between threads.
    let db = std::sync::Arc::new(db);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || lookup(&db, "1.2.3.4"))
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap().as_deref(), Some("NL"));
    }
}

fn temp_path(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "rampart-geo-test-{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

#[test]
fn open_reads_a_file() {
    let path = temp_path("country.mmdb");
    std::fs::write(&path, ipv6_db(28)).unwrap();
    let db = GeoDb::open(&path);
    std::fs::remove_file(&path).unwrap();
    let db = db.unwrap();
    assert_eq!(lookup(&db, "10.1.2.3").as_deref(), Some("DE"));
    assert_eq!(lookup(&db, "2001:db8::1").as_deref(), Some("FR"));
}

#[test]
fn open_missing_file_is_a_clear_error() {
    let path = temp_path("does-not-exist.mmdb");
    let err = GeoDb::open(&path).unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn open_non_mmdb_file_is_a_clear_error() {
    let path = temp_path("not-a-db.mmdb");
    std::fs::write(&path, "network,geoname_id\n1.0.0.0/24,2077456\n").unwrap();
    let err = GeoDb::open(&path);
    std::fs::remove_file(&path).unwrap();
    let err = err.unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("not a valid MaxMind DB"), "{err}");

    // A directory.
    let err = GeoDb::open(&std::env::temp_dir()).unwrap_err();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn from_bytes_rejects_non_mmdb_data() {
    for bytes in [
        Vec::new(),
        b"hello".to_vec(),
        vec![0; 4096],
        // The marker with nothing after it.
        mmdb_writer::METADATA_MARKER.to_vec(),
        // The marker followed by a string instead of the metadata map.
        [mmdb_writer::METADATA_MARKER, b"\x43abc"].concat(),
    ] {
        let err = GeoDb::from_bytes(bytes.clone()).unwrap_err();
        assert!(err.contains("not a valid MaxMind DB"), "{bytes:?}: {err}");
    }
}

#[test]
fn from_bytes_rejects_unsupported_format_versions() {
    let mut w = MmdbWriter::new(6, 24);
    ipv4_networks(&mut w);
    w.binary_format_major_version = 3;
    let err = GeoDb::from_bytes(w.build()).unwrap_err();
    assert!(err.contains("binary_format_major_version"), "{err}");
}

#[test]
fn database_without_country_data_is_rejected() {
    // An ASN database.
    let mut w = MmdbWriter::new(6, 24);
    w.database_type = "GeoLite2-ASN".to_string();
    let asn = w.add_data(&map(vec![
        ("autonomous_system_number", Value::U32(64_496)),
        ("autonomous_system_organization", s("Example")),
    ]));
    w.insert("1.2.3.0/24", asn);
    w.insert("2001:db8::/32", asn);
    let err = GeoDb::from_bytes(w.build()).unwrap_err();
    assert!(err.contains("no country data"), "{err}");
    assert!(err.contains("GeoLite2-ASN"), "{err}");

    // A tree with no data at all.
    let err = GeoDb::from_bytes(MmdbWriter::new(4, 24).build()).unwrap_err();
    assert!(err.contains("no country data"), "{err}");

    // Invalid codes only.
    let mut w = MmdbWriter::new(4, 28);
    let bad = w.add_data(&map(vec![("country", country("NLD", "Netherlands"))]));
    w.insert("1.2.3.0/24", bad);
    let err = GeoDb::from_bytes(w.build()).unwrap_err();
    assert!(err.contains("no country data"), "{err}");

    // One record with a country among others is enough.
    let mut w = MmdbWriter::new(4, 28);
    let asn = w.add_data(&map(vec![("autonomous_system_number", Value::U32(1))]));
    let nl = w.add_data(&map(vec![("registered_country", country("NL", "NL"))]));
    w.insert("1.0.0.0/8", asn);
    w.insert("9.0.0.0/8", nl);
    let db = GeoDb::from_bytes(w.build()).unwrap();
    assert_eq!(lookup(&db, "9.9.9.9").as_deref(), Some("NL"));
    assert_eq!(lookup(&db, "1.1.1.1"), None);
}

#[test]
fn truncated_data_is_rejected() {
    for bytes in [ipv6_db(24), ipv6_db(28), ipv4_db(32)] {
        for len in 0..bytes.len() {
            assert!(
                GeoDb::from_bytes(bytes[..len].to_vec()).is_err(),
                "accepted the first {len} of {} bytes",
                bytes.len()
            );
        }
        assert!(GeoDb::from_bytes(bytes).is_ok());
    }
}

/// Every lookup the tests make, on a database that may be damaged: must not panic.
fn exercise(db: &GeoDb) {
    for (ip, _) in IPV4_CASES.iter().chain(IPV6_CASES) {
        let ip: IpAddr = ip.parse().unwrap();
        let _ = db.country(ip);
    }
    let _ = db.country(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let _ = db.database_type();
    let _ = format!("{db:?}");
}

/// The test database with 28-bit records, and where its search tree and data section end.
fn damage_target() -> (Vec<u8>, usize, usize) {
    let mut w = MmdbWriter::new(6, 28);
    ipv4_networks(&mut w);
    ipv6_networks(&mut w);
    (w.build(), w.node_count() * 7, w.tree_and_data().len())
}

/// Opens each damaged database and, when it opens, makes every lookup and the full
/// check. Returns (accepted, rejected).
fn open_damaged(damaged: impl Iterator<Item = Vec<u8>>) -> (usize, usize) {
    let (mut accepted, mut rejected) = (0, 0);
    for bytes in damaged {
        match GeoDb::from_bytes(bytes) {
            Ok(db) => {
                accepted += 1;
                exercise(&db);
                let _ = db.verify();
            }
            Err(_) => rejected += 1,
        }
    }
    (accepted, rejected)
}

#[test]
fn changed_bytes_never_panic() {
    let (good, tree, tree_and_data) = damage_target();
    // Every byte inverted, zeroed (a tree record pointing back at the root makes a
    // cycle) and, in the tree and the metadata, incremented.
    let changes: [fn(u8) -> u8; 3] = [|b| b ^ 0xFF, |_| 0x00, |b| b.wrapping_add(1)];
    let damaged = (0..good.len()).flat_map(|at| {
        let used = if at < tree || at >= tree_and_data {
            3
        } else {
            2
        };
        let good = &good;
        changes[..used].iter().map(move |change| {
            let mut bytes = good.clone();
            bytes[at] = change(bytes[at]);
            bytes
        })
    });
    let (accepted, rejected) = open_damaged(damaged);
    // Both outcomes happened: the damage reached the lookups, not only the parser.
    assert!(accepted > 1000, "accepted {accepted}");
    assert!(rejected > 100, "rejected {rejected}");
}

#[test]
fn cut_out_pieces_never_panic() {
    // Pieces cut out of the tree and the data section; the metadata stays whole, so the
    // tree and the data no longer line up with it.
    let (good, _, tree_and_data) = damage_target();
    let damaged = (0..tree_and_data).step_by(5).flat_map(|at| {
        let good = &good;
        [1, 6, 7, 16]
            .into_iter()
            .filter(move |len| at + len <= tree_and_data)
            .map(move |len| {
                let mut bytes = good.clone();
                bytes.drain(at..at + len);
                bytes
            })
    });
    let (accepted, rejected) = open_damaged(damaged);
    assert!(accepted > 1000, "accepted {accepted}");
    assert!(rejected > 100, "rejected {rejected}");
}

/// `GeoMatchStatement` in a web ACL: the client IP's country, or the forwarded IP's with
/// its fallback.
#[test]
fn geo_match_statement_in_a_web_acl() {
    use rampart_waf::{load_web_acl, Resources, WafRequest};
    use std::sync::Arc;
    let mut w = MmdbWriter::new(6, 28);
    let nl = w.add_data(&map(vec![("country", map(vec![("iso_code", s("NL"))]))]));
    let us = w.add_data(&map(vec![("country", map(vec![("iso_code", s("US"))]))]));
    w.insert("::203.0.113.0/120", nl);
    w.insert("::198.51.100.0/120", us);
    let db = GeoDb::from_bytes(w.build()).unwrap();
    let res = Resources {
        geo: Some(Arc::new(db)),
        ..Resources::default()
    };
    let acl = |fwd: &str| {
        let doc = format!(
            r#"{{"Name":"g","DefaultAction":{{"Allow":{{}}}},"Rules":[{{"Name":"no-nl","Priority":0,"Action":{{"Block":{{}}}},
            "VisibilityConfig":{{"SampledRequestsEnabled":true,"CloudWatchMetricsEnabled":true,"MetricName":"g"}},
            "Statement":{{"GeoMatchStatement":{{"CountryCodes":["NL","BE"]{fwd}}}}}}}]}}"#
        );
        load_web_acl(doc.as_bytes(), &res).unwrap()
    };
    let direct = acl("");
    let eval = |a: &rampart_waf::CompiledAcl, ip: &str, xff: Option<&str>| {
        let mut r = WafRequest::new("GET", b"/", b"", ip.parse().unwrap());
        if let Some(x) = xff {
            r.headers = vec![("X-Forwarded-For", x.as_bytes())];
        }
        a.evaluate(&r, 0).blocked()
    };
    assert!(eval(&direct, "203.0.113.9", None));
    assert!(!eval(&direct, "198.51.100.9", None));
    assert!(!eval(&direct, "192.0.2.1", None), "no record: no match");
    let fwd =
        acl(r#","ForwardedIPConfig":{"HeaderName":"X-Forwarded-For","FallbackBehavior":"MATCH"}"#);
    assert!(eval(&fwd, "198.51.100.9", Some("203.0.113.7, 10.0.0.1")));
    assert!(!eval(&fwd, "203.0.113.9", Some("198.51.100.7")));
    assert!(
        eval(&fwd, "198.51.100.9", Some("not-an-ip")),
        "invalid: fallback MATCH"
    );
    assert!(
        !eval(&fwd, "203.0.113.9", None),
        "no header: the statement does not apply"
    );
    // Bad country codes are errors with paths.
    let doc = r#"{"Name":"g","DefaultAction":{"Allow":{}},"Rules":[{"Name":"r","Priority":0,"Action":{"Block":{}},
        "Statement":{"GeoMatchStatement":{"CountryCodes":["Netherlands"]}}}]}"#;
    let err = load_web_acl(doc.as_bytes(), &res)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("Rules[0].Statement.GeoMatchStatement.CountryCodes[0]"),
        "{err}"
    );
}
