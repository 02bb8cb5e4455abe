#!/usr/bin/env bash
# What authentication costs per request: one Rampart, routes to the same fast backend that
# are public, JWT-protected (RS256 token on every request, a static JWKS) and SigV4 is left
# to `cargo bench -p rampart-sigv4` (a signature is per request, wrk cannot make them).
# wrk -t2 -c64 against each route, interleaved in rounds; prints req/s, p99 and the cost.
#
# Usage: bench/auth.sh [--rounds N] [--duration S]
# Needs wrk, nginx, openssl, curl (scripts/install-bench-deps.sh). Release build into
# $CARGO_TARGET_DIR (default target/) unless RAMPART_BIN is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_init auth.sh "$@"
command -v openssl >/dev/null || "$REPO/scripts/install-bench-deps.sh"
rampart_bin

BACKEND_PORT=$(port); RAMPART_PORT=$(port)

# The fast backend: nginx with fixed answers (bench/nginx/backend.conf.in).
start_backend "$BACKEND_PORT"

# An RSA key, its JWK, and a token valid for an hour.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
openssl genrsa -out "$TMP/key.pem" 2048 2>/dev/null
N=$(openssl rsa -in "$TMP/key.pem" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)
JWKS="{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"bench\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"$N\",\"e\":\"AQAB\"}]}"
NOW=$(date +%s)
HEAD=$(printf '{"alg":"RS256","kid":"bench","typ":"JWT"}' | b64url)
BODY=$(printf '{"iss":"https://issuer.bench","aud":"bench","sub":"u1","scope":"read","exp":%d}' $((NOW + 3600)) | b64url)
SIG=$(printf '%s.%s' "$HEAD" "$BODY" | openssl dgst -sha256 -sign "$TMP/key.pem" -binary | b64url)
TOKEN="$HEAD.$BODY.$SIG"

cat >"$TMP/rampart.yaml" <<YAML
server:
  listeners: [{name: http, bind: "127.0.0.1:$RAMPART_PORT"}]
  access_log: {output: "off"}
authorizers:
  bench: {type: jwt, issuer: "https://issuer.bench", audiences: [bench], jwks: '$JWKS'}
apis:
  - name: bench
    base_path: /
    routes:
      - {method: GET, path: '/public/{proxy+}', public: true, integration: {type: http, url: "http://127.0.0.1:$BACKEND_PORT/{proxy}"}}
      - {method: GET, path: '/jwt/{proxy+}', authorizers: [bench], scopes: [read], integration: {type: http, url: "http://127.0.0.1:$BACKEND_PORT/{proxy}"}}
YAML
RAMPART_LOG=warn "$RAMPART" serve --config "$TMP/rampart.yaml" >"$TMP/rampart.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$RAMPART_PORT/public/x" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$RAMPART_PORT/jwt/bench/small" || true)
[ "$code" = 200 ] || { cat "$TMP/rampart.log" >&2; log "the JWT route answered $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RAMPART_PORT/jwt/bench/small" || true)
[ "$code" = 401 ] || { log "the JWT route without a token answered $code"; exit 1; }

declare -A RPS P99
for r in $(seq "$ROUNDS"); do
    for route in public jwt; do
        out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" \
            "http://127.0.0.1:$RAMPART_PORT/$route/bench/small")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        [ -z "$non2xx" ] || { log "errors on $route: $non2xx non-2xx"; exit 1; }
        RPS[$route]="${RPS[$route]:-} $rps"; P99[$route]="${P99[$route]:-} $p99"
        log "round $r $route: $rps req/s, p99 $p99"
    done
done
pub=$(median <<<"${RPS[public]}"); jwt=$(median <<<"${RPS[jwt]}")
echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t2 -c64, ${DURATION}s x $ROUNDS rounds, medians; GET through Rampart to a local nginx backend"
printf 'public route:            %10.0f req/s  p99 %s\n' "$pub" "$(median <<<"${P99[public]}")"
printf 'JWT route (RS256 token): %10.0f req/s  p99 %s\n' "$jwt" "$(median <<<"${P99[jwt]}")"
awk -v a="$pub" -v b="$jwt" 'BEGIN { printf "JWT route / public route: %.2fx (verified tokens are cached)\n", b / a }'
