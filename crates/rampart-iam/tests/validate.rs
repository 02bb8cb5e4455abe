//! Validation: errors reject a policy, warnings are kept beside it; every finding has the
//! JSON path of what it is about.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_iam::{parse, Finding, ParseOptions, Severity};

fn id() -> ParseOptions {
    ParseOptions::identity()
}

fn rp() -> ParseOptions {
    ParseOptions::resource(None)
}

/// Findings as (path, code).
type Paths = Vec<(String, &'static str)>;

/// The errors for a policy that must be rejected, as (path, code).
fn errors(text: &str, opts: &ParseOptions) -> Paths {
    match parse("p", text, opts) {
        Ok(p) => panic!("accepted, warnings {:?}:\n{text}", p.warnings),
        Err(findings) => {
            assert!(
                findings.iter().any(|f| f.severity == Severity::Error),
                "Err without an error: {findings:?}"
            );
            findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| (f.path.clone(), f.code))
                .collect()
        }
    }
}

/// The warnings of a policy that must be accepted, as (path, code).
fn warnings(text: &str, opts: &ParseOptions) -> Paths {
    match parse("p", text, opts) {
        Ok(p) => {
            assert!(p.warnings.iter().all(|f| f.severity == Severity::Warning));
            p.warnings
                .iter()
                .map(|f| (f.path.clone(), f.code))
                .collect()
        }
        Err(f) => panic!("rejected: {f:?}\n{text}"),
    }
}

