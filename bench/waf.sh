#!/usr/bin/env bash
# What the WAF costs per request, and how that compares with nginx + ModSecurity + CRS:
#   off:      Rampart proxying POST /prod/orders (1 KB JSON, bench/wrk/post-1k-json.lua) to a
#             fast nginx backend, no web ACL;
#   waf:      the same with a web ACL of AWSManagedRulesCommonRuleSet,
#             AWSManagedRulesSQLiRuleSet and AWSManagedRulesKnownBadInputsRuleSet;
#   modsec:   nginx + ModSecurity 3 + OWASP CRS 3.3.4 at paranoia level 1
#             (bench/waf/nginx-modsec.conf.in and modsec.conf.in, request bodies inspected,
#             the REST-API method/content-type policy) in front of a fixed answer.
# wrk -t2 -c64 against each, interleaved in rounds; prints req/s, p99, and the issue's two
# ratios: waf / off (target >= 0.70) and waf / modsec (target >= 3).
#
# Usage: bench/waf.sh [--rounds N] [--duration S]   (WAF_BENCH_KEEP_LOGS=FILE keeps ModSecurity's error log)
# Needs wrk, nginx, curl, python3 (scripts/install-bench-deps.sh) and, for the modsec
# profile, libnginx-mod-http-modsecurity and modsecurity-crs (installed with apt-get if
# missing). Release build into $CARGO_TARGET_DIR unless
# RAMPART_BIN is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_init waf.sh "$@"
MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
CRS_DIR=
for d in /usr/share/modsecurity-crs /etc/modsecurity/crs; do
    [ -d "$d/rules" ] && { CRS_DIR=$d; break; }
done
if [ ! -f "$MODULE" ] || [ -z "$CRS_DIR" ]; then
    echo "waf.sh: installing nginx ModSecurity and the CRS (apt-get)" >&2
    sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y --no-install-recommends libnginx-mod-http-modsecurity modsecurity-crs >/dev/null
    for d in /usr/share/modsecurity-crs /etc/modsecurity/crs; do [ -d "$d/rules" ] && { CRS_DIR=$d; break; }; done
fi
CRS_SETUP=
for f in /etc/modsecurity/crs/crs-setup.conf "$CRS_DIR/crs-setup.conf" "$CRS_DIR/crs-setup.conf.example"; do
    [ -f "$f" ] && { CRS_SETUP=$f; break; }
done
UNICODE_MAP=
for f in /etc/nginx/unicode.mapping /usr/share/nginx/docs/modsecurity/unicode.mapping /etc/modsecurity/unicode.mapping; do
    [ -f "$f" ] && { UNICODE_MAP=$f; break; }
done
[ -n "$CRS_SETUP" ] && [ -n "$UNICODE_MAP" ] || { echo "waf.sh: CRS setup or unicode.mapping not found" >&2; exit 1; }

chmod 755 "$TMP"
M=$TMP/modsec
bench_cleanup_extra() {
    [ -f "$M/nginx.pid" ] && kill "$(cat "$M/nginx.pid")" 2>/dev/null
    [ -z "${WAF_BENCH_KEEP_LOGS:-}" ] || cp "$M/error.log" "$WAF_BENCH_KEEP_LOGS" 2>/dev/null
}
rampart_bin
BACKEND_PORT=$(port)
declare -A PORT ADMIN GPID
PROFILES=(off waf modsec)
for g in "${PROFILES[@]}"; do PORT[$g]=$(port); ADMIN[$g]=$(port); done

# The fast backend of the Rampart profiles (bench/nginx/backend.conf.in).
start_backend "$BACKEND_PORT"

# nginx + ModSecurity + CRS PL1, 2 workers (one per core, as Rampart's workers).
mkdir -p "$M/modsec-tmp" "$M/modsec-data"
subst() {
    sed -e "s#@TMP@#$M#g" -e "s#@PORT@#${PORT[modsec]}#g" -e "s#@WORKERS@#2#g" \
        -e "s#@MODULE@#$MODULE#g" -e "s#@CRS_SETUP@#$CRS_SETUP#g" -e "s#@CRS_RULES@#$CRS_DIR/rules#g" \
        -e "s#@UNICODE_MAP@#$UNICODE_MAP#g" -e "s#@AUDIT@#Off#g" \
        -e "s#@PARANOIA@#1#g" -e "s#@THRESHOLD@#5#g" "$1"
}
subst "$REPO/bench/waf/nginx-modsec.conf.in" >"$M/nginx.conf"
subst "$REPO/bench/waf/modsec.conf.in" >"$M/modsec.conf"
cat >"$M/policy.conf" <<'POLICY'
SecAction "id:900200,phase:1,nolog,pass,t:none,setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'"
SecAction "id:900220,phase:1,nolog,pass,t:none,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |text/xml| |application/xml| |application/json| |text/plain|'"
POLICY
"$NGINX" -p "$M" -c "$M/nginx.conf" -e "$M/error.log"

