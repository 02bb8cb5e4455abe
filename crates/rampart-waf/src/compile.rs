//! Validation of the AWS JSON into the compiled form evaluation runs on: references
//! resolved, regexes compiled, transformations ordered, labels qualified, every error with
//! the path of the field that caused it.

use crate::detect::Sensitivity;
use crate::lazy::{CachePool, Lazy, Slots};
use crate::model::*;
use crate::rate::{RateConfig, RateTracker};
use crate::transform::TransformType;
use crate::{lowercase_fold, managed, LoadError, Resources};
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Default body inspection limit (AWS's default for API Gateway).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// Rate-based rules track at most this many keys each by default.
pub const DEFAULT_RATE_MAX_KEYS: usize = 100_000;

/// A web ACL ready to evaluate.
#[derive(Debug)]
pub struct CompiledAcl {
    pub name: String,
    pub(crate) rules: Vec<CRule>,
    pub(crate) default_block: Option<Arc<BlockResponse>>,
    pub(crate) default_insert: Vec<(String, String)>,
    pub(crate) body_limit: usize,
    pub(crate) inspects_body: bool,
    /// The caches of the ACL's lazy DFAs ([`Lazy`]), lent to one evaluation at a time.
    pub(crate) caches: CachePool,
}

impl CompiledAcl {
    /// How many body bytes the ACL inspects (0 when no rule looks at the body).
    pub fn body_bytes_needed(&self) -> usize {
        if self.inspects_body {
            self.body_limit
        } else {
            0
        }
    }

    /// Carries the counters of rate-based rules over from `old`, the web ACL this one
    /// replaces on a configuration reload, so a reload does not reset who is over a limit.
    /// A rule's counters carry over when it is unchanged: the same rule (by name, rule
    /// groups' members as `Rule/GroupRule`), the same aggregation keys, limit, window and
    /// key bound (its scope-down statement may change). Returns how many carried over;
    /// call it before the ACL serves requests (later calls change nothing).
    pub fn adopt_rate_state(&self, old: &CompiledAcl) -> usize {
        let id = |rule: &str, n: usize, r: &CRate| {
            format!("{rule}#{n}|{:?}|{:?}", r.key, r.tracker.config())
        };
        let mut previous = std::collections::HashMap::new();
        each_rate(&old.rules, &mut |rule, n, r| {
            previous.insert(id(rule, n, r), r.tracker().clone());
        });
        let mut adopted = 0;
        each_rate(&self.rules, &mut |rule, n, r| {
            if let Some(t) = previous.get(&id(rule, n, r)) {
                if r.adopted.set(t.clone()).is_ok() {
                    adopted += 1;
                }
            }
        });
        adopted
    }

    /// The addresses each rate-based rule that aggregates by IP or forwarded IP blocks (or
    /// counts) at `now_ms` (the clock [`CompiledAcl::evaluate`] is given), as AWS's
    /// `GetRateBasedStatementManagedKeys` lists them: per rule (`Rule` or `Rule/GroupRule`),
    /// up to [`crate::rate::LIMITED_KEYS_CAP`] addresses, sorted.
    pub fn rate_managed_keys(&self, now_ms: u64) -> Vec<(String, Vec<std::net::IpAddr>)> {
        let mut out = Vec::new();
        each_rate(&self.rules, &mut |rule, _, r| {
            if !matches!(r.key, AggKey::Ip | AggKey::Forwarded(..)) {
                return;
            }
            let mut ips: Vec<std::net::IpAddr> = r
                .tracker()
                .limited_keys(now_ms)
                .into_iter()
                .filter_map(|k| match k.len() {
                    4 => <[u8; 4]>::try_from(k.as_slice())
                        .ok()
                        .map(std::net::IpAddr::from),
                    16 => <[u8; 16]>::try_from(k.as_slice())
                        .ok()
                        .map(std::net::IpAddr::from),
                    _ => None,
                })
                .collect();
            ips.sort();
            out.push((rule.to_owned(), ips));
        });
        out
    }

    /// Rule names in evaluation order (rule groups as `Rule/GroupRule`).
    pub fn rule_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.rules {
            out.push(r.name.clone());
            if let CKind::Group { rules, .. } = &r.kind {
                out.extend(rules.iter().map(|g| g.qualified.clone()));
            }
        }
        out
    }
}

/// The response of a Block action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Content type and content of a custom body.
    pub body: Option<(&'static str, String)>,
}

#[derive(Debug)]
pub(crate) struct CRule {
    pub name: String,
    /// The name in matches, traces and the terminating rule: `name`, or for a member of a
    /// rule group `group rule/member` (made once here, not on every request).
    pub qualified: String,
    pub labels: Vec<String>,
    pub kind: CKind,
}

#[derive(Debug)]
pub(crate) enum CKind {
    Plain {
        statement: CStatement,
        action: CAction,
    },
    Group {
        scope_down: Option<CStatement>,
        rules: Vec<CRule>,
        count_only: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum CAction {
    Allow(Vec<(String, String)>),
    Block(Arc<BlockResponse>),
    Count(Vec<(String, String)>),
}

impl CAction {
    pub fn name(&self) -> &'static str {
        match self {
            CAction::Allow(_) => "ALLOW",
            CAction::Block(_) => "BLOCK",
            CAction::Count(_) => "COUNT",
        }
    }
}

#[derive(Debug)]
pub(crate) enum CStatement {
    Match {
        field: CField,
        /// The transformations evaluation applies, in order.
        transforms: Vec<TransformType>,
        /// The trigger classes of the transformations together (`transform::triggers`): a
        /// value with none of them leaves the chain unchanged.
        triggers: u32,
        test: Test,
        /// The statement's chain ended in `LOWERCASE`, which is not in `transforms`: the
        /// test's pattern was rewritten to match the value as lowercasing it would
        /// ([`crate::lowercase_fold`]). Match reports still list it and show the value
        /// lowercased.
        lowercased: bool,
    },
    Ip {
        set: Arc<IpMatcher>,
        forwarded: Option<(String, Fallback, ForwardedPosition)>,
    },
    Label {
        scope: LabelScope,
        key: String,
    },
    Geo {
        db: Arc<crate::geo::GeoDb>,
        countries: Vec<[u8; 2]>,
        forwarded: Option<(String, Fallback)>,
    },
    Rate(Box<CRate>),
    And(Vec<CStatement>),
    Or(Vec<CStatement>),
    Not(Box<CStatement>),
}

#[derive(Debug)]
pub(crate) struct CRate {
    tracker: Arc<RateTracker>,
    /// The counters of the same rule in the web ACL this one replaced on a reload
    /// ([`CompiledAcl::adopt_rate_state`]); set once, before the ACL serves requests.
    adopted: std::sync::OnceLock<Arc<RateTracker>>,
    pub key: AggKey,
    pub scope_down: Option<CStatement>,
}

impl CRate {
    /// The counters in use: adopted from the previous web ACL, or this one's own.
    pub fn tracker(&self) -> &Arc<RateTracker> {
        self.adopted.get().unwrap_or(&self.tracker)
    }
}

#[derive(Debug)]
pub(crate) enum AggKey {
    Ip,
    Forwarded(String, Fallback),
    Constant,
    Custom(Vec<CustomPart>),
}

#[derive(Debug)]
pub(crate) enum CustomPart {
    Header(String, Vec<TransformType>),
    Cookie(String, Vec<TransformType>),
    QueryArg(String, Vec<TransformType>),
    QueryString(Vec<TransformType>),
    Method,
    UriPath(Vec<TransformType>),
    Ip,
    ForwardedIp(String, Fallback),
    LabelNamespace(String),
}

#[derive(Debug)]
pub(crate) enum Test {
    Bytes(Vec<u8>, Positional),
    /// The pattern, whether it was built in the ASCII mode ([`build_regex`]), and the same
    /// as a [`Lazy`] DFA when one was built.
    Regex {
        re: regex::bytes::Regex,
        ascii: bool,
        lazy: Option<Lazy>,
    },
    /// Pattern `index` of a [`RegexGroup`]: answered from one pass of the group's set over
    /// the value, shared by every statement of the group.
    Grouped(Arc<RegexGroup>, usize),
    RegexSet(Arc<regex::bytes::RegexSet>),
    Sqli(Sensitivity),
    Xss,
    Size(Comparison, u64),
}

/// The regex statements of an ACL that inspect the same values (see `CField::values_key`)
/// with the same transformations (the managed rule groups have up to 12 such on the body):
/// one `RegexSet` pass over a value answers all of them.
#[derive(Debug)]
pub(crate) struct RegexGroup {
    /// Unique within the ACL; with a value's identity, the key of the per-request cache.
    pub id: usize,
    pub patterns: GroupPatterns,
    /// The patterns as a [`Lazy`] DFA, for whether any matches, when one was built.
    pub lazy: Option<Lazy>,
    /// The groups of every chain on the same values, together.
    pub field_set: Option<Arc<FieldSet>>,
}

/// A group's patterns: a set, or the one pattern of a group of one (as the statement built
/// it, not built again).
#[derive(Debug)]
pub(crate) enum GroupPatterns {
    Set(regex::bytes::RegexSet),
    One(regex::bytes::Regex),
}

/// Which of a group's patterns match a value that some pattern matches.
#[derive(Debug)]
pub(crate) enum GroupHits {
    Set(regex::bytes::SetMatches),
    /// The one pattern of a group of one.
    One,
}

impl GroupPatterns {
    pub(crate) fn is_match(&self, v: &[u8]) -> bool {
        match self {
            GroupPatterns::Set(s) => s.is_match(v),
            GroupPatterns::One(r) => r.is_match(v),
        }
    }

