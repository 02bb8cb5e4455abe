#!/usr/bin/env bash
# The ModSecurity baseline: nginx + ModSecurity 3 + OWASP CRS 3.3.4 at paranoia level 1
# (anomaly blocking, inbound threshold 5, request bodies inspected) in front of a fixed 200
# answer, scored with bench/waf/waf-replay.py on
#   - bench/waf/corpus/crs-regression-v3.3.4.jsonl: CRS's own regression tests
#     (attack lines -> true-positive rate; its benign lines -> false-positive rate), and
#   - bench/waf/corpus/benign-api.jsonl: realistic API traffic (false-positive rate).
# A request counts as blocked when the answer is HTTP 403 (what CRS's blocking rule sends);
# the summary also re-scores the same answers with 400 counted as blocked (nginx and the
# ModSecurity body parsers reject some malformed requests with 400).
#
# Everything runs on 127.0.0.1 from a private temp dir (`nginx -p <tmp>`); the system nginx
# service is never used. Missing packages are installed with apt-get (Debian bookworm:
# nginx, libnginx-mod-http-modsecurity 1.0.3, libmodsecurity3 3.0.9, modsecurity-crs 3.3.4).
#
# Usage: bench/waf/modsec.sh [--out DIR] [--paranoia N] [--threshold N] [--workers N]
#                            [--corpus FILE]... [--concurrency N] [--audit] [--keep-tmp]
#                            [--api-policy] [--no-install]
#   --out DIR        where to write the results (default: a new temp dir, printed at the end):
#                    summary.json (waf-replay summary), summary-400.json (400 also counted
#                    as blocked), results.jsonl (one line per request), replay.txt (the table)
#   --paranoia N     CRS paranoia level (default 1)
#   --threshold N    CRS inbound anomaly score threshold (default 5)
#   --workers N      nginx worker processes (default 2)
#   --corpus FILE    corpus to replay (repeatable; default: the two corpora above)
#   --concurrency N  waf-replay.py concurrency (default 16)
#   --audit          write ModSecurity's audit log of blocked requests (into the temp dir;
#                    implies --keep-tmp)
#   --api-policy     allow the methods and content types of a REST API (CRS's defaults allow only
#                    GET HEAD POST OPTIONS, and no application/*+json types other than
#                    cloudevents): adds PUT PATCH DELETE, text/plain and the common JSON media
#                    types, the usual first tuning step when CRS protects an API
#   --keep-tmp       keep the temp dir (configs, nginx error log, audit log)
#   --no-install     fail instead of installing missing packages
#   --host NAME      rewrite every request's Host header to NAME (waf-replay --host-exact), as
#                    bench/waf/rampart-replay.sh does (CRS's tests send Host: localhost)
# The nginx and ModSecurity configurations are bench/waf/nginx-modsec.conf.in and
# bench/waf/modsec.conf.in (reusable by a throughput bench).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=
PARANOIA=1
THRESHOLD=5
WORKERS=2
CONCURRENCY=16
AUDIT=Off
KEEP_TMP=0
INSTALL=1
API_POLICY=0
CORPORA=()
HOST_ARGS=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=${2:?}; shift 2 ;;
        --paranoia) PARANOIA=${2:?}; shift 2 ;;
        --threshold) THRESHOLD=${2:?}; shift 2 ;;
        --workers) WORKERS=${2:?}; shift 2 ;;
        --corpus) CORPORA+=("${2:?}"); shift 2 ;;
        --concurrency) CONCURRENCY=${2:?}; shift 2 ;;
        --audit) AUDIT=On; KEEP_TMP=1; shift ;;
        --api-policy) API_POLICY=1; shift ;;
        --keep-tmp) KEEP_TMP=1; shift ;;
        --no-install) INSTALL=0; shift ;;
        --host) HOST_ARGS=(--host "${2:?}" --host-exact); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "modsec.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [ ${#CORPORA[@]} -eq 0 ]; then
    CORPORA=("$HERE/corpus/crs-regression-v3.3.4.jsonl" "$HERE/corpus/benign-api.jsonl")
fi
for c in "${CORPORA[@]}"; do
    [ -f "$c" ] || { echo "modsec.sh: corpus $c not found" >&2; exit 1; }
done

# ---- 1. packages -------------------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
find_crs() {
    CRS_RULES=
    CRS_SETUP=
    for d in /usr/share/modsecurity-crs/rules /etc/modsecurity/crs/rules /usr/share/owasp-modsecurity-crs/rules; do
        if [ -f "$d/REQUEST-949-BLOCKING-EVALUATION.conf" ]; then CRS_RULES=$d; break; fi
    done
    for f in /etc/modsecurity/crs/crs-setup.conf /usr/share/modsecurity-crs/crs-setup.conf \
             /usr/share/modsecurity-crs/crs-setup.conf.example; do
        if [ -f "$f" ]; then CRS_SETUP=$f; break; fi
    done
}
find_crs
missing=()
[ -x "$NGINX" ] || missing+=(nginx)
[ -f "$MODULE" ] || missing+=(libnginx-mod-http-modsecurity libmodsecurity3)
{ [ -n "$CRS_RULES" ] && [ -n "$CRS_SETUP" ]; } || missing+=(modsecurity-crs)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$INSTALL" = 0 ]; then
        echo "modsec.sh: missing packages: ${missing[*]} (run without --no-install to apt-get them)" >&2
        exit 1
    fi
    SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo -E)
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        # Exit code 101 ("action not allowed"): the package scripts do not start the system nginx.
        printf '#!/bin/sh\nexit 101\n' | ${SUDO[@]+"${SUDO[@]}"} tee "$policy" >/dev/null
        ${SUDO[@]+"${SUDO[@]}"} chmod 755 "$policy"
        created_policy=1
    fi
    echo "modsec.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    rc=0
    { ${SUDO[@]+"${SUDO[@]}"} apt-get update -q &&
      ${SUDO[@]+"${SUDO[@]}"} apt-get install -y -q --no-install-recommends "${missing[@]}"; } || rc=$?
    [ "$created_policy" = 0 ] || ${SUDO[@]+"${SUDO[@]}"} rm -f "$policy"
    [ "$rc" = 0 ] || exit "$rc"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    find_crs
