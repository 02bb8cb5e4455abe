#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Idempotent.
# Every test starts its own gateway, backends and test PKI; real AWS client code signs
# the SigV4 tests' requests: botocore (PyPI), used by
# crates/rampart-gateway/tests/clients/botocore_sign.py. scripts/test.sh calls this first.
# The Redis limiter tests (rampart-limiter-redis, and the gateway's usage-plan tests) start
# throwaway redis-server processes on 127.0.0.1: Debian's redis-server package.
set -euo pipefail

BOTOCORE_VERSION=1.43.11
PYTHON=${RAMPART_TEST_PYTHON:-python3}

need_apt=()
command -v "$PYTHON" >/dev/null 2>&1 || need_apt+=(python3)
"$PYTHON" -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)

if ((${#need_apt[@]})); then
  missing=()
  for p in "${need_apt[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  fi
fi

if ! "$PYTHON" -c "import botocore" >/dev/null 2>&1; then
  echo "installing botocore==$BOTOCORE_VERSION for the SigV4 client tests"
  # Debian's system Python refuses plain pip installs (PEP 668); a user install is fine.
  "$PYTHON" -m pip install --quiet --user "botocore==$BOTOCORE_VERSION" 2>/dev/null \
    || "$PYTHON" -m pip install --quiet --user --break-system-packages "botocore==$BOTOCORE_VERSION"
fi
"$PYTHON" -c "import botocore" || { echo "botocore is not importable by $PYTHON" >&2; exit 1; }
