#!/usr/bin/env bash
# Step (a) of the seatkeeper action: install a pinned seatkeeper.
#
# Downloads the release asset seatkeeper-v$VERSION-$TARGET.tar.gz and its
# .sha256 for the runner's platform, verifies the SHA-256 (a mismatch, or a
# missing or malformed .sha256, fails the step and installs nothing), and
# unpacks the binary into $RUNNER_TEMP. Where no asset exists for the platform
# (no musl build for it, or the release has none: HTTP 404), it builds the
# same tag from source with `cargo install --locked --git`.
#
# Env (the action sets them; Actions sets the RUNNER_* and GITHUB_* ones):
#   SEATKEEPER_VERSION        e.g. 0.1.0 (no leading v)
#   RUNNER_OS, RUNNER_ARCH    Linux + X64 / ARM64 have release assets
#   RUNNER_TEMP               where the binary is installed
#   GITHUB_OUTPUT, GITHUB_PATH
#   SEATKEEPER_RELEASE_BASE_URL  release download root (tests point it at a
#                             local server); default GitHub's releases of
#                             seatkeeper/seatkeeper
# Outputs: path (the binary), source (release | cargo).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env SEATKEEPER_VERSION RUNNER_OS RUNNER_ARCH RUNNER_TEMP GITHUB_OUTPUT GITHUB_PATH
version=$SEATKEEPER_VERSION
# The version becomes part of URLs, paths and a git tag: semver only.
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] \
    || sk_die "version must look like 1.2.3 (no leading v), not '$version'"
base_url=${SEATKEEPER_RELEASE_BASE_URL:-https://github.com/seatkeeper/seatkeeper/releases/download}
git_url=https://github.com/seatkeeper/seatkeeper

case "$RUNNER_OS/$RUNNER_ARCH" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    *) target= ;;
esac
exe=
[ "$RUNNER_OS" = Windows ] && exe=.exe

root=$RUNNER_TEMP/seatkeeper-action/v$version
bin=$root/bin/seatkeeper$exe
staging=$(mktemp -d "$RUNNER_TEMP/seatkeeper-install.XXXXXX")
trap 'rm -rf "$staging"' EXIT

sha256_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# Downloads URL to FILE; prints the HTTP status (000 when none came back).
download() {
    curl --silent --show-error --location --retry 3 --retry-delay 2 \
        --connect-timeout 20 --max-time 300 \
        --output "$2" --write-out '%{http_code}' "$1" || true
}

# Installs from the release asset; leaves `installed` false when there is
# none (404). Called as a plain command, never in a condition, so that
# `set -e` stays in force inside it.
installed=false
install_release() {
    local name=seatkeeper-v$version-$target
    local url=$base_url/v$version/$name.tar.gz status expected actual
    sk_log "downloading $url"
    status=$(download "$url" "$staging/$name.tar.gz")
    case $status in
        200) ;;
        404) sk_log "no release asset $name.tar.gz (HTTP 404)"; return 0 ;;
        *) sk_die "downloading $url failed (HTTP $status)" ;;
    esac
    status=$(download "$url.sha256" "$staging/$name.tar.gz.sha256")
    [ "$status" = 200 ] || sk_die "downloading $url.sha256 failed (HTTP $status): refusing an unverified binary"
    # sha256sum's format: the hex digest, then the file name.
    expected=$(head -n 1 "$staging/$name.tar.gz.sha256" | awk '{print tolower($1)}')
    [[ $expected =~ ^[0-9a-f]{64}$ ]] || sk_die "$name.tar.gz.sha256 holds no SHA-256 digest"
    actual=$(sha256_of "$staging/$name.tar.gz")
    [ "$actual" = "$expected" ] \
        || sk_die "SHA-256 mismatch for $name.tar.gz: expected $expected, got $actual; nothing installed"
    sk_log "SHA-256 verified: $actual"
    mkdir "$staging/unpacked"
    tar -xzf "$staging/$name.tar.gz" -C "$staging/unpacked" --no-same-owner
    local unpacked=$staging/unpacked/$name/seatkeeper
    [ -f "$unpacked" ] && [ ! -L "$unpacked" ] || sk_die "$name.tar.gz has no $name/seatkeeper"
    mkdir -p "$root/bin"
    install -m 0755 "$unpacked" "$bin"
    installed=true
    sk_output source release
}

install_cargo() {
    command -v cargo >/dev/null \
        || sk_die "no release asset for $RUNNER_OS/$RUNNER_ARCH and no cargo to build v$version from source"
    sk_log "building v$version from source with cargo install (no release asset for $RUNNER_OS/$RUNNER_ARCH)"
    cargo install --locked --git "$git_url" --tag "v$version" --root "$staging/cargo" seatkeeper
    [ -f "$staging/cargo/bin/seatkeeper$exe" ] || sk_die "cargo install left no seatkeeper binary"
    mkdir -p "$root/bin"
    install -m 0755 "$staging/cargo/bin/seatkeeper$exe" "$bin"
    sk_output source cargo
}

if [ -n "$target" ]; then
    install_release
fi
if [ "$installed" = false ]; then
    install_cargo
fi

# The binary must be the version asked for: a mislabelled asset is refused.
reported=$("$bin" --version) || sk_die "$bin does not run"
if [ "$reported" != "seatkeeper $version" ]; then
    rm -f "$bin"
    sk_die "$bin reports '$reported', not 'seatkeeper $version'"
fi
sk_log "installed $reported at $bin"
printf '%s\n' "$root/bin" >>"$GITHUB_PATH"
sk_output path "$bin"
