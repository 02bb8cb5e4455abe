#!/usr/bin/env bash
# Proxy benchmark: Rampart vs nginx proxy_pass vs the backend itself.
#
# Starts, all on 127.0.0.1:
#   - a fast backend: nginx answering fixed responses (small JSON on GET; on POST it reads
#     the body and answers with the byte count it received);
#   - nginx as a reverse proxy to it (proxy_pass, upstream keep-alive), HTTP and HTTPS;
#   - Rampart (release build) proxying to it with bench/rampart-bench.yaml, HTTP and HTTPS.
# Then runs wrk against each, interleaved in rounds, in two modes:
#   - throughput: wrk -t2 -c<C>, as fast as possible (req/s, p50, p99);
#   - moderate load: wrk -t2 -c<LC>, paced with wrk's delay() hook to at most <RATE> req/s
#     in total, to measure the latency a proxy adds when it is not saturated.
# Also records, per run, the CPU time the server under test used per request, and how much
# CPU other processes on the machine used (a busy machine perturbs the figures).
# Scenarios: HTTP GET small, HTTP POST 2 KB JSON, HTTPS GET small, HTTPS POST 2 KB JSON
# (the backend is measured over HTTP only). Prints medians over the rounds and the ratios,
# and writes them to bench/results/latest.txt (raw wrk output: bench/results/latest-raw.txt).
#
# Usage: bench/run.sh [--duration S] [--rounds N] [--connections C] [--quick]
#                     [--lat-connections N] [--lat-rate R] [--threads T]
#                     [--retries N] [--no-build] [--keep-tmp]
# Needs wrk, nginx, openssl, curl: scripts/install-bench-deps.sh installs them (Debian).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --duration S         seconds per wrk run (default 10)
  --rounds N           rounds; every round runs every scenario against every target (default 3)
  --connections C      wrk connections for the throughput runs (default 64)
  --threads T          wrk threads (default 2)
  --lat-connections N  wrk connections for the moderate-load runs (default 8)
  --lat-rate R         offered load of the moderate-load runs, req/s in total (default 2000;
                       0 = no pacing, closed loop at --lat-connections)
  --retries N          repeat a run disturbed by other work on the machine (other processes
                       or the hypervisor taking >= 10% of a CPU, or >= 50 processes started)
                       up to N times, keeping the last attempt (default 2)
  --quick              1 round of 3 s (a smoke test; the numbers are noisy)
  --no-build           do not run cargo build (use the existing release binary)
  --keep-tmp           keep the temp dir (configs, certificate, server logs)
Environment: CARGO_TARGET_DIR is honoured for the build and for finding the binary;
RAMPART_BIN overrides the binary (implies --no-build).
EOF
}

DURATION=10
ROUNDS=3
CONNECTIONS=64
THREADS=2
LAT_CONNECTIONS=8
LAT_RATE=2000
RETRIES=2
BUILD=1
KEEP_TMP=0

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=${2:?}; shift 2 ;;
        --rounds) ROUNDS=${2:?}; shift 2 ;;
        --connections) CONNECTIONS=${2:?}; shift 2 ;;
        --threads) THREADS=${2:?}; shift 2 ;;
        --lat-connections) LAT_CONNECTIONS=${2:?}; shift 2 ;;
        --lat-rate) LAT_RATE=${2:?}; shift 2 ;;
        --retries) RETRIES=${2:?}; shift 2 ;;
        --quick) DURATION=3; ROUNDS=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --keep-tmp) KEEP_TMP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in DURATION ROUNDS CONNECTIONS THREADS LAT_CONNECTIONS LAT_RATE RETRIES; do
    case "${!v}" in
        ''|*[!0-9]*) echo "run.sh: $v must be a whole number" >&2; exit 2 ;;
    esac
