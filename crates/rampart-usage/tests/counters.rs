#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rampart_usage::{period_index, NewApiKey, Period, QuotaPeriod, Store, UsagePlan};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

const DAY: u64 = 86_400;

/// A store with one plan (quota `limit`/`offset`/`period`, created at NOW) and one key in it.
fn setup(dir: &Path, limit: u64, offset: u64, period: QuotaPeriod) -> (Store, UsagePlan, String) {
    let store = open(dir);
    let plan = store
        .create_plan(quota_plan("p", limit, offset, period), NOW)
        .unwrap();
    let (k, _) = store
        .create_key(
            NewApiKey {
                usage_plan_ids: vec![plan.id.clone()],
                ..key("k")
            },
            NOW,
        )
        .unwrap();
    (store, plan, k.id)
}

fn journals(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".journal"))
        .collect();
    v.sort();
    v
}

fn current_journal(dir: &Path) -> PathBuf {
    journals(dir).pop().unwrap()
}

fn usage_of(store: &Store, plan: &str, key: &str, from: i64, to: i64) -> BTreeMap<i64, u64> {
    store
        .counters()
        .usage(plan, Some(key), from, to)
        .unwrap()
        .remove(key)
        .unwrap_or_default()
}

#[test]
fn quota_exhausts_exactly_at_limit_and_denials_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 5, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let wall = at(NOW + 60);
    for i in 1..=5 {
        let d = store.counters().admit(&c, Some(&q), wall).unwrap();
        assert!(d.allowed);
        assert_eq!((d.used, d.remaining), (i, 5 - i));
        assert_eq!(d.resets_at, at((NOW / DAY + 1) * DAY));
    }
    let journal = current_journal(dir.path());
    let len = std::fs::metadata(&journal).unwrap().len();
    assert!(len > 0);
    for _ in 0..3 {
        let d = store.counters().admit(&c, Some(&q), wall).unwrap();
        assert!(!d.allowed);
        assert_eq!((d.used, d.remaining), (5, 0));
    }
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        len,
        "a denial wrote to the journal"
    );
    assert_eq!(store.counters().quota_used(&c, &q, wall), 5);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX),
        BTreeMap::from([(day_of(NOW), 5)])
    );
    // The handle is interned: a second handle sees the same counter.
    let c2 = store.counters().counter(&plan.id, &key_id);
    assert!(!store.counters().admit(&c2, Some(&q), wall).unwrap().allowed);
    assert_eq!(c2.plan_id(), plan.id);
    assert_eq!(c2.key_id(), key_id);
}

#[test]
fn offset_applies_to_the_initial_period_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 5, 2, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let admitted = |wall| {
        (0..10)
            .take_while(|_| store.counters().admit(&c, Some(&q), wall).unwrap().allowed)
            .count()
    };
    assert_eq!(admitted(at(NOW)), 3);
    assert_eq!(admitted(at(NOW + DAY)), 5);
    assert_eq!(admitted(at(NOW + 2 * DAY)), 5);
}

#[test]
fn day_rollover_with_injected_times() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 2, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let day0_end = (NOW / DAY + 1) * DAY;
    let ct = store.counters();
    assert!(ct.admit(&c, Some(&q), at(day0_end - 2)).unwrap().allowed);
    assert!(ct.admit(&c, Some(&q), at(day0_end - 1)).unwrap().allowed);
    let d = ct.admit(&c, Some(&q), at(day0_end - 1)).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.resets_at, at(day0_end));
    // Midnight: a new period.
    let d = ct.admit(&c, Some(&q), at(day0_end)).unwrap();
    assert!(d.allowed);
    assert_eq!((d.used, d.remaining), (1, 1));
    assert_eq!(d.resets_at, at(day0_end + DAY));
    assert_eq!(ct.quota_used(&c, &q, at(day0_end)), 1);
    assert_eq!(ct.quota_used(&c, &q, at(day0_end - 1)), 0, "another period");
    let d0 = day_of(NOW);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, d0, d0 + 1),
        BTreeMap::from([(d0, 2), (d0 + 1, 1)])
    );
}

#[test]
fn changing_the_period_kind_restarts_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 3, 0, QuotaPeriod::Day);
    let ct = store.counters();
    let c = ct.counter(&plan.id, &key_id);
    let day_q = plan.quota().unwrap();
    for _ in 0..3 {
        assert!(ct.admit(&c, Some(&day_q), at(NOW)).unwrap().allowed);
    }
    assert!(!ct.admit(&c, Some(&day_q), at(NOW)).unwrap().allowed);
    let weekly = store
        .replace_plan(&plan.id, quota_plan("p", 4, 0, QuotaPeriod::Week))
        .unwrap();
    let week_q = weekly.quota().unwrap();
    assert_eq!(ct.quota_used(&c, &week_q, at(NOW)), 0);
    for _ in 0..4 {
        assert!(ct.admit(&c, Some(&week_q), at(NOW)).unwrap().allowed);
    }
    assert!(!ct.admit(&c, Some(&week_q), at(NOW)).unwrap().allowed);
    assert_eq!(ct.quota_used(&c, &week_q, at(NOW)), 4);
    assert_eq!(ct.quota_used(&c, &day_q, at(NOW)), 0);
    // Usage counted every allowed request regardless of the quota.
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX)
            .values()
            .sum::<u64>(),
        7
    );
}

