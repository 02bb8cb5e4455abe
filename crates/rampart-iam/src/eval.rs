//! Evaluation: explicit deny wins, then an allow, else implicit deny.
//!
//! A [`PolicySet`] is compiled once from its policies. Statements are indexed by the
//! literal prefix of their resource patterns (a byte trie), so a request only looks at the
//! statements whose resources could match it: with thousands of statements for other
//! APIs, stages and paths, the cost stays that of the few that apply.

use std::borrow::Cow;

use crate::context::Context;
use crate::glob::{ArnGlob, HeadCache};
use crate::policy::{
    ActionMatch, Effect, Policy, PrincipalMatch, PrincipalPattern, ResourceMatch, ResourcePattern,
    Statement,
};

/// The result of an evaluation. Total: every evaluation ends in one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `arn:aws:iam::123456789012:user/alice`, `arn:aws:sts::...:assumed-role/r/s`, a
    /// service name, or `anonymous`.
    pub arn: String,
    pub account: Option<String>,
    pub kind: CallerKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    Anonymous,
    /// An IAM user, role or role session (or an account root).
    Aws,
    /// A web-identity or SAML user: the provider (`cognito-identity.amazonaws.com`, an
    /// OIDC issuer, ...).
    Federated(String),
    /// An AWS service principal (`lambda.amazonaws.com`).
    Service,
}

impl Caller {
    pub fn anonymous() -> Self {
        Caller {
            arn: "anonymous".into(),
            account: None,
            kind: CallerKind::Anonymous,
        }
    }

    /// An IAM principal: the account is read from the ARN.
    pub fn aws(arn: &str) -> Self {
        Caller {
            arn: arn.to_string(),
            account: arn
                .split(':')
                .nth(4)
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            kind: CallerKind::Aws,
        }
    }
}

/// One authorization question.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Lower-cased.
    action: Cow<'a, str>,
    pub resource: &'a str,
    pub caller: &'a Caller,
    pub context: &'a Context,
}

impl<'a> Request<'a> {
    pub fn new(
        action: &'a str,
        resource: &'a str,
        caller: &'a Caller,
        context: &'a Context,
    ) -> Self {
        let action = if action.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(action.to_ascii_lowercase())
        } else {
            Cow::Borrowed(action)
        };
        Request {
            action,
            resource,
            caller,
            context,
        }
    }

    pub fn action(&self) -> &str {
        &self.action
    }
}

/// Why a statement does not apply to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Principal,
    Action,
    Resource,
    /// The condition (operator, key) that did not hold.
    Condition {
        operator: String,
        key: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Principal => f.write_str("the caller does not match Principal/NotPrincipal"),
            Mismatch::Action => f.write_str("the action does not match Action/NotAction"),
            Mismatch::Resource => f.write_str("the resource does not match Resource/NotResource"),
            Mismatch::Condition { operator, key } => {
                write!(f, "condition {operator} on {key} is not met")
            }
        }
    }
}

/// Does a statement apply? `Err` says which element failed first.
pub fn check(st: &Statement, req: &Request) -> Result<(), Mismatch> {
    check_fast(st, req, &mut HeadCache::default()).map_err(|m| match m {
        Failed::Principal => Mismatch::Principal,
        Failed::Action => Mismatch::Action,
        Failed::Resource => Mismatch::Resource,
        Failed::Condition(i) => {
            let c = &st.conditions[i];
            Mismatch::Condition {
                operator: c.operator_name.clone(),
                key: c.key_name.clone(),
            }
        }
    })
}

/// [`Mismatch`] without allocation, for the evaluation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failed {
    Principal,
    Action,
    Resource,
    Condition(usize),
}