done
[ "$ROUNDS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$CONNECTIONS" -ge "$THREADS" ] \
    && [ "$LAT_CONNECTIONS" -ge "$THREADS" ] || {
    echo "run.sh: rounds and duration must be >= 1, connections >= threads" >&2
    exit 2
}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RESULTS_DIR="$BENCH_DIR/results"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# One command: install the tools if any is missing (idempotent, Debian packages).
"$BENCH_DIR/../scripts/install-bench-deps.sh" >&2
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; }
for cmd in wrk openssl curl; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found; run scripts/install-bench-deps.sh"
done
[ -n "$NGINX" ] || die "nginx not found; run scripts/install-bench-deps.sh"

# ---------------------------------------------------------------------------------------
# Build.
if [ -n "${RAMPART_BIN:-}" ]; then
    BUILD=0
    RAMPART=$RAMPART_BIN
else
    TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
    case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
    RAMPART="$TARGET_DIR/release/rampart"
fi
if [ "$BUILD" = 1 ]; then
    log "building rampart (release, target dir $TARGET_DIR)"
    (cd "$REPO" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release -p rampart) \
        || die "cargo build failed"
fi
[ -x "$RAMPART" ] || die "no rampart binary at $RAMPART (build it, or set RAMPART_BIN)"

# ---------------------------------------------------------------------------------------
# Processes and cleanup.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench.XXXXXX")
PIDS=()      # server processes we started (nginx masters, rampart)
WRK_PID=""