#[test]
fn without_quota_everything_is_allowed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ct = store.counters();
    let c = ct.counter("plan", "key");
    for i in 1..=4 {
        let d = ct.admit(&c, None, at(NOW)).unwrap();
        assert!(d.allowed);
        assert_eq!((d.used, d.remaining), (i, u64::MAX));
        assert_eq!(d.resets_at, at((NOW / DAY + 1) * DAY));
    }
    let d = ct.admit(&c, None, at(NOW + DAY)).unwrap();
    assert_eq!(d.used, 1);
    assert_eq!(
        usage_of(&store, "plan", "key", 0, i64::MAX),
        BTreeMap::from([(day_of(NOW), 4), (day_of(NOW) + 1, 1)])
    );
}

#[test]
fn usage_history_over_a_range_survives_flushes_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let d0 = day_of(NOW);
    let expected_k1: BTreeMap<i64, u64> = (0..6).map(|i| (d0 + i, (i as u64) + 1)).collect();
    {
        let store = open(dir.path());
        let ct = store.counters();
        let k1 = ct.counter("plan", "k1");
        let k2 = ct.counter("plan", "k2");
        let other = ct.counter("other", "k1");
        for i in 0..6u64 {
            for _ in 0..=i {
                ct.admit(&k1, None, at(NOW + i * DAY)).unwrap();
            }
            ct.admit(&k2, None, at(NOW + i * DAY)).unwrap();
            ct.admit(&other, None, at(NOW + i * DAY)).unwrap();
            if i % 2 == 1 {
                ct.flush().unwrap();
            }
        }
        // Mixed: days 0..5 flushed, day 5 (partly) in memory only.
        assert_eq!(usage_of(&store, "plan", "k1", d0, d0 + 5), expected_k1);
        let all = ct.usage("plan", None, d0 + 1, d0 + 2).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all["k1"], BTreeMap::from([(d0 + 1, 2), (d0 + 2, 3)]));
        assert_eq!(all["k2"], BTreeMap::from([(d0 + 1, 1), (d0 + 2, 1)]));
        assert!(ct.usage("plan", None, d0 + 10, d0 + 20).unwrap().is_empty());
        assert!(ct.usage("plan", None, d0 + 3, d0 + 2).unwrap().is_empty());
        assert!(ct.usage("nope", None, 0, i64::MAX).unwrap().is_empty());
        assert_eq!(ct.usage("other", None, 0, i64::MAX).unwrap()["k1"].len(), 6);
    }
    let store = open(dir.path());
    assert_eq!(usage_of(&store, "plan", "k1", d0, d0 + 5), expected_k1);
    assert_eq!(usage_of(&store, "plan", "k1", d0 + 2, d0 + 3).len(), 2);
    assert_eq!(usage_of(&store, "plan", "k2", i64::MIN, i64::MAX).len(), 6);
    // The current day continues from the persisted count.
    let c = store.counters().counter("plan", "k1");
    assert_eq!(
        store
            .counters()
            .admit(&c, None, at(NOW + 5 * DAY))
            .unwrap()
            .used,
        7
    );
}

#[test]
fn flush_alone_persists_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 100, 0, QuotaPeriod::Month);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    for _ in 0..17 {
        store.counters().admit(&c, Some(&q), at(NOW)).unwrap();
    }
    store.counters().flush().unwrap();
    let old_journals = journals(dir.path());
    assert_eq!(
        old_journals.len(),
        1,
        "old generations deleted: {old_journals:?}"
    );
    std::mem::forget(store);
    let copy = crash_copy(dir.path());
    // Without any journal: the table alone has it.
    for j in journals(copy.path()) {
        std::fs::remove_file(j).unwrap();
    }
    let store = open(copy.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), 17);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX),
        BTreeMap::from([(day_of(NOW), 17)])
    );
}

#[test]
fn idle_flush_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let before = journals(dir.path());
    for _ in 0..3 {
        store.counters().flush().unwrap();
    }
    assert_eq!(journals(dir.path()), before);
    let c = store.counters().counter("p", "k");
    store.counters().admit(&c, None, at(NOW)).unwrap();
    store.counters().flush().unwrap();
    assert_ne!(journals(dir.path()), before);
    assert_eq!(journals(dir.path()).len(), 1);
}

