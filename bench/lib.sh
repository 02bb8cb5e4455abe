# Shared by bench/auth.sh, bench/usage.sh and bench/waf.sh (sourced, after `set -euo pipefail`):
#   bench_init NAME "$@"   parses --rounds N (default 3) and --duration S (default 10), sets
#                          REPO, TMP (removed at exit), PIDS (killed at exit), NGINX and
#                          log(); a script's own `bench_cleanup_extra` runs first at exit
#   rampart_bin            sets RAMPART: $RAMPART_BIN, or a release build into
#                          $CARGO_TARGET_DIR (default target/)
#   port                   prints a free 127.0.0.1 port
#   start_backend PORT     the fast nginx backend (bench/nginx/backend.conf.in) on PORT
#   to_ms                  wrk latency ("850.00us", "1.23ms", "1.02s") on stdin -> milliseconds
#   median                 the median of whitespace-separated numbers on stdin

bench_init() {
    BENCH_NAME=$1
    shift
    REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    ROUNDS=3
    DURATION=10
    while [ $# -gt 0 ]; do
        case "$1" in
            --rounds) ROUNDS=${2:?}; shift 2 ;;
            --duration) DURATION=${2:?}; shift 2 ;;
            *) echo "usage: bench/$BENCH_NAME [--rounds N] [--duration S]" >&2; exit 2 ;;
        esac
    done
    command -v wrk >/dev/null && command -v curl >/dev/null || "$REPO/scripts/install-bench-deps.sh"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    TMP=$(mktemp -d)
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    if declare -F bench_cleanup_extra >/dev/null; then bench_cleanup_extra || true; fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$TMP"
}

log() { echo "$BENCH_NAME: $*" >&2; }

rampart_bin() {
    if [ -n "${RAMPART_BIN:-}" ]; then RAMPART=$RAMPART_BIN; return; fi
    local td=${CARGO_TARGET_DIR:-$REPO/target}
    log "building rampart (release)"
    (cd "$REPO" && CARGO_TARGET_DIR="$td" cargo build --release -q -p rampart)
    RAMPART="$td/release/rampart"
}

# A free loopback port for a server: below the kernel's ephemeral range (where an outgoing
# connection, say an upstream keep-alive, can take a port between this check and the bind),
# and never one this run handed out before (recorded in $TMP/ports).
port() {
    python3 - "$TMP/ports" <<'PY'
import random, socket, sys
used_file = sys.argv[1]
try:
    used = set(open(used_file).read().split())
except FileNotFoundError:
    used = set()
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(500):
    p = random.randrange(10000, max(low, 10001))
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    open(used_file, "a").write(f"{p}\n")
    print(p)
    break
else:
    sys.exit("no free port below the ephemeral range")
PY
}

start_backend() {
    local backend_port=$1 f
    mkdir -p "$TMP/backend-body" "$TMP/backend-proxy" "$TMP/backend-fastcgi" "$TMP/backend-uwsgi" "$TMP/backend-scgi"
    for f in common backend; do
        sed -e "s|@TMP@|$TMP|g" -e "s|@NAME@|backend|g" -e "s|@BACKEND_PORT@|$backend_port|g" \
            "$REPO/bench/nginx/$f.conf.in" >"$TMP/backend-$f.conf"
    done
    # backend.conf.in includes @TMP@/@NAME@-common.conf.
    mv "$TMP/backend-backend.conf" "$TMP/backend.conf"
    "$NGINX" -p "$TMP" -e "$TMP/backend-error.log" -c "$TMP/backend.conf" >/dev/null 2>&1 &
    PIDS+=($!)
}

to_ms() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0; else if ($1 ~ /s$/) v *= 1000; else if ($1 ~ /m$/) v *= 60000; printf "%.3f\n", v }'; }

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
