//! Shared test helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_usage::{
    ApiStage, NewApiKey, NewUsagePlan, QuotaPeriod, QuotaSettings, Store, ThrottleSettings,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SECRET: [u8; 32] = [7u8; 32];

/// 2023-11-14 22:13:20 UTC (day 19675).
pub const NOW: u64 = 1_700_000_000;

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn day_of(secs: u64) -> i64 {
    (secs / 86_400) as i64
}

pub fn stage(api: &str, stage: Option<&str>) -> ApiStage {
    ApiStage {
        api_id: api.to_owned(),
        stage: stage.map(str::to_owned),
        throttle: BTreeMap::new(),
    }
}

pub fn plan(name: &str, stages: Vec<ApiStage>) -> NewUsagePlan {
    NewUsagePlan {
        id: None,
        name: name.to_owned(),
        description: String::new(),
        api_stages: stages,
        throttle: Some(ThrottleSettings {
            burst_limit: 10,
            rate_limit: 5.0,
        }),
        quota: None,
        tags: BTreeMap::new(),
    }
}

pub fn quota_plan(name: &str, limit: u64, offset: u64, period: QuotaPeriod) -> NewUsagePlan {
    NewUsagePlan {
        id: None,
        quota: Some(QuotaSettings {
            limit,
            offset,
            period,
        }),
        ..plan(name, vec![stage("pets", Some("prod"))])
    }
}

pub fn key(name: &str) -> NewApiKey {
    NewApiKey {
        name: name.to_owned(),
        ..NewApiKey::default()
    }
}

pub fn open(dir: &Path) -> Store {
    Store::open(dir, Some(SECRET)).unwrap()
}

/// What a `kill -9` leaves: the files as the kernel has them right now. (A forgotten `Store`
/// keeps redb's lock on its file, so the copy is what gets reopened.)
pub fn crash_copy(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for ent in std::fs::read_dir(dir).unwrap() {
        let ent = ent.unwrap();
        if ent.file_type().unwrap().is_file() {
            std::fs::copy(ent.path(), copy.path().join(ent.file_name())).unwrap();
        }
    }
    copy
}

/// All bytes of all files under `dir`.
pub fn all_file_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for ent in std::fs::read_dir(dir).unwrap() {
        let ent = ent.unwrap();
        if ent.file_type().unwrap().is_file() {
            out.push((
                ent.file_name().to_string_lossy().into_owned(),
                std::fs::read(ent.path()).unwrap(),
            ));
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
