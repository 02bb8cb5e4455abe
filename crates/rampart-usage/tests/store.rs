#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_usage::{
    KeyPatch, NewApiKey, NewUsagePlan, QuotaPeriod, QuotaSettings, Store, StoreError,
    ThrottleSettings, SECRET_FILE,
};
use std::collections::BTreeMap;

const IMPORTED: &str = "imported_key_value_0123456789abcdef";

#[test]
fn key_crud() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut new = key("alice");
    new.description = "first".into();
    new.tags.insert("team".into(), "a".into());
    let (k, value) = store.create_key(new, NOW).unwrap();
    assert!(value.starts_with("rk_") && value.len() == 43);
    assert_eq!(k.prefix, &value[..7]);
    assert_eq!(k.id.len(), 10);
    assert_eq!(
        (k.name.as_str(), k.description.as_str()),
        ("alice", "first")
    );
    assert!(k.enabled);
    assert_eq!(k.created_at, NOW);
    assert_eq!(store.get_key(&k.id).unwrap(), Some(k.clone()));
    assert_eq!(store.list_keys().unwrap(), vec![k.clone()]);

    // The JSON the admin API returns has neither value nor hash.
    let json = serde_json::to_string(&k).unwrap();
    assert!(!json.contains(&value) && !json.contains("hash"), "{json}");

    let patch: KeyPatch =
        serde_json::from_str(r#"{"name":"alice2","enabled":false,"expiresAt":123}"#).unwrap();
    let k2 = store.update_key(&k.id, patch).unwrap();
    assert_eq!(
        (k2.name.as_str(), k2.enabled, k2.expires_at),
        ("alice2", false, Some(123))
    );
    assert_eq!(k2.description, "first");
    let patch: KeyPatch = serde_json::from_str(r#"{"expiresAt":null}"#).unwrap();
    assert_eq!(patch.expires_at, Some(None));
    let k3 = store.update_key(&k.id, patch).unwrap();
    assert_eq!(k3.expires_at, None);
    assert_eq!(k3.name, "alice2");
    let patch: KeyPatch = serde_json::from_str(r#"{}"#).unwrap();
    assert_eq!(patch.expires_at, None);
    assert!(serde_json::from_str::<KeyPatch>(r#"{"value":"x"}"#).is_err());

    assert!(matches!(
        store.update_key(&k.id, KeyPatch { name: Some(String::new()), ..KeyPatch::default() }),
        Err(StoreError::Invalid(m)) if m[0].starts_with("name:")
    ));
    assert!(matches!(
        store.update_key("nope", KeyPatch::default()),
        Err(StoreError::NotFound(_))
    ));

    // Import a given value; a duplicate value conflicts.
    let (k4, v4) = store
        .create_key(
            NewApiKey {
                value: Some(IMPORTED.into()),
                ..key("bob")
            },
            NOW,
        )
        .unwrap();
    assert_eq!(v4, IMPORTED);
    assert_eq!(k4.prefix, "importe");
    let err = store
        .create_key(
            NewApiKey {
                value: Some(IMPORTED.into()),
                ..key("eve")
            },
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(!err.to_string().contains(IMPORTED));
    let err = store
        .create_key(
            NewApiKey {
                value: Some("short!".into()),
                ..key("eve")
            },
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m[0].starts_with("value:")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("short!"));

    // Snapshot has the hash of the value.
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.keys.len(), 2);
    let (h, sk) = snap.keys.iter().find(|(_, k)| k.id == k4.id).unwrap();
    assert!(h.ct_eq(&store.hasher().hash(IMPORTED)));
    assert_eq!(sk, &k4);

    store.delete_key(&k.id).unwrap();
    assert_eq!(store.get_key(&k.id).unwrap(), None);
    assert!(matches!(
        store.delete_key(&k.id),
        Err(StoreError::NotFound(_))
    ));
    // The value can be used again after deletion.
    store.delete_key(&k4.id).unwrap();
    store
        .create_key(
            NewApiKey {
                value: Some(IMPORTED.into()),
                ..key("bob again")
            },
            NOW,
        )
        .unwrap();
    assert_eq!(store.list_keys().unwrap().len(), 1);
}

#[test]
fn new_api_key_json() {
    let n: NewApiKey = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
    assert!(n.enabled);
    assert!(n.value.is_none());
    let n: NewApiKey = serde_json::from_str(
        r#"{"name":"x","enabled":false,"expiresAt":5,"usagePlanIds":["a"],"value":"secretvalue0123456789","tags":{"k":"v"}}"#,
    )
    .unwrap();
    assert!(!n.enabled);
    assert!(!format!("{n:?}").contains("secretvalue"));
    assert!(serde_json::from_str::<NewApiKey>(r#"{"name":"x","id":"y"}"#).is_err());
}

#[test]
fn plaintext_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let csv_key = "csv_imported_value_9876543210zyxw";
    let mut values = Vec::new();
    {
        let store = Store::open(dir.path(), None).unwrap();
        let plan = store
            .create_plan(quota_plan("p", 100, 0, QuotaPeriod::Day), NOW)
            .unwrap();
        for i in 0..5 {
            let (k, v) = store
                .create_key(
                    NewApiKey {
                        usage_plan_ids: vec![plan.id.clone()],
                        ..key(&format!("k{i}"))
                    },
                    NOW,
                )
                .unwrap();
            let c = store.counters().counter(&plan.id, &k.id);
            store
                .counters()
                .admit(&c, plan.quota().as_ref(), at(NOW))
                .unwrap();
            values.push(v);
        }
        store
            .create_key(
                NewApiKey {
                    value: Some(IMPORTED.into()),
                    ..key("imp")
                },
                NOW,
            )
            .unwrap();
        values.push(IMPORTED.to_owned());
        store
            .import_csv(&format!("Name,Key\ncsv,{csv_key}\n"), NOW)
            .unwrap();
        values.push(csv_key.to_owned());
        store.counters().flush().unwrap();
    }
    let files = all_file_bytes(dir.path());
    assert!(files.iter().any(|(n, _)| n == "rampart.redb"));
    assert!(files.iter().any(|(n, _)| n == SECRET_FILE));
    for (name, bytes) in &files {
        for v in &values {
            // Neither the whole value nor its random part.
            assert!(
                !contains(bytes, v.as_bytes()),
                "{name} contains a key value"
            );
            assert!(
                !contains(bytes, &v.as_bytes()[5..25]),
                "{name} contains part of a key value"
            );
        }
    }
    // Sanity: the scan does find things that are stored.
    let db = &files.iter().find(|(n, _)| n == "rampart.redb").unwrap().1;
    assert!(contains(db, b"csv"));
}

#[test]
fn secret_file_created_once_with_mode_0600_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (id, hash) = {
        let store = Store::open(dir.path(), None).unwrap();
        let (k, _) = store
            .create_key(
                NewApiKey {
                    value: Some(IMPORTED.into()),
                    ..key("x")
                },
                NOW,
            )
            .unwrap();
        (k.id, store.hasher().hash(IMPORTED))
    };
    let path = dir.path().join(SECRET_FILE);
    let secret = std::fs::read(&path).unwrap();
    assert_eq!(secret.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    {
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(
            store.hasher().hash(IMPORTED),
            hash,
            "same secret after reopen"
        );
        assert_eq!(std::fs::read(&path).unwrap(), secret);
        let snap = store.snapshot().unwrap();
        assert_eq!(snap.keys[0].0, hash);
        assert_eq!(snap.keys[0].1.id, id);
    }
    // A different given secret hashes differently.
    {
        let store = Store::open(dir.path(), Some([9; 32])).unwrap();
        assert_ne!(store.hasher().hash(IMPORTED), hash);
    }
    std::fs::write(&path, [1u8; 31]).unwrap();
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(
        matches!(&err, StoreError::Io(m) if m.contains("32 bytes")),
        "{err:?}"
    );
}

#[test]
fn usable_at() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (k, _) = store
        .create_key(
            NewApiKey {
                expires_at: Some(NOW + 10),
                ..key("x")
            },
            NOW,
        )
        .unwrap();
    assert!(k.usable_at(NOW));
    assert!(k.usable_at(NOW + 9));
    assert!(!k.usable_at(NOW + 10));
    let (d, _) = store
        .create_key(
            NewApiKey {
                enabled: false,
                ..key("y")
            },
            NOW,
        )
        .unwrap();
    assert!(!d.usable_at(NOW));
    let (n, _) = store.create_key(key("z"), NOW).unwrap();
    assert!(n.usable_at(u64::MAX));
    let n = store
        .update_key(
            &n.id,
            KeyPatch {
                enabled: Some(false),
                ..KeyPatch::default()
            },
        )
        .unwrap();
    assert!(!n.usable_at(NOW));
}

fn invalid(store: &Store, p: NewUsagePlan) -> Vec<String> {
    match store.create_plan(p, NOW) {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn plan_validation_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let m = invalid(&store, plan("", vec![]));
    assert!(m[0].starts_with("name:"), "{m:?}");
    let m = invalid(&store, plan(&"n".repeat(129), vec![]));
    assert!(m[0].starts_with("name:"), "{m:?}");

    let mut s = stage("pets", Some("prod"));
    s.throttle.insert(
        "/pets/GET".into(),
        ThrottleSettings {
            burst_limit: 1,
            rate_limit: -1.0,
        },
    );
    s.throttle.insert(
        "pets/GET".into(),
        ThrottleSettings {
            burst_limit: 1,
            rate_limit: 1.0,
        },
    );
    s.throttle.insert(
        "/pets/get".into(),
        ThrottleSettings {
            burst_limit: 1,
            rate_limit: 1.0,
        },
    );
    s.throttle.insert(
        "/*/*".into(),
        ThrottleSettings {
            burst_limit: 2_000_000_000,
            rate_limit: 1.0,
        },
    );
    let m = invalid(
        &store,
        plan("p", vec![stage("a", None), s, stage("a", None)]),
    );
    let has = |prefix: &str| m.iter().any(|x| x.starts_with(prefix));
    assert!(
        has(r#"apiStages[1].throttle["/pets/GET"].rateLimit: "#),
        "{m:?}"
    );
    assert!(has(r#"apiStages[1].throttle["pets/GET"]: "#), "{m:?}");
    assert!(has(r#"apiStages[1].throttle["/pets/get"]: "#), "{m:?}");
    assert!(
        has(r#"apiStages[1].throttle["/*/*"].burstLimit: "#),
        "{m:?}"
    );
    assert!(has("apiStages[2]: "), "duplicate stage: {m:?}");
    assert_eq!(m.len(), 5, "{m:?}");

    let mut many = stage("pets", None);
    for i in 0..21 {
        many.throttle.insert(
            format!("/r{i}/GET"),
            ThrottleSettings {
                burst_limit: 1,
                rate_limit: 1.0,
            },
        );
    }
    let m = invalid(&store, plan("p", vec![many]));
    assert!(
        m[0].starts_with("apiStages[0].throttle: at most 20"),
        "{m:?}"
    );

    let mut p = plan("p", vec![stage("", None), stage("x", Some(""))]);
    p.throttle = Some(ThrottleSettings {
        burst_limit: 1,
        rate_limit: f64::NAN,
    });
    p.quota = Some(QuotaSettings {
        limit: 5,
        offset: 6,
        period: QuotaPeriod::Week,
    });
    let m = invalid(&store, p);
    assert!(
        m.iter().any(|x| x.starts_with("apiStages[0].apiId:")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|x| x.starts_with("apiStages[1].stage:")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|x| x.starts_with("throttle.rateLimit:")),
        "{m:?}"
    );
    assert!(m.iter().any(|x| x.starts_with("quota.offset:")), "{m:?}");
    let mut p = plan("p", vec![]);
    p.quota = Some(QuotaSettings {
        limit: 0,
        offset: 0,
        period: QuotaPeriod::Day,
    });
    assert!(invalid(&store, p)[0].starts_with("quota.limit:"));

    // Valid method keys.
    let mut s = stage("pets", Some("prod"));
    for k in [
        "/pets/{id}/GET",
        "/pets/ANY",
        "/*/*",
        "/DELETE",
        "/a/b/OPTIONS",
        "/x/HEAD",
        "/x/PATCH",
        "/x/PUT",
        "/x/POST",
    ] {
        s.throttle.insert(
            k.into(),
            ThrottleSettings {
                burst_limit: 1,
                rate_limit: 1.0,
            },
        );
    }
    let p = store.create_plan(plan("ok", vec![s]), NOW).unwrap();
    assert_eq!(p.created_at, NOW);
    assert_eq!(store.list_plans().unwrap(), vec![p.clone()]);
    assert!(store.list_plans().unwrap()[0]
        .covers("pets", Some("prod"))
        .is_some());
    assert!(p.covers("pets", None).is_none());
    assert!(p.covers("pets", Some("dev")).is_none());
}

#[test]
fn plan_json_shape() {
    let body = r#"{
        "name": "gold",
        "apiStages": [{"apiId": "pets", "stage": "prod", "throttle": {"/pets/GET": {"burstLimit": 5, "rateLimit": 2.5}}}],
        "throttle": {"burstLimit": 100, "rateLimit": 50},
        "quota": {"limit": 1000, "period": "MONTH"}
    }"#;
    let p: NewUsagePlan = serde_json::from_str(body).unwrap();
    p.validate().unwrap();
    assert_eq!(p.quota.unwrap().offset, 0);
    assert_eq!(p.quota.unwrap().period, QuotaPeriod::Month);
    assert!(serde_json::from_str::<NewUsagePlan>(r#"{"name":"x","bogus":1}"#).is_err());
    assert!(serde_json::from_str::<NewUsagePlan>(
        r#"{"name":"x","quota":{"limit":1,"period":"month"}}"#
    )
    .is_err());
    assert!(serde_json::from_str::<NewUsagePlan>(
        r#"{"name":"x","throttle":{"burstLimit":1,"rateLimit":1,"x":2}}"#
    )
    .is_err());
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let plan = store.create_plan(p, NOW).unwrap();
    let json: serde_json::Value = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["apiStages"][0]["apiId"], "pets");
    assert_eq!(json["quota"]["period"], "MONTH");
    assert_eq!(json["createdAt"], NOW);
    let q = plan.quota().unwrap();
    assert_eq!(q.limit(), 1000);
}

#[test]
fn plan_stage_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .create_plan(
            plan("A", vec![stage("pets", Some("prod")), stage("shop", None)]),
            NOW,
        )
        .unwrap();
    let b = store
        .create_plan(plan("B", vec![stage("pets", Some("dev"))]), NOW)
        .unwrap();
    let c = store
        .create_plan(plan("C", vec![stage("shop", None)]), NOW)
        .unwrap();
    let (k, _) = store.create_key(key("k"), NOW).unwrap();

    store.add_key_to_plan(&a.id, &k.id).unwrap();
    store.add_key_to_plan(&a.id, &k.id).unwrap(); // idempotent
    store.add_key_to_plan(&b.id, &k.id).unwrap(); // different stage: fine
    let err = store.add_key_to_plan(&c.id, &k.id).unwrap_err();
    match &err {
        StoreError::Conflict(m) => {
            assert!(
                m.contains(&a.id) && m.contains(&c.id) && m.contains("\"shop\""),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    let got = store.get_key(&k.id).unwrap().unwrap();
    assert_eq!(got.usage_plan_ids, vec![a.id.clone(), b.id.clone()]);
    assert_eq!(store.plan_keys(&a.id).unwrap(), vec![got.clone()]);
    assert!(store.plan_keys(&c.id).unwrap().is_empty());

    // Replacing B so that it overlaps A is refused for k's sake; the plan is unchanged.
    let err = store
        .replace_plan(&b.id, plan("B2", vec![stage("pets", Some("prod"))]))
        .unwrap_err();
    match &err {
        StoreError::Conflict(m) => assert!(m.contains("\"prod\"") && m.contains(&k.id), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.get_plan(&b.id).unwrap().unwrap().name, "B");
    // A non-overlapping replacement works, keeps id and createdAt.
    let b2 = store
        .replace_plan(&b.id, plan("B2", vec![stage("pets", Some("test"))]))
        .unwrap();
    assert_eq!(
        (b2.id.as_str(), b2.created_at, b2.name.as_str()),
        (b.id.as_str(), NOW, "B2")
    );
    assert!(matches!(
        store.replace_plan("missing", plan("x", vec![])),
        Err(StoreError::NotFound(_))
    ));

    // Creating a key into two overlapping plans: all or nothing.
    let err = store
        .create_key(
            NewApiKey {
                usage_plan_ids: vec![a.id.clone(), c.id.clone()],
                ..key("k2")
            },
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.list_keys().unwrap().len(), 1);
    let err = store
        .create_key(
            NewApiKey {
                usage_plan_ids: vec![a.id.clone(), "nope".into()],
                ..key("k2")
            },
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m[0].starts_with("usagePlanIds[1]")),
        "{err:?}"
    );
    assert_eq!(store.list_keys().unwrap().len(), 1);

    // Remove, then C is allowed.
    store.remove_key_from_plan(&a.id, &k.id).unwrap();
    assert!(matches!(
        store.remove_key_from_plan(&a.id, &k.id),
        Err(StoreError::NotFound(_))
    ));
    store.add_key_to_plan(&c.id, &k.id).unwrap();
    assert!(matches!(
        store.add_key_to_plan("nope", &k.id),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.add_key_to_plan(&a.id, "nope"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.plan_keys("nope"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn deletes_remove_associations() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .create_plan(plan("A", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    let b = store
        .create_plan(plan("B", vec![stage("pets", Some("dev"))]), NOW)
        .unwrap();
    let (k1, _) = store
        .create_key(
            NewApiKey {
                usage_plan_ids: vec![a.id.clone(), b.id.clone()],
                ..key("1")
            },
            NOW,
        )
        .unwrap();
    let (k2, _) = store
        .create_key(
            NewApiKey {
                usage_plan_ids: vec![a.id.clone()],
                ..key("2")
            },
            NOW,
        )
        .unwrap();
    assert_eq!(store.plan_keys(&a.id).unwrap().len(), 2);

    store.delete_plan(&a.id).unwrap();
    assert!(store.get_plan(&a.id).unwrap().is_none());
    assert_eq!(
        store.get_key(&k1.id).unwrap().unwrap().usage_plan_ids,
        vec![b.id.clone()]
    );
    assert!(store
        .get_key(&k2.id)
        .unwrap()
        .unwrap()
        .usage_plan_ids
        .is_empty());
    assert!(matches!(
        store.delete_plan(&a.id),
        Err(StoreError::NotFound(_))
    ));

    store.delete_key(&k1.id).unwrap();
    assert!(store.plan_keys(&b.id).unwrap().is_empty());
    // A re-created plan with the same stage does not resurrect anything.
    let a2 = store
        .create_plan(plan("A", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    assert!(store.plan_keys(&a2.id).unwrap().is_empty());
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.keys.len(), 1);
    assert_eq!(snap.plans.len(), 2);
}

#[test]
fn import_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .create_plan(plan("A", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    let c = store
        .create_plan(plan("C", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    store.create_key(key("existing"), NOW).unwrap();
    let before = store.list_keys().unwrap();

    // Syntax error in one row.
    let text = format!(
        "Name,Key,UsagePlanIds\ngood,good_key_value_0123456789,{}\nbad,short,\n",
        a.id
    );
    let err = store.import_csv(&text, NOW).unwrap_err();
    assert!(
        matches!(&err, StoreError::Import(rows) if rows.len() == 1 && rows[0].line == 3),
        "{err:?}"
    );
    assert_eq!(store.list_keys().unwrap(), before);

    // Unknown plan, and a row whose plans overlap: both reported, nothing written.
    let text = format!(
        "Name,Key,UsagePlanIds\n\
         good,good_key_value_0123456789,{a}\n\
         unknown,other_key_value_0123456789,\"{a},zzzzzz\"\n\
         overlap,third_key_value_0123456789,\"{a},{c}\"\n",
        a = a.id,
        c = c.id
    );
    let err = store.import_csv(&text, NOW).unwrap_err();
    match &err {
        StoreError::Import(rows) => {
            assert_eq!(
                rows.iter().map(|r| r.line).collect::<Vec<_>>(),
                vec![3, 4],
                "{rows:?}"
            );
            assert!(rows[0].message.contains("zzzzzz"));
            assert!(rows[1].message.contains(&c.id));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("key_value_0123456789"));
    assert_eq!(store.list_keys().unwrap(), before);
    assert!(store.plan_keys(&a.id).unwrap().is_empty());
}

#[test]
fn import_creates_and_reimport_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store
        .create_plan(plan("A", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    let b = store
        .create_plan(plan("B", vec![stage("pets", Some("dev"))]), NOW)
        .unwrap();
    let c = store
        .create_plan(plan("C", vec![stage("pets", Some("prod"))]), NOW)
        .unwrap();
    let k1 = "first_import_key_0123456789";
    let k2 = "second_import_key_0123456789";
    let text = format!(
        "Name,Key,Description,Enabled,UsagePlanIds\none,{k1},d1,true,{a}\ntwo,{k2},d2,false,\n",
        a = a.id
    );
    let report = store.import_csv(&text, NOW).unwrap();
    assert_eq!(report.created.len(), 2);
    assert!(report.updated.is_empty());
    let snap = store.snapshot().unwrap();
    let find = |v: &str| {
        let h = store.hasher().hash(v);
        snap.keys
            .iter()
            .find(|(x, _)| x.ct_eq(&h))
            .unwrap()
            .1
            .clone()
    };
    let one = find(k1);
    assert_eq!(
        (one.name.as_str(), one.description.as_str(), one.enabled),
        ("one", "d1", true)
    );
    assert_eq!(one.usage_plan_ids, vec![a.id.clone()]);
    assert_eq!(one.prefix, "first_i");
    assert!(!find(k2).enabled);

    // Re-import: overwrite name/description/enabled, add plan B; A stays.
    let text = format!(
        "Name,Key,Enabled,UsagePlanIds\nuno,{k1},false,{b}\n",
        b = b.id
    );
    let report = store.import_csv(&text, NOW + 5).unwrap();
    assert_eq!(report.updated, vec![one.id.clone()]);
    assert!(report.created.is_empty());
    let got = store.get_key(&one.id).unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.description.as_str(), got.enabled),
        ("uno", "", false)
    );
    assert_eq!(got.usage_plan_ids, vec![a.id.clone(), b.id.clone()]);
    assert_eq!(got.created_at, NOW);
    assert_eq!(store.list_keys().unwrap().len(), 2);

    // Re-import adding C, which overlaps the existing plan A: row error.
    let text = format!("Name,Key,UsagePlanIds\nuno,{k1},{c}\n", c = c.id);
    let err = store.import_csv(&text, NOW).unwrap_err();
    assert!(
        matches!(&err, StoreError::Import(r) if r[0].line == 2 && r[0].message.contains(&a.id)),
        "{err:?}"
    );
}

#[test]
fn reopen_persists_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (plans, keys, value) = {
        let store = open(dir.path());
        let mut tags = BTreeMap::new();
        tags.insert("env".to_owned(), "prod".to_owned());
        let mut p = quota_plan("A", 10, 2, QuotaPeriod::Week);
        p.tags = tags;
        p.description = "desc".into();
        let a = store.create_plan(p, NOW).unwrap();
        store
            .create_plan(plan("B", vec![stage("x", None)]), NOW)
            .unwrap();
        let (_, value) = store
            .create_key(
                NewApiKey {
                    usage_plan_ids: vec![a.id.clone()],
                    expires_at: Some(NOW + 100),
                    ..key("k")
                },
                NOW,
            )
            .unwrap();
        store
            .create_key(
                NewApiKey {
                    enabled: false,
                    ..key("k2")
                },
                NOW,
            )
            .unwrap();
        (
            store.list_plans().unwrap(),
            store.list_keys().unwrap(),
            value,
        )
    };
    let store = open(dir.path());
    assert_eq!(store.list_plans().unwrap(), plans);
    assert_eq!(store.list_keys().unwrap(), keys);
    let snap = store.snapshot().unwrap();
    let h = store.hasher().hash(&value);
    assert!(snap.keys.iter().any(|(x, k)| x.ct_eq(&h) && k.name == "k"));
    let a = plans.iter().find(|p| p.name == "A").unwrap();
    assert_eq!(store.plan_keys(&a.id).unwrap().len(), 1);
}

#[test]
fn error_messages() {
    let e = StoreError::Invalid(vec!["name: x".into(), "tags: y".into()]);
    assert_eq!(e.to_string(), "invalid: name: x; tags: y");
    let e = StoreError::Import(vec![rampart_usage::RowError::new(3, "bad")]);
    assert_eq!(e.to_string(), "import rejected: line 3: bad");
}

#[test]
fn a_plan_id_can_be_chosen_once_and_never_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut new = plan("gold", vec![stage("pets", Some("prod"))]);
    new.id = Some("gold-plan".into());
    let p = store.create_plan(new.clone(), NOW).unwrap();
    assert_eq!(p.id, "gold-plan");
    assert!(matches!(
        store.create_plan(new.clone(), NOW),
        Err(StoreError::Conflict(_))
    ));
    new.id = Some("bad id".into());
    match store.create_plan(new.clone(), NOW) {
        Err(StoreError::Invalid(e)) => assert!(e[0].starts_with("id:"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    new.id = Some("other".into());
    assert!(matches!(
        store.replace_plan("gold-plan", new.clone()),
        Err(StoreError::Invalid(_))
    ));
    new.id = Some("gold-plan".into());
    new.name = "renamed".into();
    assert_eq!(
        store.replace_plan("gold-plan", new).unwrap().name,
        "renamed"
    );
}
