//! Evaluation: rules in priority order, labels visible to later rules, the first terminating
//! action (Allow or Block) wins, Count records and goes on, then the default action.

use crate::compile::*;
use crate::detect;
use crate::json_body::JsonPath;
use crate::lazy::Caches;
use crate::model::{
    Comparison, Fallback, ForwardedPosition, InvalidFallback, LabelScope, MatchScope, Oversize,
    Positional,
};
use crate::request::{Parsed, ValueMemo, WafRequest, BODY, HEADER_ORDER, METHOD, QUERY, URI_PATH};
use crate::transform::{self, TransformType};
use std::borrow::Cow;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

/// The verdict on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block(Arc<BlockResponse>),
}

/// What the WAF decided and why.
#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    /// The rule whose Allow or Block ended evaluation (`Rule` or `Rule/GroupRule`); `None`
    /// when the default action applied.
    pub terminating_rule: Option<String>,
    /// Labels added by matching rules, in order.
    pub labels: Vec<String>,
    /// Every terminating or counting match.
    pub matches: Vec<RuleMatch>,
    /// Request headers to add before forwarding (`x-amzn-waf-*`, from Allow/Count actions).
    pub insert_headers: Vec<(String, String)>,
    /// Per rule, when tracing was asked for: matched or not, and where.
    pub trace: Vec<RuleTrace>,
}

impl Decision {
    pub fn blocked(&self) -> bool {
        matches!(self.verdict, Verdict::Block(_))
    }
}

/// A rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule: String,
    /// `ALLOW`, `BLOCK` or `COUNT` (after overrides).
    pub action: &'static str,
    /// Where the (first) matching statement matched, when it inspected a field.
    pub location: Option<MatchLocation>,
}

/// Where a statement matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchLocation {
    /// The field (`Body`, `SingleHeader:user-agent`, `AllQueryArguments`...), with the
    /// argument, header, cookie or JSON path that matched.
    pub field: String,
    /// The transformations applied, in order.
    pub transformations: Vec<TransformType>,
    /// The transformed value, shortened and escaped; `[redacted]` for credentials.
    pub excerpt: String,
}

/// One rule's evaluation, for `rampart waf test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub rule: String,
    pub matched: bool,
    pub action: &'static str,
    pub location: Option<MatchLocation>,
    /// Skipped because a scope-down statement did not match or evaluation had ended.
    pub skipped: bool,
}

struct Eval<'p, 'r, 'a> {
    p: &'p Parsed<'r, 'a>,
    /// Detector verdicts of this request's transformed values by value hash: (length,
    /// verdict). The keys are already keyed SipHash values, so the map itself hashes them
    /// with Fx. (Values the transformations left as they were are in `memo_at`.)
    memo: std::collections::HashMap<u64, (usize, bool), BuildFx>,
    /// Detector verdicts of values the transformations left as they were, by detector,
    /// address and length (the value lives in the request or `p` for the whole
    /// evaluation): most values, asked for without hashing their bytes.
    memo_at: std::collections::HashMap<(usize, usize, u8), bool, BuildFx>,
    /// Transformed values of this request: several statements usually apply the same
    /// transformations to the same field. Keyed by the value's address and length (every
    /// value lives in the request or in `p` for the whole evaluation, which the `'p`
    /// lifetime of [`Eval::transformed`] enforces) and the chain; `None`: unchanged.
    transformed: TransformCache,
    /// Which patterns of a regex group match a value, for values where some did (and for
    /// every value past group 64; see [`ValueMemo`]): keyed by the group and the value's
    /// address and length (the group fixes the transformations; values live for `'p`).
    regex_hits: RegexHits,
    /// The ACL's lazy DFA caches, for this evaluation.
    caches: Caches,
    labels: Vec<String>,
    now_ms: u64,
    trace: bool,
    /// Where the current rule's statement matched, rendered only if the rule matches.
    loc: Option<PendingLoc<'p>>,
}

impl CompiledAcl {
    /// Evaluates the request; `now_ms` is a monotonic clock in milliseconds (rate-based rules).
    pub fn evaluate(&self, req: &WafRequest<'_>, now_ms: u64) -> Decision {
        self.run(req, now_ms, false)
    }

    /// [`evaluate`](Self::evaluate) with a per-rule trace.
    pub fn evaluate_traced(&self, req: &WafRequest<'_>, now_ms: u64) -> Decision {
        self.run(req, now_ms, true)
    }

