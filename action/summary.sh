#!/usr/bin/env bash
# Step (c) of the seatkeeper action: append the body run.sh wrote to the job
# summary.
#
# Env: SK_BODY_FILE (run.sh's plan-file output), GITHUB_STEP_SUMMARY.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env SK_BODY_FILE GITHUB_STEP_SUMMARY
[ -f "$SK_BODY_FILE" ] || sk_die "no $SK_BODY_FILE: the run step did not finish"
{
    cat "$SK_BODY_FILE"
    printf '\n'
} >>"$GITHUB_STEP_SUMMARY"