fi
UNICODE_MAP=
for f in /etc/nginx/unicode.mapping /usr/share/nginx/docs/modsecurity/unicode.mapping /etc/modsecurity/unicode.mapping; do
    if [ -f "$f" ]; then UNICODE_MAP=$f; break; fi
done
[ -n "$UNICODE_MAP" ] || { echo "modsec.sh: unicode.mapping not found" >&2; exit 1; }

# ---- 2. configuration and start ----------------------------------------------------------
TMP=$(mktemp -d /tmp/rampart-modsec.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/modsec-tmp" "$TMP/modsec-data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cleanup() {
    if [ -f "$TMP/nginx.pid" ]; then
        kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
        for _ in $(seq 1 50); do [ -f "$TMP/nginx.pid" ] || break; sleep 0.1; done
    fi
    if [ "$KEEP_TMP" = 1 ]; then echo "modsec.sh: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

subst() {
    sed -e "s#@TMP@#$TMP#g" -e "s#@PORT@#$PORT#g" -e "s#@WORKERS@#$WORKERS#g" \
        -e "s#@MODULE@#$MODULE#g" -e "s#@CRS_SETUP@#$CRS_SETUP#g" -e "s#@CRS_RULES@#$CRS_RULES#g" \
        -e "s#@UNICODE_MAP@#$UNICODE_MAP#g" -e "s#@AUDIT@#$AUDIT#g" \
        -e "s#@PARANOIA@#$PARANOIA#g" -e "s#@THRESHOLD@#$THRESHOLD#g" "$1"
}
subst "$HERE/nginx-modsec.conf.in" > "$TMP/nginx.conf"
subst "$HERE/modsec.conf.in" > "$TMP/modsec.conf"
: > "$TMP/policy.conf"
if [ "$API_POLICY" = 1 ]; then
    cat > "$TMP/policy.conf" <<'EOF'
SecAction "id:900200,phase:1,nolog,pass,t:none,setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'"
SecAction "id:900220,phase:1,nolog,pass,t:none,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |multipart/related| |text/xml| |application/xml| |application/soap+xml| |application/json| |application/cloudevents+json| |application/cloudevents-batch+json| |application/json-patch+json| |application/merge-patch+json| |application/vnd.api+json| |text/plain|'"
EOF
fi

"$NGINX" -t -q -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log"
"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log"
for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2).close()" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

probe() { # method target -> status
    python3 - "$PORT" "$1" "$2" <<'EOF'
import socket, sys
port, method, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: modsec.sh probe\r\n"
          f"Accept: */*\r\nConnection: close\r\n\r\n".encode())
buf = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    buf += c
print(buf.split(b" ", 2)[1].decode() if buf else "none")
EOF
}
ok=$(probe GET "/api/items?page=2")
bad=$(probe GET "/api/items?id=1%27%20union%20select%20password%20from%20users--")
echo "modsec.sh: nginx+ModSecurity+CRS on 127.0.0.1:$PORT (PL $PARANOIA, threshold $THRESHOLD): benign probe -> $ok, SQLi probe -> $bad"
if [ "$ok" != 200 ] || [ "$bad" != 403 ]; then
    echo "modsec.sh: sanity check failed (expected 200 and 403); see $TMP/error.log" >&2
    KEEP_TMP=1
    exit 1
fi

# ---- 3. replay ---------------------------------------------------------------------------
if [ -z "$OUT" ]; then OUT=$(mktemp -d /tmp/rampart-modsec-results.XXXXXX); fi
mkdir -p "$OUT"
args=()
for c in "${CORPORA[@]}"; do args+=(--corpus "$c"); done
LABEL="nginx-modsecurity-crs334-pl$PARANOIA-t$THRESHOLD"
[ "$API_POLICY" = 0 ] || LABEL="$LABEL-api-policy"
python3 "$HERE/waf-replay.py" --url "http://127.0.0.1:$PORT" ${HOST_ARGS[@]+"${HOST_ARGS[@]}"} "${args[@]}" \
    --concurrency "$CONCURRENCY" --label "$LABEL" \
    --results "$OUT/results.jsonl" --json-out "$OUT/summary.json" --quiet-json | tee "$OUT/replay.txt"
python3 "$HERE/waf-replay.py" "${args[@]}" --from-results "$OUT/results.jsonl" \
    --block-status 400,403 --label "$LABEL (400 or 403 = blocked)" \
    --json-out "$OUT/summary-400.json" --quiet-json > "$OUT/replay-400.txt"
grep -- '^-- ' "$OUT/replay-400.txt" | sed 's/^/(400 or 403) /' | tee -a "$OUT/replay.txt"
echo "modsec.sh: results in $OUT (summary.json, summary-400.json, results.jsonl, replay.txt)"