fn want(list: &[(&str, &'static str)]) -> Paths {
    list.iter().map(|(p, c)| (p.to_string(), *c)).collect()
}

/// A 2012-10-17 policy with these statements.
fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

const OK_STMT: &str = r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*"}"#;

fn with_condition(cond: &str) -> String {
    doc(&format!(
        r#"{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*","Condition":{cond}}}"#
    ))
}

#[test]
fn a_good_policy_has_no_findings() {
    assert_eq!(warnings(&doc(OK_STMT), &id()), want(&[]));
    let rp_text = doc(
        r#"{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}"#,
    );
    assert_eq!(warnings(&rp_text, &rp()), want(&[]));
    // A single statement object instead of a list.
    let single = format!(r#"{{"Version":"2012-10-17","Id":"x","Statement":{OK_STMT}}}"#);
    let p = parse("p", &single, &id()).unwrap();
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.version.as_deref(), Some("2012-10-17"));
}

#[test]
fn document_shape() {
    for text in ["[]", r#""policy""#, "42", "null"] {
        assert_eq!(errors(text, &id()), want(&[("", "syntax")]), "{text}");
    }
    assert_eq!(errors("{", &id()), want(&[("", "json")]));
    assert_eq!(errors(r#"{"a":1} x"#, &id()), want(&[("", "json")]));
    assert_eq!(
        errors(r#"{"Version":"2012-10-17"}"#, &id()),
        want(&[("", "missing-statement")])
    );
    assert_eq!(
        errors(r#"{"Version":"2012-10-17","Statement":[]}"#, &id()),
        want(&[("Statement", "missing-statement")])
    );
    assert_eq!(
        errors(r#"{"Version":"2012-10-17","Statement":"x"}"#, &id()),
        want(&[("Statement", "syntax")])
    );
    assert_eq!(
        errors(r#"{"Version":"2012-10-17","Statement":[42]}"#, &id()),
        want(&[("Statement[0]", "syntax")])
    );
    assert_eq!(
        errors(
            &format!(r#"{{"Version":"2012-10-17","Id":7,"Statement":[{OK_STMT}]}}"#),
            &id()
        ),
        want(&[("Id", "syntax")])
    );
}

#[test]
fn bad_version() {
    for v in [r#""2012-10-18""#, r#""2012-10-17 ""#, "2012", "null"] {
        let text = format!(r#"{{"Version":{v},"Statement":[{OK_STMT}]}}"#);
        assert_eq!(
            errors(&text, &id()),
            want(&[("Version", "invalid-version")]),
            "{v}"
        );
    }
    let old = format!(r#"{{"Version":"2008-10-17","Statement":[{OK_STMT}]}}"#);
    assert_eq!(warnings(&old, &id()), want(&[]));
}

#[test]
fn effect() {
    for e in [r#""Permit""#, r#""allow""#, r#""DENY""#, "true"] {
        let text = doc(&format!(
            r#"{{"Effect":{e},"Action":"execute-api:Invoke","Resource":"*"}}"#
        ));
        assert_eq!(
            errors(&text, &id()),
            want(&[("Statement[0].Effect", "invalid-effect")]),
            "{e}"
        );
    }
    let text = doc(r#"{"Action":"execute-api:Invoke","Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0]", "missing-effect")])
    );
    // Paths in a single-object Statement.
    let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Action":"execute-api:Invoke","Resource":"*"}}"#;
    assert_eq!(
        errors(text, &id()),
        want(&[("Statement.Effect", "invalid-effect")])
    );
}

#[test]
fn action_and_resource_elements() {
    let text = doc(&format!(
        r#"{OK_STMT},{{"Effect":"Allow","Action":"execute-api:Invoke","NotAction":"s3:*","Resource":"*"}}"#
    ));
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[1]", "action-and-not-action")])
    );
    let text = doc(r#"{"Effect":"Allow","Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0]", "missing-action")])
    );
    let text =
        doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","NotResource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0]", "resource-and-not-resource")])
    );
    let text = doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0]", "missing-resource")])
    );

    let text = doc(r#"{"Effect":"Allow","Action":["execute-api:Invoke","Invoke"],"Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Action[1]", "invalid-action")])
    );
    let text = doc(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Action", "syntax")])
    );
    let text = doc(r#"{"Effect":"Allow","Action":["execute-api:Invoke",3],"Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Action[1]", "syntax")])
    );

    let text = doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"not-an-arn"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Resource", "invalid-resource")])
    );
    let text = doc(
        r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":["*","arn:aws:execute-*:us-east-1:1:a/*"]}"#,
    );
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Resource[1]", "invalid-resource")])
    );
    let text = doc(
        r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/${aws:username"}"#,
    );
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Resource", "invalid-variable")])
    );
}

#[test]
fn principals() {
    let text =
        doc(r#"{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].Principal", "principal-in-identity-policy")])
    );
    let text = doc(
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"execute-api:Invoke","Resource":"*"}"#,
    );
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[0].NotPrincipal", "principal-in-identity-policy")])
    );
    let text = doc(OK_STMT);
    assert_eq!(
        errors(&text, &rp()),
        want(&[("Statement[0]", "missing-principal")])
    );
    let text = doc(
        r#"{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"execute-api:Invoke","Resource":"*"}"#,
    );
    assert_eq!(
        errors(&text, &rp()),
        want(&[("Statement[0]", "principal-and-not-principal")])
    );
    for (principal, path) in [
        (
            r#""arn:aws:iam::123456789012:root""#,
            "Statement[0].Principal",
        ),
        (r#"{}"#, "Statement[0].Principal"),
        (r#"{"AWS":"alice"}"#, "Statement[0].Principal.AWS"),
        (
            r#"{"AWS":["123456789012","bob"]}"#,
            "Statement[0].Principal.AWS[1]",
        ),
        (
            r#"{"AWS":"arn:aws:iam::123456789012:user/*"}"#,
            "Statement[0].Principal.AWS",
        ),
        (r#"{"Robot":"r2d2"}"#, "Statement[0].Principal.Robot"),
    ] {
        let text = doc(&format!(
            r#"{{"Effect":"Allow","Principal":{principal},"Action":"execute-api:Invoke","Resource":"*"}}"#
        ));
        assert_eq!(
            errors(&text, &rp()),
            want(&[(path, "invalid-principal")]),
            "{principal}"
        );
    }
}

#[test]
fn unknown_elements() {
    let text = doc(r#"{"Effect":"Allow","Actions":"execute-api:Invoke","Resource":"*"}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[
            ("Statement[0].Actions", "unknown-element"),
            ("Statement[0]", "missing-action")
        ])
    );
    let text = format!(r#"{{"Version":"2012-10-17","Statment":[{OK_STMT}]}}"#);
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statment", "unknown-element"), ("", "missing-statement")])
    );
}

#[test]
fn duplicate_json_keys_are_rejected() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*","Effect":"Allow"}]}"#;
    let f = parse("p", text, &id()).unwrap_err();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].path.as_str(), f[0].code), ("", "json"));
    assert!(
        f[0].message.contains("duplicate key `Effect`"),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("line 1 column"), "{}", f[0].message);
    // Also in nested objects.
    let text = with_condition(r#"{"StringEquals":{"aws:username":"a","aws:username":"b"}}"#);
    let f = parse("p", &text, &id()).unwrap_err();
    assert!(
        f[0].message.contains("duplicate key `aws:username`"),
        "{f:?}"
    );
}

#[test]
fn duplicate_sid() {
    let text = doc(
        r#"{"Sid":"Same","Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
           {"Sid":"Other","Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
           {"Sid":"Same","Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}"#,
    );
    assert_eq!(
        errors(&text, &id()),
        want(&[("Statement[2].Sid", "duplicate-sid")])
    );
}

#[test]
fn conditions() {
    assert_eq!(
        errors(
            &with_condition(r#"{"StringEqualz":{"aws:username":"a"}}"#),
            &id()
        ),
        want(&[("Statement[0].Condition.StringEqualz", "unknown-operator")])
    );
    for op in [
        "stringequals",
        "NullIfExists",
        "ForAnyValue:Null",
        "Sometimes:StringEquals",
    ] {
        let c = format!(r#"{{"{op}":{{"aws:username":"true"}}}}"#);
        let path = format!("Statement[0].Condition.{op}");
        assert_eq!(
            errors(&with_condition(&c), &id()),
            want(&[(&path, "unknown-operator")]),
            "{op}"
        );
    }
    assert_eq!(
        errors(&with_condition(r#"{"StringEquals":"a"}"#), &id()),
        want(&[("Statement[0].Condition.StringEquals", "syntax")])
    );
    assert_eq!(
        errors(
            &with_condition(r#"{"StringEquals":{"aws:username":[]}}"#),
            &id()
        ),
        want(&[("Statement[0].Condition.StringEquals.aws:username", "syntax")])
    );
    assert_eq!(
        errors(&with_condition(r#""x""#), &id()),
        want(&[("Statement[0].Condition", "syntax")])
    );
}

#[test]
fn bad_condition_values_point_at_the_value() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#,
            "Statement[0].Condition.IpAddress.aws:SourceIp",
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","bad"]}}"#,
            "Statement[0].Condition.NotIpAddress.aws:SourceIp[1]",
        ),
        (
            r#"{"IpAddress":{"aws:SourceIp":["2001:db8::/32","2001:db8::/129"]}}"#,
            "Statement[0].Condition.IpAddress.aws:SourceIp[1]",
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"ten"}}"#,
            "Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge",
        ),
        (
            r#"{"NumericEquals":{"aws:MultiFactorAuthAge":["1","2","NaN"]}}"#,
            "Statement[0].Condition.NumericEquals.aws:MultiFactorAuthAge[2]",
        ),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}"#,
            "Statement[0].Condition.DateLessThan.aws:CurrentTime",
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":["2024-01-01","2024-02-30"]}}"#,
            "Statement[0].Condition.DateGreaterThan.aws:CurrentTime[1]",
        ),
        (
            r#"{"Bool":{"aws:SecureTransport":"yes"}}"#,
            "Statement[0].Condition.Bool.aws:SecureTransport",
        ),
        (
            r#"{"Null":{"aws:TokenIssueTime":"maybe"}}"#,
            "Statement[0].Condition.Null.aws:TokenIssueTime",
        ),
        (
            r#"{"BinaryEquals":{"jwt:bin":"not base64!"}}"#,
            "Statement[0].Condition.BinaryEquals.jwt:bin",
        ),
        (
            r#"{"StringEquals":{"aws:username":"${aws:username"}}"#,
            "Statement[0].Condition.StringEquals.aws:username",
        ),
    ];
    for (cond, path) in cases {
        assert_eq!(
            errors(&with_condition(cond), &id()),
            want(&[(path, "invalid-condition-value")]),
            "{cond}"
        );
    }
    // A value that is not a scalar does not shift the paths of the values after it.
    assert_eq!(
        errors(
            &with_condition(r#"{"IpAddress":{"aws:SourceIp":[{},"bad"]}}"#),
            &id()
        ),
        want(&[
            ("Statement[0].Condition.IpAddress.aws:SourceIp[0]", "syntax"),
            (
                "Statement[0].Condition.IpAddress.aws:SourceIp[1]",
                "invalid-condition-value"
            ),
        ])
    );
}

#[test]
fn all_errors_are_collected_with_their_warnings() {
    let text = doc(
        r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}},
           {"Effect":"Permit","Action":"execute-api:Invoke","Resource":"*"}"#,
    );
    let f = parse("p", &text, &id()).unwrap_err();
    let got: Vec<(Severity, &str, &str)> = f
        .iter()
        .map(|f| (f.severity, f.path.as_str(), f.code))
        .collect();
    assert_eq!(
        got,
        vec![
            (Severity::Warning, "Statement[0].Action", "action-wildcard"),
            (
                Severity::Warning,
                "Statement[0].Resource",
                "resource-wildcard"
            ),
            (
                Severity::Error,
                "Statement[0].Condition.Bool.aws:SecureTransport",
                "invalid-condition-value"
            ),
            (Severity::Error, "Statement[1].Effect", "invalid-effect"),
        ]
    );
}

#[test]
fn warnings_on_accepted_policies() {
    let cases: Vec<(String, ParseOptions, Paths)> = vec![
        (
            doc(r#"{"Effect":"Allow","NotAction":"execute-api:InvalidateCache","Resource":"arn:aws:execute-api:us-east-1:1:a/*"}"#),
            id(),
            want(&[("Statement[0].NotAction", "allow-with-not-action")]),
        ),
        (
            doc(r#"{"Effect":"Deny","NotAction":"execute-api:Invoke","Resource":"*"}"#),
            id(),
            want(&[]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:us-east-1:1:a/*"}"#),
            id(),
            want(&[("Statement[0].Action", "action-wildcard")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":"arn:aws:s3:::b/*"}"#),
            id(),
            want(&[("Statement[0].Action[1]", "action-wildcard")]),
        ),
        (
            doc(r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#),
            id(),
            want(&[]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}"#),
            id(),
            want(&[("Statement[0].Resource", "resource-wildcard")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"execute-api:*","Resource":["arn:aws:execute-api:us-east-1:1:a/*","*"]}"#),
            id(),
            want(&[("Statement[0].Resource[1]", "resource-wildcard")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#),
            id(),
            want(&[]),
        ),
        (
            doc(r#"{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}"#),
            id(),
            want(&[]),
        ),
        (
            with_condition(r#"{"StringEquals":{"foo:bar":"x","aws:username":"a"}}"#),
            id(),
            want(&[("Statement[0].Condition.StringEquals.foo:bar", "unknown-condition-key")]),
        ),
        (
            with_condition(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}"#),
            id(),
            want(&[(
                "Statement[0].Condition.ForAllValues:StringEquals",
                "forallvalues-with-allow",
            )]),
        ),
        (
            // Guarded by a Null check on the same key: no warning.
            with_condition(
                r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"Null":{"aws:TagKeys":"false"}}"#,
            ),
            id(),
            want(&[]),
        ),
        (
            // A Null check on another key does not guard it.
            with_condition(
                r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"Null":{"aws:username":"false"}}"#,
            ),
            id(),
            want(&[(
                "Statement[0].Condition.ForAllValues:StringEquals",
                "forallvalues-with-allow",
            )]),
        ),
        (
            doc(r#"{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}"#),
            id(),
            want(&[]),
        ),
        (
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/${aws:username}","Condition":{"StringEquals":{"aws:UserAgent":"${aws:username}"}}}]}"#.to_string(),
            id(),
            want(&[
                ("Statement[0].Resource", "variable-in-old-version"),
                ("Statement[0].Condition.StringEquals.aws:UserAgent", "variable-in-old-version"),
            ]),
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/*"}]}"#.to_string(),
            id(),
            want(&[("", "missing-version")]),
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/${aws:username}"}]}"#.to_string(),
            id(),
            want(&[("", "missing-version"), ("Statement[0].Resource", "variable-in-old-version")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"arn:aws:execute-api:us-east-1:1:a/*/GET/admin/*"}"#),
            id(),
            want(&[("Statement[0].NotResource", "allow-with-not-resource")]),
        ),
        (
            doc(r#"{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/*"}"#),
            rp(),
            want(&[("Statement[0].NotPrincipal", "allow-with-not-principal")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df9"},"Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/*"}"#),
            rp(),
            want(&[("Statement[0].Principal.CanonicalUser", "unsupported-principal")]),
        ),
        (
            doc(r#"{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a/${foo:bar}"}"#),
            id(),
            want(&[("Statement[0].Resource", "unknown-variable")]),
        ),
    ];
    for (text, opts, expected) in cases {
        assert_eq!(warnings(&text, &opts), expected, "{text}");
    }
}

#[test]
fn findings_display_and_serialize() {
    let f = parse("p", "[]", &id()).unwrap_err();
    assert_eq!(
        f[0].to_string(),
        "error: $: a policy must be a JSON object [syntax]"
    );
    let text = doc(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}"#);
    let p = parse("p", &text, &id()).unwrap();
    let w: &Finding = &p.warnings[0];
    assert!(
        w.to_string().starts_with("warning: Statement[0].Action: "),
        "{w}"
    );
    assert!(w.to_string().ends_with("[action-wildcard]"), "{w}");
    let json = serde_json::to_value(w).unwrap();
    assert_eq!(json["severity"], "warning");
    assert_eq!(json["path"], "Statement[0].Action");
    assert_eq!(json["code"], "action-wildcard");
}
