#!/usr/bin/env bash
# What API keys and usage plans cost per request: three Rampart gateways side by side, each
# on its own port, proxying GET /prod/pets to the same fast backend (nginx):
#   public:   the route without API keys (the baseline);
#   embedded: api_key_required, a usage plan (throttle + quota) checked and counted on every
#             request, counters in the embedded store (server.usage.data_dir);
#   redis:    the same, counters in a redis-server this script starts on loopback
#             (server.usage.backend: redis).
# wrk -t2 -c64 against each, interleaved in rounds; prints req/s, p99 and the ratios. The
# issue's target: the Redis profile keeps at least 60% of the embedded one's throughput.
#
# Usage: bench/usage.sh [--rounds N] [--duration S]
# Needs wrk, nginx, curl, python3 (scripts/install-bench-deps.sh), redis-server and
# redis-cli. Release build into $CARGO_TARGET_DIR (default target/) unless RAMPART_BIN is set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_init usage.sh "$@"
REDIS_SERVER=$(command -v redis-server || echo /usr/bin/redis-server)
REDIS_CLI=$(command -v redis-cli || echo /usr/bin/redis-cli)
[ -x "$REDIS_SERVER" ] && [ -x "$REDIS_CLI" ] || { log "needs redis-server and redis-cli (apt-get install redis-server)"; exit 1; }
rampart_bin

BACKEND_PORT=$(port); REDIS_PORT=$(port)
PROFILES=(public embedded redis)
declare -A PORT ADMIN GPID
for g in "${PROFILES[@]}"; do PORT[$g]=$(port); ADMIN[$g]=$(port); done
ADMIN_TOKEN=bench-admin-token-0123456789abcdef
KEY=benchkey0123456789abcdefghijklmnop
HASH_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

# The fast backend: nginx with fixed answers (bench/nginx/backend.conf.in).
start_backend "$BACKEND_PORT"

# Redis for the `redis` profile: loopback, no persistence.
"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$TMP" >"$TMP/redis.log" 2>&1 &
PIDS+=($!); REDIS_PID=$!
for _ in $(seq 50); do [ "$("$REDIS_CLI" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
[ "$("$REDIS_CLI" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || { cat "$TMP/redis.log" >&2; log "redis-server did not answer PING"; exit 1; }

# One configuration per profile: the same server settings as bench/rampart-bench.yaml.
gateway_config() {
    local g=$1
    cat <<YAML
server:
  listeners: [{name: main, bind: "127.0.0.1:${PORT[$g]}"}]
  access_log: {output: "off"}
YAML
    if [ "$g" != public ]; then
        mkdir -p "$TMP/data-$g"
        cat <<YAML
  admin: {bind: "127.0.0.1:${ADMIN[$g]}", token: $ADMIN_TOKEN}
  usage:
    data_dir: "$TMP/data-$g"
    hash_secret: $HASH_SECRET
YAML
    fi
    if [ "$g" = redis ]; then
        cat <<YAML
    backend: redis
    redis: {url: "redis://127.0.0.1:$REDIS_PORT", prefix: "bench:", pool_size: 2, timeout: 100ms}
YAML
    fi
    cat <<YAML
apis:
  - name: shop
    stages: [prod]
    public: true
YAML
    [ "$g" = public ] || echo "    api_key_required: true"
    cat <<YAML
    routes:
      - {method: GET, path: /pets, integration: {type: http, url: "http://127.0.0.1:$BACKEND_PORT"}}
YAML
}

for g in "${PROFILES[@]}"; do
    gateway_config "$g" >"$TMP/rampart-$g.yaml"
    RAMPART_LOG=warn "$RAMPART" serve --config "$TMP/rampart-$g.yaml" >"$TMP/rampart-$g.log" 2>&1 &
    PIDS+=($!); GPID[$g]=$!
done

# Wait for every gateway; provision the keyed ones (one plan, one key) through the admin API.
admin() { # PROFILE METHOD PATH CONTENT-TYPE BODY -> writes the answer to $TMP/admin.out, prints the status
    curl -s -o "$TMP/admin.out" -w '%{http_code}' -X "$2" -H "authorization: Bearer $ADMIN_TOKEN" \
        -H "content-type: $4" --data-binary "$5" "http://127.0.0.1:${ADMIN[$1]}$3" || true
}
fail() { local g=$1; shift; cat "$TMP/rampart-$g.log" >&2; log "$g: $*"; exit 1; }
PLAN='{"name":"bench","apiStages":[{"apiId":"shop","stage":"prod"}],"throttle":{"rateLimit":1000000,"burstLimit":1000000},"quota":{"limit":1000000000,"period":"DAY"}}'
for g in "${PROFILES[@]}"; do
    for _ in $(seq 100); do
        if [ "$g" = public ]; then curl -s -o /dev/null "http://127.0.0.1:${PORT[$g]}/prod/pets" && break
        else curl -s -o /dev/null "http://127.0.0.1:${ADMIN[$g]}/healthz" && break; fi
        sleep 0.1
    done
    [ "$g" = public ] && continue
    code=$(admin "$g" POST /admin/usageplans application/json "$PLAN")
    [ "$code" = 201 ] || fail "$g" "creating the usage plan answered $code: $(cat "$TMP/admin.out")"
    plan_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <"$TMP/admin.out")
    code=$(admin "$g" POST /admin/apikeys/import text/csv "$(printf 'Name,Key,UsagePlanIds\nbench,%s,%s\n' "$KEY" "$plan_id")")
    [ "$code" = 201 ] || fail "$g" "importing the API key answered $code: $(cat "$TMP/admin.out")"
done

# One request on each must pass; without the key, the keyed ones must refuse it.
for g in "${PROFILES[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" "http://127.0.0.1:${PORT[$g]}/prod/pets" || true)
    [ "$code" = 200 ] || fail "$g" "GET /prod/pets with the key answered $code"
    [ "$g" = public ] && continue
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$g]}/prod/pets" || true)
    [ "$code" = 403 ] || fail "$g" "GET /prod/pets without a key answered $code (expected 403)"