    fn run(&self, req: &WafRequest<'_>, now_ms: u64, trace: bool) -> Decision {
        let parsed = Parsed::new(req, self.body_limit);
        let mut ev = Eval {
            // Sized for a typical request (a few dozen detector verdicts), so that it does
            // not grow and rehash while it is evaluated. The others stay small (transformed
            // values, regex groups that matched) and allocate only when used.
            memo: std::collections::HashMap::default(),
            memo_at: std::collections::HashMap::with_capacity_and_hasher(64, BuildFx::default()),
            transformed: std::collections::HashMap::default(),
            regex_hits: std::collections::HashMap::default(),
            caches: self.caches.take(),
            p: &parsed,
            labels: Vec::new(),
            now_ms,
            trace,
            loc: None,
        };
        let mut d = Decision {
            verdict: Verdict::Allow,
            terminating_rule: None,
            labels: Vec::new(),
            matches: Vec::new(),
            insert_headers: Vec::new(),
            trace: Vec::new(),
        };
        let mut ended = false;
        for rule in &self.rules {
            if ended {
                if trace {
                    d.trace.push(RuleTrace {
                        rule: rule.name.clone(),
                        matched: false,
                        action: "",
                        location: None,
                        skipped: true,
                    });
                }
                continue;
            }
            match &rule.kind {
                CKind::Plain { statement, action } => {
                    if let Some(t) = ev.rule(&rule.name, &rule.labels, statement, action, &mut d) {
                        d.verdict = t;
                        d.terminating_rule = Some(rule.name.clone());
                        ended = true;
                    }
                }
                CKind::Group {
                    scope_down,
                    rules,
                    count_only,
                } => {
                    if let Some(sd) = scope_down {
                        ev.loc = None;
                        if !ev.stmt(sd) {
                            if trace {
                                d.trace.push(RuleTrace {
                                    rule: rule.name.clone(),
                                    matched: false,
                                    action: "",
                                    location: None,
                                    skipped: true,
                                });
                            }
                            continue;
                        }
                    }
                    for g in rules {
                        let name = g.qualified.as_str();
                        let CKind::Plain { statement, action } = &g.kind else {
                            continue;
                        };
                        // Within the group, a terminating match ends the group; with
                        // OverrideAction Count it is recorded as a count.
                        let counted = CAction::Count(Vec::new());
                        let effective = if *count_only && !matches!(action, CAction::Count(_)) {
                            &counted
                        } else {
                            action
                        };
                        if let Some(t) = ev.rule(name, &g.labels, statement, effective, &mut d) {
                            ev.labels.extend(rule.labels.iter().cloned());
                            d.verdict = t;
                            d.terminating_rule = Some(name.to_owned());
                            ended = true;
                            break;
                        }
                        if *count_only
                            && !matches!(action, CAction::Count(_))
                            && d.matches.last().is_some_and(|m| m.rule == name)
                        {
                            // The group would have ended here: AWS stops evaluating the
                            // group at its terminating match even when counted.
                            ev.labels.extend(rule.labels.iter().cloned());
                            break;
                        }
                    }
                }
            }
        }
        if !ended {
            if let Some(b) = &self.default_block {
                d.verdict = Verdict::Block(b.clone());
            } else {
                d.insert_headers.extend(self.default_insert.iter().cloned());
            }
        }
        d.labels = ev.labels;
        self.caches.give_back(ev.caches);
        d
    }
}

impl<'p> Eval<'p, '_, '_> {
    /// Evaluates one rule; returns the verdict when its action terminates.
    fn rule(
        &mut self,
        name: &str,
        labels: &[String],
        st: &'p CStatement,
        action: &CAction,
        d: &mut Decision,
    ) -> Option<Verdict> {
        self.loc = None;
        let matched = self.stmt(st);
        if self.trace {
            d.trace.push(RuleTrace {
                rule: name.to_owned(),
                matched,
                action: if matched { action.name() } else { "" },
                location: if matched {
                    self.loc.as_ref().map(PendingLoc::render)
                } else {
                    None
                },
                skipped: false,
            });
        }
        if !matched {
            return None;
        }
        for l in labels {
            if !self.labels.contains(l) {
                self.labels.push(l.clone());
            }
        }
        d.matches.push(RuleMatch {
            rule: name.to_owned(),
            action: action.name(),
            location: self.loc.take().as_ref().map(PendingLoc::render),
        });
        match action {
            CAction::Count(h) => {
                d.insert_headers.extend(h.iter().cloned());
                None
            }
            CAction::Allow(h) => {
                d.insert_headers.extend(h.iter().cloned());
                Some(Verdict::Allow)
            }
            CAction::Block(b) => Some(Verdict::Block(b.clone())),
        }
    }

    fn stmt(&mut self, st: &'p CStatement) -> bool {
        match st {
            CStatement::Match {
                field,
                transforms,
                triggers,
                test,
                lowercased,
            } => self.field_match(field, transforms, *triggers, test, *lowercased),
            CStatement::Ip { set, forwarded } => match forwarded {
                None => set.contains(self.p.req.client_ip),
                Some((header, fallback, position)) => {
                    let Some(ips) = self.forwarded_list(header) else {
                        // No header: the statement does not apply.
                        return false;
                    };
                    let picked: Vec<Option<IpAddr>> = match position {
                        ForwardedPosition::First => ips.first().cloned().into_iter().collect(),
                        ForwardedPosition::Last => ips.last().cloned().into_iter().collect(),
                        ForwardedPosition::Any => ips.clone(),
                    };
                    if picked.is_empty() || picked.iter().all(Option::is_none) {
                        return *fallback == Fallback::Match;
                    }
                    if *position != ForwardedPosition::Any && picked.iter().any(Option::is_none) {
                        return *fallback == Fallback::Match;
                    }
                    picked.into_iter().flatten().any(|ip| set.contains(ip))
                }
            },
            CStatement::Geo {
                db,
                countries,
                forwarded,
            } => {
                let ip = match forwarded {
                    None => self.p.req.client_ip,
                    Some((h, fb)) => match self.forwarded_first(h) {
                        Fwd::Missing => return false,
                        Fwd::Invalid => return *fb == Fallback::Match,
                        Fwd::Ip(ip) => ip,
                    },
                };
                db.country(ip).is_some_and(|c| countries.contains(&c))
            }
            CStatement::Label { scope, key } => {
                self.labels.iter().any(|l| label_matches(*scope, key, l))
            }
            CStatement::Rate(r) => {
                if let Some(sd) = &r.scope_down {
                    if !self.stmt(sd) {
                        return false;
                    }
                    self.loc = None;
                }
                match self.agg_key(&r.key) {
                    AggResult::Key(k) => r.tracker().record(&k, self.now_ms),
                    AggResult::Skip => false,
                    AggResult::Fallback(fb) => fb == Fallback::Match,
                }
            }
            CStatement::And(v) => v.iter().all(|s| self.stmt(s)),
            CStatement::Or(v) => v.iter().any(|s| self.stmt(s)),
            CStatement::Not(s) => {
                let m = !self.stmt(s);
                self.loc = None;
                m
            }
        }
    }