fn check_fast(st: &Statement, req: &Request, heads: &mut HeadCache) -> Result<(), Failed> {
    if let Some(p) = &st.principal {
        let hit = |pats: &[PrincipalPattern]| pats.iter().any(|p| principal_matches(p, req.caller));
        let ok = match p {
            PrincipalMatch::Principal(pats) => hit(pats),
            PrincipalMatch::NotPrincipal(pats) => {
                !pats.iter().any(|p| not_principal_names(p, req.caller))
            }
        };
        if !ok {
            return Err(Failed::Principal);
        }
    }
    let ok = match &st.action {
        ActionMatch::Action(gs) => gs.iter().any(|g| g.is_match(req.action())),
        ActionMatch::NotAction(gs) => !gs.iter().any(|g| g.is_match(req.action())),
    };
    if !ok {
        return Err(Failed::Action);
    }
    let mut hit = |pats: &[ResourcePattern]| {
        pats.iter().any(|p| match p {
            ResourcePattern::Plain(g) => g.is_match_cached(req.resource, heads),
            ResourcePattern::Template(t) => t
                .resolve_segs(req.context)
                .is_some_and(|s| ArnGlob::from_segs(s).is_match(req.resource)),
        })
    };
    let ok = match &st.resource {
        ResourceMatch::Resource(pats) => hit(pats),
        // A pattern whose variable cannot be resolved must not make "every other
        // resource" match: IAM treats the statement as not applying.
        ResourceMatch::NotResource(pats) => {
            !hit(pats)
                && pats.iter().all(|p| match p {
                    ResourcePattern::Plain(_) => true,
                    ResourcePattern::Template(t) => t.resolve_segs(req.context).is_some(),
                })
        }
    };
    if !ok {
        return Err(Failed::Resource);
    }
    for (i, c) in st.conditions.iter().enumerate() {
        if !c.holds(req.context) {
            return Err(Failed::Condition(i));
        }
    }
    Ok(())
}

fn principal_matches(p: &PrincipalPattern, c: &Caller) -> bool {
    match p {
        PrincipalPattern::Any => true,
        PrincipalPattern::Account(a) => {
            matches!(c.kind, CallerKind::Aws) && c.account.as_deref() == Some(a.as_str())
        }
        PrincipalPattern::Arn(arn) => {
            matches!(c.kind, CallerKind::Aws)
                && (c.arn == *arn || role_session_of(&c.arn).is_some_and(|r| role_matches(arn, r)))
        }
        PrincipalPattern::Federated(p) => matches!(&c.kind, CallerKind::Federated(x) if x == p),
        PrincipalPattern::Service(s) => matches!(c.kind, CallerKind::Service) && c.arn == *s,
        PrincipalPattern::Unsupported(_) => false,
    }
}

/// Is the caller one of those a `NotPrincipal` entry names? As in `Principal`, except that
/// an account names the account itself (its root), not every principal in it: with
/// `[user ARN, account ARN]` (as IAM recommends) every other user of that account is still
/// denied; and a role ARN names the role, not its sessions.
fn not_principal_names(p: &PrincipalPattern, c: &Caller) -> bool {
    match p {
        PrincipalPattern::Account(a) => {
            principal_matches(p, c) && {
                let parts: Vec<&str> = c.arn.splitn(6, ':').collect();
                parts.len() == 6 && parts[2] == "iam" && parts[4] == a && parts[5] == "root"
            }
        }
        // Exact: a role ARN does not spare the role's sessions; IAM asks for the
        // assumed-role session ARN to be listed.
        PrincipalPattern::Arn(arn) => matches!(c.kind, CallerKind::Aws) && c.arn == *arn,
        _ => principal_matches(p, c),
    }
}

/// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` → (`ACCT`, `ROLE`).
fn role_session_of(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "sts" {
        return None;
    }
    let rest = parts[5].strip_prefix("assumed-role/")?;
    let role = rest.split('/').next()?;
    Some((parts[4], role))
}

/// Does a role ARN (`arn:aws:iam::ACCT:role/path/ROLE`) name this session's role?
fn role_matches(role_arn: &str, (acct, role): (&str, &str)) -> bool {
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[2] == "iam"
        && parts[4] == acct
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|r| r.rsplit('/').next() == Some(role))
}

/// Where a statement sits: policy and statement position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    policy: u32,
    statement: u32,
}

/// Compiled policies, indexed for evaluation.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    slots: Vec<Slot>,
    index: Trie,
}

/// Under this many statements a linear scan beats the index.
const INDEX_MIN: usize = 24;

