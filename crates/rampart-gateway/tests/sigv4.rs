//! `aws_iam` routes end to end: requests signed by botocore (real AWS client code, run as
//! a Python subprocess) against a running gateway with an identity store whose secrets are
//! encrypted at rest; single-byte tampering, presigned URLs, clock skew, unknown and
//! disabled keys, and the identity policies / resource policy combination (tables A and
//! B) with principal tags.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use rampart_gateway::authn::identity::MasterKey;
use std::net::SocketAddr;

const ALICE_KEY: &str = "AKIAALICE0000000001";
const ALICE_SECRET: &str = "alice/Secret+Key0000000000000000000000000";
const BOB_KEY: &str = "AKIABOB000000000001";
const BOB_SECRET: &str = "bob/Secret+Key00000000000000000000000000";
const DAVE_KEY: &str = "AKIADAVE00000000001";
const DAVE_SECRET: &str = "dave/Secret+Key0000000000000000000000000";
const ERIN_KEY: &str = "AKIAERIN00000000001";
const ERIN_SECRET: &str = "erin/Secret+Key0000000000000000000000000";
const OFF_KEY: &str = "AKIAOFF000000000001";
const OFF_SECRET: &str = "off/Secret+Key00000000000000000000000000";

struct Setup {
    gw: TestGateway,
    addr: SocketAddr,
}

async fn setup() -> Setup {
    setup_with("").await
}

async fn setup_with(server_extra: &str) -> Setup {
    let echo = echo_backend().await;
    let mk_b64 = MasterKey::generate().unwrap();
    let mk = MasterKey::from_base64(&mk_b64).unwrap();
    let enc = |id: &str, s: &str| mk.encrypt(id, s.as_bytes()).unwrap();
    let yaml = format!(
        r#"{server}identities:
  master_key: {mk_b64}
  users:
    - name: alice
      access_keys: [{{id: {ALICE_KEY}, secret: "{alice}"}}]
      policies:
        - Version: "2012-10-17"
          Statement:
            - {{Effect: Allow, Action: execute-api:Invoke, Resource: "arn:aws:execute-api:us-east-1:000000000000:pets/*"}}
            - {{Effect: Deny, Action: execute-api:Invoke, Resource: "arn:aws:execute-api:us-east-1:000000000000:pets/*/DELETE/*"}}
    - name: bob
      access_keys: [{{id: {BOB_KEY}, secret: "{bob}"}}]
    - name: dave
      tags: {{team: red}}
      access_keys: [{{id: {DAVE_KEY}, secret: "{dave}"}}]
    - name: erin
      account_id: "111111111111"
      access_keys: [{{id: {ERIN_KEY}, secret: "{erin}"}}]
      policies:
        - {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "execute-api:*", Resource: "*"}}]}}
    - name: off
      access_keys: [{{id: {OFF_KEY}, secret: "{off}", enabled: false}}]
  roles:
    - name: deployer
      policies:
        - {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: execute-api:Invoke, Resource: "arn:aws:execute-api:*:*:pets/*/GET/*"}}]}}
apis:
  - name: pets
    stages: [prod]
    authorizers: [aws_iam]
    resource_policy:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*/GET/team/*",
           Condition: {{StringEquals: {{aws:PrincipalTag/team: red}}}}}}
        - {{Effect: Allow, Principal: {{AWS: "arn:aws:iam::111111111111:user/erin"}}, Action: execute-api:Invoke,
           Resource: "execute-api:/*/GET/shared/*"}}
        - {{Effect: Allow, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*/GET/open"}}
    routes:
      - {{method: ANY, path: '/pets/{{proxy+}}', integration: {{type: http, url: 'http://{echo}/up/{{proxy}}'}}}}
      - {{method: GET, path: '/team/{{x}}', integration: {{type: mock, body: team}}}}
      - {{method: GET, path: '/shared/{{x}}', integration: {{type: mock, body: shared}}}}
      - {{method: GET, path: /open, public: true, integration: {{type: mock, body: open}}}}