    fn agg_key(&self, k: &AggKey) -> AggResult {
        let mut out = Vec::with_capacity(32);
        match k {
            AggKey::Ip => push_ip(&mut out, self.p.req.client_ip),
            AggKey::Constant => out.push(0),
            AggKey::Forwarded(h, fb) => match self.forwarded_first(h) {
                Fwd::Missing => return AggResult::Skip,
                Fwd::Invalid => return AggResult::Fallback(*fb),
                Fwd::Ip(ip) => push_ip(&mut out, ip),
            },
            AggKey::Custom(parts) => {
                for part in parts {
                    let v: Cow<'_, [u8]> = match part {
                        CustomPart::Header(n, t) => match self.p.header_values(n).next() {
                            Some(v) => transform::apply_all(t, v).into_owned().into(),
                            None => return AggResult::Skip,
                        },
                        CustomPart::Cookie(n, t) => match self
                            .p
                            .cookies()
                            .iter()
                            .find(|(k, _)| k.as_slice() == n.as_bytes())
                        {
                            Some((_, v)) => transform::apply_all(t, v).into_owned().into(),
                            None => return AggResult::Skip,
                        },
                        CustomPart::QueryArg(n, t) => match self
                            .p
                            .query_args()
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(n.as_bytes()))
                        {
                            Some((_, v)) => transform::apply_all(t, v).into_owned().into(),
                            None => return AggResult::Skip,
                        },
                        CustomPart::QueryString(t) => {
                            if self.p.req.query.is_empty() {
                                return AggResult::Skip;
                            }
                            transform::apply_all(t, self.p.req.query)
                                .into_owned()
                                .into()
                        }
                        CustomPart::Method => Cow::Borrowed(self.p.req.method.as_bytes()),
                        CustomPart::UriPath(t) => transform::apply_all(t, self.p.req.uri_path)
                            .into_owned()
                            .into(),
                        CustomPart::Ip => {
                            let mut b = Vec::new();
                            push_ip(&mut b, self.p.req.client_ip);
                            b.into()
                        }
                        CustomPart::ForwardedIp(h, fb) => match self.forwarded_first(h) {
                            Fwd::Missing => return AggResult::Skip,
                            Fwd::Invalid => return AggResult::Fallback(*fb),
                            Fwd::Ip(ip) => {
                                let mut b = Vec::new();
                                push_ip(&mut b, ip);
                                b.into()
                            }
                        },
                        CustomPart::LabelNamespace(ns) => {
                            let mut b = Vec::new();
                            for l in self.labels.iter().filter(|l| l.starts_with(ns.as_str())) {
                                b.extend_from_slice(l.as_bytes());
                                b.push(0);
                            }
                            if b.is_empty() {
                                return AggResult::Skip;
                            }
                            b.into()
                        }
                    };
                    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    out.extend_from_slice(&v);
                }
            }
        }
        AggResult::Key(out)
    }

    /// The addresses of every line of `header`, as one list in order (RFC 9110, section
    /// 5.3: a proxy that adds its own line instead of appending to the client's puts what
    /// it saw last); `None` without the header.
    fn forwarded_list(&self, header: &str) -> Option<Vec<Option<IpAddr>>> {
        let mut lines = self.p.header_values(header).peekable();
        lines.peek()?;
        Some(lines.flat_map(forwarded_ips).collect())
    }

    fn forwarded_first(&self, header: &str) -> Fwd {
        let Some(ips) = self.forwarded_list(header) else {
            return Fwd::Missing;
        };
        match ips.first() {
            Some(Some(ip)) => Fwd::Ip(*ip),
            _ => Fwd::Invalid,
        }
    }

    /// Runs a statement's test on `v` (`raw` after the statement's transformations). The
    /// SQL injection and XSS detectors are the expensive ones and several statements often
    /// hand them the same bytes (transformations that changed nothing): their verdicts are
    /// remembered for the request, as are regex groups' answers per value.
    fn run_test(
        &mut self,
        test: &Test,
        raw: &'p [u8],
        v: &[u8],
        detectable: bool,
        memo: &ValueMemo,
    ) -> bool {
        match test {
            Test::Bytes(needle, pos) => byte_match(v, needle, *pos),
            Test::Regex { re, lazy, .. } => {
                match lazy.as_ref().and_then(|l| l.is_match(&mut self.caches, v)) {
                    Some(m) => m,
                    None => re.is_match(v),
                }
            }
            Test::Grouped(g, i) => self.grouped(g, *i, raw, v, memo),
            Test::RegexSet(set) => set.is_match(v),
            // Single words cannot be SQL injection (see `could_be_sqli`): no need to hash them.
            Test::Sqli(s) => {
                detectable
                    && detect::could_be_sqli(v)
                    && self.memo(*s as u8, raw, v, |v| detect::is_sqli(v, *s))
            }
            // Most values cannot be XSS (see `could_be_xss`): no need to hash them for the memo.
            Test::Xss => {
                detectable && detect::could_be_xss(v) && self.memo(2, raw, v, detect::is_xss)
            }
            Test::Size(op, n) => compare(*op, v.len() as u64, *n),
        }
    }

    /// Pattern `index` of group `g` on `v` (`raw` transformed by the group's chain): the
    /// group's set runs once per value and request. The value's memo says which groups ran
    /// on it and matched (ids below 64); `regex_hits` keeps which patterns matched, and
    /// every answer of the groups past 64.
    fn grouped(
        &mut self,
        g: &RegexGroup,
        index: usize,
        raw: &'p [u8],
        v: &[u8],
        memo: &ValueMemo,
    ) -> bool {
        let key = (g.id, raw.as_ptr() as usize, raw.len());
        let bit = group_bit(g.id);
        match bit {
            Some(bit) if memo.ran.get() & bit != 0 => {
                if memo.hit.get() & bit == 0 {
                    return false;
                }
                return self
                    .regex_hits
                    .get(&key)
                    .is_some_and(|m| m.as_ref().is_some_and(|m| m.matched(index)));
            }
            Some(_) => {}
            None => {
                if let Some(m) = self.regex_hits.get(&key) {
                    return m.as_ref().is_some_and(|m| m.matched(index));
                }
            }
        }
        // Most values match no pattern: the plain search stops at the first match and has
        // the faster inner loop; the overlapping one only runs to say which matched.
        let any = match g
            .lazy
            .as_ref()
            .and_then(|l| l.is_match(&mut self.caches, v))
        {
            Some(m) => m,
            None => g.patterns.is_match(v),
        };
        let m = any.then(|| g.patterns.hits(v));
        let hit = m.as_ref().is_some_and(|m| m.matched(index));
        if let Some(bit) = bit {
            memo.ran.set(memo.ran.get() | bit);
            if any {
                memo.hit.set(memo.hit.get() | bit);
            }
        }
        if any || bit.is_none() {
            self.regex_hits.insert(key, m);
        }
        hit
    }

    /// Asks field set `f` about `raw` once: when none of its members' chains would change the
    /// value and none of their patterns matches it, every member is marked as having run on
    /// the value without a match.
    fn field_set(&mut self, f: &FieldSet, raw: &[u8], memo: &ValueMemo) {
        let bit = 1u64 << f.id;
        if memo.field_sets.get() & bit != 0 {
            return;
        }
        memo.field_sets.set(memo.field_sets.get() | bit);
        if classes_of(memo, raw) & f.triggers == 0 && !f.is_match(&mut self.caches, raw) {
            memo.ran.set(memo.ran.get() | f.members);
        }
    }

    /// `f(v)` (a detector's verdict), remembered for the request: `v` is `raw` transformed.
    fn memo(&mut self, kind: u8, raw: &'p [u8], v: &[u8], f: impl FnOnce(&[u8]) -> bool) -> bool {
        use std::hash::{BuildHasher, Hasher};
        if v.is_empty() {
            return f(v);
        }
        if std::ptr::eq(raw, v) {
            let key = (raw.as_ptr() as usize, raw.len(), kind);
            if let Some(&hit) = self.memo_at.get(&key) {
                return hit;
            }
            let hit = f(v);
            self.memo_at.insert(key, hit);
            return hit;
        }
        let mut h = memo_hasher().build_hasher();
        h.write_u8(kind);
        h.write(v);
        let key = h.finish();
        if let Some(&(len, hit)) = self.memo.get(&key) {
            if len == v.len() {
                return hit;
            }
        }
        let hit = f(v);
        self.memo.insert(key, (v.len(), hit));
        hit
    }

    /// `raw` after the transformations `ts`, computed once per request and chain; `None` when
    /// they change nothing. `memo`: the value's memo (for its trigger classes).
    fn transformed(
        &mut self,
        ts: &[TransformType],
        triggers: u32,
        raw: &'p [u8],
        memo: &ValueMemo,
    ) -> Transformed {
        // No trigger class at all (a chain of `NONE`): nothing in it can change a value
        // (`tests/transform.rs` holds every transformation to its triggers).
        if triggers == 0 {
            return Transformed::Same;
        }
        // Short values (most of them: JSON strings, headers, arguments) rarely meet the same
        // chain twice, and caching costs more than transforming them again.
        if raw.len() < CACHE_MIN {
            let present = classes_of(memo, raw);
            // None of the chain's transformations would change the value (most values).
            if present & triggers == 0 {
                return Transformed::Same;
            }
            return match transform::apply_all_with(ts, raw, present) {
                Cow::Borrowed(_) => Transformed::Same,
                Cow::Owned(v) => Transformed::Owned(v),
            };
        }
        // At most 10 transformations (validated), of fewer than 256 kinds: one byte each.
        let chain = ts
            .iter()
            .fold(ts.len() as u128, |k, t| (k << 8) | (*t as u8 as u128));
        let key = (raw.as_ptr() as usize, raw.len(), chain);
        if let Some(v) = self.transformed.get(&key) {
            return v.clone().map_or(Transformed::Same, Transformed::Shared);
        }
        let v = match transform::apply_all(ts, raw) {
            Cow::Borrowed(_) => None,
            Cow::Owned(v) => Some(Rc::from(v)),
        };
        self.transformed.insert(key, v.clone());
        v.map_or(Transformed::Same, Transformed::Shared)
    }

    /// Runs `test` on every value the field yields (after the transformations); true at the
    /// first value that matches.
    /// `triggers`: the chain's trigger classes; `lowercased`: the test holds a final
    /// LOWERCASE ([`CStatement::Match`]).
    fn field_match(
        &mut self,
        field: &'p CField,
        ts: &[TransformType],
        triggers: u32,
        test: &Test,
        lowercased: bool,
    ) -> bool {
        let p = self.p;
        // Looked up once per statement rather than once per value: the closure below runs
        // for every value of the field.
        let group = match test {
            Test::Grouped(g, i) => Some((&**g, *i, group_bit(g.id))),
            _ => None,
        };
        let check = move |this: &mut Self,
                          what: Where<'p>,
                          raw: &'p [u8],
                          secret: bool,
                          memo: &'p ValueMemo|
              -> bool {
            // A regex group that already ran on this value answers a miss without even
            // transforming it again.
            if let Some((g, i, bit)) = group {
                match bit {
                    Some(bit) => {
                        if memo.ran.get() & bit == 0 {
                            if let Some(f) = &g.field_set {
                                this.field_set(f, raw, memo);
                            }
                        }
                        if memo.ran.get() & bit != 0 && memo.hit.get() & bit == 0 {
                            return false;
                        }
                    }
                    None => {
                        let key = (g.id, raw.as_ptr() as usize, raw.len());
                        if this
                            .regex_hits
                            .get(&key)
                            .is_some_and(|m| !m.as_ref().is_some_and(|m| m.matched(i)))
                        {
                            return false;
                        }
                    }
                }
            }
            let t = this.transformed(ts, triggers, raw, memo);
            let v: &[u8] = match &t {
                Transformed::Same => raw,
                Transformed::Owned(v) => v,
                Transformed::Shared(v) => v,
            };
            let hit = this.run_test(test, raw, v, what.detectable(), memo);
            if hit {
                let mut loc = PendingLoc::new(what, ts, v, secret);
                if lowercased {
                    loc.lowercase();
                }
                this.loc = Some(loc);
            }
            hit
        };
        match field {
            CField::UriPath => check(
                self,
                Where::Field("UriPath"),
                p.req.uri_path,
                false,
                &p.fixed[URI_PATH],
            ),
            CField::QueryString => check(
                self,
                Where::Field("QueryString"),
                p.req.query,
                false,
                &p.fixed[QUERY],
            ),
            CField::Method => check(
                self,
                Where::Field("Method"),
                p.req.method.as_bytes(),
                false,
                &p.fixed[METHOD],
            ),
            CField::AllQueryArguments => {
                for ((k, v), c) in p.query_args().iter().zip(p.arg_memos()) {
                    if check(self, Where::Named("AllQueryArguments", k), v, false, c) {
                        return true;
                    }
                }
                false
            }
            CField::SingleQueryArgument(n) => {
                for ((k, v), c) in p.query_args().iter().zip(p.arg_memos()) {
                    if k.eq_ignore_ascii_case(n.as_bytes())
                        && check(
                            self,
                            Where::Named("SingleQueryArgument", n.as_bytes()),
                            v,
                            false,
                            c,
                        )
                    {
                        return true;
                    }
                }
                false
            }
            CField::SingleHeader(n) => {
                let secret = is_secret_header(n);
                let memos = p.header_memos();
                for (i, (name, v)) in p.req.headers.iter().enumerate() {
                    if name.eq_ignore_ascii_case(n)
                        && check(
                            self,
                            Where::Named("SingleHeader", n.as_bytes()),
                            v,
                            secret,
                            &memos[2 * i + 1],
                        )
                    {
                        return true;
                    }
                }
                false
            }
            CField::Headers {
                filter,
                scope,
                oversize,
            } => {
                let total: usize = p
                    .req
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 4)
                    .sum();
                if total > 8192 || p.req.headers.len() > 200 {
                    match oversize {
                        Oversize::Match => return true,
                        Oversize::NoMatch => return false,
                        Oversize::Continue => {}
                    }
                }
                let mut budget = 8192usize;
                let memos = p.header_memos();
                for (i, (n, v)) in p.req.headers.iter().take(200).enumerate() {
                    if !filter.admits(n.as_bytes(), true) {
                        continue;
                    }
                    let cost = n.len() + v.len() + 4;
                    if cost > budget {
                        break;
                    }
                    budget -= cost;
                    let secret = is_secret_header(n);
                    let label = Where::Named("Headers", n.as_bytes());
                    if matches!(scope, MatchScope::Key | MatchScope::All)
                        && check(self, label, n.as_bytes(), false, &memos[2 * i])
                    {
                        return true;
                    }
                    if matches!(scope, MatchScope::Value | MatchScope::All)
                        && check(self, label, v, secret, &memos[2 * i + 1])
                    {
                        return true;
                    }
                }
                false
            }
            CField::Cookies {
                filter,
                scope,
                oversize,
            } => {
                let cookies = p.cookies();
                let total: usize = cookies.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
                if total > 8192 || cookies.len() > 200 {
                    match oversize {
                        Oversize::Match => return true,
                        Oversize::NoMatch => return false,
                        Oversize::Continue => {}
                    }
                }
                let memos = p.cookie_memos();
                for (i, (k, v)) in cookies.iter().take(200).enumerate() {
                    if !filter.admits(k, false) {
                        continue;
                    }
                    let label = Where::Named("Cookies", k);
                    if matches!(scope, MatchScope::Key | MatchScope::All)
                        && check(self, label, k, false, &memos[2 * i])
                    {
                        return true;
                    }
                    // Cookie values are credentials often: never shown in excerpts.
                    if matches!(scope, MatchScope::Value | MatchScope::All)
                        && check(self, label, v, true, &memos[2 * i + 1])
                    {
                        return true;
                    }
                }
                false
            }
            CField::Body(oversize) => {
                if let Test::Size(op, n) = test {
                    if ts.is_empty() {
                        let hit = compare(*op, p.body_size(), *n);
                        if hit {
                            self.loc = Some(PendingLoc::body_size(p.body_size()));
                        }
                        return hit;
                    }
                }
                if p.body_oversize() {
                    match oversize {
                        Oversize::Match => return true,
                        Oversize::NoMatch => return false,
                        Oversize::Continue => {}
                    }
                }
                check(self, Where::Field("Body"), p.body(), false, &p.fixed[BODY])
            }
            CField::JsonBody {
                paths,
                scope,
                fallback,
                oversize,
            } => {
                if p.body().is_empty() {
                    return false;
                }
                if p.body_oversize() {
                    match oversize {
                        Oversize::Match => return true,
                        Oversize::NoMatch => return false,
                        Oversize::Continue => {}
                    }
                }
                let Some(items) = p.json_items() else {
                    return match fallback {
                        InvalidFallback::Match => true,
                        InvalidFallback::NoMatch => false,
                        InvalidFallback::EvaluateAsString => check(
                            self,
                            Where::Field("JsonBody(invalid JSON, as string)"),
                            p.body(),
                            false,
                            &p.fixed[BODY],
                        ),
                    };
                };
                let mut path = Vec::new();
                for item in items {
                    let in_paths = match paths {
                        None => true,
                        Some(ps) => {
                            path.clear();
                            item.path.write_to(&mut path);
                            ps.iter().any(|ptr| {
                                ptr.is_empty()
                                    || path == ptr.as_bytes()
                                    || (path.starts_with(ptr.as_bytes())
                                        && path.get(ptr.len()) == Some(&b'/'))
                            })
                        }
                    };
                    let wanted = in_paths
                        && match scope {
                            MatchScope::All => true,
                            MatchScope::Key => item.is_key,
                            MatchScope::Value => !item.is_key,
                        };
                    let what = Where::Json {
                        path: item.path,
                        scalar: !(item.is_key || item.is_string),
                    };
                    if wanted && check(self, what, item.value, false, item.memo) {
                        return true;
                    }
                }
                false
            }
            CField::HeaderOrder(oversize) => {
                if p.req.headers.len() > 200 {
                    match oversize {
                        Oversize::Match => return true,
                        Oversize::NoMatch => return false,
                        Oversize::Continue => {}
                    }
                }
                check(
                    self,
                    Where::Field("HeaderOrder"),
                    p.header_order(),
                    false,
                    &p.fixed[HEADER_ORDER],
                )
            }
        }
    }
}

