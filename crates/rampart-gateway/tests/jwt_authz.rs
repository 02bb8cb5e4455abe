//! `jwt` authorizers end to end: Ed25519-signed tokens against static and fetched JWKS,
//! every rejection (missing, malformed, expired, wrong issuer or audience, `alg: none`,
//! another key), route scopes (403), claims to upstream headers and to `jwt:` condition
//! keys of the resource policy, and keys that were never obtained (500, never allow).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use ring::signature::{Ed25519KeyPair, KeyPair};

const ISS: &str = "https://issuer.test/pool";
const AUD: &str = "client-1";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Key {
    pair: Ed25519KeyPair,
    kid: String,
}

impl Key {
    fn new(kid: &str) -> Key {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        Key {
            pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
            kid: kid.into(),
        }
    }
    fn jwk(&self) -> serde_json::Value {
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "alg": "EdDSA", "use": "sig",
            "x": b64(self.pair.public_key().as_ref())})
    }
    fn token(&self, claims: serde_json::Value) -> String {
        let head = b64(
            serde_json::json!({"alg": "EdDSA", "kid": self.kid, "typ": "JWT"})
                .to_string()
                .as_bytes(),
        );
        let body = b64(claims.to_string().as_bytes());
        let sig = self.pair.sign(format!("{head}.{body}").as_bytes());
        format!("{head}.{body}.{}", b64(sig.as_ref()))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({"iss": ISS, "aud": AUD, "sub": "user-7", "exp": now() + 600,
        "scope": "pets:read profile", "cognito:groups": ["admin", "staff"]});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn setup(key: &Key) -> TestGateway {
    let echo = echo_backend().await;
    let jwks = serde_json::json!({"keys": [key.jwk()]}).to_string();
    // A JWKS served over plain HTTP on loopback (fetching; TLS is tested in rampart-jwt).
    let served = jwks.clone();
    let jwks_server = backend(move |_req| {
        let body = served.clone();
        async move { hyper::Response::new(Full::new(Bytes::from(body))) }
    })
    .await;
    let yaml = format!(
        r#"{server}authorizers:
  pool:
    type: jwt
    issuer: {ISS}
    jwks: '{jwks}'
    audiences: [{AUD}]
    claim_headers: {{x-sub: sub, x-groups: "cognito:groups"}}
  fetched:
    type: jwt
    issuer: {ISS}
    jwks_url: http://{jwks_server}/jwks.json
    dangerous_allow_http: true
    audiences: [{AUD}]
  down:
    type: jwt
    issuer: {ISS}
    jwks_url: https://127.0.0.1:1/jwks.json
    audiences: [{AUD}]
apis:
  - name: pets
    stages: [prod]
    authorizers: [pool]
    resource_policy:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*"}}
        - {{Effect: Deny, Principal: "*", Action: execute-api:Invoke, Resource: "execute-api:/*/GET/admin",
           Condition: {{"ForAllValues:StringNotEquals": {{"jwt:cognito:groups": admin}}}}}}
    routes:
      - {{method: GET, path: /pets, scopes: ["pets:read"], integration: {{type: http, url: 'http://{echo}/pets'}}}}
      - {{method: POST, path: /pets, scopes: ["pets:write"], integration: {{type: mock, body: written}}}}
      - {{method: GET, path: /admin, integration: {{type: mock, body: admin}}}}
      - {{method: GET, path: /fetched, authorizers: [fetched], integration: {{type: mock, body: fetched}}}}
      - {{method: GET, path: /down, authorizers: [down], integration: {{type: mock, body: down}}}}
      - {{method: GET, path: /either, authorizers: [pool, aws_iam], integration: {{type: mock, body: either}}}}
"#,
        server = server_section(""),
    );
    start(&yaml).await
}

async fn with(g: &TestGateway, method: &str, target: &str, token: Option<&str>) -> RawResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    request(g.addr("main"), method, target, &h, b"").await
}

#[tokio::test]
async fn tokens_scopes_claims_and_rejections() {
    let key = Key::new("k1");
    let g = setup(&key).await;
    let good = key.token(claims(serde_json::json!({})));
    // Valid, with the route's scope; claims go upstream.
    let r = with(&g, "GET", "/prod/pets", Some(&good)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["headers"]["x-sub"], "user-7");
    assert_eq!(v["headers"]["x-groups"], "admin staff");
    // Valid token without the route's scope: 403.
    let r = with(&g, "POST", "/prod/pets", Some(&good)).await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (403, Some("Forbidden"))
    );

    let other = Key::new("k1");
    let none_alg = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(serde_json::json!({})).to_string().as_bytes())
    );
    let rejected = [
        ("no token", None),
        ("garbage", Some("not-a-jwt".to_string())),
        (
            "expired",
            Some(key.token(claims(serde_json::json!({"exp": now() - 60})))),
        ),
        (
            "not yet valid",
            Some(key.token(claims(serde_json::json!({"nbf": now() + 600})))),
        ),
        (
            "wrong issuer",
            Some(key.token(claims(serde_json::json!({"iss": "https://evil.test"})))),
        ),
        (
            "wrong audience",
            Some(key.token(claims(serde_json::json!({"aud": "someone-else"})))),
        ),
        ("alg none", Some(none_alg)),
        (
            "another key, same kid",
            Some(other.token(claims(serde_json::json!({})))),
        ),
    ];
    for (what, token) in rejected {
        let r = with(&g, "GET", "/prod/pets", token.as_deref()).await;
        assert_eq!(
            (r.status, r.json()["message"].as_str()),
            (401, Some("Unauthorized")),
            "{what}"
        );
    }
    let log = g.access_log(10).await;
    assert_eq!(log[0]["principal"], "user-7");
    assert!(log[2..].iter().all(|e| e["rejected_by"] == "authenticate"));
}

#[tokio::test]
async fn claims_in_resource_policies_fetched_keys_and_outages() {
    let key = Key::new("k1");
    let g = setup(&key).await;
    let admin = key.token(claims(serde_json::json!({})));
    let staff = key.token(claims(serde_json::json!({"cognito:groups": ["staff"]})));
    assert_eq!(
        with(&g, "GET", "/prod/admin", Some(&admin)).await.status,
        200
    );
    let r = with(&g, "GET", "/prod/admin", Some(&staff)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "User: user-7 is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:pets/prod/GET/admin with an explicit deny"
    );
    // Keys fetched from a JWKS URL.
    assert_eq!(
        with(&g, "GET", "/prod/fetched", Some(&admin)).await.text(),
        "fetched"
    );
    // A route that takes a JWT or a SigV4 signature: each goes to its authorizer.
    assert_eq!(
        with(&g, "GET", "/prod/either", Some(&admin)).await.text(),
        "either"
    );
    let sig = "AWS4-HMAC-SHA256 Credential=AKIANOBODY000000001/20261121/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";
    let r = request(
        g.addr("main"),
        "GET",
        "/prod/either",
        &[("authorization", sig), ("x-amz-date", "20261121T000000Z")],
        b"",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "The security token included in the request is invalid."
    );
    let r = with(&g, "GET", "/prod/either", None).await;
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (401, Some("Unauthorized")),
        "the first authorizer's answer"
    );
    // Keys never obtained: 500, never an allow.
    let r = with(&g, "GET", "/prod/down", Some(&admin)).await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.json()["message"].is_null());
}
