//! Condition operators and their evaluation.
//!
//! One condition is `operator: { key: [values] }`. Its semantics, as IAM documents them:
//! - several values for the key in the policy: OR; several keys or operators: AND (the
//!   statement holds these as a list);
//! - a key missing from the request: positive operators are false, negated operators
//!   (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...) are true; `...IfExists` makes
//!   any operator true; `Null: true` means "the key is absent";
//! - a key with several values in the request: without a set qualifier, a positive
//!   operator holds when any request value matches any policy value, and a negated one is
//!   its negation (none matches: NOR); `ForAnyValue:` holds when the operator holds for at
//!   least one request value (false when there is none); `ForAllValues:` when it holds for
//!   every request value (true when there is none). For a negated operator, "holds for a
//!   value" means that value matches none of the policy values.
//! - a policy value whose variable cannot be resolved matches nothing, and a negated
//!   operator with such a value does not hold (IAM: the statement does not apply).

use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;

use crate::context::Context;
use crate::glob::{ArnGlob, Glob};
use crate::vars::Template;

/// The comparison family of an operator (its negation is a flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave alike: both take wildcards.
    ArnLike,
    Null,
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

/// A parsed operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub kind: Kind,
    pub negated: bool,
    pub if_exists: bool,
    pub set: SetQualifier,
}

impl Operator {
    /// Parse `ForAnyValue:StringNotEqualsIfExists` and the like (names are
    /// case-sensitive in IAM; the qualifier prefix is not).
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = match name.split_once(':') {
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAnyValue") => {
                (SetQualifier::ForAnyValue, rest)
            }
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAllValues") => {
                (SetQualifier::ForAllValues, rest)
            }
            Some(_) => return None,
            None => (SetQualifier::None, name),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        use Kind::*;
        let (kind, negated) = match base {
            "StringEquals" => (StringEquals, false),
            "StringNotEquals" => (StringEquals, true),
            "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
            "StringLike" => (StringLike, false),
            "StringNotLike" => (StringLike, true),
            "NumericEquals" => (NumericEquals, false),
            "NumericNotEquals" => (NumericEquals, true),
            "NumericLessThan" => (NumericLessThan, false),
            "NumericLessThanEquals" => (NumericLessThanEquals, false),
            "NumericGreaterThan" => (NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
            "DateEquals" => (DateEquals, false),
            "DateNotEquals" => (DateEquals, true),
            "DateLessThan" => (DateLessThan, false),
            "DateLessThanEquals" => (DateLessThanEquals, false),
            "DateGreaterThan" => (DateGreaterThan, false),
            "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
            "Bool" => (Bool, false),
            "BinaryEquals" => (BinaryEquals, false),
            "IpAddress" => (IpAddress, false),
            "NotIpAddress" => (IpAddress, true),
            "ArnEquals" | "ArnLike" => (ArnLike, false),
            "ArnNotEquals" | "ArnNotLike" => (ArnLike, true),
            "Null" => (Null, false),
            _ => return None,
        };
        if kind == Null && (if_exists || set != SetQualifier::None) {
            return None;
        }
        Some(Operator {
            kind,
            negated,
            if_exists,
            set,
        })
    }
}

/// Policy values, compiled for their operator.
#[derive(Debug, Clone)]
pub enum Values {
    /// StringEquals / StringEqualsIgnoreCase (lower-cased when ignoring case).
    Str(Vec<Template>),
    /// StringLike: wildcard patterns (plain ones compiled ahead).
    Like(Vec<(Template, Option<Glob>)>),
    Num(Vec<f64>),
    /// Milliseconds since the epoch.
    Date(Vec<i64>),
    Bool(Vec<bool>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<IpNet>),
    Arn(Vec<(Template, Option<ArnGlob>)>),
    /// `true`: the key must be absent; `false`: present.
    Null(Vec<bool>),
}

/// One compiled condition: operator, key, values.
#[derive(Debug, Clone)]
pub struct Condition {
    pub operator_name: String,
    pub op: Operator,
    /// As written, for traces.
    pub key_name: String,
    /// Lower-cased.
    pub key: String,
    /// [`crate::context::key_hash`] of `key`.
    pub key_hash: u64,
    pub values: Values,
}

/// Why a policy value is not valid for its operator.
pub type ValueError = String;