enum AggResult {
    Key(Vec<u8>),
    Skip,
    Fallback(Fallback),
}

enum Fwd {
    Missing,
    Invalid,
    Ip(IpAddr),
}

fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => out.extend_from_slice(&v4.octets()),
            None => out.extend_from_slice(&a.octets()),
        },
    }
}

/// The addresses of an `X-Forwarded-For`-style header, `None` for entries that are not IPs.
fn forwarded_ips(v: &[u8]) -> Vec<Option<IpAddr>> {
    let s = String::from_utf8_lossy(v);
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<IpAddr>().ok())
        .collect()
}

fn label_matches(scope: LabelScope, key: &str, label: &str) -> bool {
    match scope {
        LabelScope::Label => {
            label == key
                || (label.len() > key.len()
                    && label.ends_with(key)
                    && label.as_bytes()[label.len() - key.len() - 1] == b':')
        }
        LabelScope::Namespace => {
            label.starts_with(key)
                || label
                    .match_indices(key)
                    .any(|(i, _)| i > 0 && label.as_bytes()[i - 1] == b':')
        }
    }
}

/// Where a statement matched, kept cheaply: statements also match inside `NotStatement`s
/// and scope-downs and in rules that end up not matching, so the location is only rendered
/// (field name, transformations, redacted excerpt) for a rule that matched.
struct PendingLoc<'p> {
    what: Where<'p>,
    /// The value is a credential: no excerpt.
    secret: bool,
    transformations: [TransformType; MAX_TRANSFORMS],
    n_transformations: usize,
    /// The first bytes of the transformed value (all an excerpt shows).
    head: [u8; EXCERPT_LEN],
    head_len: usize,
    /// The transformed value was longer than `head`.
    truncated: bool,
    /// For a body size: the size.
    body_size: Option<u64>,
}