stop_pid() { # pid: TERM, wait up to 5 s, then KILL; nginx workers (its children) too
    local pid=$1 kids i
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for k in $kids; do
        kill -KILL "$k" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$WRK_PID" ]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}"
    done
    if [ "$rc" -ne 0 ]; then
        for f in "$TMP"/*.log; do
            [ -s "$f" ] || continue
            echo "----- $(basename "$f") (last 20 lines) -----" >&2
            tail -n 20 "$f" >&2
        done
    fi
    if [ "$KEEP_TMP" = 1 ]; then
        log "temp dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
# With set -e a failing command ends the script; say which one.
set -E
trap 'log "error: command failed (line $LINENO): $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

USED_PORTS=" "
free_port() { # variable-name: a port nobody listens on, different from the ones taken before
    local p i
    for i in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        case "$USED_PORTS" in *" $p "*) continue ;; esac
        if ! port_open "$p"; then
            USED_PORTS="$USED_PORTS$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}

wait_port() { # port pid name
    local i
    for i in $(seq 100); do
        port_open "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited during startup"
        sleep 0.1
    done
    die "$3 did not listen on 127.0.0.1:$1 within 10 s"
}

# ---------------------------------------------------------------------------------------
# Configuration.
free_port BACKEND_PORT
free_port NGINX_HTTP_PORT
free_port NGINX_HTTPS_PORT
free_port RAMPART_HTTP_PORT
free_port RAMPART_HTTPS_PORT

log "temp dir $TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.out" 2>&1 \
    || { cat "$TMP/openssl.out" >&2; die "openssl could not make a certificate"; }

render() { # template name output
    sed -e "s|@TMP@|$TMP|g" -e "s|@NAME@|$2|g" \
        -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" \
        -e "s|@NGINX_HTTP_PORT@|$NGINX_HTTP_PORT|g" \
        -e "s|@NGINX_HTTPS_PORT@|$NGINX_HTTPS_PORT|g" \
        "$1" >"$3"
}
for name in backend proxy; do
    render "$BENCH_DIR/nginx/common.conf.in" "$name" "$TMP/$name-common.conf"
    render "$BENCH_DIR/nginx/$name.conf.in" "$name" "$TMP/$name.conf"
    mkdir -p "$TMP/$name-body" "$TMP/$name-proxy" "$TMP/$name-fastcgi" \
        "$TMP/$name-uwsgi" "$TMP/$name-scgi"
done

export BENCH_RAMPART_HTTP="127.0.0.1:$RAMPART_HTTP_PORT"
export BENCH_RAMPART_HTTPS="127.0.0.1:$RAMPART_HTTPS_PORT"
export BENCH_BACKEND="127.0.0.1:$BACKEND_PORT"
export BENCH_CERT="$TMP/cert.pem"
export BENCH_KEY="$TMP/key.pem"
RAMPART_CONF="$BENCH_DIR/rampart-bench.yaml"
"$RAMPART" validate "$RAMPART_CONF" >"$TMP/validate.out" 2>&1 \
    || { cat "$TMP/validate.out" >&2; die "rampart validate failed"; }

for name in backend proxy; do
    "$NGINX" -t -q -p "$TMP" -e "$TMP/$name-error.log" -c "$TMP/$name.conf" \
        >"$TMP/$name-test.out" 2>&1 \
        || { cat "$TMP/$name-test.out" >&2; die "nginx rejected $name.conf"; }
done

# ---------------------------------------------------------------------------------------
# Start the servers.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

"$NGINX" -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" \
    >"$TMP/backend-stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=($!)
wait_port "$BACKEND_PORT" "$!" "backend nginx"

"$NGINX" -p "$TMP" -e "$TMP/proxy-error.log" -c "$TMP/proxy.conf" \
    >"$TMP/proxy-stdout.log" 2>&1 &
NGINX_PID=$!
PIDS+=($!)
wait_port "$NGINX_HTTP_PORT" "$!" "nginx proxy"
wait_port "$NGINX_HTTPS_PORT" "$!" "nginx proxy"

# rustls warns once per TLS connection that wrk sends an IP address as SNI: not of interest.
RAMPART_LOG=${RAMPART_LOG:-warn,rustls=error} "$RAMPART" serve --config "$RAMPART_CONF" \
    >"$TMP/rampart.log" 2>&1 &
RAMPART_PID=$!
PIDS+=($!)
wait_port "$RAMPART_HTTP_PORT" "$!" "rampart"
wait_port "$RAMPART_HTTPS_PORT" "$!" "rampart"

url_for() { # target proto
    case "$1/$2" in
        backend/http) echo "http://127.0.0.1:$BACKEND_PORT" ;;
        nginx/http) echo "http://127.0.0.1:$NGINX_HTTP_PORT" ;;
        nginx/https) echo "https://127.0.0.1:$NGINX_HTTPS_PORT" ;;
        rampart/http) echo "http://127.0.0.1:$RAMPART_HTTP_PORT" ;;
        rampart/https) echo "https://127.0.0.1:$RAMPART_HTTPS_PORT" ;;
        *) die "no URL for $1/$2" ;;
    esac
}
GET_PATH=/bench/small
POST_PATH=/bench/orders

# Sanity checks: every target answers 200, and a 2 KB POST arrives whole at the backend.
head -c 2038 /dev/zero | tr '\0' 'x' | sed -e 's/^/{"pad":"/' -e 's/$/"}/' >"$TMP/body.json"
[ "$(wc -c <"$TMP/body.json")" -eq 2048 ] || die "test body is not 2048 bytes"
for tp in backend/http nginx/http nginx/https rampart/http rampart/https; do
    base=$(url_for "${tp%/*}" "${tp#*/}")
    code=$(curl -sk -o "$TMP/check.out" -w '%{http_code}' "$base$GET_PATH") || code=curl-failed
    [ "$code" = 200 ] || die "GET $base$GET_PATH: $code $(cat "$TMP/check.out" 2>/dev/null)"
    code=$(curl -sk -o "$TMP/check.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$TMP/body.json" "$base$POST_PATH") || code=curl-failed
    [ "$code" = 200 ] || die "POST $base$POST_PATH: $code $(cat "$TMP/check.out" 2>/dev/null)"
    grep -q '"received":"2048"' "$TMP/check.out" \
        || die "POST through $tp: the backend did not get 2048 bytes: $(cat "$TMP/check.out")"
done
log "sanity checks passed (GET 200; 2048-byte POST bodies reach the backend)"

