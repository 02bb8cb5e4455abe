#!/usr/bin/env bash
# Install what bench/run.sh needs: wrk (load generator), nginx (fast backend and the
# reference reverse proxy), openssl (self-signed certificate) and curl (sanity checks). Idempotent: packages
# already installed are left alone, and `apt-get update` only runs if something is missing.
#
# The system nginx service is never started: the bench runs its own nginx processes with
# `nginx -p <tmpdir> -c <conf>`. During installation a temporary policy-rc.d stops the
# package's postinst from starting the service (only if no policy-rc.d exists already).
set -euo pipefail

need=()
for pair in wrk:wrk nginx:nginx openssl:openssl curl:curl; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
        need+=("$pkg")
    fi
done

if [ ${#need[@]} -eq 0 ]; then
    echo "install-bench-deps: wrk, nginx, openssl and curl are already installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo -E)
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [ "$created_policy" = 1 ]; then
        ${SUDO[@]+"${SUDO[@]}"} rm -f "$policy"
    fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    # Exit code 101: "action not allowed"; invoke-rc.d then does not start nginx.
    printf '#!/bin/sh\nexit 101\n' | ${SUDO[@]+"${SUDO[@]}"} tee "$policy" >/dev/null
    ${SUDO[@]+"${SUDO[@]}"} chmod 755 "$policy"
    created_policy=1
fi

echo "install-bench-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
${SUDO[@]+"${SUDO[@]}"} apt-get update -q
${SUDO[@]+"${SUDO[@]}"} apt-get install -y -q --no-install-recommends "${need[@]}"

# Belt and braces: if a service manager started nginx anyway, stop it again.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    ${SUDO[@]+"${SUDO[@]}"} systemctl stop nginx || true
fi

for cmd in wrk nginx openssl curl; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || {
        echo "install-bench-deps: $cmd still missing" >&2
        exit 1
    }
done
echo "install-bench-deps: done"