/// At most this many transformations per statement (validated at load).
const MAX_TRANSFORMS: usize = 10;
/// Bytes of a matched value an excerpt shows.
const EXCERPT_LEN: usize = 64;

impl<'p> PendingLoc<'p> {
    fn new(what: Where<'p>, ts: &[TransformType], v: &[u8], secret: bool) -> Self {
        let mut transformations = [TransformType::None; MAX_TRANSFORMS];
        let n_transformations = ts.len().min(MAX_TRANSFORMS);
        transformations[..n_transformations].copy_from_slice(&ts[..n_transformations]);
        let mut head = [0u8; EXCERPT_LEN];
        let head_len = v.len().min(EXCERPT_LEN);
        head[..head_len].copy_from_slice(&v[..head_len]);
        PendingLoc {
            what,
            secret,
            transformations,
            n_transformations,
            head,
            head_len,
            truncated: v.len() > EXCERPT_LEN,
            body_size: None,
        }
    }

    /// The statement's LOWERCASE was folded into its test: listed and shown all the same.
    fn lowercase(&mut self) {
        if self.n_transformations < MAX_TRANSFORMS {
            self.transformations[self.n_transformations] = TransformType::Lowercase;
            self.n_transformations += 1;
        }
        self.head.make_ascii_lowercase();
    }

