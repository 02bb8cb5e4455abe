//! `rampart policy simulate` and `rampart policy validate`, run as a user runs them: the
//! decision and the statements that made it, why every other statement did not apply,
//! the JSON forms, multi-valued context keys, API Gateway's combination of identity and
//! resource policies, case files, and the exit statuses scripts rely on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rampart");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/policy");
/// The API every fixture is about.
const API: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const BOB: &str = "arn:aws:iam::999988887777:user/bob";

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Output {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{}", self.stdout))
    }

    /// Every stdout line as JSON.
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
}

fn fixture(name: &str) -> String {
    format!("{DATA}/{name}")
}

fn rampart(args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `rampart policy simulate` with these arguments.
fn simulate(args: &[&str]) -> Output {
    let mut all = vec!["policy", "simulate"];
    all.extend_from_slice(args);
    rampart(&all)
}

/// `rampart policy validate` with these arguments.
fn validate(args: &[&str]) -> Output {
    let mut all = vec!["policy", "validate"];
    all.extend_from_slice(args);
    rampart(&all)
}

/// The text trace line of one statement.
fn trace_line<'a>(out: &'a Output, label: &str) -> &'a str {
    out.lines()
        .into_iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no trace line for {label}:\n{}", out.stdout))
}

// ---------------------------------------------------------------------------------------
// simulate: identity policies alone
// ---------------------------------------------------------------------------------------

#[test]
fn allow_names_the_deciding_statement_and_exits_0() {
    let id = fixture("identity.json");
    let res = format!("{API}/prod/GET/pets/dog");
    let out = simulate(&["--policy", &id, "--resource", &res, "--principal", ALICE]);
    out.assert_code(0);
    let lines = out.lines();
    assert_eq!(lines[0], "decision: Allow");
    assert_eq!(
        lines[1],
        format!("decided by: {id} Statement[0] (Sid ReadPets) [Allow]")
    );
    assert_eq!(
        trace_line(&out, &format!("{id} Statement[0]")),
        format!("  {id} Statement[0] (Sid ReadPets) [Allow]: applies")
    );
    assert_eq!(
        trace_line(&out, &format!("{id} Statement[2]")),
        format!(
            "  {id} Statement[2] (Sid NoDeletes) [Deny]: does not apply: the resource does not match Resource/NotResource"
        )
    );
    assert!(
        out.stderr.is_empty(),
        "no warnings expected: {}",
        out.stderr
    );
}

#[test]
fn explicit_deny_names_the_deny_and_exits_1() {
    let id = fixture("identity.json");
    let res = format!("{API}/prod/DELETE/pets/dog");
    let out = simulate(&["--policy", &id, "--resource", &res, "--principal", ALICE]);
    out.assert_code(1);
    let lines = out.lines();
    assert_eq!(lines[0], "decision: ExplicitDeny");
    assert_eq!(
        lines[1],
        format!("decided by: {id} Statement[2] (Sid NoDeletes) [Deny]")
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("decided by:"))
            .count(),
        1
    );
}

#[test]
fn implicit_deny_says_which_condition_failed_and_exits_1() {
    let id = fixture("identity.json");
    let res = format!("{API}/prod/POST/admin/users");
    let out = simulate(&[
        "--policy",
        &id,
        "--resource",
        &res,
        "--context",
        "aws:SourceIp=192.0.2.1",
    ]);
    out.assert_code(1);
    let lines = out.lines();
    assert_eq!(lines[0], "decision: ImplicitDeny");
    assert_eq!(
        lines[1],
        "decided by: no statement allows the request (implicit deny)"
    );
    assert_eq!(
        trace_line(&out, &format!("{id} Statement[1]")),
        format!(
            "  {id} Statement[1] (Sid AdminFromOffice) [Allow]: does not apply: condition IpAddress on aws:SourceIp is not met"
        )
    );
    assert!(trace_line(&out, &format!("{id} Statement[0]"))
        .ends_with("does not apply: the resource does not match Resource/NotResource"));

    // From the office, the same statement applies.
    let out = simulate(&[
        "--policy",
        &id,
        "--resource",
        &res,
        "--context",
        "aws:SourceIp=203.0.113.7",
    ]);
    out.assert_code(0);
    assert_eq!(
        out.lines()[1],
        format!("decided by: {id} Statement[1] (Sid AdminFromOffice) [Allow]")
    );
}

