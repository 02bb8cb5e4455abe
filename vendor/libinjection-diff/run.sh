#!/usr/bin/env bash
# Compares the vendored libinjection port in the working tree with the port at git revision
# REV (default HEAD), on libinjection's test files, the CRS regression corpus, the benign
# corpus and MUTATIONS (default 300000) seeded mutations of them: every verdict, fingerprint,
# folded token (every field) and comment count, in all six quote and dialect contexts, and
# with a state reset from one context to another as Rampart's wrapper does. Exits 1 on any
# difference. For patches to the port that must change its speed only.
#
#   vendor/libinjection-diff/run.sh [REV] [MUTATIONS]
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rev=${1:-HEAD}
mutations=${2:-300000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive "$rev" vendor/libinjectionrs | tar -x -C "$work"
mv "$work/vendor/libinjectionrs" "$work/old"
sed -i 's/^name = "libinjectionrs"$/name = "libinjectionrs_old"/' "$work/old/Cargo.toml"
mkdir -p "$work/diff/src"
cp "$root/vendor/libinjection-diff/src/main.rs" "$work/diff/src/main.rs"
cat > "$work/diff/Cargo.toml" <<TOML
[package]
name = "libinjection-diff"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
libinjectionrs = { path = "$root/vendor/libinjectionrs" }
libinjectionrs_old = { path = "$work/old" }
serde_json = "1"

[profile.release]
overflow-checks = true
debug-assertions = true

[workspace]
TOML
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/libinjection-diff}" \
    cargo run -q --release --manifest-path "$work/diff/Cargo.toml" -- "$root" "$mutations"