# ---------------------------------------------------------------------------------------
# Load.
SCENARIOS="http-get http-post https-get https-post"
TARGETS="backend nginx rampart"
RAW="$TMP/raw.txt"
RES="$TMP/results.tsv" # mode scenario target round rps p50ms p99ms errors foreign% steal% forks
: >"$RAW"
: >"$RES"
: >"$RES.cpu"             # mode scenario target round server-cpu-us-per-request

if [ "$LAT_RATE" -gt 0 ]; then
    # Every connection pauses this long after each response (rounded to whole ms).
    LAT_DELAY_MS=$(( (LAT_CONNECTIONS * 1000 + LAT_RATE / 2) / LAT_RATE ))
    [ "$LAT_DELAY_MS" -ge 1 ] || LAT_DELAY_MS=1
else
    LAT_DELAY_MS=0
fi

# parse_wrk file -> "rps p50ms p99ms errors requests" (errors = socket errors + non-2xx/3xx)
parse_wrk() {
    awk '
    function ms(v,   n, u) {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") return n / 1000
        if (u == "ms") return n
        if (u == "s") return n * 1000
        if (u == "m") return n * 60000
        if (u == "h") return n * 3600000
        return -1
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 + 0 }
    /Socket errors:/ { s = $0; gsub(/[^0-9]+/, " ", s); split(s, a, " "); for (i in a) err += a[i] }
    /Non-2xx or 3xx responses:/ { err += $NF }
    / requests in / { n = $1 + 0 }
    END {
        if (rps == "" || p50 == "" || p99 == "" || n == "") { print "parse-error"; exit 1 }
        printf "%.2f %.3f %.3f %d %d\n", rps, p50, p99, err, n
    }' "$1"
}

# CPU used by processes outside this script's process group (other builds, ...): a
# snapshot is "pid:starttime ticks" for every user process; kernel threads are left out.
MY_PGRP=$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f3)
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_snapshot() {
    # (a process may exit between the glob and the read: cat then fails, harmlessly)
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pg="$MY_PGRP" '{
        line = $0; pid = $1
        sub(/^.*\) /, "", line); n = split(line, f, " ")
        # f: 1 state, 2 ppid, 3 pgrp, 12 utime, 13 stime, 20 starttime
        if (n < 20 || f[3] == pg || f[2] == 2 || pid == 2) next
        print pid ":" f[20], f[12] + f[13]
    }'
}
# Machine-wide counters: CPU time stolen by the hypervisor (ticks) and processes forked.
machine_snapshot() {
    awk '$1 == "cpu" { steal = $9 } $1 == "processes" { forks = $2 }
        END { print steal + 0, forks + 0 }' /proc/stat
}
foreign_cpu() { # before-file after-file seconds -> % of one CPU used by other processes
    awk -v tck="$CLK_TCK" -v secs="$3" 'NR == FNR { b[$1] = $2; next }
        { d = $2 - (($1 in b) ? b[$1] : 0); if (d > 0) t += d }
        END { printf "%.0f\n", (secs > 0 ? t / tck / secs * 100 : 0) }' "$1" "$2"
}

# CPU time (clock ticks) used so far by a server: the process (all its threads) and its
# children (nginx workers).
server_ticks() { # target
    local pid p t=0 f
    case "$1" in
        backend) pid=$BACKEND_PID ;;
        nginx) pid=$NGINX_PID ;;
        rampart) pid=$RAMPART_PID ;;
    esac
    for p in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
        f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}

# A run is disturbed when other processes or the hypervisor took 10% of a CPU or more, or
# when many processes were started meanwhile (short-lived compiler runs are not seen by
# the per-process snapshot).
disturbed() { [ "$1" -ge 10 ] || [ "$2" -ge 10 ] || [ "$3" -ge 50 ]; }

