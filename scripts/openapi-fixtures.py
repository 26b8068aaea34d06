#!/usr/bin/env python3
"""Regenerate tests/fixtures/openapi/*.operations.json: the operations the
simulator serves and the webhook events it delivers, copied unchanged from
GitHub's official description subset in ../shared/github-openapi/ (npm
@octokit/openapi 23.0.2, $refs resolved).

    python3 scripts/openapi-fixtures.py [SHARED_DIR]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "github-openapi")

# (file, method, path) for every operation the simulator serves.
OPS = {
    "api.github.com": [
        ("get", "/orgs/{org}/copilot/billing"),
        ("get", "/orgs/{org}/copilot/billing/seats"),
        ("post", "/orgs/{org}/copilot/billing/selected_users"),
        ("delete", "/orgs/{org}/copilot/billing/selected_users"),
        ("post", "/orgs/{org}/copilot/billing/selected_teams"),
        ("delete", "/orgs/{org}/copilot/billing/selected_teams"),
        ("get", "/orgs/{org}/members"),
        ("get", "/orgs/{org}/members/{username}"),
        ("get", "/orgs/{org}/members/{username}/copilot"),
        ("get", "/orgs/{org}/teams/{team_slug}"),
        ("get", "/orgs/{org}/teams/{team_slug}/members"),
        ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
        ("get", "/orgs/{org}/installation"),
        ("get", "/users/{username}"),
        ("get", "/repos/{owner}/{repo}"),
        ("get", "/repos/{owner}/{repo}/contents/{path}"),
        ("put", "/repos/{owner}/{repo}/contents/{path}"),
        ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
        ("post", "/repos/{owner}/{repo}/git/refs"),
        ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
        ("get", "/repos/{owner}/{repo}/pulls"),
        ("post", "/repos/{owner}/{repo}/pulls"),
        ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
        ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
        ("get", "/repos/{owner}/{repo}/issues"),
        ("post", "/repos/{owner}/{repo}/issues"),
        ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
        ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
        ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
        ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
        ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
        ("get", "/rate_limit"),
        ("post", "/app/installations/{installation_id}/access_tokens"),
        ("get", "/user"),
        ("get", "/organizations/{org}/settings/billing/ai_credit/usage"),
    ],
    "ghec": [
        ("get", "/enterprises/{enterprise}/copilot/billing/seats"),
        ("post", "/enterprises/{enterprise}/copilot/billing/selected_users"),
        ("delete", "/enterprises/{enterprise}/copilot/billing/selected_users"),
        ("post", "/enterprises/{enterprise}/copilot/billing/selected_enterprise_teams"),
        ("delete", "/enterprises/{enterprise}/copilot/billing/selected_enterprise_teams"),
        ("get", "/enterprises/{enterprise}/teams/{team_slug}"),
        ("get", "/enterprises/{enterprise}/teams/{enterprise-team}/memberships"),
        ("post", "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/add"),
        ("post", "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/remove"),
        ("get", "/enterprises/{enterprise}/teams/{enterprise-team}/memberships/{username}"),
        ("get", "/enterprises/{enterprise}/members/{username}/copilot"),
        ("get", "/enterprises/{enterprise}/settings/billing/ai_credit/usage"),
    ],
}

# Webhook events the simulator delivers.
WEBHOOKS = ["push"]


def main():
    out_dir = os.path.join(ROOT, "tests", "fixtures", "openapi")
    for name, ops in OPS.items():
        with open(os.path.join(SHARED, f"{name}.subset.json")) as f:
            doc = json.load(f)
        paths = {}
        for method, path in ops:
            op = doc["paths"][path][method]
            paths.setdefault(path, {})[method] = op
        out = {k: doc[k] for k in ("openapi", "info", "servers") if k in doc}
        out["paths"] = paths
        with open(os.path.join(out_dir, f"{name}.operations.json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=False)
            f.write("\n")
        print(f"{name}: {len(ops)} operations")
    # Webhook events the simulator delivers.
    with open(os.path.join(SHARED, "webhooks.subset.json")) as f:
        doc = json.load(f)
    out = {k: doc[k] for k in ("openapi", "info") if k in doc}
    out["webhooks"] = {name: doc["webhooks"][name] for name in WEBHOOKS}
    with open(os.path.join(out_dir, "webhooks.events.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"webhooks: {len(WEBHOOKS)} events")


if __name__ == "__main__":
    main()
