#!/usr/bin/env bash
# Step (a) of the seatkeeper action: install a pinned seatkeeper.
#
# Downloads the release asset seatkeeper-v$VERSION-$TARGET.tar.gz for the
# runner's platform and installs it only once it is verified, by either:
#
#   1. a SHA-256 pinned in THIS version of the action: action/checksums.txt
#      (sha256sum format), a file of the repository at the action's tag, never
#      one downloaded beside the binary; or, when the asset is not pinned there,
#   2. its GitHub artifact attestation: `gh attestation verify` against the
#      seatkeeper repository and its release workflow (release.yml attests
#      every asset and SHA256SUMS with actions/attest-build-provenance), for
#      this version's tag, on a GitHub-hosted runner.
#
# There is no unverified fallback: a 404, a mismatch, a failed or impossible
# verification fails the step, installs nothing, and says how to build from
# source. Building from source (`cargo install --locked --git` at the tag)
# happens only when asked for with SEATKEEPER_BUILD_FROM_SOURCE=true.
#
# Env (the action sets them; Actions sets the RUNNER_* and GITHUB_* ones):
#   SEATKEEPER_VERSION        e.g. 0.1.0 (no leading v)
#   SEATKEEPER_BUILD_FROM_SOURCE  true: cargo install the tag, download nothing
#   GH_TOKEN                  for `gh attestation verify` (the workflow token;
#                             passed to gh only when GITHUB_API_URL is
#                             github.com's)
#   RUNNER_OS, RUNNER_ARCH    Linux + X64 / ARM64 have release assets
#   RUNNER_TEMP               where the binary is installed
#   GITHUB_OUTPUT, GITHUB_PATH
#   SEATKEEPER_RELEASE_BASE_URL  release download root (tests point it at a
#                             local server); default GitHub's releases of
#                             seatkeeper/seatkeeper
# Outputs: path (the binary), source (release | cargo), verified-by
# (checksum | attestation; release only).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env SEATKEEPER_VERSION RUNNER_OS RUNNER_ARCH RUNNER_TEMP GITHUB_OUTPUT GITHUB_PATH
version=$SEATKEEPER_VERSION
# The version becomes part of URLs, paths and a git tag: semver only.
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] \
    || sk_die "version must look like 1.2.3 (no leading v), not '$version'"
