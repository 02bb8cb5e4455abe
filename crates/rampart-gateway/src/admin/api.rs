//! The admin API: API keys and usage plans over JSON REST, and the addresses rate-based WAF
//! rules block, on the admin listener only.
//!
//! Every request needs `Authorization: Bearer <server.admin.token>` (compared in constant
//! time); without a configured token the API is off. Every change is logged at `info` on
//! the `rampart::audit` target with who made it (the token and the peer address), what,
//! and the ids involved; never a key's value.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /admin/apikeys` | | `{"items": [ApiKey]}` |
//! | `POST /admin/apikeys` | `NewApiKey` | 201 `ApiKey` + `"value"` (shown once) |
//! | `POST /admin/apikeys/import` | CSV (API Gateway's format) | 201 `{"created": [id], "updated": [id]}`; 400 with `errors: [{line, message}]`, nothing imported |
//! | `GET /admin/apikeys/{id}` | | `ApiKey` |
//! | `PATCH /admin/apikeys/{id}` | `KeyPatch` (`{"enabled": false}` disables) | `ApiKey` |
//! | `DELETE /admin/apikeys/{id}` | | 204 |
//! | `GET /admin/usageplans` | | `{"items": [UsagePlan]}` |
//! | `POST /admin/usageplans` | `NewUsagePlan` | 201 `UsagePlan` |
//! | `GET`, `PUT`, `DELETE /admin/usageplans/{id}` | `NewUsagePlan` for PUT | `UsagePlan` / 204 |
//! | `GET /admin/usageplans/{id}/keys` | | `{"items": [ApiKey]}` |
//! | `POST /admin/usageplans/{id}/keys` | `{"keyId": "..."}` | 201 |
//! | `DELETE /admin/usageplans/{id}/keys/{keyId}` | | 204 |
//! | `GET /admin/usageplans/{id}/usage?startDate=&endDate=[&keyId=]` | | API Gateway's `GetUsage`: `{"usagePlanId", "startDate", "endDate", "items": {keyId: [[used, remaining], ...]}}`, one pair per day |
//! | `GET /admin/waf/managed-keys` | | the addresses rate-based rules (by IP or forwarded IP) block now, per web ACL and rule, as AWS's `GetRateBasedStatementManagedKeys`: `{"items": [{"webAcl", "rule", "ManagedKeysIPV4": {"IPAddressVersion", "Addresses": ["192.0.2.1/32"]}, "ManagedKeysIPV6": {...}}]}` (works without API keys in use) |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use rampart_usage::{KeyPatch, NewApiKey, NewUsagePlan, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::ApiStages;
use crate::server::Shared;
use crate::usage::Usage;

/// Largest request body (a CSV import of many keys).
const MAX_BODY: usize = 10 << 20;

type Answer = (StatusCode, Value);

fn message(status: StatusCode, m: impl Into<String>) -> Answer {
    (status, json!({ "message": m.into() }))
}

fn reply((status, body): Answer) -> Response<Full<Bytes>> {
    let body = if status == StatusCode::NO_CONTENT {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"rampart-admin\""),
        );
    }
    r
}