#[test]
fn crash_without_flush_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 1000, 0, QuotaPeriod::Week);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let n = 123;
    for _ in 0..n {
        assert!(
            store
                .counters()
                .admit(&c, Some(&q), at(NOW))
                .unwrap()
                .allowed
        );
    }
    std::mem::forget(store); // no Drop, no flush: like kill -9
    let copy = crash_copy(dir.path());
    let store = open(copy.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), n);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX),
        BTreeMap::from([(day_of(NOW), n)])
    );
    // And it continues counting from there.
    assert_eq!(
        store.counters().admit(&c, Some(&q), at(NOW)).unwrap().used,
        n + 1
    );
    // The replayed journal was folded into the table and removed.
    assert_eq!(journals(copy.path()).len(), 1);
    assert!(
        std::fs::metadata(current_journal(copy.path()))
            .unwrap()
            .len()
            > 0
    );
}

#[test]
fn crash_at_many_instants_among_admits_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 10_000, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let ct = store.counters();
    let c = ct.counter(&plan.id, &key_id);
    let c2 = ct.counter(&plan.id, "other");
    let mut snapshots = Vec::new();
    let mut n = 0u64;
    let mut n2 = 0u64;
    for i in 0..240u64 {
        // Spread over two days so that usage history is part of the state.
        let wall = at(NOW + (i / 120) * DAY);
        ct.admit(&c, Some(&q), wall).unwrap();
        n += 1;
        if i % 3 == 0 {
            ct.admit(&c2, None, wall).unwrap();
            n2 += 1;
        }
        if i % 41 == 0 {
            ct.flush().unwrap();
        }
        if i % 29 == 7 || i == 239 {
            snapshots.push((crash_copy(dir.path()), n, n2, i / 120));
        }
    }
    std::mem::forget(store);
    assert!(snapshots.len() > 8);
    for (copy, n, n2, day_offset) in snapshots {
        let store = open(copy.path());
        let ct = store.counters();
        let c = ct.counter(&plan.id, &key_id);
        let today = at(NOW + day_offset * DAY);
        let usage = usage_of(&store, &plan.id, &key_id, 0, i64::MAX);
        assert_eq!(usage.values().sum::<u64>(), n, "at {n}");
        let expected_today = if day_offset == 0 { n } else { n - 120 };
        assert_eq!(ct.quota_used(&c, &q, today), expected_today, "at {n}");
        let other = usage_of(&store, &plan.id, "other", 0, i64::MAX);
        assert_eq!(other.values().sum::<u64>(), n2, "at {n}");
    }
}

#[test]
fn crash_between_journal_swap_and_commit() {
    // Reconstructs the files a crash inside flush leaves: the old table and marker, the old
    // journal generation and the new one with further admits.
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 10_000, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let ct = store.counters();
    let c = ct.counter(&plan.id, &key_id);
    for _ in 0..10 {
        ct.admit(&c, Some(&q), at(NOW)).unwrap();
    }
    let before = crash_copy(dir.path());
    let old_gen = current_journal(dir.path());
    ct.flush().unwrap();
    for _ in 0..5 {
        ct.admit(&c, Some(&q), at(NOW)).unwrap();
    }
    let new_gen = current_journal(dir.path());
    assert_ne!(old_gen, new_gen);
    let after = crash_copy(dir.path());
    std::mem::forget(store);
    // `before` has the old table and the old generation; add the new generation.
    let name = new_gen.file_name().unwrap();
    std::fs::copy(after.path().join(name), before.path().join(name)).unwrap();
    let store = open(before.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), 15);

    // A stale generation left over after the commit (crash before its deletion) is ignored
    // and does not double count.
    drop(store);
    let stale = after.path().join(old_gen.file_name().unwrap());
    std::fs::write(
        &stale,
        std::fs::read(before.path().join(old_gen.file_name().unwrap())).unwrap_or_default(),
    )
    .unwrap();
    let store = open(after.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), 15);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX)[&day_of(NOW)],
        15
    );
}

#[test]
fn torn_and_corrupt_journal_lines_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 10_000, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    for _ in 0..20 {
        store.counters().admit(&c, Some(&q), at(NOW)).unwrap();
    }
    std::mem::forget(store);
    let copy = crash_copy(dir.path());
    let journal = current_journal(copy.path());
    let text = std::fs::read_to_string(&journal).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    assert!(last.contains(" 20 "), "{last}");
    // A line claiming 999 used, torn before its end (no newline, partial checksum)...
    let forged = last.replace(" 20 ", " 999 ");
    let torn = &forged[..forged.len() - 3];
    // ...after a garbage line and a line with a wrong checksum.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    f.write_all(b"garbage line\n").unwrap();
    f.write_all(format!("{forged}\n").as_bytes()).unwrap();
    f.write_all(torn.as_bytes()).unwrap();
    drop(f);
    let store = open(copy.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), 20);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX)[&day_of(NOW)],
        20
    );
}