    /// Which patterns match `v`, known to match one.
    pub(crate) fn hits(&self, v: &[u8]) -> GroupHits {
        match self {
            GroupPatterns::Set(s) => GroupHits::Set(s.matches(v)),
            GroupPatterns::One(_) => GroupHits::One,
        }
    }
}

impl GroupHits {
    pub(crate) fn matched(&self, index: usize) -> bool {
        match self {
            GroupHits::Set(m) => m.matched(index),
            GroupHits::One => index == 0,
        }
    }
}

/// Every regex group on the same values (one per transformation chain: the managed rule
/// groups have seven on the body), as one set. On a value that none of the chains would
/// change (most values: their chains decode what ordinary text does not hold), one pass of
/// it answers every group: when nothing matches, each group is known to miss without a
/// pass of its own.
#[derive(Debug)]
pub(crate) struct FieldSet {
    /// Unique within the ACL, below 64 (a bit of a value's memo).
    pub id: usize,
    pub set: regex::bytes::RegexSet,
    pub lazy: Option<Lazy>,
    /// The trigger classes of every member's chain: a value with none of them is the value
    /// each chain hands its group.
    pub triggers: u32,
    /// The members' bits (group ids, all below 64).
    pub members: u64,
}

impl FieldSet {
    /// Whether any member's pattern matches `v`.
    pub(crate) fn is_match(&self, caches: &mut crate::lazy::Caches, v: &[u8]) -> bool {
        match self.lazy.as_ref().and_then(|l| l.is_match(caches, v)) {
            Some(m) => m,
            None => self.set.is_match(v),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum CField {
    UriPath,
    QueryString,
    AllQueryArguments,
    SingleQueryArgument(String),
    Method,
    SingleHeader(String),
    Headers {
        filter: NameFilter,
        scope: MatchScope,
        oversize: Oversize,
    },
    Cookies {
        filter: NameFilter,
        scope: MatchScope,
        oversize: Oversize,
    },
    Body(Oversize),
    JsonBody {
        paths: Option<Vec<String>>,
        scope: MatchScope,
        fallback: InvalidFallback,
        oversize: Oversize,
    },
    HeaderOrder(Oversize),
}

/// Header or cookie names to inspect (lowercase for headers).
#[derive(Debug, Clone)]
pub(crate) enum NameFilter {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl NameFilter {
    pub fn admits(&self, name: &[u8], ignore_case: bool) -> bool {
        let eq = |n: &String| {
            if ignore_case {
                n.as_bytes().eq_ignore_ascii_case(name)
            } else {
                n.as_bytes() == name
            }
        };
        match self {
            NameFilter::All => true,
            NameFilter::Include(v) => v.iter().any(eq),
            NameFilter::Exclude(v) => !v.iter().any(eq),
        }
    }
}

/// CIDR blocks grouped by prefix length: a lookup is one hash probe per distinct length.
#[derive(Debug, Default)]
pub(crate) struct IpMatcher {
    v4: Vec<(u8, HashSet<u32>)>,
    v6: Vec<(u8, HashSet<u128>)>,
}

impl IpMatcher {
    fn insert(&mut self, net: IpNet) {
        match net {
            IpNet::V4(n) => {
                let len = n.prefix_len();
                let bits = u32::from(n.network());
                match self.v4.iter_mut().find(|(l, _)| *l == len) {
                    Some((_, s)) => {
                        s.insert(bits);
                    }
                    None => self.v4.push((len, HashSet::from([bits]))),
                }
            }
            IpNet::V6(n) => {
                let len = n.prefix_len();
                let bits = u128::from(n.network());
                match self.v6.iter_mut().find(|(l, _)| *l == len) {
                    Some((_, s)) => {
                        s.insert(bits);
                    }
                    None => self.v6.push((len, HashSet::from([bits]))),
                }
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            },
            v4 => v4,
        };
        match ip {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4.iter().any(|(len, s)| {
                    let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
                    s.contains(&(bits & mask))
                })
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6.iter().any(|(len, s)| {
                    let mask = if *len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - len)
                    };
                    s.contains(&(bits & mask))
                })
            }
        }
    }
}

/// One compile error: the JSON path and the message.
type Errs = Vec<(String, String)>;

struct Ctx<'r> {
    res: &'r Resources,
    errs: Errs,
    ip_sets: HashMap<String, Arc<IpMatcher>>,
    regex_sets: HashMap<String, Arc<regex::bytes::RegexSet>>,
    inspects_body: bool,
    rate_max_keys: usize,
}

/// Compiles a web ACL; `acl_path` names it in errors (a file name).
pub fn compile(acl: &WebAcl, res: &Resources) -> Result<CompiledAcl, LoadError> {
    let mut cx = Ctx {
        res,
        errs: Vec::new(),
        ip_sets: HashMap::new(),
        regex_sets: HashMap::new(),
        inspects_body: false,
        rate_max_keys: res.rate_max_keys.unwrap_or(DEFAULT_RATE_MAX_KEYS),
    };
    if acl.captcha_config.is_some() || acl.challenge_config.is_some() {
        cx.err(
            "CaptchaConfig",
            "CAPTCHA and Challenge are not supported by Rampart",
        );
    }
    let mut body_limit = res.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
    if let Some(ac) = &acl.association_config {
        for (k, v) in &ac.request_body {
            let kb = match v.default_size_inspection_limit.as_str() {
                "KB_16" => 16,
                "KB_32" => 32,
                "KB_48" => 48,
                "KB_64" => 64,
                other => {
                    cx.err(
                        &format!("AssociationConfig.RequestBody.{k}.DefaultSizeInspectionLimit"),
                        &format!("must be KB_16, KB_32, KB_48 or KB_64, not {other:?}"),
                    );
                    16
                }
            };
            body_limit = kb * 1024;
        }
    }
    let ns = format!(
        "awswaf:{}:webacl:{}:",
        account_of(acl.arn.as_deref()),
        acl.name
    );
    let default_allow = acl.default_action.allow.as_ref();
    let default_block = acl.default_action.block.as_ref();
    let (default_block, default_insert) = match (default_allow, default_block) {
        (Some(a), None) => (
            None,
            cx.insert_headers(a.custom_request_handling.as_ref(), "DefaultAction.Allow"),
        ),
        (None, Some(b)) => (
            Some(cx.block_response(b, &acl.custom_response_bodies, "DefaultAction.Block")),
            Vec::new(),
        ),
        _ => {
            cx.err("DefaultAction", "must have exactly one of Allow or Block");
            (None, Vec::new())
        }
    };
    let mut rules = cx.rules(&acl.rules, "Rules", &ns, &acl.custom_response_bodies, true);
    if !cx.errs.is_empty() {
        return Err(LoadError::Invalid(cx.errs));
    }
    let mut slots = Slots::default();
    group_regexes(&mut rules, &mut slots);
    Ok(CompiledAcl {
        caches: CachePool::new(slots),
        name: acl.name.clone(),
        rules,
        default_block,
        default_insert,
        body_limit,
        inspects_body: cx.inspects_body,
    })
}

impl Ctx<'_> {
    fn err(&mut self, path: &str, msg: &str) {
        self.errs.push((path.to_owned(), msg.to_owned()));
    }

