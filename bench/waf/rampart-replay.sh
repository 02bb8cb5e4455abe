#!/usr/bin/env bash
# Rampart's WAF detection through the real gateway: `rampart serve` on 127.0.0.1 with a web
# ACL of all seven built-in managed rule groups (AWSManagedRules*, OverrideAction None) on
# a public catch-all API answering 200, scored with bench/waf/waf-replay.py on
#   - bench/waf/corpus/crs-regression-v3.3.4.jsonl: CRS's regression tests (attack lines ->
#     true-positive rate; its benign lines -> false-positive rate), and
#   - bench/waf/corpus/benign-api.jsonl: realistic API traffic (false-positive rate).
# Blocked = HTTP 403 (the WAF's answer); the summary also re-scores with 400 counted as
# blocked (requests the gateway's path normalisation or HTTP parser refuses before the WAF).
# The same scoring as bench/waf/modsec.sh, so the two tables compare directly. The corpus's
# Host header (CRS's tests send `Host: localhost`, which AWSManagedRulesKnownBadInputsRuleSet's
# Host_localhost_HEADER blocks by design) is rewritten to a neutral name (`--host-exact`),
# so no attack counts as caught because of where the tests were recorded.
#
# Usage: bench/waf/rampart-replay.sh [--out DIR] [--corpus FILE]... [--concurrency N]
# Builds rampart (release) into $CARGO_TARGET_DIR unless RAMPART_BIN is set.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=
CONCURRENCY=16
CORPORA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=${2:?}; shift 2 ;;
        --corpus) CORPORA+=("${2:?}"); shift 2 ;;
        --concurrency) CONCURRENCY=${2:?}; shift 2 ;;
        *) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=("$HERE/corpus/crs-regression-v3.3.4.jsonl" "$HERE/corpus/benign-api.jsonl")
if [ -n "${RAMPART_BIN:-}" ]; then RAMPART=$RAMPART_BIN; else
    TD=${CARGO_TARGET_DIR:-$REPO/target}
    (cd "$REPO" && CARGO_TARGET_DIR="$TD" cargo build --release -q -p rampart)
    RAMPART="$TD/release/rampart"
fi
TMP=$(mktemp -d /tmp/rampart-waf-replay.XXXXXX)
PID=
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(port); ADMIN=$(port)
python3 "$HERE/managed_acl.py" "$TMP/acl.json" all-managed \
    AWSManagedRulesCommonRuleSet AWSManagedRulesSQLiRuleSet AWSManagedRulesKnownBadInputsRuleSet \
    AWSManagedRulesLinuxRuleSet AWSManagedRulesUnixRuleSet AWSManagedRulesPHPRuleSet \
    AWSManagedRulesAdminProtectionRuleSet
cat > "$TMP/rampart.yaml" <<YAML
server:
  listeners: [{name: main, bind: "127.0.0.1:$PORT"}]
  admin: {bind: "127.0.0.1:$ADMIN"}
  access_log: {output: "off"}
  waf:
    web_acls: {all: acl.json}
apis:
  - name: replay
    base_path: /
    public: true
    web_acl: all
    routes:
      - {method: ANY, path: /, integration: {type: mock, status: 200, body: ok}}
      - {method: ANY, path: '/{proxy+}', integration: {type: mock, status: 200, body: ok}}
YAML
RAMPART_LOG=error "$RAMPART" serve --config "$TMP/rampart.yaml" >"$TMP/rampart.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$ADMIN/healthz" && break; sleep 0.1; done
ok=$(curl -s -H "Host: api.example.test" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/items?page=2")
bad=$(curl -s -H "Host: api.example.test" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/items?id=1%27%20union%20select%20password%20from%20users--")
echo "rampart-replay.sh: rampart on 127.0.0.1:$PORT: benign probe -> $ok, SQLi probe -> $bad"
[ "$ok" = 200 ] && [ "$bad" = 403 ] || { cat "$TMP/rampart.log" >&2; echo "rampart-replay.sh: sanity check failed" >&2; exit 1; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/rampart-waf-results.XXXXXX)
mkdir -p "$OUT"
args=(); for c in "${CORPORA[@]}"; do args+=(--corpus "$c"); done
python3 "$HERE/waf-replay.py" --url "http://127.0.0.1:$PORT" --host api.example.test --host-exact "${args[@]}" --concurrency "$CONCURRENCY" \
    --label rampart-managed-all --results "$OUT/results.jsonl" --json-out "$OUT/summary.json" --quiet-json | tee "$OUT/replay.txt"
python3 "$HERE/waf-replay.py" "${args[@]}" --from-results "$OUT/results.jsonl" --block-status 400,403 \
    --label "rampart-managed-all (400 or 403 = blocked)" --json-out "$OUT/summary-400.json" --quiet-json > "$OUT/replay-400.txt"
grep -- '^-- ' "$OUT/replay-400.txt" | sed 's/^/(400 or 403) /' | tee -a "$OUT/replay.txt"
echo "rampart-replay.sh: results in $OUT"