impl Condition {
    /// Compile the values of one key (already turned into strings).
    pub fn compile(
        operator_name: &str,
        op: Operator,
        key_name: &str,
        raw: &[String],
        vars: bool,
    ) -> Result<Condition, (usize, ValueError)> {
        let template = |i: usize, s: &str| Template::parse(s, vars).map_err(|e| (i, e.0));
        let values = match op.kind {
            Kind::StringEquals => Values::Str(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| template(i, s))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::StringEqualsIgnoreCase => Values::Str(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| template(i, &s.to_lowercase()))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::StringLike => Values::Like(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let t = template(i, s)?;
                        let g = t.as_plain().map(Glob::new);
                        Ok((t, g))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::ArnLike => Values::Arn(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let t = template(i, s)?;
                        let g = t.as_plain().map(ArnGlob::new);
                        Ok((t, g))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::NumericEquals
            | Kind::NumericLessThan
            | Kind::NumericLessThanEquals
            | Kind::NumericGreaterThan
            | Kind::NumericGreaterThanEquals => Values::Num(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| parse_number(s).ok_or((i, format!("`{s}` is not a number"))))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::DateEquals
            | Kind::DateLessThan
            | Kind::DateLessThanEquals
            | Kind::DateGreaterThan
            | Kind::DateGreaterThanEquals => Values::Date(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        parse_date(s).ok_or((
                            i,
                            format!("`{s}` is not a date (ISO 8601 or seconds since the epoch)"),
                        ))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Bool | Kind::Null => {
                let b = raw
                    .iter()
                    .enumerate()
                    .map(|(i, s)| parse_bool(s).ok_or((i, format!("`{s}` is not true or false"))))
                    .collect::<Result<Vec<_>, _>>()?;
                if op.kind == Kind::Bool {
                    Values::Bool(b)
                } else {
                    Values::Null(b)
                }
            }
            Kind::BinaryEquals => Values::Binary(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .map_err(|_| (i, format!("`{s}` is not base64")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::IpAddress => Values::Ip(
                raw.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        parse_ip_net(s).ok_or((i, format!("`{s}` is not an IP address or CIDR")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Condition {
            operator_name: operator_name.to_string(),
            op,
            key_name: key_name.to_string(),
            key: key_name.to_ascii_lowercase(),
            key_hash: crate::context::key_hash(&key_name.to_ascii_lowercase()),
            values,
        })
    }

    /// Does the condition hold for this request?
    pub fn holds(&self, ctx: &Context) -> bool {
        let present = ctx.get_hashed(&self.key, self.key_hash);
        if let Values::Null(want_absent) = &self.values {
            // Several values: OR.
            let absent = present.is_none_or(|v| v.as_slice().is_empty());
            return want_absent.contains(&absent);
        }
        let Some(v) = present else {
            if self.op.if_exists {
                return true;
            }
            return match self.op.set {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => false,
                SetQualifier::None => self.op.negated,
            };
        };
        let neg = self.op.negated;
        if let Values::Ip(nets) = &self.values {
            // The request's values were read as addresses once, when the context was built.
            let ips = ctx.get_ips(&self.key, self.key_hash).unwrap_or_default();
            let m = |ip: &Option<IpAddr>| ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)));
            return match self.op.set {
                SetQualifier::None => ips.iter().any(m) != neg,
                SetQualifier::ForAnyValue => ips.iter().any(|ip| m(ip) != neg),
                SetQualifier::ForAllValues => ips.iter().all(|ip| m(ip) != neg),
            };
        }
        let list = v.as_slice();
        // A policy value that cannot be resolved matches nothing; for a negated operator
        // that must not turn into "matches none, so the condition holds": IAM treats the
        // statement as not applying.
        if neg && self.has_unresolved(ctx) {
            return false;
        }
        match self.op.set {
            SetQualifier::None => {
                let any = list.iter().any(|r| self.matches(r, ctx));
                any != neg
            }
            SetQualifier::ForAnyValue => list.iter().any(|r| self.matches(r, ctx) != neg),
            SetQualifier::ForAllValues => list.iter().all(|r| self.matches(r, ctx) != neg),
        }
    }

    /// Is there a policy value whose variable this request cannot resolve?
    fn has_unresolved(&self, ctx: &Context) -> bool {
        let unresolved = |t: &Template| t.has_vars() && t.resolve(ctx).is_none();
        match &self.values {
            Values::Str(ts) => ts.iter().any(unresolved),
            Values::Like(ps) => ps.iter().any(|(t, _)| unresolved(t)),
            Values::Arn(ps) => ps.iter().any(|(t, _)| unresolved(t)),
            _ => false,
        }
    }

    /// Does one request value match any policy value (positive sense)?
    fn matches(&self, r: &str, ctx: &Context) -> bool {
        match &self.values {
            Values::Str(ts) => {
                if self.op.kind == Kind::StringEqualsIgnoreCase {
                    let r = r.to_lowercase();
                    ts.iter().any(|t| match t.as_plain() {
                        Some(p) => p == r,
                        None => t.resolve(ctx).is_some_and(|p| p.to_lowercase() == r),
                    })
                } else {
                    ts.iter().any(|t| match t.as_plain() {
                        Some(p) => p == r,
                        None => t.resolve(ctx).is_some_and(|p| p == r),
                    })
                }
            }
            Values::Like(ps) => ps.iter().any(|(t, g)| match g {
                Some(g) => g.is_match(r),
                None => t
                    .resolve_segs(ctx)
                    .is_some_and(|s| Glob::from_segs(s).is_match(r)),
            }),
            Values::Arn(ps) => ps.iter().any(|(t, g)| match g {
                Some(g) => g.is_match(r),
                None => t
                    .resolve_segs(ctx)
                    .is_some_and(|s| ArnGlob::from_segs(s).is_match(r)),
            }),
            Values::Num(ns) => match parse_number(r) {
                Some(x) => ns.iter().any(|n| compare(self.op.kind, x.partial_cmp(n))),
                None => false,
            },
            Values::Date(ds) => match parse_date(r) {
                Some(x) => ds.iter().any(|d| compare(self.op.kind, Some(x.cmp(d)))),
                None => false,
            },
            Values::Bool(bs) => parse_bool(r).is_some_and(|x| bs.contains(&x)),
            Values::Binary(bs) => {
                let decoded = base64::engine::general_purpose::STANDARD.decode(r);
                let bytes: &[u8] = match &decoded {
                    Ok(b) => b,
                    Err(_) => r.as_bytes(),
                };
                bs.iter().any(|b| b.as_slice() == bytes)
            }
            Values::Ip(nets) => {
                crate::context::parse_ip(r).is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
            }
            Values::Null(_) => false,
        }
    }
}

fn compare(kind: Kind, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(o) = ord else { return false };
    match kind {
        Kind::NumericEquals | Kind::DateEquals => o == Equal,
        Kind::NumericLessThan | Kind::DateLessThan => o == Less,
        Kind::NumericLessThanEquals | Kind::DateLessThanEquals => o != Greater,
        Kind::NumericGreaterThan | Kind::DateGreaterThan => o == Greater,
        Kind::NumericGreaterThanEquals | Kind::DateGreaterThanEquals => o != Less,
        _ => false,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("nan") || s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An address, or a CIDR block; an IPv4-mapped IPv6 address counts as IPv4.
fn parse_ip_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(match n {
            IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                Some(v4) if v6.prefix_len() >= 96 => {
                    IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96)
                        .ok()?
                        .trunc()
                }
                _ => n.trunc(),
            },
            _ => n.trunc(),
        });
    }
    let ip = canonical_ip(s.parse::<IpAddr>().ok()?);
    Some(IpNet::from(ip))
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// A date: ISO 8601 (`2024-01-31`, `2024-01-31T12:00:00Z`, fractions, `+01:00` offsets)
/// or seconds since the epoch. Milliseconds since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !s[1..].contains('-')
    {
        let secs: f64 = s.parse().ok()?;
        return secs.is_finite().then(|| (secs * 1000.0).round() as i64);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    if b.get(13) != Some(&b':') || h > 23 || mi > 59 {
        return None;
    }
    let mut i = 16;
    let mut sec = 0;
    if b.get(16) == Some(&b':') {
        sec = num(17..19)?;
        if sec > 60 {
            return None;
        }
        i = 19;
    }
    let mut frac_ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == start {
            return None;
        }
        let digits = &s[start..j.min(start + 3)];
        frac_ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
        i = j;
    }
    ms += (h * 3600 + mi * 60 + sec) * 1000 + frac_ms;
    let tz = &s[i..];
    let offset_min = match tz {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let t = &tz[1..];
            // Byte slicing below: a multi-byte character must not reach it.
            if !t.is_ascii() {
                return None;
            }
            let (oh, om) = match t.len() {
                5 if t.as_bytes()[2] == b':' => {
                    (t[..2].parse::<i64>().ok()?, t[3..].parse::<i64>().ok()?)
                }
                4 => (t[..2].parse::<i64>().ok()?, t[2..].parse::<i64>().ok()?),
                2 => (t.parse::<i64>().ok()?, 0),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    Some(ms - offset_min * 60_000)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_date("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(parse_date("2020-02-29T00:00:00Z"), Some(1_582_934_400_000));
        assert_eq!(parse_date("1582934400"), Some(1_582_934_400_000));
        assert_eq!(parse_date("2021-02-29"), None);
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("2020-01-01T25:00:00Z"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringNotEqualsIfExists").unwrap();
        assert_eq!(op.kind, Kind::StringEquals);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.set, SetQualifier::ForAnyValue);
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("Sometimes:StringEquals").is_none());
        assert_eq!(Operator::parse("ArnEquals").unwrap().kind, Kind::ArnLike);
    }

    #[test]
    fn ip_nets() {
        assert_eq!(parse_ip_net("10.0.0.0/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(parse_ip_net("10.1.2.3/8"), "10.0.0.0/8".parse().ok());
        assert_eq!(parse_ip_net("192.0.2.1"), "192.0.2.1/32".parse().ok());
        assert_eq!(parse_ip_net("2001:db8::/32"), "2001:db8::/32".parse().ok());
        assert_eq!(
            parse_ip_net("::ffff:10.0.0.0/104"),
            "10.0.0.0/8".parse().ok()
        );
        assert_eq!(parse_ip_net("10.0.0.0/33"), None);
        assert_eq!(parse_ip_net("nope"), None);
    }
}