    fn body_size(size: u64) -> Self {
        let mut loc = PendingLoc::new(Where::Field("Body"), &[], &[], false);
        loc.body_size = Some(size);
        loc
    }

    fn render(&self) -> MatchLocation {
        MatchLocation {
            field: self.what.render(),
            transformations: self.transformations[..self.n_transformations].to_vec(),
            excerpt: match self.body_size {
                Some(size) => format!("{size} bytes"),
                None if self.secret || self.what.names_secret() => "[redacted]".to_owned(),
                None => excerpt(&self.head[..self.head_len], self.truncated),
            },
        }
    }
}

/// Where a value comes from, rendered only when it matches.
#[derive(Clone, Copy)]
enum Where<'a> {
    Field(&'static str),
    /// `Field:name` (a query argument, header or cookie).
    Named(&'static str, &'a [u8]),
    /// A JSON key or leaf. A `scalar` (number, boolean or null) is a single token, which
    /// the SQL injection and XSS detectors can never flag, so they skip it.
    Json {
        path: JsonPath<'a>,
        scalar: bool,
    },
}

impl Where<'_> {
    fn detectable(self) -> bool {
        !matches!(self, Where::Json { scalar: true, .. })
    }

    /// A query argument, header, cookie or JSON member whose name says it holds a
    /// credential: its value is never shown in excerpts. Names are checked decoded
    /// ([`is_secret_name`]): the application reads `p%61ssword` as `password`.
    fn names_secret(self) -> bool {
        match self {
            Where::Named(_, n) => is_secret_name(n),
            Where::Json { path, .. } => is_secret_name(&path.to_vec()),
            Where::Field(_) => false,
        }
    }

    fn render(self) -> String {
        match self {
            Where::Field(f) => f.to_owned(),
            Where::Named("Headers", n) => format!(
                "Headers:{}",
                String::from_utf8_lossy(n).to_ascii_lowercase()
            ),
            Where::Named(f, n) => format!("{f}:{}", String::from_utf8_lossy(n)),
            Where::Json { path, .. } => match path.to_vec() {
                p if p.is_empty() => "JsonBody:/".to_owned(),
                p => format!("JsonBody:{}", String::from_utf8_lossy(&p)),
            },
        }
    }
}

