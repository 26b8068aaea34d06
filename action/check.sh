#!/usr/bin/env bash
# Last step of the seatkeeper action: pass or fail the check on seatkeeper's
# exit code. plan: 0 (no changes) and 2 (changes) pass; 1 (error, ineligible
# login with --strict) and 3 (guarded plan) fail. validate: 0 passes.
#
# Env: SK_COMMAND, SK_EXIT_CODE (run.sh's exit-code output), SK_SEATS_FILE.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env SK_COMMAND SK_EXIT_CODE SK_SEATS_FILE
IFS=$'\t' read -r verdict words < <(sk_verdict "$SK_COMMAND" "$SK_EXIT_CODE")
if [ "$verdict" != pass ]; then
    # The path and the exit code are inputs: escaped, so they stay values.
    printf '::error file=%s,title=seatkeeper %s::exit %s: %s (see the job summary)\n' \
        "$(sk_escape_property "$SK_SEATS_FILE")" "$(sk_escape_property "$SK_COMMAND")" \
        "$(sk_escape_data "$SK_EXIT_CODE")" "$(sk_escape_data "$words")"
    exit 1
fi
sk_log "seatkeeper $SK_COMMAND exited $SK_EXIT_CODE: $words"
