#!/usr/bin/env bash
# cargo audit (RustSec) of Cargo.lock, offline, with no advisory left
# unaddressed: any vulnerability, and any warning (unmaintained, unsound,
# yanked), fails. Used by .ci/run; run it by hand the same way.
#
# The advisory database: machines here reach crates.io, PyPI, npm and Debian
# only, not GitHub, so the database is a pinned snapshot committed as
# tools/advisory-db.tar.gz (crates/ and rust/ of github.com/rustsec/advisory-db,
# its licences, and SNAPSHOT naming the commit), checked against its SHA-256
# below. SEATKEEPER_ADVISORY_DB=DIR audits against a fresher checkout instead.
# To refresh the snapshot: check out advisory-db, then
#   tar --sort=name --mtime=DATE --owner=0 --group=0 --numeric-owner \
#     -cf - advisory-db | gzip -n -9 > tools/advisory-db.tar.gz
# with crates/ rust/ LICENSE.txt LICENSES/ and SNAPSHOT in advisory-db/, and
# update SNAPSHOT_SHA256.
set -euo pipefail
cd "$(dirname "$0")/.."

SNAPSHOT=tools/advisory-db.tar.gz
SNAPSHOT_SHA256=f0806a94ad526d951fa0b5ceb4b04b0117fb45bb157ec961d6319fc0b8dac8d9
REQ=tools/cargo-audit-requirements.txt
TOOL=target/tools/cargo-audit

req_sum=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ "$(cat "$TOOL/.installed" 2>/dev/null)" != "$req_sum" ]; then
  rm -rf "$TOOL"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --require-hashes --no-deps --only-binary=:all: --target "$TOOL" -r "$REQ"
  echo "$req_sum" >"$TOOL/.installed"
fi
audit="$TOOL/bin/cargo-audit"
"$audit" audit --version

db=${SEATKEEPER_ADVISORY_DB:-}
if [ -z "$db" ]; then
  have=$(sha256sum "$SNAPSHOT" | cut -d' ' -f1)
  if [ "$have" != "$SNAPSHOT_SHA256" ]; then
    echo "$SNAPSHOT: SHA-256 $have, expected $SNAPSHOT_SHA256" >&2
    exit 1
  fi
  db=target/advisory-db
  if [ "$(cat "$db/.unpacked" 2>/dev/null)" != "$have" ]; then
    rm -rf "$db"
    mkdir -p target
    tar -xzf "$SNAPSHOT" -C target
    echo "$have" >"$db/.unpacked"
  fi
  sed -n 's/^commit: /advisory-db snapshot at commit /p; s/^date: /advisory-db snapshot of /p' "$db/SNAPSHOT"
fi
# --no-fetch: never reach for the network; --stale: a snapshot is older than
# cargo-audit's freshness window by design; --deny warnings: unmaintained,
# unsound and yanked crates fail too (address one in .cargo/audit.toml, with
# the reason, or by upgrading).
"$audit" audit --db "$db" --no-fetch --stale --deny warnings --file Cargo.lock