fn compare(op: Comparison, a: u64, b: u64) -> bool {
    match op {
        Comparison::Eq => a == b,
        Comparison::Ne => a != b,
        Comparison::Le => a <= b,
        Comparison::Lt => a < b,
        Comparison::Ge => a >= b,
        Comparison::Gt => a > b,
    }
}

fn byte_match(hay: &[u8], needle: &[u8], pos: Positional) -> bool {
    match pos {
        Positional::Exactly => hay == needle,
        Positional::StartsWith => hay.starts_with(needle),
        Positional::EndsWith => hay.ends_with(needle),
        Positional::Contains => find(hay, needle, 0).is_some(),
        Positional::ContainsWord => {
            let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
            let mut from = 0;
            while let Some(i) = find(hay, needle, from) {
                let before = i == 0 || !word(hay[i - 1]);
                let end = i + needle.len();
                let after = end >= hay.len() || !word(hay[end]);
                if before && after {
                    return true;
                }
                from = i + 1;
            }
            false
        }
    }
}

/// The first `needle` in `hay` at or after `from` (search strings are never empty).
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|i| i + from)
}

/// A value after its transformations.
enum Transformed {
    /// Unchanged.
    Same,
    Owned(Vec<u8>),
    /// From the request's cache.
    Shared(Rc<[u8]>),
}

/// Values shorter than this are transformed again rather than cached.
const CACHE_MIN: usize = 256;

/// FxHash (rustc's): the transformed-value cache is keyed by addresses and lengths, not by
/// content an attacker chooses, so a fast unkeyed hash is enough.
#[derive(Default)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
}

type BuildFx = std::hash::BuildHasherDefault<Fx>;

/// `raw`'s trigger classes (`transform::classes`), from its memo once asked for.
fn classes_of(memo: &ValueMemo, raw: &[u8]) -> u32 {
    memo.classes.get().unwrap_or_else(|| {
        let c = transform::classes(raw);
        memo.classes.set(Some(c));
        c
    })
}

/// Group `id`'s bit in a [`ValueMemo`]; `None` past 64 groups.
fn group_bit(id: usize) -> Option<u64> {
    (id < 64).then(|| 1 << id)
}

/// (group, address, length) -> which of the group's patterns match the value (`None`: none).
type RegexHits = std::collections::HashMap<(usize, usize, usize), Option<GroupHits>, BuildFx>;

/// (address, length, chain) -> the transformed value, `None` if unchanged.
type TransformCache = std::collections::HashMap<(usize, usize, u128), Option<Rc<[u8]>>, BuildFx>;

/// A hasher with this process's random keys, for the per-request detector memo.
fn memo_hasher() -> &'static std::collections::hash_map::RandomState {
    static STATE: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    STATE.get_or_init(std::collections::hash_map::RandomState::new)
}

/// Headers that carry credentials: never shown in excerpts. Asked for every header by every
/// statement on headers, so by length first (each name has its own).
fn is_secret_header(name: &str) -> bool {
    let secret: &[u8] = match name.len() {
        6 => b"cookie",
        9 => b"x-api-key",
        10 => b"set-cookie",
        13 => b"authorization",
        19 => b"proxy-authorization",
        20 => b"x-amz-security-token",
        _ => return false,
    };
    name.as_bytes().eq_ignore_ascii_case(secret)
}