impl PolicySet {
    pub fn new(mut policies: Vec<Policy>) -> Self {
        // Equal ARN heads become one shared string, so an evaluation compares each once.
        let mut pool = std::collections::HashMap::new();
        for st in policies.iter_mut().flat_map(|p| p.statements.iter_mut()) {
            let pats = match &mut st.resource {
                ResourceMatch::Resource(p) | ResourceMatch::NotResource(p) => p,
            };
            for p in pats {
                if let ResourcePattern::Plain(g) = p {
                    g.intern_head(&mut pool);
                }
            }
        }
        let mut slots = Vec::new();
        let mut index = Trie::default();
        for (pi, p) in policies.iter().enumerate() {
            for (si, st) in p.statements.iter().enumerate() {
                let id = slots.len() as u32;
                slots.push(Slot {
                    policy: pi as u32,
                    statement: si as u32,
                });
                match &st.resource {
                    ResourceMatch::Resource(pats) => {
                        let mut prefixes: Vec<String> = pats
                            .iter()
                            .map(|p| match p {
                                ResourcePattern::Plain(g) => g.literal_prefix(),
                                ResourcePattern::Template(_) => String::new(),
                            })
                            .collect();
                        prefixes.sort();
                        prefixes.dedup();
                        for pre in prefixes {
                            index.insert(pre.as_bytes(), id);
                        }
                    }
                    ResourceMatch::NotResource(_) => index.insert(b"", id),
                }
            }
        }
        PolicySet {
            policies,
            slots,
            index,
        }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn statement_count(&self) -> usize {
        self.slots.len()
    }

    fn statement(&self, s: Slot) -> &Statement {
        &self.policies[s.policy as usize].statements[s.statement as usize]
    }

    /// Decide, without a trace. Stops at the first applicable `Deny`.
    pub fn evaluate(&self, req: &Request) -> Decision {
        let mut allow = false;
        let mut heads = HeadCache::default();
        let mut visit = |id: u32| -> bool {
            let st = self.statement(self.slots[id as usize]);
            if allow && st.effect == Effect::Allow {
                return true;
            }
            if check_fast(st, req, &mut heads).is_ok() {
                match st.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allow = true,
                }
            }
            true
        };
        let finished = if self.slots.len() < INDEX_MIN {
            (0..self.slots.len() as u32).all(&mut visit)
        } else {
            let mut ids = Vec::with_capacity(32);
            self.index.candidates(req.resource.as_bytes(), &mut ids);
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter().all(&mut visit)
        };
        if !finished {
            Decision::ExplicitDeny
        } else if allow {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Decide, and say for every statement whether it applied and if not why.
    pub fn explain(&self, req: &Request) -> Explanation {
        let mut trace = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            let p = &self.policies[s.policy as usize];
            let st = &p.statements[s.statement as usize];
            let r = check(st, req);
            trace.push(StatementTrace {
                policy: p.name.clone(),
                statement: st.index,
                sid: st.sid.clone(),
                effect: st.effect,
                applies: r.is_ok(),
                reason: r.err(),
            });
        }
        let deny = trace.iter().any(|t| t.applies && t.effect == Effect::Deny);
        let allow = trace.iter().any(|t| t.applies && t.effect == Effect::Allow);
        let decision = if deny {
            Decision::ExplicitDeny
        } else if allow {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        Explanation { decision, trace }
    }
}

/// What [`PolicySet::explain`] found.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub decision: Decision,
    pub trace: Vec<StatementTrace>,
}

impl Explanation {
    /// The statements that decided: the applicable denies for an explicit deny, the
    /// applicable allows for an allow, none for an implicit deny.
    pub fn deciding(&self) -> impl Iterator<Item = &StatementTrace> {
        let want = match self.decision {
            Decision::ExplicitDeny => Some(Effect::Deny),
            Decision::Allow => Some(Effect::Allow),
            Decision::ImplicitDeny => None,
        };
        self.trace
            .iter()
            .filter(move |t| t.applies && Some(t.effect) == want)
    }
}

/// One statement's part in a decision.
#[derive(Debug, Clone)]
pub struct StatementTrace {
    pub policy: String,
    pub statement: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub applies: bool,
    pub reason: Option<Mismatch>,
}

/// A byte trie of resource prefixes; each node lists the statements whose prefix ends there.
#[derive(Debug, Clone, Default)]
struct Trie {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
    statements: Vec<u32>,
}

impl Trie {
    fn insert(&mut self, key: &[u8], id: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let mut n = 0usize;
        for &b in key {
            n = match self.nodes[n].children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => self.nodes[n].children[i].1 as usize,
                Err(i) => {
                    let new = self.nodes.len() as u32;
                    self.nodes.push(Node::default());
                    self.nodes[n].children.insert(i, (b, new));
                    new as usize
                }
            };
        }
        self.nodes[n].statements.push(id);
    }

    /// Statements whose prefix is a prefix of `key`.
    fn candidates(&self, key: &[u8], out: &mut Vec<u32>) {
        let Some(mut node) = self.nodes.first() else {
            return;
        };
        out.extend_from_slice(&node.statements);
        for &b in key {
            match node.children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => {
                    node = &self.nodes[node.children[i].1 as usize];
                    out.extend_from_slice(&node.statements);
                }
                Err(_) => return,
            }
        }
    }
}