#[test]
fn old_usage_days_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let d0 = day_of(NOW);
    {
        let store = open(dir.path());
        let ct = store.counters();
        let c = ct.counter("p", "k");
        ct.admit(&c, None, at(NOW)).unwrap();
        ct.admit(&c, None, at(NOW + 100 * DAY)).unwrap();
        ct.flush().unwrap();
        ct.admit(&c, None, at(NOW + 400 * DAY)).unwrap();
        ct.flush().unwrap();
        assert_eq!(
            usage_of(&store, "p", "k", 0, i64::MAX).len(),
            3,
            "400 days are kept"
        );
        ct.admit(&c, None, at(NOW + 401 * DAY)).unwrap();
        ct.flush().unwrap();
        assert_eq!(
            usage_of(&store, "p", "k", 0, i64::MAX)
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![d0 + 100, d0 + 400, d0 + 401]
        );
    }
    let store = open(dir.path());
    assert_eq!(usage_of(&store, "p", "k", 0, i64::MAX).len(), 3);
}

#[test]
fn concurrent_admits_respect_the_quota_and_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (store, plan, key_id) = setup(dir.path(), 1000, 0, QuotaPeriod::Day);
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let allowed: u64 = std::thread::scope(|s| {
        let flusher = s.spawn(|| {
            for _ in 0..20 {
                store.counters().flush().unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..400)
                        .filter(|_| {
                            store
                                .counters()
                                .admit(&c, Some(&q), at(NOW))
                                .unwrap()
                                .allowed
                        })
                        .count() as u64
                })
            })
            .collect();
        flusher.join().unwrap();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(allowed, 1000);
    std::mem::forget(store);
    let copy = crash_copy(dir.path());
    let store = open(copy.path());
    let c = store.counters().counter(&plan.id, &key_id);
    assert_eq!(store.counters().quota_used(&c, &q, at(NOW)), 1000);
    assert_eq!(
        usage_of(&store, &plan.id, &key_id, 0, i64::MAX)[&day_of(NOW)],
        1000
    );
}

#[test]
fn period_index_is_reexported() {
    assert_eq!(period_index(Period::Day, at(NOW)), day_of(NOW));
    assert_eq!(period_index(Period::Day, UNIX_EPOCH), 0);
}

// ---- a real kill -9 -------------------------------------------------------------------

const CHILD_ENV: &str = "RAMPART_USAGE_CRASH_CHILD";

/// Parent: prepares a store, runs this same test binary as a child that admits in a loop
/// (flushing now and then) and prints each count once `admit` returned, SIGKILLs it after a
/// while, and checks the reopened store has every printed admit (and at most one more).
#[test]
fn kill_9_child_process() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    let dir = tempfile::tempdir().unwrap();
    let (plan, key_id) = {
        let (store, plan, key_id) = setup(dir.path(), 1_000_000, 0, QuotaPeriod::Month);
        drop(store); // so that the child can open it
        (plan, key_id)
    };
    let spec = format!("{}\n{}\n{}", dir.path().display(), plan.id, key_id);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_9_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &spec)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = 0u64;
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("admitted ") {
            printed = n.parse().unwrap();
            if printed >= 1500 {
                break;
            }
        }
    }
    assert!(printed >= 1500, "child stopped early");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("admitted ") {
            printed = n.parse().unwrap();
        }
    }
    let store = open(dir.path());
    let q = plan.quota().unwrap();
    let c = store.counters().counter(&plan.id, &key_id);
    let used = store.counters().quota_used(&c, &q, at(NOW));
    assert!(
        used == printed || used == printed + 1,
        "used {used}, printed {printed}"
    );
    let usage = usage_of(&store, &plan.id, &key_id, 0, i64::MAX)[&day_of(NOW)];
    assert_eq!(usage, used);
}

fn child(spec: &str) {
    let mut parts = spec.lines();
    let dir = PathBuf::from(parts.next().unwrap());
    let plan_id = parts.next().unwrap();
    let key_id = parts.next().unwrap();
    let store = open(&dir);
    let plan = store.get_plan(plan_id).unwrap().unwrap();
    let q = plan.quota().unwrap();
    let c = store.counters().counter(plan_id, key_id);
    let mut out = std::io::stdout().lock();
    for i in 1u64.. {
        assert!(
            store
                .counters()
                .admit(&c, Some(&q), at(NOW))
                .unwrap()
                .allowed
        );
        writeln!(out, "admitted {i}").unwrap();
        out.flush().unwrap();
        if i % 97 == 0 {
            store.counters().flush().unwrap();
        }
    }
}