/// Names of fields that hold credentials (matched case-insensitively, anywhere in the name,
/// after [`decode_escapes`]).
const SECRET_NAMES: [&str; 10] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "credential",
];

/// `name` holds a credential-like name ([`SECRET_NAMES`]) once decoded as an application
/// may decode it (see [`decode_escapes`]).
fn is_secret_name(name: &[u8]) -> bool {
    let name = decode_escapes(name);
    SECRET_NAMES.iter().any(|k| {
        name.windows(k.len())
            .any(|w| w.eq_ignore_ascii_case(k.as_bytes()))
    })
}

/// `v` with percent (`%61`, `%u0061`), JavaScript (`\x61`, `\u0061`) and HTML (`&#97;`)
/// escapes decoded, up to three times over. Only for finding credential names: a name the
/// application decodes must be recognised whatever the rule's transformations did, and
/// decoding more than the application does only masks more.
fn decode_escapes(v: &[u8]) -> Cow<'_, [u8]> {
    const DECODE: [TransformType; 3] = [
        TransformType::UrlDecodeUni,
        TransformType::JsDecode,
        TransformType::HtmlEntityDecode,
    ];
    let mut cur = Cow::Borrowed(v);
    for _ in 0..3 {
        let next = match transform::apply_all(&DECODE, &cur) {
            Cow::Borrowed(_) => break,
            Cow::Owned(next) => next,
        };
        cur = Cow::Owned(next);
    }
    cur
}

/// Where the first credential-like name in `v` ends, in `v`'s own bytes: the end of the
/// shortest prefix that holds one once decoded (so an escaped `p%61ssword` counts too).
/// `v` is at most an excerpt long, and this only runs for a rule that matched.
fn secret_name_end(v: &[u8]) -> Option<usize> {
    if !is_secret_name(v) {
        return None;
    }
    (1..=v.len()).find(|&i| is_secret_name(&v[..i]))
}

/// At most 64 characters of `v` (`…` when `truncated`), non-printable bytes escaped, and
/// everything after the first credential-like name (`password=...`, `"token": "..."`)
/// masked with `*`: raw fields such as a form body or a query string carry credentials
/// inline. The mask runs to the end of the excerpt rather than to the next `&` or `"`
/// because `v` is the *transformed* value: a decoded `%26` inside a password is an `&`
/// too, and where the value ends can no longer be told.
fn excerpt(v: &[u8], truncated: bool) -> String {
    let mut masked = v[..v.len().min(EXCERPT_LEN)].to_vec();
    if let Some(end) = secret_name_end(&masked) {
        // Past any `"`, spaces, `=` or `:` up to the value.
        let mut j = end;
        while j < masked.len() && b"\" \t=:".contains(&masked[j]) {
            j += 1;
        }
        masked[j..].fill(b'*');
    }
    let mut s = String::new();
    for &c in &masked {
        if (0x20..0x7f).contains(&c) {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    if truncated || v.len() > EXCERPT_LEN {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_secret_whatever_their_case() {
        for name in [
            "authorization",
            "Proxy-Authorization",
            "COOKIE",
            "Set-Cookie",
            "X-Api-Key",
            "x-amz-security-token",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "",
            "cookies",
            "x-api-kez",
            "set_cookie",
            "authorisation",
            "proxy-authorizatio",
            "x-amz-security-tokens",
            "content-type",
        ] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn secret_names_are_recognised_decoded() {
        for name in [
            &b"password"[..],
            b"user_PassWord",
            b"p%61ssword",
            b"p%2561ssword",
            b"%u0070assword",
            b"p\\x61ssword",
            b"p&#97;ssword",
            b"api%5fkey",
            b"/credentials/0/user",
        ] {
            assert!(is_secret_name(name), "{}", String::from_utf8_lossy(name));
        }
        for name in [&b"user"[..], b"p%61ss", b"q", b"/items/0/name", b""] {
            assert!(!is_secret_name(name), "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn excerpts_mask_everything_after_a_secret_name() {
        // The transformed value of `password=Tr0ub4dor%26horse%3Dbattery`: the decoded `&`
        // is part of the password.
        let e = excerpt(b"user=bob&password=Tr0ub4dor&horse=battery", false);
        assert_eq!(e, format!("user=bob&password={}", "*".repeat(23)));
        // Names escaped in the value itself (no decoding transformation, or a double one).
        for v in [
            &b"user=bob&p%61ssword=hunter2&x=1"[..],
            b"user=bob&p%2561ssword=hunter2&x=1",
            b"{\"user\":\"bob\",\"p\\u0061ssword\":\"hunter2\"}",
        ] {
            let e = excerpt(v, false);
            assert!(!e.contains("hunter2"), "{e}");
            assert!(
                e.starts_with("user=bob&p") || e.starts_with("{\"user\":\"bob\""),
                "{e}"
            );
        }
        // A multipart part: the value follows a blank line, not `=`.
        let e = excerpt(
            b"--b\r\ncontent-disposition: form-data; name=\"token\"\r\n\r\nabc123\r\n--b",
            false,
        );
        assert!(!e.contains("abc123"), "{e}");
        assert!(e.contains("name=\"token\"*"), "{e}");
        // Nothing to mask: shown as is, escaped, and marked when shortened.
        assert_eq!(excerpt(b"q=1' or '1'='1", false), "q=1' or '1'='1");
        assert_eq!(excerpt(b"a\x00b", true), "a\\x00b…");
        assert_eq!(excerpt(b"token", false), "token");
    }
}
