#!/usr/bin/env bash
# Step (d) of the seatkeeper action: one PR comment per pull request, kept up
# to date. Lists the PR's comments (every page), and updates the first one
# that starts with the marker AND whose author is github-actions[bot] (the
# workflow's own token). A marked comment by anyone else is left alone: a
# person could plant the marker to have a stale or forged plan "updated", or
# to hide the real one. Without such a comment, a new one is created. Talks
# to the REST API with curl only, and sends the token to the API root only
# (a `Link` to any other host is refused).
#
# Env:
#   SK_COMMENT          true | false | empty (empty: true on pull_request and
#                       pull_request_target events)
#   SK_BODY_FILE        the comment body (run.sh's plan-file output)
#   SK_COMMENT_TOKEN    token allowed to write PR comments (github.token)
#   GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH
# Outputs: comment-id, comment-action (created | updated | skipped).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sk_require_env GITHUB_OUTPUT GITHUB_EVENT_NAME
case "${SK_COMMENT:-}" in
    true) want=true ;;
    false) want=false ;;
    '')
        case $GITHUB_EVENT_NAME in
            pull_request | pull_request_target) want=true ;;
            *) want=false ;;
        esac
        ;;
    *) sk_die "comment must be true, false or empty, not '$SK_COMMENT'" ;;
esac
if [ "$want" = false ]; then
    sk_log "no PR comment (comment=${SK_COMMENT:-auto}, event $GITHUB_EVENT_NAME)"
    sk_output comment-action skipped
    exit 0
fi

sk_require_env SK_BODY_FILE SK_COMMENT_TOKEN GITHUB_API_URL GITHUB_REPOSITORY GITHUB_EVENT_PATH
command -v jq >/dev/null || sk_die "jq is needed to read the event and the comments"
[ -f "$SK_BODY_FILE" ] || sk_die "no $SK_BODY_FILE: the run step did not finish"
[ "$(head -n 1 "$SK_BODY_FILE")" = "$SEATKEEPER_MARKER" ] \
    || sk_die "$SK_BODY_FILE does not start with $SEATKEEPER_MARKER"
pr=$(jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH")
if ! [[ $pr =~ ^[1-9][0-9]*$ ]]; then
    printf '::warning title=seatkeeper::comment is on, but %s is not a pull request event: no comment\n' "$GITHUB_EVENT_NAME"
    sk_output comment-action skipped
    exit 0
fi
[[ $GITHUB_REPOSITORY =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || sk_die "odd GITHUB_REPOSITORY '$GITHUB_REPOSITORY'"
api=${GITHUB_API_URL%/}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The token goes to curl in a header file, never on its command line.
(umask 077 && printf 'Authorization: Bearer %s\n' "$SK_COMMENT_TOKEN" >"$work/auth")

# curl METHOD URL [BODY_FILE]: response body to $work/response, headers to
# $work/headers; prints the HTTP status.
call() {
    local method=$1 url=$2 data=${3:-}
    local args=(--silent --show-error --request "$method" --max-time 60
        --header @"$work/auth"
        --header 'Accept: application/vnd.github+json'
        --header 'X-GitHub-Api-Version: 2022-11-28'
        --header 'Expect:'
        --dump-header "$work/headers" --output "$work/response" --write-out '%{http_code}')
    if [ -n "$data" ]; then
        args+=(--header 'Content-Type: application/json' --data-binary @"$data")
    else
        # Only reads are retried: a retried POST could leave two comments.
        args+=(--retry 2)
    fi
    # On a failed connection curl still writes 000 as the status.
    curl "${args[@]}" "$url" || true
}

# same_root URL: true when URL is under the API root: "$api/" followed by a
# path, and no `@` before the path (user information would send the request
# to another host). Compared as text, so a host like `api.github.com.evil`
# does not match `api.github.com/`.
same_root() {
    local url=$1
    case $url in
        "$api"/*) ;;
        *) return 1 ;;
    esac
    local rest=${url#*://}
    [[ ${rest%%/*} != *@* ]]
}

# Every page of the PR's comments, at most 100 pages of 100 (GitHub's Link
# header names the next one).
url="$api/repos/$GITHUB_REPOSITORY/issues/$pr/comments?per_page=100"
id=
for _ in $(seq 1 100); do
    status=$(call GET "$url")
    [ "$status" = 200 ] || sk_die "listing the comments of #$pr failed (HTTP $status): $(head -c 300 "$work/response")"
    id=$(jq -r --arg marker "$SEATKEEPER_MARKER" --arg author "$SEATKEEPER_COMMENT_AUTHOR" \
        '[.[] | select(.user.login == $author and (.body // "" | startswith($marker)))][0].id // empty' \
        "$work/response")
    [ -z "$id" ] || break
    url=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Ll]ink:.*<\([^>]*\)>; *rel="next".*/\1/p' | head -n 1)
    [ -n "$url" ] || break
    # The token goes to the API root only: a next page elsewhere (another
    # host or port, `API@host`, another scheme) is refused, not followed.
    same_root "$url" \
        || sk_die "the comment list's next page is not under $api: refusing to send the token there"
done

# A 403 on a write is a token that may not comment (a pull request from a
# fork gets a read-only GITHUB_TOKEN): the summary still has the plan, and
# the check step still decides, so it only warns.
read_only() {
    if [ "$1" = 403 ]; then
        printf '::warning title=seatkeeper::the comment token may not write comments on #%s (HTTP 403; a fork?): see the job summary\n' "$pr"
        sk_output comment-action skipped
        exit 0
    fi
}

jq -Rs '{body: .}' "$SK_BODY_FILE" >"$work/body.json"
if [ -n "$id" ]; then
    [[ $id =~ ^[0-9]+$ ]] || sk_die "odd comment id '$id'"
    status=$(call PATCH "$api/repos/$GITHUB_REPOSITORY/issues/comments/$id" "$work/body.json")
    read_only "$status"
    [ "$status" = 200 ] || sk_die "updating comment $id failed (HTTP $status): $(head -c 300 "$work/response")"
    sk_log "updated comment $id on #$pr"
    sk_output comment-action updated
else
    status=$(call POST "$api/repos/$GITHUB_REPOSITORY/issues/$pr/comments" "$work/body.json")
    read_only "$status"
    [ "$status" = 201 ] || sk_die "creating a comment on #$pr failed (HTTP $status): $(head -c 300 "$work/response")"
    id=$(jq -r '.id' "$work/response")
    [[ $id =~ ^[0-9]+$ ]] || sk_die "odd comment id in GitHub's answer: '$id'"
    sk_log "created comment $id on #$pr"
    sk_output comment-action created
fi
sk_output comment-id "$id"