# Fail clearly if a server under test has died or stopped listening.
check_alive() { # target proto
    local pid port
    case "$1" in
        backend) pid=$BACKEND_PID ;;
        nginx) pid=$NGINX_PID ;;
        rampart) pid=$RAMPART_PID ;;
    esac
    port=$(url_for "$1" "$2"); port=${port##*:}
    if ! kill -0 "$pid" 2>/dev/null; then
        die "$1 (pid $pid) has exited"
    fi
    if ! port_open "$port"; then
        die "$1 (pid $pid, still running) no longer listens on 127.0.0.1:$port"
    fi
}

# One wrk run. Leaves its result rows in $TMP/row and $TMP/row.cpu and sets RUN_DISTURBED.
RUN_DISTURBED=0
run_wrk() { # mode scenario target round attempt
    local mode=$1 scenario=$2 target=$3 round=$4 attempt=$5 proto=${2%-*} kind=${2#*-}
    local url script path conns delay out parsed t0 secs foreign ticks0 ticks1 cpu m0 m1 steal forks rc
    url=$(url_for "$target" "$proto")
    check_alive "$target" "$proto"
    if [ "$kind" = get ]; then
        script="$BENCH_DIR/wrk/get.lua"; path=$GET_PATH
    else
        script="$BENCH_DIR/wrk/post-2k.lua"; path=$POST_PATH
    fi
    if [ "$mode" = throughput ]; then
        conns=$CONNECTIONS; delay=0
    else
        conns=$LAT_CONNECTIONS; delay=$LAT_DELAY_MS
    fi
    out="$TMP/wrk.out"
    cpu_snapshot >"$TMP/cpu.before"
    m0=$(machine_snapshot)
    ticks0=$(server_ticks "$target")
    t0=$(date +%s.%N)
    BENCH_DELAY_MS=$delay wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency \
        -s "$script" "$url$path" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || {
        rc=$?
        cat "$out" >&2
        [ "$rc" -gt 128 ] && log "wrk was killed by signal $((rc - 128)) (not by this script)"
        kill -0 "$(case $target in backend) echo "$BACKEND_PID" ;; nginx) echo "$NGINX_PID" ;;
            *) echo "$RAMPART_PID" ;; esac)" 2>/dev/null || log "$target has exited"
        die "wrk failed ($mode $scenario $target)"
    }
    WRK_PID=""
    ticks1=$(server_ticks "$target")
    m1=$(machine_snapshot)
    cpu_snapshot >"$TMP/cpu.after"
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    foreign=$(foreign_cpu "$TMP/cpu.before" "$TMP/cpu.after" "$secs")
    steal=$(awk -v a="${m0% *}" -v b="${m1% *}" -v tck="$CLK_TCK" -v s="$secs" \
        'BEGIN { printf "%.0f", (s > 0 ? (b - a) / tck / s * 100 : 0) }')
    # Processes started on the machine meanwhile, including the ~20 this script starts.
    forks=$(( ${m1#* } - ${m0#* } ))
    {
        echo "### round $round, $mode, $scenario, $target, attempt $((attempt + 1)):" \
            "wrk -t$THREADS -c$conns" \
            "-d${DURATION}s --latency -s $(basename "$script") $url$path" \
            "(BENCH_DELAY_MS=$delay)"
        cat "$out"
        echo "(during this run: other processes used ${foreign}% of one CPU, the hypervisor stole" \
            "${steal}%, $forks processes were started on the machine)"
        echo
    } >>"$RAW"
    parsed=$(parse_wrk "$out") || { cat "$out" >&2; die "cannot parse wrk output"; }
    set -- $parsed
    # Server CPU microseconds per request (the server's own processes only).
    cpu=$(awk -v t=$((ticks1 - ticks0)) -v tck="$CLK_TCK" -v n="$5" \
        'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / tck / n : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$scenario" "$target" \
        "$round" "$1" "$2" "$3" "$4" "$foreign" "$steal" "$forks" >"$TMP/row"
    printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$scenario" "$target" "$round" "$cpu" >"$TMP/row.cpu"
    RUN_DISTURBED=0
    disturbed "$foreign" "$steal" "$forks" && RUN_DISTURBED=1
    log "$(printf 'round %d %-10s %-10s %-8s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %5.1f us/req%s%s' \
        "$round" "$mode" "$scenario" "$target" "$1" "$2" "$3" "$cpu" \
        "$([ "$4" -gt 0 ] && echo "  ERRORS $4")" \
        "$(disturbed "$foreign" "$steal" "$forks" && echo "  [disturbed: other processes ${foreign}% CPU, steal ${steal}%, $forks forks]")")"
}

targets_for() { # scenario round -> targets, rotated by round so no target always goes first
    local list=() t i n
    for t in $TARGETS; do
        case "$1/$t" in https-*/backend) continue ;; esac
        list+=("$t")
    done
    n=${#list[@]}
    for ((i = 0; i < n; i++)); do
        printf '%s ' "${list[$(( (i + $2 - 1) % n ))]}"
    done
}

# Warm-up: connections, TLS, allocator and page cache; not recorded.
log "warming up (2 s per target and protocol)"
for tp in backend/http nginx/http nginx/https rampart/http rampart/https; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$(url_for "${tp%/*}" "${tp#*/}")$GET_PATH" \
        >"$TMP/warmup.out" 2>&1 &
    WRK_PID=$!
    rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    if [ "$rc" -ne 0 ]; then
        cat "$TMP/warmup.out" >&2
        [ "$rc" -gt 128 ] && log "wrk was killed by signal $((rc - 128)) (not by this script)"
        die "warm-up against $tp failed (wrk exit status $rc)"
    fi
done

per_round=0
for s in $SCENARIOS; do per_round=$((per_round + $(targets_for "$s" 1 | wc -w))); done
total_s=$((ROUNDS * per_round * 2 * (DURATION + 1)))
log "running $ROUNDS round(s) x $((per_round * 2)) runs x ${DURATION}s (about $((total_s / 60)) min $((total_s % 60)) s)"
if awk -v l="${LOAD_BEFORE%% *}" 'BEGIN { exit !(l > 0.5) }'; then
    log "note: load average before the start is $LOAD_BEFORE; other processes' CPU is measured during each run"
fi
START=$(date +%s)
RETRIED=0
for round in $(seq "$ROUNDS"); do
    for mode in throughput latency; do
        for s in $SCENARIOS; do
            for t in $(targets_for "$s" "$round"); do
                for attempt in $(seq 0 "$RETRIES"); do
                    run_wrk "$mode" "$s" "$t" "$round" "$attempt"
                    sleep 1
                    [ "$RUN_DISTURBED" = 1 ] && [ "$attempt" -lt "$RETRIES" ] || break
                    log "disturbed by other work: repeating this run in 5 s"
                    sleep 5
                    RETRIED=$((RETRIED + 1))
                done
                cat "$TMP/row" >>"$RES"
                cat "$TMP/row.cpu" >>"$RES.cpu"
            done
        done
    done
done
ELAPSED=$(( $(date +%s) - START ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Unexpected proxy errors would make the numbers meaningless; keep them in the report.
grep -h -i -E 'error|panic' "$TMP/rampart.log" "$TMP/proxy-error.log" "$TMP/backend-error.log" \
    2>/dev/null | head -n 5 >"$TMP/server-errors.txt" || true

# ---------------------------------------------------------------------------------------
# Summary: medians over the rounds.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { # mode scenario target column-number -> values
    awk -F'\t' -v m="$1" -v s="$2" -v t="$3" -v c="$4" '$1 == m && $2 == s && $3 == t { print $c }' "$RES"
}
stat() { col "$@" | median; }
cpu_stat() { # mode scenario target -> median server CPU us per request
    awk -F'\t' -v m="$1" -v s="$2" -v t="$3" '$1 == m && $2 == s && $3 == t { print $5 }' \
        "$RES.cpu" | median
}
sum() { col "$@" | awk '{ n += $1 } END { print n + 0 }'; }
spread() { # (max - min) / median of req/s, in percent
    col "$1" "$2" "$3" 5 | sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (NR < 2 || m == 0) print "-"; else printf "%.0f%%", (v[NR] - v[1]) * 100 / m }'
}
label() {
    case "$1" in
        http-get) echo "HTTP  GET small" ;;
        http-post) echo "HTTP  POST 2KB JSON" ;;
        https-get) echo "HTTPS GET small" ;;
        https-post) echo "HTTPS POST 2KB JSON" ;;
    esac
}