#[test]
fn several_policy_files_are_evaluated_together() {
    let id = fixture("identity.json");
    let groups = fixture("groups.json");
    let res = format!("{API}/prod/DELETE/pets/dog");
    // groups.json allows everything to admins, identity.json denies deletes: deny wins.
    let out = simulate(&[
        "--policy",
        &id,
        &groups,
        "--resource",
        &res,
        "--context",
        "jwt:groups=admins",
    ]);
    out.assert_code(1);
    assert_eq!(out.lines()[0], "decision: ExplicitDeny");
    assert!(trace_line(&out, &format!("{groups} Statement[0]")).ends_with(": applies"));
    // The same with --policy repeated.
    let again = simulate(&[
        "--policy",
        &id,
        "--policy",
        &groups,
        "--resource",
        &res,
        "--context",
        "jwt:groups=admins",
    ]);
    assert_eq!(again.stdout, out.stdout);
}

// ---------------------------------------------------------------------------------------
// simulate --json
// ---------------------------------------------------------------------------------------

#[test]
fn json_output_has_the_decision_the_deciding_statements_and_the_trace() {
    let id = fixture("identity.json");
    let res = format!("{API}/prod/DELETE/pets/dog");
    let out = simulate(&["--policy", &id, "--resource", &res, "--json"]);
    out.assert_code(1);
    assert_eq!(out.lines().len(), 1, "one JSON object on one line");
    let v = out.json();
    assert_eq!(v["decision"], "ExplicitDeny");
    assert_eq!(v["identity"], "ExplicitDeny");
    assert_eq!(v["resource"], Value::Null);
    assert_eq!(
        v["deciding"],
        serde_json::json!([{"policy": id, "statement": 2, "sid": "NoDeletes", "effect": "Deny"}])
    );
    let trace = v["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 3);
    for t in trace {
        for k in ["policy", "statement", "sid", "effect", "applies", "reason"] {
            assert!(t.get(k).is_some(), "trace entry without {k}: {t}");
        }
    }
    assert_eq!(
        trace[0],
        serde_json::json!({
            "policy": id, "statement": 0, "sid": "ReadPets", "effect": "Allow",
            "applies": false, "reason": "the resource does not match Resource/NotResource",
        })
    );
    assert_eq!(trace[2]["applies"], true);
    assert_eq!(trace[2]["reason"], Value::Null);

    // An implicit deny: nothing decided; the failed condition is in the trace.
    let res = format!("{API}/prod/POST/admin/users");
    let out = simulate(&["--policy", &id, "--resource", &res, "--json"]);
    out.assert_code(1);
    let v = out.json();
    assert_eq!(v["decision"], "ImplicitDeny");
    assert_eq!(v["deciding"], serde_json::json!([]));
    assert_eq!(
        v["trace"][1]["reason"],
        "condition IpAddress on aws:SourceIp is not met"
    );
}

// ---------------------------------------------------------------------------------------
// simulate: request context
// ---------------------------------------------------------------------------------------

#[test]
fn a_context_key_given_several_times_is_multi_valued() {
    let groups = fixture("groups.json");
    let tags = format!("{API}/prod/POST/tags");
    // ForAllValues: every request value must be allowed (keys are case-insensitive, so
    // both spellings make one key with two values).
    let out = simulate(&[
        "--policy",
        &groups,
        "--resource",
        &tags,
        "--context",
        "aws:TagKeys=team",
        "--context",
        "aws:tagkeys=env",
    ]);
    out.assert_code(0);
    assert_eq!(
        out.lines()[1],
        format!("decided by: {groups} Statement[1] (Sid TaggedOnly) [Allow]")
    );
    let out = simulate(&[
        "--policy",
        &groups,
        "--resource",
        &tags,
        "--context",
        "aws:TagKeys=team",
        "--context",
        "aws:TagKeys=secret",
    ]);
    out.assert_code(1);
    assert!(
        trace_line(&out, &format!("{groups} Statement[1]")).ends_with(
            "does not apply: condition ForAllValues:StringEquals on aws:TagKeys is not met"
        ),
        "{}",
        out.stdout
    );

    // ForAnyValue: one of the values is enough.
    let pets = format!("{API}/prod/GET/pets");
    let out = simulate(&[
        "--policy",
        &groups,
        "--resource",
        &pets,
        "--context",
        "jwt:groups=users",
        "--context",
        "jwt:groups=admins",
        "--json",
    ]);
    out.assert_code(0);
    assert_eq!(out.json()["deciding"][0]["sid"], "AdminsAnywhere");
    let out = simulate(&[
        "--policy",
        &groups,
        "--resource",
        &pets,
        "--context",
        "jwt:groups=users",
        "--json",
    ]);
    out.assert_code(1);
    assert_eq!(
        out.json()["trace"][0]["reason"],
        "condition ForAnyValue:StringEquals on jwt:groups is not met"
    );
}

#[test]
fn the_principal_sets_its_context_keys_unless_given() {
    let policy = fixture("self-service.json");
    let own = format!("{API}/prod/GET/users/alice");
    let other = format!("{API}/prod/GET/users/bob");
    let out = simulate(&[
        "--policy",
        &policy,
        "--resource",
        &own,
        "--principal",
        ALICE,
    ]);
    out.assert_code(0);
    let out = simulate(&[
        "--policy",
        &policy,
        "--resource",
        &other,
        "--principal",
        ALICE,
    ]);
    out.assert_code(1);
    // An explicit --context wins over the derived value.
    let out = simulate(&[
        "--policy",
        &policy,
        "--resource",
        &other,
        "--principal",
        ALICE,
        "--context",
        "aws:username=bob",
    ]);
    out.assert_code(0);
    // Anonymous: no aws:username, the variable matches nothing.
    let out = simulate(&["--policy", &policy, "--resource", &own]);
    out.assert_code(1);
}

// ---------------------------------------------------------------------------------------
// simulate: identity + resource policies (API Gateway's combination)
// ---------------------------------------------------------------------------------------

#[test]
fn a_resource_policy_deny_wins_over_an_identity_allow() {
    let id = fixture("identity.json");
    let rp = fixture("resource.json");
    let res = format!("{API}/prod/GET/pets/dog");
    let out = simulate(&[
        "--policy",
        &id,
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--principal",
        ALICE,
    ]);
    out.assert_code(1);
    let lines = out.lines();
    assert_eq!(lines[0], "decision: ExplicitDeny");
    assert_eq!(
        lines[1],
        format!("decided by: {rp} Statement[0] (Sid OnlyThroughVpce) [Deny]")
    );
    assert!(out
        .stdout
        .contains("\nidentity policies: Allow\nresource policy: ExplicitDeny\n"));
    // Through the endpoint, the deny's negated condition fails, and it says so.
    let out = simulate(&[
        "--policy",
        &id,
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--principal",
        ALICE,
        "--context",
        "aws:SourceVpce=vpce-0abc",
        "--json",
    ]);
    out.assert_code(0);
    let v = out.json();
    assert_eq!(v["decision"], "Allow");
    assert_eq!(v["identity"], "Allow");
    assert_eq!(v["resource"], "ImplicitDeny");
    let rp_trace: Vec<&Value> = v["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["policy"] == rp.as_str())
        .collect();
    assert_eq!(rp_trace.len(), 2);
    assert_eq!(
        rp_trace[0]["reason"],
        "condition StringNotEquals on aws:SourceVpce is not met"
    );
    assert_eq!(
        rp_trace[1]["reason"],
        "the caller does not match Principal/NotPrincipal"
    );
    // Same account: the identity allow alone decides.
    assert_eq!(
        v["deciding"],
        serde_json::json!([{"policy": id, "statement": 0, "sid": "ReadPets", "effect": "Allow"}])
    );
}

#[test]
fn a_cross_account_caller_needs_both_sides_to_allow() {
    let id = fixture("identity.json");
    let rp = fixture("resource-full-arn.json");
    let res = format!("{API}/prod/GET/pets/dog");
    // Resource policy alone: not enough from another account (--auth defaults to iam).
    let out = simulate(&[
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--principal",
        BOB,
    ]);
    out.assert_code(1);
    let lines = out.lines();
    assert_eq!(lines[0], "decision: ImplicitDeny");
    assert!(lines[1].contains("both the identity policies and the resource policy must allow"));
    assert!(out.stdout.contains(
        "authorization: iam (caller account 999988887777, API account 123456789012: cross-account"
    ));
    // Both sides allow: allowed, and both statements decided.
    let out = simulate(&[
        "--policy",
        &id,
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--principal",
        BOB,
        "--json",
    ]);
    out.assert_code(0);
    let v = out.json();
    let sids: Vec<&str> = v["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["ReadPets", "PartnerAccount"]);
    // Without authorization the resource policy alone decides.
    let out = simulate(&[
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--principal",
        BOB,
        "--auth",
        "none",
    ]);
    out.assert_code(0);
    assert!(out.stdout.contains("authorization: none\n"));
}

#[test]
fn auth_none_ignores_identity_policies() {
    let id = fixture("identity.json");
    let rp = fixture("resource-full-arn.json");
    let res = format!("{API}/prod/DELETE/pets/dog");
    // The identity side denies, but without authorization nobody consults it: the
    // anonymous caller is not the partner account, so the resource policy is silent.
    let out = simulate(&[
        "--policy",
        &id,
        "--resource-policy",
        &rp,
        "--resource",
        &res,
        "--auth",
        "none",
        "--json",
    ]);
    out.assert_code(1);
    let v = out.json();
    assert_eq!(v["decision"], "ImplicitDeny");
    assert_eq!(v["identity"], "ExplicitDeny");
    assert_eq!(v["resource"], "ImplicitDeny");
    assert_eq!(v["deciding"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------------------
// simulate: errors
// ---------------------------------------------------------------------------------------

#[test]
fn a_policy_with_errors_prints_its_findings_and_exits_2() {
    let bad = fixture("invalid.json");
    let res = format!("{API}/prod/GET/pets");
    let out = simulate(&["--policy", &bad, "--resource", &res]);
    out.assert_code(2);
    assert_eq!(out.stdout, "");
    let stderr: Vec<&str> = out.stderr.lines().collect();
    assert!(
        stderr.contains(
            &format!(
                "{bad}: error: Statement[1].Effect: Effect must be \"Allow\" or \"Deny\" [invalid-effect]"
            )
            .as_str()
        ),
        "{}",
        out.stderr
    );
    assert!(
        stderr.contains(
            &format!(
                "{bad}: error: Statement[2].Action[1]: `invoke` is not an action (service:Action, wildcards allowed) [invalid-action]"
            )
            .as_str()
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let id = fixture("identity.json");
    let res = format!("{API}/prod/GET/pets");
    // No --resource.
    simulate(&["--policy", &id]).assert_code(2);
    // No policy at all.
    simulate(&["--resource", &res]).assert_code(2);
    // --context without `=`.
    simulate(&[
        "--policy",
        &id,
        "--resource",
        &res,
        "--context",
        "aws:SourceIp",
    ])
    .assert_code(2);
    // Not a principal.
    let out = simulate(&["--policy", &id, "--resource", &res, "--principal", "alice"]);
    out.assert_code(2);
    assert!(out.stderr.contains("principal `alice`"), "{}", out.stderr);
    // A missing file.
    let missing = fixture("no-such-policy.json");
    let out = simulate(&["--policy", &missing, "--resource", &res]);
    out.assert_code(2);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    // Combining needs the API's account from the resource ARN.
    let rp = fixture("resource-full-arn.json");
    simulate(&["--resource-policy", &rp, "--resource", "pets"]).assert_code(2);
    // --cases runs on its own.
    let cases = fixture("execute_api_cases.json");
    simulate(&["--cases", &cases, "--policy", &id]).assert_code(2);
}

#[test]
fn help_documents_the_exit_status() {
    let out = simulate(&["--help"]);
    out.assert_code(0);
    assert!(out.stdout.contains("Exit status:"), "{}", out.stdout);
    assert!(out.stdout.contains("0  the decision is Allow"));
    assert!(out.stdout.contains("2  usage error"));
    let out = validate(&["--help"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("1  at least one error"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------
// simulate --cases
// ---------------------------------------------------------------------------------------

#[test]
fn every_shared_execute_api_case_matches() {
    let cases = fixture("execute_api_cases.json");
    let out = simulate(&["--cases", &cases]);
    out.assert_code(0);
    let lines = out.json_lines();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&cases).unwrap()).unwrap();
    let want = doc.as_array().unwrap();
    assert_eq!(lines.len(), want.len());
    assert!(lines.len() >= 14);
    for (line, case) in lines.iter().zip(want) {
        assert_eq!(line["name"], case["name"]);
        assert_eq!(line["expected"], case["expected"]);
        assert_eq!(line["match"], true, "{line}");
        let decision = match case["expected"].as_str().unwrap() {
            "Allowed" => "Allow",
            "ExplicitlyDenied" => "ExplicitDeny",
            "ImplicitlyDenied" => "ImplicitDeny",
            other => panic!("unexpected expectation {other}"),
        };
        assert_eq!(line["decision"], decision, "{line}");
    }
}

#[test]
fn a_wrong_expectation_exits_1() {
    let cases = fixture("wrong_expectation.json");
    let out = simulate(&["--cases", &cases]);
    out.assert_code(1);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({"name": "right: identity allow", "decision": "Allow", "expected": "Allowed", "match": true})
    );
    assert_eq!(lines[1]["decision"], "ImplicitDeny");
    assert_eq!(lines[1]["expected"], "Allowed");
    assert_eq!(lines[1]["match"], false);
    // No expectation: decided (a multi-valued context list), nothing to match.
    assert_eq!(lines[2]["decision"], "Allow");
    assert_eq!(lines[2]["expected"], Value::Null);
    assert_eq!(lines[2]["match"], Value::Null);
}

#[test]
fn a_case_that_does_not_parse_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.json");
    let resource = format!("{API}/prod/GET/pets");
    let cases = serde_json::json!([
        {"name": "fine", "resource": resource, "principal": ALICE, "expected": "ImplicitDeny",
         "identityPolicies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": format!("{API}/*/POST/*")}]}]},
        {"name": "broken", "resource": resource, "expected": "Allowed",
         "identityPolicies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke"}]}]},
        {"name": "typo", "resource": resource, "expect": "Allowed"},
    ]);
    std::fs::write(&path, cases.to_string()).unwrap();
    let out = simulate(&["--cases", path.to_str().unwrap()]);
    out.assert_code(2);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["match"], true);
    assert_eq!(lines[1]["decision"], Value::Null);
    assert_eq!(lines[1]["match"], false);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("identityPolicies[0]: error: Statement[0]: a statement needs a Resource or NotResource [missing-resource]"),
        "{}",
        lines[1]
    );
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("unknown field `expect`"));

    std::fs::write(&path, "{\"not\": \"an array\"}").unwrap();
    simulate(&["--cases", path.to_str().unwrap()]).assert_code(2);
}