    /// A label, label key or namespace as AWS accepts them ([`valid_label`]).
    fn check_label(&mut self, path: &str, label: &str) {
        if !valid_label(label) {
            self.err(
                path,
                &format!("{label:?} is not a label: 1 to 1024 characters of A-Z, a-z, 0-9, _, - and : (which separates namespaces)"),
            );
        }
    }

    fn rules(
        &mut self,
        rules: &[Rule],
        path: &str,
        ns: &str,
        bodies: &BTreeMap<String, CustomResponseBody>,
        top: bool,
    ) -> Vec<CRule> {
        let mut names = HashSet::new();
        let mut prios = HashSet::new();
        let mut order: Vec<(i64, usize)> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if r.name.is_empty() || r.name.len() > 128 {
                self.err(&format!("{p}.Name"), "must be 1 to 128 characters");
            }
            if !names.insert(r.name.as_str()) {
                self.err(
                    &format!("{p}.Name"),
                    &format!("duplicate rule name {:?}", r.name),
                );
            }
            if !prios.insert(r.priority) {
                self.err(
                    &format!("{p}.Priority"),
                    &format!("duplicate priority {}", r.priority),
                );
            }
            if r.priority < 0 {
                self.err(&format!("{p}.Priority"), "must be 0 or more");
            }
            order.push((r.priority, i));
        }
        order.sort();
        let mut out = Vec::new();
        for (_, i) in order {
            let r = &rules[i];
            let p = format!("{path}[{i}]");
            if r.captcha_config.is_some() || r.challenge_config.is_some() {
                self.err(
                    &format!("{p}.CaptchaConfig"),
                    "CAPTCHA and Challenge are not supported by Rampart",
                );
            }
            for (j, l) in r.rule_labels.iter().enumerate() {
                self.check_label(&format!("{p}.RuleLabels[{j}].Name"), &l.name);
            }
            let labels: Vec<String> = r.rule_labels.iter().map(|l| qualify(ns, &l.name)).collect();
            let kind = match &r.statement {
                Statement::ManagedRuleGroupStatement(_)
                | Statement::RuleGroupReferenceStatement(_) => {
                    if !top {
                        self.err(
                            &format!("{p}.Statement"),
                            "a rule group cannot reference another rule group",
                        );
                        continue;
                    }
                    if r.action.is_some() {
                        self.err(
                            &format!("{p}.Action"),
                            "a rule that references a rule group takes OverrideAction, not Action",
                        );
                    }
                    let count_only = match &r.override_action {
                        Some(OverrideAction {
                            none: Some(_),
                            count: None,
                        }) => false,
                        Some(OverrideAction {
                            none: None,
                            count: Some(_),
                        }) => true,
                        _ => {
                            self.err(
                                &format!("{p}.OverrideAction"),
                                "must have exactly one of None or Count",
                            );
                            false
                        }
                    };
                    match self.group(&r.statement, &format!("{p}.Statement")) {
                        Some((scope_down, mut rules)) => CKind::Group {
                            rules: {
                                for g in &mut rules {
                                    g.qualified = format!("{}/{}", r.name, g.name);
                                }
                                rules
                            },
                            scope_down,
                            count_only,
                        },
                        None => continue,
                    }
                }
                st => {
                    if r.override_action.is_some() {
                        self.err(&format!("{p}.OverrideAction"), "only rules that reference a rule group take OverrideAction; use Action");
                    }
                    let Some(a) = &r.action else {
                        self.err(&format!("{p}.Action"), "missing: Allow, Block or Count");
                        continue;
                    };
                    let Some(action) = self.action(a, bodies, &format!("{p}.Action")) else {
                        continue;
                    };
                    let Some(statement) = self.statement(st, &format!("{p}.Statement"), true)
                    else {
                        continue;
                    };
                    CKind::Plain { statement, action }
                }
            };
            out.push(CRule {
                name: r.name.clone(),
                qualified: r.name.clone(),
                labels,
                kind,
            });
        }
        out
    }

    /// A managed or referenced rule group: its scope-down statement and compiled rules with
    /// exclusions and overrides applied.
    fn group(&mut self, st: &Statement, p: &str) -> Option<(Option<CStatement>, Vec<CRule>)> {
        let (group, excluded, overrides, scope_down, gp) = match st {
            Statement::ManagedRuleGroupStatement(m) => {
                let gp = format!("{p}.ManagedRuleGroupStatement");
                if m.managed_rule_group_configs.is_some() {
                    self.err(
                        &format!("{gp}.ManagedRuleGroupConfigs"),
                        "not supported by Rampart's built-in groups",
                    );
                }
                if m.vendor_name != "AWS" {
                    self.err(
                        &format!("{gp}.VendorName"),
                        &format!(
                            "unknown vendor {:?}: Rampart ships the AWS groups",
                            m.vendor_name
                        ),
                    );
                    return None;
                }
                let g = match managed::group(&m.name) {
                    Some(Ok(g)) => g,
                    Some(Err(e)) => {
                        self.err(
                            &format!("{gp}.Name"),
                            &format!("built-in group {} is invalid: {e}", m.name),
                        );
                        return None;
                    }
                    None => {
                        self.err(
                            &format!("{gp}.Name"),
                            &format!(
                                "unknown managed rule group {:?}; built in: {}",
                                m.name,
                                managed::NAMES.join(", ")
                            ),
                        );
                        return None;
                    }
                };
                (
                    g,
                    &m.excluded_rules,
                    &m.rule_action_overrides,
                    m.scope_down_statement.as_ref(),
                    gp,
                )
            }
            Statement::RuleGroupReferenceStatement(r) => {
                let gp = format!("{p}.RuleGroupReferenceStatement");
                let Some(g) = self.res.rule_group(&r.arn) else {
                    self.err(
                        &format!("{gp}.ARN"),
                        &format!("no rule group {:?} was loaded", r.arn),
                    );
                    return None;
                };
                (
                    g.clone(),
                    &r.excluded_rules,
                    &r.rule_action_overrides,
                    None,
                    gp,
                )
            }
            _ => return None,
        };
        let ns = match &group.label_namespace {
            Some(ns) => {
                self.check_label(&format!("{gp}(group {}).LabelNamespace", group.name), ns);
                ns.clone()
            }
            None => {
                format!(
                    "awswaf:{}:rulegroup:{}:",
                    account_of(group.arn.as_deref()),
                    group.name
                )
            }
        };
        let mut rules = self.rules(
            &group.rules,
            &format!("{gp}(group {}).Rules", group.name),
            &ns,
            &group.custom_response_bodies,
            false,
        );
        for (i, ex) in excluded.iter().enumerate() {
            match rules.iter_mut().find(|r| r.name == ex.name) {
                Some(r) => set_count(r),
                None => self.err(
                    &format!("{gp}.ExcludedRules[{i}].Name"),
                    &format!("group {} has no rule {:?}", group.name, ex.name),
                ),
            }
        }
        for (i, o) in overrides.iter().enumerate() {
            let op = format!("{gp}.RuleActionOverrides[{i}]");
            let Some(action) = self.action(
                &o.action_to_use,
                &group.custom_response_bodies,
                &format!("{op}.ActionToUse"),
            ) else {
                continue;
            };
            match rules.iter_mut().find(|r| r.name == o.name) {
                Some(CRule {
                    kind: CKind::Plain { action: a, .. },
                    ..
                }) => *a = action,
                _ => self.err(
                    &format!("{op}.Name"),
                    &format!("group {} has no rule {:?}", group.name, o.name),
                ),
            }
        }
        let scope_down =
            scope_down.and_then(|s| self.statement(s, &format!("{gp}.ScopeDownStatement"), false));
        Some((scope_down, rules))
    }

    fn action(
        &mut self,
        a: &RuleAction,
        bodies: &BTreeMap<String, CustomResponseBody>,
        p: &str,
    ) -> Option<CAction> {
        if a.captcha.is_some() || a.challenge.is_some() {
            self.err(
                p,
                "CAPTCHA and Challenge actions are not supported by Rampart",
            );
            return None;
        }
        match (&a.allow, &a.block, &a.count) {
            (Some(al), None, None) => Some(CAction::Allow(
                self.insert_headers(al.custom_request_handling.as_ref(), &format!("{p}.Allow")),
            )),
            (None, Some(b), None) => Some(CAction::Block(self.block_response(
                b,
                bodies,
                &format!("{p}.Block"),
            ))),
            (None, None, Some(c)) => Some(CAction::Count(
                self.insert_headers(c.custom_request_handling.as_ref(), &format!("{p}.Count")),
            )),
            _ => {
                self.err(p, "must have exactly one of Allow, Block or Count");
                None
            }
        }
    }

    fn insert_headers(
        &mut self,
        h: Option<&CustomRequestHandling>,
        p: &str,
    ) -> Vec<(String, String)> {
        let Some(h) = h else { return Vec::new() };
        let mut out = Vec::new();
        for (i, pair) in h.insert_headers.iter().enumerate() {
            if !valid_header_name(&pair.name) || !valid_header_value(&pair.value) {
                self.err(
                    &format!("{p}.CustomRequestHandling.InsertHeaders[{i}]"),
                    "invalid header name or value",
                );
                continue;
            }
            // AWS prefixes inserted request headers with x-amzn-waf-.
            out.push((
                format!("x-amzn-waf-{}", pair.name.to_ascii_lowercase()),
                pair.value.clone(),
            ));
        }
        out
    }

    fn block_response(
        &mut self,
        b: &BlockAction,
        bodies: &BTreeMap<String, CustomResponseBody>,
        p: &str,
    ) -> Arc<BlockResponse> {
        let Some(c) = &b.custom_response else {
            return Arc::new(BlockResponse {
                status: 403,
                headers: Vec::new(),
                body: None,
            });
        };
        if !(200..=599).contains(&c.response_code) {
            self.err(
                &format!("{p}.CustomResponse.ResponseCode"),
                "must be 200 to 599",
            );
        }
        let mut headers = Vec::new();
        for (i, h) in c.response_headers.iter().enumerate() {
            if !valid_header_name(&h.name) || !valid_header_value(&h.value) {
                self.err(
                    &format!("{p}.CustomResponse.ResponseHeaders[{i}]"),
                    "invalid header name or value",
                );
                continue;
            }
            headers.push((
                format!("x-amzn-waf-{}", h.name.to_ascii_lowercase()),
                h.value.clone(),
            ));
        }
        let body = match &c.custom_response_body_key {
            None => None,
            Some(k) => match bodies.get(k) {
                Some(b) => Some((b.content_type.mime(), b.content.clone())),
                None => {
                    self.err(
                        &format!("{p}.CustomResponse.CustomResponseBodyKey"),
                        &format!("no CustomResponseBodies entry {k:?}"),
                    );
                    None
                }
            },
        };
        Arc::new(BlockResponse {
            status: c.response_code,
            headers,
            body,
        })
    }

    fn transforms(&mut self, ts: &[TextTransformation], p: &str) -> Vec<TransformType> {
        if ts.is_empty() {
            self.err(p, "at least one text transformation is required (use NONE)");
        }
        if ts.len() > 10 {
            self.err(p, "at most 10 text transformations");
        }
        let mut prios = HashSet::new();
        for (i, t) in ts.iter().enumerate() {
            if !prios.insert(t.priority) {
                self.err(
                    &format!("{p}[{i}].Priority"),
                    &format!("duplicate priority {}", t.priority),
                );
            }
        }
        let mut v: Vec<&TextTransformation> = ts.iter().collect();
        v.sort_by_key(|t| t.priority);
        v.into_iter()
            .map(|t| t.kind)
            .filter(|k| *k != TransformType::None)
            .collect()
    }

    fn field(&mut self, f: &FieldToMatch, p: &str) -> Option<CField> {
        let mut found = Vec::new();
        if f.uri_path.is_some() {
            found.push(CField::UriPath);
        }
        if f.query_string.is_some() {
            found.push(CField::QueryString);
        }
        if f.all_query_arguments.is_some() {
            found.push(CField::AllQueryArguments);
        }
        if let Some(s) = &f.single_query_argument {
            found.push(CField::SingleQueryArgument(s.name.to_ascii_lowercase()));
        }
        if f.method.is_some() {
            found.push(CField::Method);
        }
        if let Some(s) = &f.single_header {
            found.push(CField::SingleHeader(s.name.to_ascii_lowercase()));
        }
        if let Some(h) = &f.headers {
            let filter = match (
                &h.match_pattern.all,
                &h.match_pattern.included_headers,
                &h.match_pattern.excluded_headers,
            ) {
                (Some(_), None, None) => NameFilter::All,
                (None, Some(v), None) => {
                    NameFilter::Include(v.iter().map(|s| s.to_ascii_lowercase()).collect())
                }
                (None, None, Some(v)) => {
                    NameFilter::Exclude(v.iter().map(|s| s.to_ascii_lowercase()).collect())
                }
                _ => {
                    self.err(
                        &format!("{p}.Headers.MatchPattern"),
                        "must have exactly one of All, IncludedHeaders or ExcludedHeaders",
                    );
                    NameFilter::All
                }
            };
            found.push(CField::Headers {
                filter,
                scope: h.match_scope,
                oversize: h.oversize_handling,
            });
        }
        if let Some(c) = &f.cookies {
            let filter = match (
                &c.match_pattern.all,
                &c.match_pattern.included_cookies,
                &c.match_pattern.excluded_cookies,
            ) {
                (Some(_), None, None) => NameFilter::All,
                (None, Some(v), None) => NameFilter::Include(v.clone()),
                (None, None, Some(v)) => NameFilter::Exclude(v.clone()),
                _ => {
                    self.err(
                        &format!("{p}.Cookies.MatchPattern"),
                        "must have exactly one of All, IncludedCookies or ExcludedCookies",
                    );
                    NameFilter::All
                }
            };
            found.push(CField::Cookies {
                filter,
                scope: c.match_scope,
                oversize: c.oversize_handling,
            });
        }
        if let Some(b) = &f.body {
            self.inspects_body = true;
            found.push(CField::Body(b.oversize_handling));
        }
        if let Some(j) = &f.json_body {
            self.inspects_body = true;
            let paths = match (&j.match_pattern.all, &j.match_pattern.included_paths) {
                (Some(_), None) => None,
                (None, Some(v)) => {
                    for (i, s) in v.iter().enumerate() {
                        if !(s.is_empty() || s.starts_with('/')) {
                            self.err(
                                &format!("{p}.JsonBody.MatchPattern.IncludedPaths[{i}]"),
                                "must be a JSON Pointer (\"\" or starting with /)",
                            );
                        }
                    }
                    Some(v.clone())
                }
                _ => {
                    self.err(
                        &format!("{p}.JsonBody.MatchPattern"),
                        "must have exactly one of All or IncludedPaths",
                    );
                    None
                }
            };
            found.push(CField::JsonBody {
                paths,
                scope: j.match_scope,
                fallback: j
                    .invalid_fallback_behavior
                    .unwrap_or(InvalidFallback::EvaluateAsString),
                oversize: j.oversize_handling,
            });
        }
        if let Some(h) = &f.header_order {
            found.push(CField::HeaderOrder(h.oversize_handling));
        }
        if f.ja3_fingerprint.is_some() || f.ja4_fingerprint.is_some() {
            self.err(p, "JA3/JA4 fingerprints are not supported by Rampart");
            return None;
        }
        if f.uri_fragment.is_some() {
            self.err(
                p,
                "UriFragment is not supported by Rampart (clients do not send fragments)",
            );
            return None;
        }
        if found.len() != 1 {
            self.err(p, "must have exactly one field (UriPath, QueryString, AllQueryArguments, SingleQueryArgument, Method, SingleHeader, Headers, Cookies, Body, JsonBody, HeaderOrder)");
            return None;
        }
        found.pop()
    }

    fn forwarded(&mut self, f: Option<&ForwardedIpConfig>, p: &str) -> Option<(String, Fallback)> {
        let f = f?;
        if !valid_header_name(&f.header_name) {
            self.err(&format!("{p}.HeaderName"), "not a valid header name");
        }
        Some((f.header_name.to_ascii_lowercase(), f.fallback_behavior))
    }

    fn statement(&mut self, st: &Statement, p: &str, top: bool) -> Option<CStatement> {
        let m_folded = |field, transforms: Vec<TransformType>, test, lowercased| {
            Some(CStatement::Match {
                field,
                triggers: transforms
                    .iter()
                    .fold(0, |m, t| m | crate::transform::triggers(*t)),
                transforms,
                test,
                lowercased,
            })
        };
        let m = |field, transforms, test| m_folded(field, transforms, test, false);
        match st {
            Statement::ByteMatchStatement(b) => {
                let p = format!("{p}.ByteMatchStatement");
                let needle = match (&b.search_string, &b.search_string_base64) {
                    (Some(s), None) => s.as_bytes().to_vec(),
                    (None, Some(s)) => {
                        use base64::Engine;
                        match base64::engine::general_purpose::STANDARD.decode(s) {
                            Ok(v) => v,
                            Err(e) => {
                                self.err(
                                    &format!("{p}.SearchStringBase64"),
                                    &format!("not base64: {e}"),
                                );
                                return None;
                            }
                        }
                    }
                    _ => {
                        self.err(
                            &p,
                            "must have exactly one of SearchString or SearchStringBase64",
                        );
                        return None;
                    }
                };
                if needle.is_empty() || needle.len() > 200 {
                    self.err(&format!("{p}.SearchString"), "must be 1 to 200 bytes");
                }
                let field = self.field(&b.field_to_match, &format!("{p}.FieldToMatch"))?;
                let t =
                    self.transforms(&b.text_transformations, &format!("{p}.TextTransformations"));
                m(field, t, Test::Bytes(needle, b.positional_constraint))
            }
            Statement::RegexMatchStatement(r) => {
                let p = format!("{p}.RegexMatchStatement");
                // A final LOWERCASE goes into the pattern (`lowercase_fold`).
                let last = r.text_transformations.iter().max_by_key(|t| t.priority);
                let folded = last
                    .is_some_and(|t| t.kind == TransformType::Lowercase)
                    .then(|| folded_regex(&r.regex_string))
                    .flatten();
                let lowercased = folded.is_some();
                let (re, ascii) = match folded.map_or_else(|| build_regex(&r.regex_string), Ok) {
                    Ok(built) => built,
                    Err(e) => {
                        self.err(
                            &format!("{p}.RegexString"),
                            &format!("invalid regular expression: {e}"),
                        );
                        return None;
                    }
                };
                let field = self.field(&r.field_to_match, &format!("{p}.FieldToMatch"))?;
                let mut t =
                    self.transforms(&r.text_transformations, &format!("{p}.TextTransformations"));
                // The chain is in priority order (a priority given twice fails the load), so
                // it ends in the LOWERCASE the pattern took in.
                if lowercased {
                    let last = t.pop();
                    debug_assert_eq!(last, Some(TransformType::Lowercase));
                }
                let test = Test::Regex {
                    re,
                    ascii,
                    lazy: None,
                };
                m_folded(field, t, test, lowercased)
            }
            Statement::RegexPatternSetReferenceStatement(r) => {
                let p = format!("{p}.RegexPatternSetReferenceStatement");
                let set = match self.regex_sets.get(&r.arn) {
                    Some(s) => s.clone(),
                    None => {
                        let Some(src) = self.res.regex_set(&r.arn) else {
                            self.err(
                                &format!("{p}.ARN"),
                                &format!("no regex pattern set {:?} was loaded", r.arn),
                            );
                            return None;
                        };
                        let pats: Vec<&str> = src
                            .regular_expression_list
                            .iter()
                            .map(|e| e.regex_string.as_str())
                            .collect();
                        match build_regex_set(&pats) {
                            Ok(s) => {
                                let s = Arc::new(s);
                                self.regex_sets.insert(r.arn.clone(), s.clone());
                                s
                            }
                            Err(e) => {
                                self.err(
                                    &format!("{p}.ARN"),
                                    &format!("regex pattern set {}: {e}", src.name),
                                );
                                return None;
                            }
                        }
                    }
                };
                let field = self.field(&r.field_to_match, &format!("{p}.FieldToMatch"))?;
                let t =
                    self.transforms(&r.text_transformations, &format!("{p}.TextTransformations"));
                m(field, t, Test::RegexSet(set))
            }
            Statement::SqliMatchStatement(s) => {
                let p = format!("{p}.SqliMatchStatement");
                let field = self.field(&s.field_to_match, &format!("{p}.FieldToMatch"))?;
                let t =
                    self.transforms(&s.text_transformations, &format!("{p}.TextTransformations"));
                m(field, t, Test::Sqli(s.sensitivity_level))
            }
            Statement::XssMatchStatement(s) => {
                let p = format!("{p}.XssMatchStatement");
                let field = self.field(&s.field_to_match, &format!("{p}.FieldToMatch"))?;
                let t =
                    self.transforms(&s.text_transformations, &format!("{p}.TextTransformations"));
                m(field, t, Test::Xss)
            }
            Statement::SizeConstraintStatement(s) => {
                let p = format!("{p}.SizeConstraintStatement");
                let field = self.field(&s.field_to_match, &format!("{p}.FieldToMatch"))?;
                let t =
                    self.transforms(&s.text_transformations, &format!("{p}.TextTransformations"));
                m(field, t, Test::Size(s.comparison_operator, s.size))
            }
            Statement::IpSetReferenceStatement(r) => {
                let p = format!("{p}.IPSetReferenceStatement");
                let set = match self.ip_sets.get(&r.arn) {
                    Some(s) => s.clone(),
                    None => {
                        let Some(src) = self.res.ip_set(&r.arn) else {
                            self.err(
                                &format!("{p}.ARN"),
                                &format!("no IP set {:?} was loaded", r.arn),
                            );
                            return None;
                        };
                        let mut mset = IpMatcher::default();
                        for (i, a) in src.addresses.iter().enumerate() {
                            match a.parse::<IpNet>() {
                                Ok(n) => {
                                    let v6 = matches!(n, IpNet::V6(_));
                                    if v6 != (src.ip_address_version == IpVersion::V6) {
                                        self.err(
                                            &format!("{p}.ARN"),
                                            &format!(
                                                "IP set {}: Addresses[{i}] {a} is not {:?}",
                                                src.name, src.ip_address_version
                                            ),
                                        );
                                    }
                                    mset.insert(n.trunc());
                                }
                                Err(_) => self.err(
                                    &format!("{p}.ARN"),
                                    &format!(
                                        "IP set {}: Addresses[{i}] {a:?} is not a CIDR block",
                                        src.name
                                    ),
                                ),
                            }
                        }
                        let s = Arc::new(mset);
                        self.ip_sets.insert(r.arn.clone(), s.clone());
                        s
                    }
                };
                let forwarded = r.ip_set_forwarded_ip_config.as_ref().map(|f| {
                    if !valid_header_name(&f.header_name) {
                        self.err(
                            &format!("{p}.IPSetForwardedIPConfig.HeaderName"),
                            "not a valid header name",
                        );
                    }
                    (
                        f.header_name.to_ascii_lowercase(),
                        f.fallback_behavior,
                        f.position,
                    )
                });
                Some(CStatement::Ip { set, forwarded })
            }
            Statement::GeoMatchStatement(g) => {
                let p = format!("{p}.GeoMatchStatement");
                let Some(db) = self.res.geo.clone() else {
                    self.err(
                        &p,
                        "GeoMatchStatement needs a country database (MaxMind DB format): set server.waf.geo_database",
                    );
                    return None;
                };
                if g.country_codes.is_empty() {
                    self.err(
                        &format!("{p}.CountryCodes"),
                        "needs at least one country code",
                    );
                }
                let mut countries = Vec::new();
                for (i, c) in g.country_codes.iter().enumerate() {
                    match c.as_bytes() {
                        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
                            countries.push([*a, *b])
                        }
                        _ => self.err(
                            &format!("{p}.CountryCodes[{i}]"),
                            &format!("{c:?} is not an ISO 3166-1 alpha-2 code (e.g. \"NL\")"),
                        ),
                    }
                }
                let forwarded = self.forwarded(
                    g.forwarded_ip_config.as_ref(),
                    &format!("{p}.ForwardedIPConfig"),
                );
                Some(CStatement::Geo {
                    db,
                    countries,
                    forwarded,
                })
            }
            Statement::LabelMatchStatement(l) => {
                let p = format!("{p}.LabelMatchStatement");
                self.check_label(&format!("{p}.Key"), &l.key);
                let mut key = l.key.clone();
                if l.scope == LabelScope::Namespace && !key.ends_with(':') {
                    key.push(':');
                }
                Some(CStatement::Label {
                    scope: l.scope,
                    key,
                })
            }
            Statement::RateBasedStatement(r) => {
                let p = format!("{p}.RateBasedStatement");
                if !top {
                    self.err(
                        &p,
                        "a rate-based statement cannot be nested inside another statement",
                    );
                    return None;
                }
                if r.limit < 10 || r.limit > 2_000_000_000 {
                    self.err(&format!("{p}.Limit"), "must be 10 to 2000000000");
                }
                let window = r.evaluation_window_sec.unwrap_or(300);
                if ![60, 120, 300, 600].contains(&window) {
                    self.err(
                        &format!("{p}.EvaluationWindowSec"),
                        "must be 60, 120, 300 or 600",
                    );
                }
                let fwd = self.forwarded(
                    r.forwarded_ip_config.as_ref(),
                    &format!("{p}.ForwardedIPConfig"),
                );
                let key = match r.aggregate_key_type {
                    AggregateKeyType::Ip => AggKey::Ip,
                    AggregateKeyType::Constant => AggKey::Constant,
                    AggregateKeyType::ForwardedIp => match fwd.clone() {
                        Some((h, fb)) => AggKey::Forwarded(h, fb),
                        None => {
                            self.err(
                                &format!("{p}.ForwardedIPConfig"),
                                "required with AggregateKeyType FORWARDED_IP",
                            );
                            return None;
                        }
                    },
                    AggregateKeyType::CustomKeys => {
                        if r.custom_keys.is_empty() || r.custom_keys.len() > 5 {
                            self.err(&format!("{p}.CustomKeys"), "CUSTOM_KEYS needs 1 to 5 keys");
                        }
                        let mut parts = Vec::new();
                        for (i, k) in r.custom_keys.iter().enumerate() {
                            let kp = format!("{p}.CustomKeys[{i}]");
                            let mut n = 0;
                            let mut part = None;
                            if let Some(h) = &k.header {
                                n += 1;
                                part = Some(CustomPart::Header(
                                    h.name.to_ascii_lowercase(),
                                    self.key_transforms(&h.text_transformations, &kp),
                                ));
                            }
                            if let Some(c) = &k.cookie {
                                n += 1;
                                part = Some(CustomPart::Cookie(
                                    c.name.clone(),
                                    self.key_transforms(&c.text_transformations, &kp),
                                ));
                            }
                            if let Some(q) = &k.query_argument {
                                n += 1;
                                part = Some(CustomPart::QueryArg(
                                    q.name.to_ascii_lowercase(),
                                    self.key_transforms(&q.text_transformations, &kp),
                                ));
                            }
                            if let Some(q) = &k.query_string {
                                n += 1;
                                part = Some(CustomPart::QueryString(
                                    self.key_transforms(&q.text_transformations, &kp),
                                ));
                            }
                            if k.http_method.is_some() {
                                n += 1;
                                part = Some(CustomPart::Method);
                            }
                            if let Some(u) = &k.uri_path {
                                n += 1;
                                part = Some(CustomPart::UriPath(
                                    self.key_transforms(&u.text_transformations, &kp),
                                ));
                            }
                            if k.ip.is_some() {
                                n += 1;
                                part = Some(CustomPart::Ip);
                            }
                            if k.forwarded_ip.is_some() {
                                n += 1;
                                match fwd.clone() {
                                    Some((h, fb)) => part = Some(CustomPart::ForwardedIp(h, fb)),
                                    None => self.err(
                                        &format!("{kp}.ForwardedIP"),
                                        "needs the statement's ForwardedIPConfig",
                                    ),
                                }
                            }
                            if let Some(l) = &k.label_namespace {
                                n += 1;
                                self.check_label(
                                    &format!("{kp}.LabelNamespace.Namespace"),
                                    &l.namespace,
                                );
                                let mut ns = l.namespace.clone();
                                if !ns.ends_with(':') {
                                    ns.push(':');
                                }
                                part = Some(CustomPart::LabelNamespace(ns));
                            }
                            match (n, part) {
                                (1, Some(part)) => parts.push(part),
                                _ => self.err(&kp, "must have exactly one key type"),
                            }
                        }
                        AggKey::Custom(parts)
                    }
                };
                if r.aggregate_key_type != AggregateKeyType::CustomKeys && !r.custom_keys.is_empty()
                {
                    self.err(
                        &format!("{p}.CustomKeys"),
                        "only with AggregateKeyType CUSTOM_KEYS",
                    );
                }
                let scope_down = match &r.scope_down_statement {
                    Some(s) => {
                        Some(self.statement(s, &format!("{p}.ScopeDownStatement"), false)?)
                    }
                    None => None,
                };
                let tracker = match RateTracker::new(RateConfig {
                    limit: r.limit.max(1),
                    window_secs: if [60, 120, 300, 600].contains(&window) {
                        window
                    } else {
                        300
                    },
                    max_keys: self.rate_max_keys,
                }) {
                    Ok(t) => t,
                    Err(e) => {
                        self.err(&p, &e.to_string());
                        return None;
                    }
                };
                // Addresses over the limit can be listed (`CompiledAcl::rate_managed_keys`).
                let tracker = if matches!(key, AggKey::Ip | AggKey::Forwarded(..)) {
                    tracker.remember_limited_keys()
                } else {
                    tracker
                };
                Some(CStatement::Rate(Box::new(CRate {
                    tracker: Arc::new(tracker),
                    adopted: std::sync::OnceLock::new(),
                    key,
                    scope_down,
                })))
            }
            Statement::AndStatement(s) | Statement::OrStatement(s) => {
                let and = matches!(st, Statement::AndStatement(_));
                let p = format!("{p}.{}", if and { "AndStatement" } else { "OrStatement" });
                if s.statements.len() < 2 {
                    self.err(&format!("{p}.Statements"), "needs at least 2 statements");
                }
                let mut v = Vec::new();
                for (i, c) in s.statements.iter().enumerate() {
                    v.push(self.statement(c, &format!("{p}.Statements[{i}]"), false)?);
                }
                Some(if and {
                    CStatement::And(v)
                } else {
                    CStatement::Or(v)
                })
            }
            Statement::NotStatement(n) => {
                let c =
                    self.statement(&n.statement, &format!("{p}.NotStatement.Statement"), false)?;
                Some(CStatement::Not(Box::new(c)))
            }
            Statement::ManagedRuleGroupStatement(_) | Statement::RuleGroupReferenceStatement(_) => {
                self.err(
                    p,
                    "a rule group statement can only be a rule's top-level statement",
                );
                None
            }
        }
    }

    fn key_transforms(&mut self, ts: &[TextTransformation], p: &str) -> Vec<TransformType> {
        if ts.is_empty() {
            return Vec::new();
        }
        self.transforms(ts, &format!("{p}.TextTransformations"))
    }
}

