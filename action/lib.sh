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

# Workflow commands are read by the runner from every line of stdout and
# stderr: `::name ...::data` at the start of a line (after whitespace), and
# the older `##[name ...]data` ANYWHERE in a line. Text from seats.yaml, an
# issue or GitHub must never be able to issue one (`::set-output`,
# `::add-mask`, `::error`, ...): a log line is one line with a fixed prefix
# and `##[` broken up, command data is escaped, and whole files are printed
# inside a stop-commands block (sk_untrusted_cat).

# Escapes the data of a workflow command as the runner unescapes it: `%`, CR
# and LF, so a message stays on its command's line.
sk_escape_data() {
    local s=$1
    s=${s//%/%25}
    s=${s//$'\r'/%0D}
    s=${s//$'\n'/%0A}
    printf '%s' "$s"
}

# Escapes a workflow command property value (file=, title=): as data, plus
# `:` and `,`, which would end the value.
sk_escape_property() {
    local s
    s=$(sk_escape_data "$1")
    s=${s//:/%3A}
    s=${s//,/%2C}
    printf '%s' "$s"
}

# One log line on stderr: the fixed prefix keeps it from being a `::`
# command, CR/LF in the message are shown as \r/\n instead of starting a new
# line, and `##[` is shown as `# #[`, which the runner does not read.
sk_log() {
    local msg="$*"
    msg=${msg//$'\r'/\\r}
    msg=${msg//$'\n'/\\n}
    msg=${msg//'##['/'# #['}
    printf 'seatkeeper-action: %s\n' "$msg" >&2
}

# A fresh stop-commands token: 128 random bits, so text printed inside the
# block cannot know it and end the block early.
sk_stop_token() {
    local token
    token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    [[ $token =~ ^[0-9a-f]{32}$ ]] || { printf 'seatkeeper-action: no randomness from /dev/urandom\n' >&2; exit 1; }
    printf 'sk%s' "$token"
}

# Prints FILE (untrusted: seatkeeper's output about seats.yaml, GitHub's
# answers) on stdout with workflow commands off: `::stop-commands::TOKEN`
# before it, `::TOKEN::` after it, so the runner reads every line of FILE as
# plain text. Always stdout: the runner reads stdout and stderr on separate
# threads, so a block on stderr could be interleaved with one on stdout and
# be reopened (or closed) out of order.
sk_untrusted_cat() {
    local token
    token=$(sk_stop_token)
    printf '::stop-commands::%s\n' "$token"
    cat "$1"
    # The closing line needs a line of its own.
    if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then printf '\n'; fi
    printf '::%s::\n' "$token"
}

# `::error::` annotation plus exit 1. The message may hold untrusted text
# (a version input, an HTTP answer): it is escaped, so it stays this one
# annotation.
sk_die() {
    printf '::error title=seatkeeper::%s\n' "$(sk_escape_data "$*")"
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
