//! The authorizer event: the JSON API Gateway sends to the authorizer.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::source::Kind;
use crate::Format;

/// Name/value pairs in arrival order; a repeated name appears once per value.
pub type Pairs<'a> = &'a [(&'a str, &'a str)];

/// What the gateway knows about a request, as the authorizer event needs it. Everything
/// is borrowed; build it once per request. Values are text: the gateway decides what to
/// do with header values that are not UTF-8 (leave them out, or refuse the request).
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The request method (`GET`).
    pub method: &'a str,
    /// The matched route's path template (`/pets/{petId}`): REST `resource` and
    /// `requestContext.resourcePath`.
    pub resource: &'a str,
    /// A stable id of the matched route (REST `requestContext.resourceId`).
    pub resource_id: &'a str,
    /// The HTTP API route key (`GET /pets/{petId}`, `$default`).
    pub route_key: &'a str,
    /// The canonical path within the stage, from `/` (`/pets/42`): REST `path`.
    pub path: &'a str,
    /// The path as the client addressed it, stage or base path included (`/prod/pets/42`):
    /// REST `requestContext.path`, HTTP API `rawPath` and `requestContext.http.path`.
    pub request_path: &'a str,
    /// The query string as received, without `?` (HTTP API `rawQueryString`).
    pub raw_query: &'a str,
    /// Request headers, names as received (header names are matched case-insensitively).
    pub headers: Pairs<'a>,
    /// Decoded query-string parameters.
    pub query: Pairs<'a>,
    /// Path parameters of the matched route (decoded).
    pub path_params: Pairs<'a>,
    pub stage: &'a str,
    pub stage_variables: Pairs<'a>,
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub account_id: &'a str,
    pub api_id: &'a str,
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`: REST
    /// `methodArn`, HTTP API `routeArn`.
    pub method_arn: &'a str,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub protocol: &'a str,
    /// The host the request was addressed to.
    pub domain_name: &'a str,
    /// When the request arrived.
    pub time: SystemTime,
}

/// The event for this authorizer and request:
///
/// - `Kind::Token`, `Format::Policy`: the REST `TOKEN` event
///   `{"type":"TOKEN","authorizationToken","methodArn"}`.
/// - `Kind::Request`, `Format::Policy`: the REST `REQUEST` event.
/// - `Format::Simple`: the HTTP API payload 2.0 `REQUEST` event (`identitySource` lists
///   the identity values; a `Kind::Token` authorizer's token is its only one).
///
/// Call it after [`identity`](crate::identity) succeeded; a missing token is sent as `""`.
pub fn event(kind: &Kind, format: Format, facts: &RequestFacts<'_>) -> Value {
    match (format, kind) {
        (Format::Policy, Kind::Token { .. }) => json!({
            "type": "TOKEN",
            "authorizationToken": kind.token_value(facts).unwrap_or(""),
            "methodArn": facts.method_arn,
        }),
        (Format::Policy, Kind::Request { .. }) => rest_request(facts),
        (Format::Simple, _) => http_v2_request(kind, facts),
    }
}

/// Group pairs by name (case-insensitively for headers), keeping the first spelling and
/// every value in order.
fn group(pairs: Pairs<'_>, case_insensitive: bool) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in pairs {
        let slot = out.iter_mut().find(|(n, _)| {
            if case_insensitive {
                n.eq_ignore_ascii_case(k)
            } else {
                n == k
            }
        });
        match slot {
            Some((_, vs)) => vs.push((*v).to_string()),
            None => out.push(((*k).to_string(), vec![(*v).to_string()])),
        }
    }
    out
}

/// REST: one value per name (the last, as API Gateway does) and all values.
fn single_and_multi(grouped: &[(String, Vec<String>)]) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (k, vs) in grouped {
        if let Some(last) = vs.last() {
            single.insert(k.clone(), Value::String(last.clone()));
        }
        multi.insert(
            k.clone(),
            Value::Array(vs.iter().cloned().map(Value::String).collect()),
        );
    }
    (Value::Object(single), Value::Object(multi))
}

/// A map of single values, the last one winning.
fn last_wins(pairs: Pairs<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    m
}

fn rest_request(f: &RequestFacts<'_>) -> Value {
    let (headers, multi_headers) = single_and_multi(&group(f.headers, true));
    let (query, multi_query) = single_and_multi(&group(f.query, false));
    json!({
        "type": "REQUEST",
        "methodArn": f.method_arn,
        "resource": f.resource,
        "path": f.path,
        "httpMethod": f.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": last_wins(f.path_params),
        "stageVariables": last_wins(f.stage_variables),
        "requestContext": {
            "accountId": f.account_id,
            "apiId": f.api_id,
            "stage": f.stage,
            "resourceId": f.resource_id,
            "resourcePath": f.resource,
            "httpMethod": f.method,
            "path": f.request_path,
            "protocol": f.protocol,
            "domainName": f.domain_name,
            "domainPrefix": domain_prefix(f.domain_name),
            "requestId": f.request_id,
            "extendedRequestId": f.request_id,
            "requestTime": clf_time(f.time),
            "requestTimeEpoch": epoch_millis(f.time),
            "identity": {
                "apiKey": null,
                "sourceIp": f.source_ip,
                "userAgent": f.user_agent,
            },
        },
    })
}

fn http_v2_request(kind: &Kind, f: &RequestFacts<'_>) -> Value {
    let identity_source: Vec<String> = match kind {
        Kind::Token { .. } => kind
            .token_value(f)
            .map(str::to_string)
            .into_iter()
            .collect(),
        Kind::Request { sources } => sources
            .iter()
            .map(|s| s.values(f))
            .filter(|vs| !vs.is_empty())
            .map(|vs| vs.join(","))
            .collect(),
    };
    let mut cookies = Vec::new();
    let mut headers = Map::new();
    for (name, values) in group(f.headers, true) {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
        } else {
            headers.insert(name, Value::String(values.join(",")));
        }
    }
    let mut query = Map::new();
    for (name, values) in group(f.query, false) {
        query.insert(name, Value::String(values.join(",")));
    }
    let mut ev = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f.method_arn,
        "identitySource": identity_source,
        "routeKey": f.route_key,
        "rawPath": f.request_path,
        "rawQueryString": f.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": f.account_id,
            "apiId": f.api_id,
            "domainName": f.domain_name,
            "domainPrefix": domain_prefix(f.domain_name),
            "http": {
                "method": f.method,
                "path": f.request_path,
                "protocol": f.protocol,
                "sourceIp": f.source_ip,
                "userAgent": f.user_agent.unwrap_or(""),
            },
            "requestId": f.request_id,
            "routeKey": f.route_key,
            "stage": f.stage,
            "time": clf_time(f.time),
            "timeEpoch": epoch_millis(f.time),
        },
    });
    // Like HTTP API, absent collections are left out.
    if let Value::Object(m) = &mut ev {
        if !cookies.is_empty() {
            m.insert("cookies".into(), Value::Array(cookies));
        }
        if !query.is_empty() {
            m.insert("queryStringParameters".into(), Value::Object(query));
        }
        let path_params = last_wins(f.path_params);
        if !path_params.is_empty() {
            m.insert("pathParameters".into(), Value::Object(path_params));
        }
        let stage_vars = last_wins(f.stage_variables);
        if !stage_vars.is_empty() {
            m.insert("stageVariables".into(), Value::Object(stage_vars));
        }
    }
    ev
}

/// The first label of the domain name (`abc123` of `abc123.execute-api...`).
pub(crate) fn domain_prefix(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

/// Milliseconds since the epoch (0 before it).
pub(crate) fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Common Log Format time in UTC: `20/Nov/2026:23:00:00 +0000`.
pub(crate) fn clf_time(t: SystemTime) -> String {
    let secs = epoch_millis(t) / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS
        .get(usize::try_from(m.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{d:02}/{month}/{y}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clf() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_215_600_000);
        assert_eq!(clf_time(t), "20/Nov/2026:23:00:00 +0000");
        assert_eq!(clf_time(UNIX_EPOCH), "01/Jan/1970:00:00:00 +0000");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661); // 2000-02-29
        assert_eq!(clf_time(t), "29/Feb/2000:01:01:01 +0000");
        let t = UNIX_EPOCH + Duration::from_millis(1_583_348_638_390);
        assert_eq!(clf_time(t), "04/Mar/2020:19:03:58 +0000");
    }
}