VERDICT_TP=""
VERDICT_LAT=""
table() { # mode
    local mode=$1 s t rps p50 p99 err bp99 np99 nrps ratio added spr cpu
    printf '%-20s %-8s %8s %6s %7s %7s %7s %8s %13s %6s\n' \
        scenario target "req/s" spread "p50 ms" "p99 ms" "cpu us" "vs nginx" "+p99 vs dir." errors
    for s in $SCENARIOS; do
        bp99=$(stat "$mode" "${s/https/http}" backend 7)
        np99=$(stat "$mode" "$s" nginx 7)
        nrps=$(stat "$mode" "$s" nginx 5)
        for t in $TARGETS; do
            case "$s/$t" in https-*/backend) continue ;; esac
            rps=$(stat "$mode" "$s" "$t" 5)
            p50=$(stat "$mode" "$s" "$t" 6)
            p99=$(stat "$mode" "$s" "$t" 7)
            err=$(sum "$mode" "$s" "$t" 8)
            spr=$(spread "$mode" "$s" "$t")
            cpu=$(cpu_stat "$mode" "$s" "$t")
            ratio=-; added=-
            if [ "$t" = rampart ]; then
                ratio=$(awk -v a="$rps" -v b="$nrps" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
            fi
            if [ "$t" != backend ]; then
                added=$(awk -v a="$p99" -v b="$bp99" 'BEGIN { printf "%+.3f ms", a - b }')
            fi
            printf '%-20s %-8s %8.0f %6s %7.3f %7.3f %7.1f %8s %13s %6s\n' \
                "$(label "$s")" "$t" "$rps" "$spr" "$p50" "$p99" "$cpu" "$ratio" "$added" "$err"
            if [ "$t" = rampart ] && [ "$mode" = throughput ]; then
                VERDICT_TP+=$(awk -v a="$rps" -v b="$nrps" -v l="$(label "$s")" 'BEGIN {
                    printf "  %-20s rampart %.0f vs nginx %.0f req/s: %s\n", l, a, b,
                        (a >= b ? "PASS (at least as fast)" : "FAIL (slower)") }')$'\n'
            fi
            if [ "$t" = rampart ] && [ "$mode" = latency ]; then
                VERDICT_LAT+=$(awk -v a="$p99" -v b="$bp99" -v n="$np99" -v l="$(label "$s")" 'BEGIN {
                    printf "  %-20s rampart adds %+.3f ms at p99 (nginx %+.3f ms): %s\n", l, a - b, n - b,
                        (a - b < 1 ? "PASS (< 1 ms)" : "FAIL (>= 1 ms)") }')$'\n'
            fi
        done
    done
}