"#,
        server = server_section(server_extra),
        alice = enc(ALICE_KEY, ALICE_SECRET),
        bob = enc(BOB_KEY, BOB_SECRET),
        dave = enc(DAVE_KEY, DAVE_SECRET),
        erin = enc(ERIN_KEY, ERIN_SECRET),
        off = enc(OFF_KEY, OFF_SECRET),
    );
    assert!(
        !yaml.contains(ALICE_SECRET),
        "the configuration holds no plaintext secret"
    );
    let gw = start(&yaml).await;
    let addr = gw.addr("main");
    Setup { gw, addr }
}

/// One request for botocore to sign.
#[derive(Clone)]
struct ToSign {
    method: &'static str,
    target: String,
    body: String,
    key: (&'static str, &'static str),
    region: &'static str,
    presign: Option<u64>,
    timestamp: Option<String>,
    headers: Vec<(&'static str, &'static str)>,
    token: Option<String>,
}

fn req(method: &'static str, target: &str, key: (&'static str, &'static str)) -> ToSign {
    ToSign {
        method,
        target: target.into(),
        body: String::new(),
        key,
        region: "us-east-1",
        presign: None,
        timestamp: None,
        headers: Vec::new(),
        token: None,
    }
}

/// Sign with botocore; returns the raw HTTP/1.1 request bytes for each.
fn botocore_sign(addr: SocketAddr, reqs: &[ToSign]) -> Vec<Vec<u8>> {
    let input: Vec<serde_json::Value> = reqs
        .iter()
        .map(|r| {
            serde_json::json!({
                "method": r.method,
                "url": format!("http://{addr}{}", r.target),
                "headers": r.headers.iter().cloned().collect::<std::collections::HashMap<_, _>>(),
                "body": r.body,
                "access_key": r.key.0,
                "secret": r.key.1,
                "region": r.region,
                "service": "execute-api",
                "presign": r.presign,
                "timestamp": r.timestamp,
                "token": r.token,
            })
        })
        .collect();
    let python = std::env::var("RAMPART_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/botocore_sign.py"
    );
    let mut child = std::process::Command::new(&python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (scripts/install-test-deps.sh installs botocore): {e}")
        });
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    signed
        .iter()
        .map(|s| {
            let url = s["url"].as_str().unwrap();
            let target = &url[url.find(&addr.to_string()).unwrap() + addr.to_string().len()..];
            let body = s["body"].as_str().unwrap();
            let mut r = format!(
                "{} {target} HTTP/1.1\r\nhost: {addr}\r\n",
                s["method"].as_str().unwrap()
            );
            for h in s["headers"].as_array().unwrap() {
                r.push_str(&format!(
                    "{}: {}\r\n",
                    h[0].as_str().unwrap(),
                    h[1].as_str().unwrap()
                ));
            }
            r.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ));
            r.into_bytes()
        })
        .collect()
}

