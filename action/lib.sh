# Shared helpers of the seatkeeper action's step scripts (sourced, not run).
# Bash 4+, coreutils, awk; jq and curl where a script says so.
# shellcheck shell=bash disable=SC2034 # the constants are used by the scripts that source this

# The fixed first line of every comment and summary the action writes: the
# comment step finds its own earlier comment by it.
SEATKEEPER_MARKER='<!-- seatkeeper-plan -->'

# The only comment author whose marked comment may be updated: the workflow's
# own GITHUB_TOKEN. A marked comment by anyone else is never touched.
SEATKEEPER_COMMENT_AUTHOR='github-actions[bot]'

# Command output embedded in a comment or summary is cut past these many
# bytes, so a body stays under GitHub's 65,536-character comment limit: next
# to a plan (which seatkeeper cuts at 60,000 bytes), or alone.
SEATKEEPER_EMBED_BESIDE_PLAN=4000
SEATKEEPER_EMBED_ALONE=60000

sk_log() { printf 'seatkeeper-action: %s\n' "$*" >&2; }

# `::error::` annotation plus exit 1.
sk_die() {
    printf '::error title=seatkeeper::%s\n' "$*"
    sk_log "error: $*"
    exit 1
}

# Fails unless every named variable is set and non-empty.
sk_require_env() {
    local name
    for name in "$@"; do
        [ -n "${!name:-}" ] || sk_die "$name is not set (the action sets it; running a script by hand needs it too)"
    done
}

# Appends `name=value` to $GITHUB_OUTPUT; a value is one line.
sk_output() {
    local name=$1 value=$2
    case $value in *$'\n'*) sk_die "output $name must be one line" ;; esac
    printf '%s=%s\n' "$name" "$value" >>"$GITHUB_OUTPUT"
}

# Prints a fence of backticks longer than the longest run of backticks in FILE
# (at least three), so nothing inside FILE can close it: the content stays
# literal text, never headings, links, HTML or mentions.
sk_fence_for() {
    awk '
        {
            line = $0
            while (match(line, /`+/)) {
                if (RLENGTH > longest) longest = RLENGTH
                line = substr(line, RSTART + RLENGTH)
            }
        }
        END {
            n = longest + 1
            if (n < 3) n = 3
            fence = ""
            for (i = 0; i < n; i++) fence = fence "`"
            print fence
        }' "$1"
}

# Prints FILE as a fenced code block with info string LANG, cut to LIMIT
# bytes with a note saying so. Carriage returns are dropped: a bare CR must
# not start a line inside the block that the fence does not see.
sk_fenced() {
    local file=$1 lang=$2 limit=$3 body fence size
    body=$(mktemp)
    size=$(wc -c <"$file")
    head -c "$limit" "$file" | tr -d '\r' >"$body"
    # The closing fence needs a line of its own.
    if [ -s "$body" ] && [ -n "$(tail -c 1 "$body")" ]; then
        printf '\n' >>"$body"
    fi
    fence=$(sk_fence_for "$body")
    printf '%s%s\n' "$fence" "$lang"
    cat "$body"
    printf '%s\n' "$fence"
    if [ "$size" -gt "$limit" ]; then
        printf '\n*Cut after %s of %s bytes; the job log has all of it.*\n' "$limit" "$size"
    fi
    rm -f "$body"
}

# What an exit code of `seatkeeper plan` (or validate) means, and whether the
# check passes: prints "pass|fail<TAB>words".
sk_verdict() {
    local command=$1 code=$2
    case "$command:$code" in
        plan:0) printf 'pass\tno changes\n' ;;
        plan:2) printf 'pass\tchanges to apply\n' ;;
        plan:3) printf 'fail\tguarded plan: it must not be applied\n' ;;
        plan:1) printf 'fail\terror\n' ;;
        validate:0) printf 'pass\tvalid\n' ;;
        validate:1) printf 'fail\tinvalid\n' ;;
        *) printf 'fail\tunexpected exit code %s\n' "$code" ;;
    esac
}