/// Patterns are compiled for bytes with ASCII semantics first (`\b`, `\w`, `(?i)` on
/// ASCII): the fast DFA engines handle every input then, whereas Unicode word boundaries
/// force the slow PikeVM on non-ASCII text. Patterns that need Unicode (classes such as
/// `\p{L}`) fall back to Unicode mode. The `bool` says which mode built it (`true`: ASCII).
fn build_regex(p: &str) -> Result<(regex::bytes::Regex, bool), regex::Error> {
    ascii_regex(p)
        .map(|re| (re, true))
        .or_else(|_| unicode_regex(p).map(|re| (re, false)))
}

/// The regex that matches a value where `p` matches it lowercased ([`lowercase_fold`]), in
/// the mode [`build_regex`] would build `p` in; `None` if `p` does not rewrite or the
/// rewritten pattern does not build (the statement keeps its LOWERCASE then).
fn folded_regex(p: &str) -> Option<(regex::bytes::Regex, bool)> {
    let f = lowercase_fold::fold(p)?;
    let built = if f.ascii {
        ascii_regex(&f.pattern)
    } else {
        unicode_regex(&f.pattern)
    };
    built.ok().map(|re| (re, f.ascii))
}

/// A pattern in the Unicode mode, [`build_regex`]'s fallback.
fn unicode_regex(p: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(p)
        .size_limit(4 << 20)
        .dfa_size_limit(4 << 20)
        .build()
}