#[tokio::test]
async fn botocore_signed_requests_are_accepted_and_authorized() {
    let s = setup().await;
    let alice = (ALICE_KEY, ALICE_SECRET);
    let mut post = req("POST", "/prod/pets/dog?b=2&a=1", alice);
    post.body = r#"{"name":"Rex","tags":["good boy"]}"#.into();
    post.headers = vec![("Content-Type", "application/json")];
    let signed = botocore_sign(
        s.addr,
        &[
            req("GET", "/prod/pets/cat", alice),
            post,
            req("DELETE", "/prod/pets/cat", alice),
            req("GET", "/prod/pets/cat", (BOB_KEY, BOB_SECRET)),
        ],
    );
    // GET: allowed by alice's identity policy, proxied.
    let r = raw(s.addr, &signed[0]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/up/cat");
    // POST with a JSON body: the body was read to check its hash, and still arrives whole.
    let r = raw(s.addr, &signed[1]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["body"], r#"{"name":"Rex","tags":["good boy"]}"#);
    assert_eq!(v["query"], "b=2&a=1");
    // DELETE: alice's own policy denies it explicitly.
    let r = raw(s.addr, &signed[2]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:pets/prod/DELETE/pets/cat with an explicit deny"
    );
    // Bob is authenticated but no policy allows him: implicit deny.
    let r = raw(s.addr, &signed[3]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:pets/prod/GET/pets/cat"
    );
    // The access log names the principal and never a secret.
    let log = s.gw.access_log(4).await;
    assert_eq!(log[0]["principal"], "arn:aws:iam::000000000000:user/alice");
    let text = std::fs::read_to_string(s.gw.access_log_path()).unwrap();
    for secret in [ALICE_SECRET, BOB_SECRET] {
        assert!(!text.contains(secret));
    }
}

#[tokio::test]
async fn every_single_byte_change_is_refused() {
    let s = setup().await;
    let mut post = req("POST", "/prod/pets/dog?x=1", (ALICE_KEY, ALICE_SECRET));
    post.body = r#"{"n":1}"#.into();
    let good = botocore_sign(s.addr, &[post]).remove(0);
    assert_eq!(raw(s.addr, &good).await.status, 200);
    let text = String::from_utf8(good.clone()).unwrap();
    // Every byte of the request line after the stage, of the x-amz-date and Authorization
    // values (but the access key id, which only picks the secret), and of the body.
    let line_end = text.find("\r\n").unwrap();
    let mut positions: Vec<usize> =
        (text.find("/pets").unwrap()..text.find(" HTTP/1.1").unwrap()).collect();
    let date = text.find("X-Amz-Date: ").unwrap() + "X-Amz-Date: ".len();
    positions.extend(date..date + 16);
    let sig = text.find("Signature=").unwrap() + "Signature=".len();
    positions.extend(sig..sig + 64);
    let sh = text.find("SignedHeaders=").unwrap() + "SignedHeaders=".len();
    positions.extend(sh..text[sh..].find(',').unwrap() + sh);
    let body = text.find("\r\n\r\n").unwrap() + 4;
    positions.extend(body..text.len());
    positions.extend(0..4); // the method
    assert!(positions.iter().all(|p| *p != line_end));
    let mut refused = 0;
    for p in positions {
        let mut bad = good.clone();
        bad[p] = match bad[p] {
            b'a' => b'b',
            b'0' => b'1',
            b'/' => b'_',
            b'P' => b'Q',
            c if c.is_ascii_alphanumeric() => b'a',
            _ => b'x',
        };
        let r = raw(s.addr, &bad).await;
        assert_ne!(
            r.status,
            200,
            "byte {p} changed and still accepted:\n{}",
            String::from_utf8_lossy(&bad)
        );
        assert!(r.status < 500, "byte {p}: {} {}", r.status, r.text());
        refused += 1;
    }
    assert!(refused > 100, "{refused}");
}

#[tokio::test]
async fn missing_unknown_disabled_stale_and_misscoped_credentials() {
    let s = setup().await;
    let old = {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        rampart_gateway::record::access_log::rfc3339(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            None,
        )
        .replace(['-', ':'], "")
    };
    let mut stale = req("GET", "/prod/pets/cat", (ALICE_KEY, ALICE_SECRET));
    stale.timestamp = Some(old.clone());
    let mut eu = req("GET", "/prod/pets/cat", (ALICE_KEY, ALICE_SECRET));
    eu.region = "eu-west-1";
    let signed = botocore_sign(
        s.addr,
        &[
            req("GET", "/prod/pets/cat", ("AKIANOBODY000000001", "x")),
            req("GET", "/prod/pets/cat", (OFF_KEY, OFF_SECRET)),
            req("GET", "/prod/pets/cat", (ALICE_KEY, "the-wrong-secret")),
            stale,
            eu,
        ],
    );
    // No credentials at all.
    let r = get(s.addr, "/prod/pets/cat").await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (403, Some("Missing Authentication Token"))
    );
    // A public route of the same API needs none (its resource policy still applies, and
    // allows anonymous callers there).
    assert_eq!(get(s.addr, "/prod/open").await.text(), "open");
    let invalid_token = "The security token included in the request is invalid.";
    for (i, want) in [
        (0, invalid_token.to_string()),
        (1, invalid_token.to_string()),
        (2, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_string()),
        (4, "Credential should be scoped to a valid region.".to_string()),
    ] {
        let r = raw(s.addr, &signed[i]).await;
        assert_eq!(r.status, 403, "case {i}: {}", r.text());
        assert_eq!(r.json()["message"], want.as_str(), "case {i}");
    }
    let r = raw(s.addr, &signed[3]).await;
    assert_eq!(r.status, 403);
    let m = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        m.starts_with(&format!("Signature expired: {old} is now earlier than ")),
        "{m}"
    );
    // None of the answers reveal what the gateway computed.
    let log = s.gw.access_log(6).await;
    assert!(log
        .iter()
        .all(|e| e["status"] != 200 || e["route"] == "GET /open"));
    assert!(log.iter().any(|e| e["error"] == "INVALID_SIGNATURE"));
    assert!(log
        .iter()
        .any(|e| e["error"] == "MISSING_AUTHENTICATION_TOKEN"));
}