done
"$REDIS_CLI" -p "$REDIS_PORT" config resetstat >/dev/null

# CPU time a process used (user + system), in clock ticks.
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A RPS P99 CPU REFUSED REQS
REDIS_TICKS=0
for r in $(seq "$ROUNDS"); do
    for g in "${PROFILES[@]}"; do
        t0=$(ticks "${GPID[$g]}"); r0=$(ticks "$REDIS_PID")
        out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -H "x-api-key: $KEY" \
            "http://127.0.0.1:${PORT[$g]}/prod/pets")
        t1=$(ticks "${GPID[$g]}"); r1=$(ticks "$REDIS_PID")
        [ "$g" != redis ] || REDIS_TICKS=$(( REDIS_TICKS + r1 - r0 ))
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms)
        non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        sock=$(grep -m1 'Socket errors' <<<"$out" || true)
        [ -z "$sock" ] || log "round $r $g: $sock"
        REFUSED[$g]=$(( ${REFUSED[$g]:-0} + ${non2xx:-0} ))
        REQS[$g]=$(( ${REQS[$g]:-0} + ${reqs:-0} ))
        cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="${reqs:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
        RPS[$g]="${RPS[$g]:-} $rps"; P99[$g]="${P99[$g]:-} $p99"; CPU[$g]="${CPU[$g]:-} $cpu"
        log "round $r $g: $rps req/s, p99 ${p99} ms, rampart CPU ${cpu} us/req${non2xx:+, $non2xx non-2xx}"
    done
done
pub=$(median <<<"${RPS[public]}"); emb=$(median <<<"${RPS[embedded]}"); red=$(median <<<"${RPS[redis]}")
# Round trips: EVALSHA (+ EVAL) calls; commands: everything Redis ran, the script's own
# redis.call()s included (Redis 7 counts those too).
STATS=$("$REDIS_CLI" -p "$REDIS_PORT" info commandstats)
redis_scripts=$(awk -F'[:=,]' '/^cmdstat_(evalsha|eval):/ {n += $3} END {print n + 0}' <<<"$STATS")
redis_usec=$(awk -F'[:=,]' '/^cmdstat_evalsha:/ {print $7 + 0}' <<<"$STATS")
redis_cmds=$(awk -F'[:=,]' '/^cmdstat_/ && !/^cmdstat_(info|config)/ {n += $3} END {print n + 0}' <<<"$STATS")

echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t2 -c64, ${DURATION}s x $ROUNDS rounds, medians; GET /prod/pets through Rampart to a local nginx backend"
printf '%-40s %10s  %9s  %s\n' profile req/s p99 "rampart CPU/req"
row() { printf '%-40s %10.0f  %6.2f ms  %6.1f us\n' "$1" "$2" "$(median <<<"${P99[$3]}")" "$(median <<<"${CPU[$3]}")"; }
row "public (no API key)" "$pub" public
row "embedded (API key + usage plan)" "$emb" embedded
row "redis (API key + usage plan on Redis)" "$red" redis
awk -v a="$pub" -v b="$emb" 'BEGIN { printf "embedded / public: %.2fx\n", b / a }'
awk -v a="$emb" -v b="$red" 'BEGIN { printf "redis / embedded:  %.2fx (target >= 0.60x: %s)\n", b / a, (b >= 0.6 * a ? "met" : "NOT met") }'
awk -v s="$redis_scripts" -v c="$redis_cmds" -v t="$REDIS_TICKS" -v hz="$HZ" -v n="${REQS[redis]}" -v u="$redis_usec" 'BEGIN { if (n > 0)
    printf "redis profile, per request: %.2f round trip(s) (EVALSHA, %.1f us inside Redis), %.2f Redis commands incl. the script'"'"'s, redis-server CPU %.1f us\n", s / n, u, c / n, t / hz * 1e6 / n }'
for g in "${PROFILES[@]}"; do
    [ "${REFUSED[$g]}" = 0 ] || echo "WARNING: $g: ${REFUSED[$g]} request(s) answered non-2xx/3xx (refused?): its figures are not comparable"
done