fn store_error(e: StoreError) -> Answer {
    match e {
        StoreError::NotFound(m) => message(StatusCode::NOT_FOUND, m),
        StoreError::Conflict(m) => message(StatusCode::CONFLICT, m),
        StoreError::Invalid(errors) => (
            StatusCode::BAD_REQUEST,
            json!({ "message": "invalid request", "errors": errors }),
        ),
        StoreError::Import(rows) => (
            StatusCode::BAD_REQUEST,
            json!({
                "message": format!("{} bad row(s): nothing was imported", rows.len()),
                "errors": rows.iter().map(|r| json!({"line": r.line, "message": r.message})).collect::<Vec<_>>(),
            }),
        ),
        other => {
            tracing::error!(error = %other, "admin API: usage store error");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
    }
}

/// Handle one `/admin/...` request.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let token = shared.admin_token();
    let Some(token) = token else {
        return reply(message(
            StatusCode::NOT_FOUND,
            "the admin API is off: set server.admin.token or token_file",
        ));
    };
    let presented = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 9110, section 11.1).
            let v = v.as_bytes();
            (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| &v[7..])
        });
    if !presented.is_some_and(|p| token.matches(p)) {
        tracing::warn!(target: "rampart::audit", peer = %peer, path = req.uri().path(), present = presented.is_some(), "admin API: authentication failed");
        return reply(message(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    if let Some(rest) = req.uri().path().strip_prefix("/admin/waf/") {
        return reply(match (req.method(), rest.trim_end_matches('/')) {
            (&Method::GET, "managed-keys") => {
                (StatusCode::OK, crate::waf::managed_keys(&shared.web_acls()))
            }
            (_, "managed-keys") => message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
            _ => message(StatusCode::NOT_FOUND, "Not Found"),
        });
    }
    let Some(usage) = shared.usage.clone() else {
        return reply(message(
            StatusCode::NOT_FOUND,
            "API keys are not in use: add server.usage (or a route with api_key_required) and restart",
        ));
    };
    let actor = format!("admin-token@{}", peer.ip());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return reply(message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ))
        }
    };
    let segs: Vec<String> = path
        .trim_start_matches("/admin/")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let apis = shared.api_stages();
    reply(route(&usage, &apis, &actor, &method, &seg, &query, body).await)
}