// ---------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------

#[test]
fn validate_prints_every_finding_with_its_path_and_exits_1_on_errors() {
    let bad = fixture("invalid.json");
    let good = fixture("identity.json");
    let out = validate(&[&bad, &good]);
    out.assert_code(1);
    assert_eq!(
        out.lines(),
        [
            format!("{bad}: warning: Statement[0].Resource: Resource \"*\" on execute-api allows every API, stage, method and path [resource-wildcard]"),
            format!("{bad}: error: Statement[1].Effect: Effect must be \"Allow\" or \"Deny\" [invalid-effect]"),
            format!("{bad}: error: Statement[2].Action[1]: `invoke` is not an action (service:Action, wildcards allowed) [invalid-action]"),
            format!("{bad}: warning: Statement[2].Condition.StringEquals.aws:SourceVpcee: `aws:SourceVpcee` is not a condition key the gateway supplies [unknown-condition-key]"),
            format!("{good}: ok"),
        ]
    );
}

#[test]
fn validate_exits_0_with_only_warnings() {
    let warn = fixture("warnings-only.json");
    let out = validate(&[&warn]);
    out.assert_code(0);
    assert_eq!(
        out.lines(),
        [
            format!("{warn}: warning: $: no Version: policy variables are off (use \"2012-10-17\") [missing-version]"),
            format!("{warn}: warning: Statement[0].Condition.StringEquals.aws:SourceVpcee: `aws:SourceVpcee` is not a condition key the gateway supplies [unknown-condition-key]"),
        ]
    );
    let out = validate(&[&fixture("identity.json"), &fixture("self-service.json")]);
    out.assert_code(0);
    assert!(out.lines().iter().all(|l| l.ends_with(": ok")));
}

