#!/usr/bin/env bash
# Step (b) of the seatkeeper action: run `seatkeeper validate` or
# `seatkeeper plan`, and write the markdown body the summary and the PR
# comment show. The step itself succeeds whatever seatkeeper answered (so the
# summary and comment steps still run); check.sh fails the job afterwards.
#
# Env:
#   SEATKEEPER_BIN        the binary (install.sh's `path` output); default
#                         `seatkeeper` on PATH
#   SK_COMMAND            validate | plan
#   SK_SEATS_FILE         the seats.yaml to check
#   SK_GITHUB_TOKEN       token for plan (read-only: Copilot seats, members)
#   SK_GITHUB_URL         optional REST API root (GHE.com, simulator); default
#                         $GITHUB_API_URL, as seatkeeper reads it
#   SK_BASE_REF           optional git ref: plan --base
#   SK_STRICT             true (default) | false: plan --strict
#   SK_SAVED_PLAN         optional path: plan --out (the saved plan JSON)
#   SK_ARGS               extra arguments, split at whitespace (no quoting)
#   RUNNER_TEMP, GITHUB_OUTPUT
# Outputs: exit-code, plan-file (the markdown body), verdict (pass | fail),
# saved-plan (when written).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env SK_COMMAND SK_SEATS_FILE RUNNER_TEMP GITHUB_OUTPUT
bin=${SEATKEEPER_BIN:-seatkeeper}
out_dir=$RUNNER_TEMP/seatkeeper-action
mkdir -p "$out_dir"
stdout=$out_dir/$SK_COMMAND.out
stderr=$out_dir/$SK_COMMAND.err
body=$out_dir/$SK_COMMAND.md
: >"$stdout"
: >"$stderr"

read -r -a extra <<<"${SK_ARGS:-}"
args=()
case $SK_COMMAND in
    validate)
        args=(validate "$SK_SEATS_FILE")
        ;;
    plan)
        args=(plan "$SK_SEATS_FILE" --format markdown)
        case ${SK_STRICT:-true} in
            true) args+=(--strict) ;;
            false) ;;
            *) sk_die "strict must be true or false, not '$SK_STRICT'" ;;
        esac
        if [ -n "${SK_GITHUB_URL:-}" ]; then args+=(--github-url "$SK_GITHUB_URL"); fi
        if [ -n "${SK_BASE_REF:-}" ]; then args+=(--base "$SK_BASE_REF"); fi
        if [ -n "${SK_SAVED_PLAN:-}" ]; then args+=(--out "$SK_SAVED_PLAN"); fi
        ;;
    *) sk_die "command must be validate or plan, not '$SK_COMMAND'" ;;
esac
args+=("${extra[@]}")

code=0
if [ "$SK_COMMAND" = plan ] && [ -z "${SK_GITHUB_TOKEN:-}" ]; then
    echo "error: the github-token input is required for plan (a read-only token: GitHub Copilot Business read, Members read)" >"$stderr"
    code=1
else
    sk_log "running: $bin ${args[*]}"
    # The token reaches seatkeeper only through its environment.
    GITHUB_TOKEN=${SK_GITHUB_TOKEN:-} "$bin" "${args[@]}" >"$stdout" 2>"$stderr" || code=$?
fi
# The job log keeps everything, uncut, with workflow commands off: the output
# quotes seats.yaml and GitHub's answers (sk_untrusted_cat, both on stdout).
sk_untrusted_cat "$stdout"
sk_untrusted_cat "$stderr"

IFS=$'\t' read -r verdict words < <(sk_verdict "$SK_COMMAND" "$code")

{
    printf '%s\n' "$SEATKEEPER_MARKER"
    if [ "$SK_COMMAND" = plan ] && [ -s "$stdout" ] && [ "$(head -n 1 "$stdout")" = "$SEATKEEPER_MARKER" ]; then
        # seatkeeper's own markdown (free text in it is escaped), without its marker.
        tail -n +2 "$stdout"
        printf '\n'
        limit=$SEATKEEPER_EMBED_BESIDE_PLAN
    else
        printf '### seatkeeper %s: %s\n\n' "$SK_COMMAND" "$words"
        if [ -s "$stdout" ]; then
            sk_fenced "$stdout" text "$SEATKEEPER_EMBED_BESIDE_PLAN"
            printf '\n'
        fi
        limit=$SEATKEEPER_EMBED_ALONE
    fi
    if [ -s "$stderr" ]; then
        printf '**seatkeeper %s said:**\n\n' "$SK_COMMAND"
        sk_fenced "$stderr" text "$limit"
        printf '\n'
    fi
    # shellcheck disable=SC2016 # the backticks are markdown
    if [ "$verdict" = pass ]; then
        printf '`seatkeeper %s` exited %s: %s.\n' "$SK_COMMAND" "$code" "$words"
    else
        printf '**`seatkeeper %s` exited %s: %s.** The check fails.\n' "$SK_COMMAND" "$code" "$words"
    fi
} >"$body"

sk_output exit-code "$code"
sk_output verdict "$verdict"
sk_output plan-file "$body"
if [ "$SK_COMMAND" = plan ] && [ -n "${SK_SAVED_PLAN:-}" ] && [ -s "$SK_SAVED_PLAN" ]; then
    sk_output saved-plan "$SK_SAVED_PLAN"
fi