base_url=${SEATKEEPER_RELEASE_BASE_URL:-https://github.com/seatkeeper/seatkeeper/releases/download}
# The repository whose release workflow must have attested the asset.
repository=seatkeeper/seatkeeper
git_url=https://github.com/$repository
pinned=$(dirname "${BASH_SOURCE[0]}")/checksums.txt
from_source="cargo install --locked --git $git_url --tag v$version --root DIR seatkeeper (set the action's build-from-source input to true to do this instead)"

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

# Verifies FILE (the asset NAME.tar.gz): by the pinned SHA-256 when
# checksums.txt has one for NAME.tar.gz, else by its attestation. Dies unless
# one of them succeeds.
verify() {
    local file=$1 asset=$2 expected actual log
    expected=$(awk -v want="$asset" '$2 == want || $2 == "*" want { print tolower($1); exit }' "$pinned" 2>/dev/null || true)
    if [ -n "$expected" ]; then
        [[ $expected =~ ^[0-9a-f]{64}$ ]] || sk_die "action/checksums.txt holds no SHA-256 digest for $asset"
        actual=$(sha256_of "$file")
        [ "$actual" = "$expected" ] \
            || sk_die "SHA-256 mismatch for $asset: this action pins $expected, the download is $actual; nothing installed (the asset was changed after release, or the download was tampered with). Build from source instead: $from_source"
        sk_log "SHA-256 verified against action/checksums.txt: $actual"
        sk_output verified-by checksum
        return 0
    fi
    command -v gh >/dev/null \
        || sk_die "cannot verify $asset: this action version pins no checksum for it and there is no gh CLI to verify its attestation; nothing installed. Install gh (GitHub-hosted runners have it), use an action version that pins v$version, or build from source: $from_source"
    log=$staging/attestation.log
    # gh sends GH_TOKEN to github.com, where seatkeeper's attestations are.
    # The workflow token belongs to the workflow's own API root: it goes
    # with gh only when that root is github.com's (never to another host).
    if [ "${GITHUB_API_URL:-https://api.github.com}" != https://api.github.com ]; then
        unset GH_TOKEN
    fi
    # Who must have attested it: this repository's release workflow, run for
    # this version's tag (an older release's asset cannot pass as this one)
    # on a GitHub-hosted runner.
    local signer=(--repo "$repository" --signer-workflow "$repository/.github/workflows/release.yml"
        --source-ref "refs/tags/v$version" --deny-self-hosted-runners)
    sk_log "verifying the attestation of $asset: gh attestation verify ${signer[*]}"
    if ! gh attestation verify "$file" "${signer[@]}" >"$log" 2>&1; then
        # gh quotes what the attestation says: untrusted text.
        sk_untrusted_cat "$log"
        sk_die "the attestation of $asset does not verify (see above); nothing installed. Build from source instead: $from_source"
    fi
    sk_untrusted_cat "$log"
    sk_log "attestation verified: built by $repository's release workflow"
    sk_output verified-by attestation
}

install_release() {
    local name=seatkeeper-v$version-$target
    local url=$base_url/v$version/$name.tar.gz status
    sk_log "downloading $url"
    status=$(download "$url" "$staging/$name.tar.gz")
    case $status in
        200) ;;
        404) sk_die "no release asset $name.tar.gz for v$version (HTTP 404); nothing installed. Build from source instead: $from_source" ;;
        *) sk_die "downloading $url failed (HTTP $status); nothing installed" ;;
    esac
    verify "$staging/$name.tar.gz" "$name.tar.gz"
    mkdir "$staging/unpacked"
    tar -xzf "$staging/$name.tar.gz" -C "$staging/unpacked" --no-same-owner
    local unpacked=$staging/unpacked/$name/seatkeeper
    [ -f "$unpacked" ] && [ ! -L "$unpacked" ] || sk_die "$name.tar.gz has no $name/seatkeeper"
    mkdir -p "$root/bin"
    install -m 0755 "$unpacked" "$bin"
    sk_output source release
}

install_cargo() {
    command -v cargo >/dev/null || sk_die "build-from-source is true but there is no cargo on this runner"
    sk_log "building v$version from source with cargo install (build-from-source)"
    cargo install --locked --git "$git_url" --tag "v$version" --root "$staging/cargo" seatkeeper
    [ -f "$staging/cargo/bin/seatkeeper$exe" ] || sk_die "cargo install left no seatkeeper binary"
    mkdir -p "$root/bin"
    install -m 0755 "$staging/cargo/bin/seatkeeper$exe" "$bin"
    sk_output source cargo
}

case ${SEATKEEPER_BUILD_FROM_SOURCE:-false} in
    true) install_cargo ;;
    false)
        [ -n "$target" ] \
            || sk_die "no release binary for $RUNNER_OS/$RUNNER_ARCH; build from source instead: $from_source"
        install_release
        ;;
    *) sk_die "build-from-source must be true or false, not '$SEATKEEPER_BUILD_FROM_SOURCE'" ;;
esac

# The binary must be the version asked for: a mislabelled asset is refused.
reported=$("$bin" --version) || sk_die "$bin does not run"
if [ "$reported" != "seatkeeper $version" ]; then
    rm -f "$bin"
    sk_die "$bin reports '$reported', not 'seatkeeper $version'"
fi
sk_log "installed $reported at $bin"
printf '%s\n' "$root/bin" >>"$GITHUB_PATH"
sk_output path "$bin"