# The two Rampart gateways.
python3 "$(dirname "$0")/waf/managed_acl.py" "$TMP/acl.json" bench \
    AWSManagedRulesCommonRuleSet AWSManagedRulesSQLiRuleSet AWSManagedRulesKnownBadInputsRuleSet
for g in off waf; do
    {
        cat <<YAML
server:
  listeners: [{name: main, bind: "127.0.0.1:${PORT[$g]}"}]
  admin: {bind: "127.0.0.1:${ADMIN[$g]}"}
  access_log: {output: "off"}
YAML
        [ "$g" = waf ] && printf '  waf:\n    web_acls: {bench: acl.json}\n'
        cat <<YAML
apis:
  - name: shop
    stages: [prod]
    public: true
YAML
        [ "$g" = waf ] && echo "    web_acl: bench"
        cat <<YAML
    routes:
      - {method: POST, path: /orders, integration: {type: http, url: "http://127.0.0.1:$BACKEND_PORT"}}
YAML
    } >"$TMP/rampart-$g.yaml"
    RAMPART_LOG=warn "$RAMPART" serve --config "$TMP/rampart-$g.yaml" >"$TMP/rampart-$g.log" 2>&1 &
    PIDS+=($!); GPID[$g]=$!
done
url() { case $1 in modsec) echo "http://127.0.0.1:${PORT[modsec]}/prod/orders" ;; *) echo "http://127.0.0.1:${PORT[$1]}/prod/orders" ;; esac; }
for g in "${PROFILES[@]}"; do
    for _ in $(seq 100); do curl -s -H "Host: api.example.test" -o /dev/null -X POST -d '{}' "$(url "$g")" && break; sleep 0.1; done
    code=$(curl -s -H "Host: api.example.test" -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' -d '{"name":"x"}' "$(url "$g")" || true)
    [ "$code" = 200 ] || { cat "$TMP"/rampart-*.log "$M/error.log" >&2 2>/dev/null; log "$g: POST answered $code"; exit 1; }
    if [ "$g" != off ]; then
        code=$(curl -s -H "Host: api.example.test" -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
            -d '{"q":"1 UNION SELECT password FROM users--"}' "$(url "$g")" || true)
        [ "$code" = 403 ] || { log "$g: an SQL injection answered $code, expected 403"; exit 1; }
    fi
done

declare -A RPS P99 BAD
for r in $(seq "$ROUNDS"); do
    for g in "${PROFILES[@]}"; do
        out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$REPO/bench/wrk/post-1k-json.lua" "$(url "$g")")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms)
        non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
        BAD[$g]=$(( ${BAD[$g]:-0} + ${non2xx:-0} ))
        RPS[$g]="${RPS[$g]:-} $rps"; P99[$g]="${P99[$g]:-} $p99"
        log "round $r $g: $rps req/s, p99 $p99 ms${non2xx:+, $non2xx non-2xx}"
    done
done
off=$(median <<<"${RPS[off]}"); waf=$(median <<<"${RPS[waf]}"); ms=$(median <<<"${RPS[modsec]}")
echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t2 -c64, ${DURATION}s x $ROUNDS rounds, medians; POST 1 KB JSON"
printf '%-58s %10s  %9s\n' profile req/s p99
printf '%-58s %10.0f  %6.2f ms\n' "Rampart, no WAF" "$off" "$(median <<<"${P99[off]}")"
printf '%-58s %10.0f  %6.2f ms\n' "Rampart + common, SQLi, known-bad-inputs groups" "$waf" "$(median <<<"${P99[waf]}")"
printf '%-58s %10.0f  %6.2f ms\n' "nginx + ModSecurity 3 + CRS 3.3.4 PL1" "$ms" "$(median <<<"${P99[modsec]}")"
awk -v a="$off" -v b="$waf" 'BEGIN { printf "waf / off:    %.2fx (target >= 0.70x: %s)\n", b / a, (b >= 0.7 * a ? "met" : "NOT met") }'
awk -v a="$ms" -v b="$waf" 'BEGIN { printf "waf / modsec: %.2fx (target >= 3x: %s)\n", b / a, (b >= 3 * a ? "met" : "NOT met") }'
for g in "${PROFILES[@]}"; do
    [ "${BAD[$g]}" = 0 ] || echo "WARNING: $g: ${BAD[$g]} non-2xx answers: its figures are not comparable"
done
