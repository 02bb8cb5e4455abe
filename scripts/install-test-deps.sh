#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Idempotent.
# Today the suite needs nothing else: every test starts its own gateway, backends and
# test PKI in-process or as the built binary. Later layers (Redis, Python clients) add
# their packages here, and scripts/test.sh calls this first.
set -euo pipefail

need_apt=()
# (add Debian packages the tests need to need_apt, e.g. need_apt+=(redis-server))

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