/// A pattern in the ASCII mode [`build_regex`] tries first.
fn ascii_regex(p: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(p)
        .unicode(false)
        .size_limit(4 << 20)
        .dfa_size_limit(4 << 20)
        .build()
}

/// Patterns as a set in the ASCII mode [`build_regex_set`] tries first.
fn ascii_regex_set<S: AsRef<str>>(p: &[S]) -> Result<regex::bytes::RegexSet, regex::Error> {
    regex::bytes::RegexSetBuilder::new(p)
        .unicode(false)
        .size_limit(8 << 20)
        .dfa_size_limit(8 << 20)
        .build()
}

/// Every rate-based statement of `rules`, with the qualified name of its rule and its place
/// among the rule's rate statements.
fn each_rate(rules: &[CRule], f: &mut impl FnMut(&str, usize, &CRate)) {
    fn walk(s: &CStatement, rule: &str, n: &mut usize, f: &mut impl FnMut(&str, usize, &CRate)) {
        match s {
            CStatement::Rate(r) => {
                f(rule, *n, r);
                *n += 1;
                if let Some(s) = &r.scope_down {
                    walk(s, rule, n, f);
                }
            }
            CStatement::And(v) | CStatement::Or(v) => {
                v.iter().for_each(|s| walk(s, rule, n, f));
            }
            CStatement::Not(s) => walk(s, rule, n, f),
            _ => {}
        }
    }
    for r in rules {
        let mut n = 0;
        match &r.kind {
            CKind::Plain { statement, .. } => walk(statement, &r.qualified, &mut n, f),
            CKind::Group {
                scope_down, rules, ..
            } => {
                if let Some(s) = scope_down {
                    walk(s, &r.qualified, &mut n, f);
                }
                each_rate(rules, f);
            }
        }
    }
}