FOREIGN_MED=$(cut -f9 "$RES" | median | awk '{ printf "%.0f", $1 }')
FOREIGN_MAX=$(cut -f9 "$RES" | sort -g | tail -n 1)
STEAL_MED=$(cut -f10 "$RES" | median | awk '{ printf "%.0f", $1 }')
STEAL_MAX=$(cut -f10 "$RES" | sort -g | tail -n 1)
DISTURBED=$(while IFS=$'\t' read -r m s t r _ _ _ _ f st fk; do
    if disturbed "$f" "$st" "$fk"; then
        printf '  round %s %s %s %s: other processes %s%%, steal %s%%, %s forks\n' \
            "$r" "$m" "$s" "$t" "$f" "$st" "$fk"
    fi
done <"$RES")
N_RUNS=$(wc -l <"$RES")
N_DISTURBED=$(printf '%s' "$DISTURBED" | grep -c . || true)

mkdir -p "$RESULTS_DIR"
REPORT="$TMP/report.txt"
{
    echo "Rampart proxy benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "git: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$REPO" && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ' (dirty)')"
    echo "machine: $(nproc) CPU(s), $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -sr)"
    echo "tools: $( (wrk -v 2>&1 || true) | head -n 1 | cut -d' ' -f1-2), $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $("$RAMPART" --version 2>/dev/null)"
    echo "load average: $LOAD_BEFORE before, $LOAD_AFTER after (1/5/15 min)"
    echo "disturbance during the runs (% of one CPU): other processes median $FOREIGN_MED%, max $FOREIGN_MAX%;"
    echo "  CPU stolen by the hypervisor median $STEAL_MED%, max $STEAL_MAX%"
    echo "rounds: $ROUNDS x ${DURATION}s per run, targets interleaved (order rotated each round); $ELAPSED s in all"
    echo "  ($RETRIED disturbed run(s) repeated)"
    echo "all on 127.0.0.1, one worker per core everywhere: backend = nginx fixed responses;"
    echo "nginx = proxy_pass with upstream keepalive 64; rampart = release build, server.workers"
    echo "default; no access logs. HTTPS: TLS 1.2/1.3, ECDSA P-256 self-signed, HTTP/1.1 keep-alive."
    echo "HTTPS rows are compared with the direct backend over plain HTTP (so +p99 includes TLS)."
    echo
    echo "== Throughput: wrk -t$THREADS -c$CONNECTIONS, as fast as possible (medians over $ROUNDS round(s)) =="
    table throughput
    echo
    if [ "$LAT_RATE" -gt 0 ]; then
        echo "== Moderate load: wrk -t$THREADS -c$LAT_CONNECTIONS, each connection pausing ${LAT_DELAY_MS} ms after each response (at most ~$LAT_RATE req/s) =="
    else
        echo "== Moderate load: wrk -t$THREADS -c$LAT_CONNECTIONS, closed loop (no pacing) =="
    fi
    table latency
    echo
    echo "vs nginx = rampart req/s / nginx req/s; +p99 vs dir. = p99 - p99 of the direct backend;"
    echo "cpu us = CPU time of that server's own processes per request (the backend's CPU is not"
    echo "included in the proxy rows); spread = (max - min) / median of req/s over the rounds;"
    echo "errors = socket errors + non-2xx responses. All figures are medians over the rounds."
    echo
    echo "Target 1: Rampart at least as fast as nginx proxy_pass (throughput runs)"
    printf '%s' "$VERDICT_TP"
    echo "Target 2: Rampart adds < 1 ms at p99 at moderate load"
    printf '%s' "$VERDICT_LAT"
    if [ -n "$DISTURBED" ]; then
        echo
        echo "WARNING: $N_DISTURBED of $N_RUNS runs were disturbed by other work on the machine even"
        echo "after $RETRIES retries (the medians dampen a single disturbed round; if many are"
        echo "disturbed, re-run on an idle machine). The first ones:"
        echo "$DISTURBED" | head -n 12
    fi
    if [ -s "$TMP/server-errors.txt" ]; then
        echo
        echo "Server error log lines (first 5):"
        sed 's/^/  /' "$TMP/server-errors.txt"
    fi
} >"$REPORT"

cp "$REPORT" "$RESULTS_DIR/latest.txt"
cp "$RAW" "$RESULTS_DIR/latest-raw.txt"
echo
cat "$REPORT"
echo
log "written to $RESULTS_DIR/latest.txt (raw wrk output: $RESULTS_DIR/latest-raw.txt)"