#[tokio::test]
async fn presigned_urls() {
    let s = setup().await;
    let mut p = req("GET", "/prod/pets/cat", (ALICE_KEY, ALICE_SECRET));
    p.presign = Some(300);
    let mut expired = p.clone();
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    expired.timestamp = Some(
        rampart_gateway::record::access_log::rfc3339(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            None,
        )
        .replace(['-', ':'], ""),
    );
    let signed = botocore_sign(s.addr, &[p, expired]);
    let text = String::from_utf8(signed[0].clone()).unwrap();
    assert!(text.contains("X-Amz-Signature="), "{text}");
    assert!(!text.contains("Authorization:"), "{text}");
    let r = raw(s.addr, &signed[0]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Tampered signature, and an expired URL.
    let sig = text.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut bad = signed[0].clone();
    bad[sig] = if bad[sig] == b'a' { b'b' } else { b'a' };
    assert_eq!(raw(s.addr, &bad).await.status, 403);
    let r = raw(s.addr, &signed[1]).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn principal_tags_and_cross_account_callers() {
    let s = setup().await;
    let signed = botocore_sign(
        s.addr,
        &[
            req("GET", "/prod/team/a", (DAVE_KEY, DAVE_SECRET)),
            req("GET", "/prod/team/a", (BOB_KEY, BOB_SECRET)),
            req("GET", "/prod/pets/cat", (ERIN_KEY, ERIN_SECRET)),
            req("GET", "/prod/shared/a", (ERIN_KEY, ERIN_SECRET)),
        ],
    );
    // Same account: the resource policy alone allows dave (aws:PrincipalTag/team = red).
    let r = raw(s.addr, &signed[0]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "team"));
    assert_eq!(
        raw(s.addr, &signed[1]).await.status,
        403,
        "bob has no team tag"
    );
    // Erin is in another account: her own policy allows everything, but without the
    // resource policy's allow that is an implicit deny (table B) ...
    let r = raw(s.addr, &signed[2]).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("User: arn:aws:iam::111111111111:user/erin is not authorized"));
    // ... and with it (both sides allow) she is in.
    let r = raw(s.addr, &signed[3]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "shared"));
}

#[test]
fn identity_store_configuration_errors() {
    let mk = MasterKey::from_base64(&MasterKey::generate().unwrap()).unwrap();
    let other = MasterKey::generate().unwrap();
    let enc = mk.encrypt("AKIAALICE0000000001", b"s").unwrap();
    let cfg = |identities: &str| {
        format!(
            "server:\n  listeners:\n    - {{name: main, bind: 127.0.0.1:0}}\nidentities:\n{identities}apis: []\n"
        )
    };
    let errs = |text: &str| match rampart_gateway::config::load_str(
        text,
        "t.yaml",
        std::path::Path::new("."),
        &|_| None,
    ) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
        }
    };
    // No master key.
    let e = errs(&cfg(&format!("  users:\n    - {{name: a, access_keys: [{{id: AKIAALICE0000000001, secret: '{enc}'}}]}}\n")));
    assert!(
        e[0].starts_with("identities.users[0].access_keys[0].secret: access keys need"),
        "{e:?}"
    );
    // The wrong master key, a plaintext secret, a key encrypted for another id.
    let e = errs(&cfg(&format!(
        "  master_key: {other}\n  users:\n    - {{name: a, access_keys: [{{id: AKIAALICE0000000001, secret: '{enc}'}}, {{id: AKIAALICE0000000002, secret: plaintext}}]}}\n"
    )));
    assert!(e[0].contains("cannot decrypt"), "{e:?}");
    assert!(e[1].contains("not an encrypted secret"), "{e:?}");
    // Bad names, ids, duplicate ids, and bad identity policies with their paths.
    let e = errs(&cfg(&format!(
        "  master_key: {other}\n  users:\n    - {{name: 'a b', access_keys: [{{id: short, secret: x}}], policies: [{{Version: '2012-10-17', Statement: [{{Effect: Allow, Principal: '*', Action: 'execute-api:Invoke', Resource: '*'}}]}}]}}\n"
    )));
    assert!(
        e.iter().any(|m| m.starts_with("identities.users[0].name:")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("identities.users[0].access_keys[0].id:")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("identities.users[0].policies[0].Statement[0].Principal:")),
        "{e:?}"
    );
}