/// Every statement of `rules`, rule groups, scope-downs and nested statements included,
/// in evaluation order.
fn each_statement(rules: &mut [CRule], f: &mut impl FnMut(&mut CStatement)) {
    fn walk(s: &mut CStatement, f: &mut impl FnMut(&mut CStatement)) {
        f(s);
        match s {
            CStatement::And(v) | CStatement::Or(v) => v.iter_mut().for_each(|s| walk(s, f)),
            CStatement::Not(s) => walk(s, f),
            CStatement::Rate(r) => {
                if let Some(s) = &mut r.scope_down {
                    walk(s, f);
                }
            }
            _ => {}
        }
    }
    for r in rules {
        match &mut r.kind {
            CKind::Plain { statement, .. } => walk(statement, f),
            CKind::Group {
                scope_down, rules, ..
            } => {
                if let Some(s) = scope_down {
                    walk(s, f);
                }
                each_statement(rules, f);
            }
        }
    }
}

/// The regex patterns of one field and transformation chain, and the chain's trigger classes.
struct ChainPatterns {
    patterns: Vec<String>,
    /// The first pattern as its statement built it (a group of one keeps it).
    first: regex::bytes::Regex,
    triggers: u32,
}

/// Turn regex statements that share the values they inspect (`CField::values_key`) and a
/// transformation chain into members of one [`RegexGroup`] (a group of one when a pattern
/// is alone), and the groups on the same values into one [`FieldSet`]. Only patterns that
/// compile in the ASCII mode (as [`build_regex`] compiles them first) are grouped, so a
/// pattern means the same alone and in a set; a set that does not build within the limits
/// is left out (its statements stay separate regexes, or its groups without a field set).
fn group_regexes(rules: &mut [CRule], slots: &mut Slots) {
    // Pass 1: the group key of each regex statement in walk order (`None`: the pattern
    // needs Unicode mode and stays alone), the patterns of each key and its chain's
    // trigger classes.
    let mut keys: Vec<Option<(String, String)>> = Vec::new();
    let mut patterns: BTreeMap<(String, String), ChainPatterns> = BTreeMap::new();
    each_statement(rules, &mut |s| {
        if let CStatement::Match {
            field,
            transforms,
            triggers,
            test: Test::Regex { re, ascii, .. },
            ..
        } = s
        {
            let key = ascii.then(|| (field.values_key(), format!("{transforms:?}")));
            if let Some(k) = &key {
                let entry = patterns.entry(k.clone()).or_insert_with(|| ChainPatterns {
                    patterns: Vec::new(),
                    first: re.clone(),
                    triggers: *triggers,
                });
                entry.patterns.push(re.as_str().to_owned());
            }
            keys.push(key);
        }
    });
    // Field sets first (groups refer to theirs), over the groups that will get ids below
    // 64: ids go in key order, which puts a field's groups together.
    let mut field_sets: HashMap<String, Arc<FieldSet>> = HashMap::new();
    let mut by_field: BTreeMap<&str, Vec<(usize, &ChainPatterns)>> = BTreeMap::new();
    for (id, ((field, _), v)) in patterns.iter().enumerate() {
        if id < 64 {
            by_field.entry(field.as_str()).or_default().push((id, v));
        }
    }
    for (field, members) in by_field {
        if members.len() < 2 || field_sets.len() >= 64 {
            continue;
        }
        let pats: Vec<&str> = members
            .iter()
            .flat_map(|(_, c)| c.patterns.iter().map(String::as_str))
            .collect();
        if let Ok(set) = ascii_regex_set(&pats) {
            field_sets.insert(
                field.to_owned(),
                Arc::new(FieldSet {
                    id: field_sets.len(),
                    set,
                    lazy: Lazy::build(&pats, slots),
                    triggers: members.iter().fold(0, |t, (_, c)| t | c.triggers),
                    members: members.iter().fold(0, |b, (id, _)| b | 1 << id),
                }),
            );
        }
    }
    let mut groups: HashMap<(String, String), (Arc<RegexGroup>, usize)> = HashMap::new();
    for (id, (k, chain)) in patterns.into_iter().enumerate() {
        let built = match chain.patterns.len() {
            1 => Ok(GroupPatterns::One(chain.first)),
            _ => ascii_regex_set(&chain.patterns).map(GroupPatterns::Set),
        };
        if let Ok(group_patterns) = built {
            let pats: Vec<&str> = chain.patterns.iter().map(String::as_str).collect();
            let lazy = Lazy::build(&pats, slots);
            let field_set = field_sets
                .get(&k.0)
                .filter(|f| id < 64 && f.members >> id & 1 == 1)
                .cloned();
            let group = RegexGroup {
                id,
                patterns: group_patterns,
                lazy,
                field_set,
            };
            groups.insert(k, (Arc::new(group), 0));
        }
    }
    // Pass 2: the same walk, members become pattern `n` of their group in pattern order.
    let mut keys = keys.into_iter();
    each_statement(rules, &mut |s| {
        if let CStatement::Match {
            test: test @ Test::Regex { .. },
            ..
        } = s
        {
            let key = keys.next().flatten();
            if let Some((group, next)) = key.as_ref().and_then(|k| groups.get_mut(k)) {
                *test = Test::Grouped(group.clone(), *next);
                *next += 1;
            } else if let (Some(_), Test::Regex { re, lazy, .. }) = (key, &mut *test) {
                // In the ASCII mode, but its group's set did not build.
                *lazy = Lazy::build(&[re.as_str()], slots);
            }
        }
    });
}

