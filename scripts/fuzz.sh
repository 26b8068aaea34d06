#!/usr/bin/env bash
# Fuzz one parser for a while: scripts/fuzz.sh TARGET SECONDS
#
#   TARGET   seats_yaml (seats.yaml parser + validator + planner)
#            seat_list_json (seat-list JSON decoder + planner)
#   SECONDS  how long to run (default 60)
#
# Seeds from the committed corpus (fuzz/corpus/TARGET/), the regression
# inputs (tests/fixtures/fuzz/TARGET/) and the repository's fixtures
# (tests/fixtures/bad/*.yaml, seats.yaml, examples/live-state.json,
# tests/fixtures/seats-json/*.json), and keeps what libFuzzer learns in
# fuzz/corpus-local/TARGET (git-ignored). A crash is saved under
# fuzz/artifacts/TARGET/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...
# and copy it into tests/fixtures/fuzz/TARGET/ with the fix: the stable runner
# CI uses (tests/it/fuzz_stable.rs, the same checks: fuzz/fuzz_targets/checks.rs)
# replays every file there.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On the stable
# toolchain RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo-fuzz passes; the
# targets run with the address sanitizer. Environment knobs:
#   FUZZ_JOBS=N      run N fuzzing processes in parallel (default 1; their
#                    logs go to fuzz/fuzz-N.log)
#   FUZZ_MAX_LEN=N   largest input in bytes (default 16384)
#   FUZZ_RSS_MB=N    memory limit per process (default 2048)
set -euo pipefail

usage() {
    echo "usage: $0 seats_yaml|seat_list_json SECONDS" >&2
    exit 2
}

target=${1:-}
seconds=${2:-60}
case "$target" in
    seats_yaml | seat_list_json) ;;
    *) usage ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || usage

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

corpus="fuzz/corpus-local/$target"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$corpus"

shopt -s nullglob
case "$target" in
    seats_yaml)
        files=(fuzz/corpus/seats_yaml/* tests/fixtures/fuzz/seats_yaml/* tests/fixtures/bad/*.yaml tests/fixtures/cli/*.yaml seats.yaml examples/*.yaml examples/*/*.yaml)
        ;;
    seat_list_json)
        files=(fuzz/corpus/seat_list_json/* tests/fixtures/fuzz/seat_list_json/* examples/live-state.json tests/fixtures/seats-json/*.json)
        ;;
esac
n=0
for f in "${files[@]}"; do
    cp "$f" "$seeds/$(echo "$f" | tr '/' '_')"
    n=$((n + 1))
done
echo "fuzz.sh: $target for ${seconds}s, $n seed files, corpus $corpus" >&2

jobs=${FUZZ_JOBS:-1}
extra=()
if [ "$jobs" -gt 1 ]; then
    extra=(-jobs="$jobs" -workers="$jobs")
fi

# From fuzz/, so libFuzzer's per-job logs (fuzz-N.log) land there, ignored.
# libFuzzer reads every corpus directory and writes new inputs to the first.
cd fuzz
RUSTC_BOOTSTRAP=1 exec cargo fuzz run --fuzz-dir . --debug-assertions "$target" "corpus-local/$target" "$seeds" -- \
    -max_total_time="$seconds" \
    -max_len="${FUZZ_MAX_LEN:-16384}" \
    -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -timeout=10 \
    -dict="dict/$target.dict" \
    -print_final_stats=1 \
    "${extra[@]}"