#[tokio::test]
async fn temporary_credentials_with_session_tokens() {
    let s = setup().await;
    let role = "arn:aws:iam::000000000000:role/deployer";
    let creds =
        s.gw.gw
            .issue_temporary_credentials(role, "ci-run-7", std::time::Duration::from_secs(60))
            .unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"));
    let short =
        s.gw.gw
            .issue_temporary_credentials(role, "short", std::time::Duration::from_secs(1))
            .unwrap();
    // Not a role, unknown role, bad session name.
    assert!(s
        .gw
        .gw
        .issue_temporary_credentials(
            "arn:aws:iam::000000000000:user/alice",
            "x",
            std::time::Duration::from_secs(60)
        )
        .is_err());
    assert!(s
        .gw
        .gw
        .issue_temporary_credentials(
            "arn:aws:iam::000000000000:role/nope",
            "x",
            std::time::Duration::from_secs(60)
        )
        .is_err());
    assert!(s
        .gw
        .gw
        .issue_temporary_credentials(role, "bad name!", std::time::Duration::from_secs(60))
        .is_err());
    // The credentials live as long as the strings here; the test leaks them for 'static.
    let id: &'static str = Box::leak(creds.access_key_id.clone().into_boxed_str());
    let secret: &'static str = Box::leak(creds.secret_access_key.clone().into_boxed_str());
    let sid: &'static str = Box::leak(short.access_key_id.clone().into_boxed_str());
    let ssecret: &'static str = Box::leak(short.secret_access_key.clone().into_boxed_str());
    let mut good = req("GET", "/prod/pets/cat", (id, secret));
    good.token = Some(creds.session_token.clone());
    let mut del = req("DELETE", "/prod/pets/cat", (id, secret));
    del.token = Some(creds.session_token.clone());
    let no_token = req("GET", "/prod/pets/cat", (id, secret));
    let mut wrong = req("GET", "/prod/pets/cat", (id, secret));
    wrong.token = Some(short.session_token.clone());
    let mut expiring = req("GET", "/prod/pets/cat", (sid, ssecret));
    expiring.token = Some(short.session_token.clone());
    let signed = botocore_sign(s.addr, &[good, del, no_token, wrong, expiring]);
    // Signed with the session token: the role's policy applies (GET yes, DELETE no).
    let r = raw(s.addr, &signed[0]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = raw(s.addr, &signed[1]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User: arn:aws:sts::000000000000:assumed-role/deployer/ci-run-7 is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:pets/prod/DELETE/pets/cat"
    );
    // Without the token, or with another credential's token: invalid.
    for i in [2, 3] {
        let r = raw(s.addr, &signed[i]).await;
        assert_eq!(r.status, 403, "case {i}");
        assert_eq!(
            r.json()["message"],
            "The security token included in the request is invalid.",
            "case {i}"
        );
    }
    // Expired.
    assert_eq!(raw(s.addr, &signed[4]).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = raw(s.addr, &signed[4]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "The security token included in the request is expired"
    );
    let log = s.gw.access_log(6).await;
    assert_eq!(
        log[0]["principal"],
        "arn:aws:sts::000000000000:assumed-role/deployer/ci-run-7"
    );
    let text = std::fs::read_to_string(s.gw.access_log_path()).unwrap();
    assert!(!text.contains(&creds.session_token) && !text.contains(&creds.secret_access_key));
}

#[tokio::test]
async fn configured_signing_regions() {
    let s = setup_with("  aws: {sigv4: {regions: [us-east-1, eu-west-1]}}\n").await;
    let mut eu = req("GET", "/prod/pets/cat", (ALICE_KEY, ALICE_SECRET));
    eu.region = "eu-west-1";
    let mut ap = eu.clone();
    ap.region = "ap-south-1";
    let signed = botocore_sign(s.addr, &[eu, ap]);
    let r = raw(s.addr, &signed[0]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = raw(s.addr, &signed[1]).await;
    assert_eq!(
        r.json()["message"],
        "Credential should be scoped to a valid region."
    );
}