impl CField {
    /// Which values the field yields, for grouping regexes: fields that differ only in which
    /// of the same values they look at (a header name, a name filter, a scope, oversize or
    /// invalid-JSON handling) hand the same bytes to their statements, so one set pass per
    /// value can answer them all. `SingleHeader` yields the values `Headers` does, and
    /// `SingleQueryArgument` those `AllQueryArguments` does (both are slices of the query).
    fn values_key(&self) -> String {
        match self {
            CField::Headers { .. } | CField::SingleHeader(_) => "Headers".into(),
            CField::AllQueryArguments | CField::SingleQueryArgument(_) => "QueryArguments".into(),
            CField::Cookies { .. } => "Cookies".into(),
            CField::Body(_) => "Body".into(),
            CField::JsonBody { .. } => "JsonBody".into(),
            CField::HeaderOrder(_) => "HeaderOrder".into(),
            other => format!("{other:?}"),
        }
    }
}

fn build_regex_set(p: &[&str]) -> Result<regex::bytes::RegexSet, regex::Error> {
    ascii_regex_set(p).or_else(|_| {
        regex::bytes::RegexSetBuilder::new(p)
            .size_limit(8 << 20)
            .dfa_size_limit(8 << 20)
            .build()
    })
}

fn set_count(r: &mut CRule) {
    match &mut r.kind {
        CKind::Plain { action, .. } => *action = CAction::Count(Vec::new()),
        CKind::Group { count_only, .. } => *count_only = true,
    }
}

/// The account of an ARN (`arn:aws:wafv2:REGION:ACCOUNT:...`), for label namespaces;
/// `000000000000` without one.
fn account_of(arn: Option<&str>) -> &str {
    arn.and_then(|a| a.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000")
}

/// A label name qualified by its namespace (names that already carry `awswaf:` are kept).
fn qualify(ns: &str, name: &str) -> String {
    if name.starts_with("awswaf:") {
        name.to_owned()
    } else {
        format!("{ns}{name}")
    }
}

/// AWS's label syntax (`RuleLabels[].Name`, `LabelMatchStatement.Key`, label namespaces):
/// 1 to 1024 characters of `[0-9A-Za-z_\-:]`, `:` separating namespaces. AWS refuses
/// anything else, so an ACL that loads here would not deploy there; and a space or `!`
/// in a label is a typo that would otherwise only show as a label never matching.
fn valid_label(l: &str) -> bool {
    (1..=1024).contains(&l.len())
        && l.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b':')
}

fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
}

fn valid_header_value(v: &str) -> bool {
    v.len() <= 255 && v.bytes().all(|c| c == b'\t' || (0x20..0x7f).contains(&c))
}