/// Run a store operation on a blocking thread; after a change, rebuild the key table.
async fn blocking<T: Send + 'static>(
    usage: &Arc<Usage>,
    change: bool,
    f: impl FnOnce(&Usage) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let u = usage.clone();
    match tokio::task::spawn_blocking(move || {
        let out = f(&u)?;
        if change {
            u.rebuild()?;
        }
        Ok(out)
    })
    .await
    {
        Ok(r) => r,
        Err(e) => Err(StoreError::Io(format!("admin task failed: {e}"))),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Answer> {
    serde_json::from_slice(body)
        .map_err(|e| message(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn audit(actor: &str, action: &str, id: &str) {
    tracing::info!(target: "rampart::audit", actor, action, id, "admin change");
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn route(
    usage: &Arc<Usage>,
    apis: &[ApiStages],
    actor: &str,
    method: &Method,
    seg: &[&str],
    query: &str,
    body: Bytes,
) -> Answer {
    let r = match (method, seg) {
        (&Method::GET, ["apikeys"]) => blocking(usage, false, |u| u.store().list_keys())
            .await
            .map(|keys| (StatusCode::OK, json!({ "items": keys }))),
        (&Method::POST, ["apikeys"]) => {
            let new: NewApiKey = match parse(&body) {
                Ok(n) => n,
                Err(a) => return a,
            };
            let out = blocking(usage, true, move |u| u.store().create_key(new, unix_now())).await;
            out.map(|(key, value)| {
                audit(actor, "create_api_key", &key.id);
                let mut v = to_json(&key);
                if let Value::Object(m) = &mut v {
                    m.insert("value".into(), Value::String(value));
                }
                (StatusCode::CREATED, v)
            })
        }
        (&Method::POST, ["apikeys", "import"]) => {
            let Ok(text) = String::from_utf8(body.to_vec()) else {
                return message(StatusCode::BAD_REQUEST, "the CSV file is not UTF-8");
            };
            let out = blocking(usage, true, move |u| {
                u.store().import_csv(&text, unix_now())
            })
            .await;
            out.map(|rep| {
                for id in rep.created.iter().chain(&rep.updated) {
                    audit(actor, "import_api_key", id);
                }
                (
                    StatusCode::CREATED,
                    json!({ "created": rep.created, "updated": rep.updated }),
                )
            })
        }
        (&Method::GET, ["apikeys", id]) => {
            let id = id.to_string();
            blocking(usage, false, move |u| u.store().get_key(&id))
                .await
                .and_then(|k| k.ok_or_else(|| StoreError::NotFound("no such API key".into())))
                .map(|k| (StatusCode::OK, to_json(&k)))
        }
        (&Method::PATCH, ["apikeys", id]) => {
            let patch: KeyPatch = match parse(&body) {
                Ok(p) => p,
                Err(a) => return a,
            };
            let what = match patch.enabled {
                Some(false) => "disable_api_key",
                Some(true) => "enable_api_key",
                None => "update_api_key",
            };
            let key_id = id.to_string();
            let out = blocking(usage, true, move |u| u.store().update_key(&key_id, patch)).await;
            out.map(|k| {
                audit(actor, what, &k.id);
                (StatusCode::OK, to_json(&k))
            })
        }
        (&Method::DELETE, ["apikeys", id]) => {
            let key_id = id.to_string();
            let out = blocking(usage, true, move |u| u.store().delete_key(&key_id)).await;
            out.map(|()| {
                audit(actor, "delete_api_key", id);
                (StatusCode::NO_CONTENT, Value::Null)
            })
        }
        (&Method::GET, ["usageplans"]) => blocking(usage, false, |u| u.store().list_plans())
            .await
            .map(|p| (StatusCode::OK, json!({ "items": p }))),
        (&Method::POST, ["usageplans"]) => {
            let new: NewUsagePlan = match parse(&body) {
                Ok(n) => n,
                Err(a) => return a,
            };
            if let Err(a) = check_api_stages(apis, &new) {
                return a;
            }
            let out = blocking(usage, true, move |u| u.store().create_plan(new, unix_now())).await;
            out.map(|p| {
                audit(actor, "create_usage_plan", &p.id);
                (StatusCode::CREATED, to_json(&p))
            })
        }
        (&Method::GET, ["usageplans", id]) => {
            let id = id.to_string();
            blocking(usage, false, move |u| u.store().get_plan(&id))
                .await
                .and_then(|p| p.ok_or_else(|| StoreError::NotFound("no such usage plan".into())))
                .map(|p| (StatusCode::OK, to_json(&p)))
        }
        (&Method::PUT, ["usageplans", id]) => {
            let new: NewUsagePlan = match parse(&body) {
                Ok(n) => n,
                Err(a) => return a,
            };
            if let Err(a) = check_api_stages(apis, &new) {
                return a;
            }
            let plan_id = id.to_string();
            let out = blocking(usage, true, move |u| u.store().replace_plan(&plan_id, new)).await;
            out.map(|p| {
                audit(actor, "replace_usage_plan", &p.id);
                (StatusCode::OK, to_json(&p))
            })
        }
        (&Method::DELETE, ["usageplans", id]) => {
            let plan_id = id.to_string();
            let out = blocking(usage, true, move |u| u.store().delete_plan(&plan_id)).await;
            out.map(|()| {
                audit(actor, "delete_usage_plan", id);
                (StatusCode::NO_CONTENT, Value::Null)
            })
        }
        (&Method::GET, ["usageplans", id, "keys"]) => {
            let plan_id = id.to_string();
            blocking(usage, false, move |u| u.store().plan_keys(&plan_id))
                .await
                .map(|k| (StatusCode::OK, json!({ "items": k })))
        }
        (&Method::POST, ["usageplans", id, "keys"]) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct AddKey {
                key_id: String,
            }
            let add: AddKey = match parse(&body) {
                Ok(a) => a,
                Err(a) => return a,
            };
            let (plan_id, key_id) = (id.to_string(), add.key_id.clone());
            let out = blocking(usage, true, move |u| {
                u.store().add_key_to_plan(&plan_id, &key_id)
            })
            .await;
            out.map(|()| {
                audit(actor, "add_key_to_plan", &format!("{id}/{}", add.key_id));
                (
                    StatusCode::CREATED,
                    json!({ "usagePlanId": id, "keyId": add.key_id }),
                )
            })
        }
        (&Method::DELETE, ["usageplans", id, "keys", key]) => {
            let (plan_id, key_id) = (id.to_string(), key.to_string());
            let out = blocking(usage, true, move |u| {
                u.store().remove_key_from_plan(&plan_id, &key_id)
            })
            .await;
            out.map(|()| {
                audit(actor, "remove_key_from_plan", &format!("{id}/{key}"));
                (StatusCode::NO_CONTENT, Value::Null)
            })
        }
        (&Method::GET, ["usageplans", id, "usage"]) => return usage_report(usage, id, query).await,
        (_, ["apikeys" | "usageplans", ..]) => {
            return message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        }
        _ => return message(StatusCode::NOT_FOUND, "Not Found"),
    };
    r.unwrap_or_else(store_error)
}

/// A plan may only name APIs and stages of the running configuration (API Gateway refuses
/// an unknown API stage too): a plan that names nothing real would never apply, silently.
fn check_api_stages(apis: &[ApiStages], plan: &NewUsagePlan) -> Result<(), Answer> {
    for (i, s) in plan.api_stages.iter().enumerate() {
        let Some(api) = apis.iter().find(|a| a.id == s.api_id || a.name == s.api_id) else {
            let known: Vec<&str> = apis.iter().map(|a| a.name.as_str()).collect();
            return Err(message(
                StatusCode::BAD_REQUEST,
                format!(
                    "apiStages[{i}].apiId: no API {:?} in the configuration (APIs: {})",
                    s.api_id,
                    known.join(", ")
                ),
            ));
        };
        let problem = match (&s.stage, api.stages.is_empty()) {
            (None, true) => None,
            (Some(st), false) if api.stages.contains(st) => None,
            (Some(_), true) => Some(format!(
                "API {:?} is served without stages: leave out `stage`",
                s.api_id
            )),
            (Some(st), false) => Some(format!(
                "API {:?} has no stage {st:?} (stages: {})",
                s.api_id,
                api.stages.join(", ")
            )),
            (None, false) => Some(format!(
                "API {:?} has stages ({}): name one in `stage`",
                s.api_id,
                api.stages.join(", ")
            )),
        };
        if let Some(p) = problem {
            return Err(message(
                StatusCode::BAD_REQUEST,
                format!("apiStages[{i}].stage: {p}"),
            ));
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if s.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = rampart_limiter::days_from_civil(y, m, d);
    (rampart_limiter::civil_from_days(day) == (y, m, d)).then_some(day)
}

pub fn format_date(day: i64) -> String {
    let (y, m, d) = rampart_limiter::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// API Gateway's `GetUsage`: per key, one `[used, remaining]` per day of the range, where
/// `remaining` is what the plan's quota had left at the end of that day (or -1 without a
/// quota, as API Gateway reports nothing to subtract from).
async fn usage_report(usage: &Arc<Usage>, plan_id: &str, query: &str) -> Answer {
    let today =
        rampart_limiter::period_index(rampart_limiter::Period::Day, std::time::SystemTime::now());
    let start = match query_param(query, "startDate") {
        None => today,
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return message(StatusCode::BAD_REQUEST, "startDate must be YYYY-MM-DD"),
        },
    };
    let end = match query_param(query, "endDate") {
        None => today,
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => return message(StatusCode::BAD_REQUEST, "endDate must be YYYY-MM-DD"),
        },
    };
    if end < start || end - start > 366 {
        return message(
            StatusCode::BAD_REQUEST,
            "endDate must not be before startDate, and the range at most 366 days",
        );
    }
    let key_filter = query_param(query, "keyId").map(str::to_string);
    let pid = plan_id.to_string();
    let kf = key_filter.clone();
    let plan_and_keys = blocking(usage, false, move |u| {
        let plan = u
            .store()
            .get_plan(&pid)?
            .ok_or_else(|| StoreError::NotFound("no such usage plan".into()))?;
        let keys = u.store().plan_keys(&pid)?;
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| k.id)
            .filter(|id| kf.as_ref().is_none_or(|f| f == id))
            .collect();
        Ok((plan, keys))
    })
    .await;
    let (plan, keys) = match plan_and_keys {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    // The quota's period may start before `start`: read from its first day.
    let quota = plan.quota();
    let first = match &quota {
        Some(q) => {
            let t = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(start.max(0)).unwrap_or(0) * 86_400);
            let ps = rampart_limiter::period_start(q.period(), t);
            rampart_limiter::period_index(rampart_limiter::Period::Day, ps).min(start)
        }
        None => start,
    };
    let mut per_key: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    match usage.redis() {
        Some(redis) => {
            for k in &keys {
                let Some(rid) = usage.redis_id(k) else {
                    continue;
                };
                let names: Vec<String> = (first..=end)
                    .map(|d| crate::usage::redis_usage_key(&plan.id, &rid, d))
                    .collect();
                match redis.get_many(&names).await {
                    Ok(v) => {
                        per_key.insert(k.clone(), (first..=end).zip(v).collect());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "admin API: usage from Redis");
                        return message(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "the usage store is unavailable",
                        );
                    }
                }
            }
        }
        None => {
            let pid = plan.id.clone();
            let got = blocking(usage, false, move |u| {
                u.store().counters().usage(&pid, None, first, end)
            })
            .await;
            match got {
                Ok(m) => {
                    for k in &keys {
                        per_key.insert(k.clone(), m.get(k).cloned().unwrap_or_default());
                    }
                }
                Err(e) => return store_error(e),
            }
        }
    }
    let mut items = serde_json::Map::new();
    for k in &keys {
        let days = per_key.get(k).cloned().unwrap_or_default();
        let mut rows = Vec::new();
        let mut period_used = 0u64;
        let mut period = i64::MIN;
        for d in first..=end {
            let used = days.get(&d).copied().unwrap_or(0);
            let t = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(d.max(0)).unwrap_or(0) * 86_400);
            let remaining: i64 = match &quota {
                Some(q) => {
                    let p = rampart_limiter::period_index(q.period(), t);
                    if p != period {
                        period = p;
                        period_used = 0;
                    }
                    period_used += used;
                    i64::try_from(q.limit_at(t).saturating_sub(period_used)).unwrap_or(i64::MAX)
                }
                None => -1,
            };
            if d >= start {
                rows.push(json!([used, remaining]));
            }
        }
        items.insert(k.clone(), Value::Array(rows));
    }
    (
        StatusCode::OK,
        json!({
            "usagePlanId": plan.id,
            "startDate": format_date(start),
            "endDate": format_date(end),
            "items": items,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(stages: Value) -> Result<NewUsagePlan, serde_json::Error> {
        serde_json::from_value(json!({"name": "p", "apiStages": stages}))
    }

    #[test]
    fn api_stages_name_an_api_by_id_or_name_and_one_of_its_stages() -> Result<(), serde_json::Error>
    {
        let apis = [
            ApiStages {
                id: "abc123".into(),
                name: "shop".into(),
                stages: vec!["prod".into()],
            },
            ApiStages {
                id: "root".into(),
                name: "root".into(),
                stages: vec![],
            },
        ];
        for ok in [
            json!([{"apiId": "abc123", "stage": "prod"}]),
            json!([{"apiId": "shop", "stage": "prod"}]),
            json!([{"apiId": "root"}]),
            json!([]),
        ] {
            let r = check_api_stages(&apis, &plan(ok.clone())?);
            assert!(r.is_ok(), "{ok}: {r:?}");
        }
        let r = check_api_stages(&apis, &plan(json!([{"apiId": "root", "stage": "prod"}]))?);
        let want = "apiStages[0].stage: API \"root\" is served without stages: leave out `stage`";
        assert!(
            matches!(&r, Err((StatusCode::BAD_REQUEST, v)) if v["message"] == want),
            "{r:?}"
        );
        Ok(())
    }
}