#[test]
fn validate_resource_policies() {
    let rp = fixture("resource-full-arn.json");
    let no_principal = fixture("resource-no-principal.json");
    // As an identity policy, a Principal is an error.
    let out = validate(&[&rp]);
    out.assert_code(1);
    assert_eq!(
        out.lines(),
        [format!("{rp}: error: Statement[0].Principal: Principal is not allowed in an identity-based policy [principal-in-identity-policy]")]
    );
    let out = validate(&["--resource", &rp, &no_principal]);
    out.assert_code(1);
    assert_eq!(
        out.lines(),
        [
            format!("{rp}: ok"),
            format!("{no_principal}: error: Statement[0]: a statement of a resource policy needs a Principal or NotPrincipal [missing-principal]"),
        ]
    );
}

#[test]
fn validate_json_lists_the_findings() {
    let bad = fixture("invalid.json");
    let warn = fixture("warnings-only.json");
    let good = fixture("identity.json");
    let out = validate(&["--json", &bad, &warn, &good]);
    out.assert_code(1);
    let v = out.json();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 6);
    for f in all {
        for k in ["file", "severity", "path", "code", "message"] {
            assert!(f.get(k).is_some(), "finding without {k}: {f}");
        }
    }
    assert_eq!(
        all[1],
        serde_json::json!({
            "file": bad, "severity": "error", "path": "Statement[1].Effect",
            "code": "invalid-effect", "message": "Effect must be \"Allow\" or \"Deny\"",
        })
    );
    assert_eq!(all[4]["file"], warn.as_str());
    assert_eq!(all[4]["path"], "$");
    assert_eq!(all[4]["code"], "missing-version");

    let out = validate(&["--json", &good]);
    out.assert_code(0);
    assert_eq!(out.json(), serde_json::json!([]));
}

#[test]
fn validate_an_unreadable_file_exits_2() {
    let missing = fixture("no-such-policy.json");
    let good = fixture("identity.json");
    let out = validate(&[&missing, &good]);
    out.assert_code(2);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert_eq!(out.lines(), [format!("{good}: ok")]);
    // Not JSON: an error finding at the root.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"Version\": ").unwrap();
    let out = validate(&[path.to_str().unwrap()]);
    out.assert_code(1);
    let line = &out.lines()[0];
    assert!(
        line.starts_with(&format!("{}: error: $: not valid JSON", path.display())),
        "{line}"
    );
    assert!(line.ends_with("[json]"), "{line}");
}
