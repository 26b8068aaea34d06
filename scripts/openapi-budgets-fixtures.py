#!/usr/bin/env python3
"""Regenerate tests/fixtures/openapi/budgets.operations.json: the billing
budgets operations (org from api.github.com, enterprise twins from GHEC),
copied unchanged from GitHub's official description subset in
../shared/github-openapi/ (npm @octokit/openapi 23.0.2, $refs resolved).
tests/it/budgets validates the simulator and the fixture server against it.

    python3 scripts/openapi-budgets-fixtures.py [SHARED_DIR]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "github-openapi")

OPS = {
    "api.github.com": [
        "/organizations/{org}/settings/billing/budgets",
        "/organizations/{org}/settings/billing/budgets/{budget_id}",
    ],
    "ghec": [
        "/enterprises/{enterprise}/settings/billing/budgets",
        "/enterprises/{enterprise}/settings/billing/budgets/{budget_id}",
    ],
}


def main():
    paths = {}
    for name, wanted in OPS.items():
        with open(os.path.join(SHARED, f"{name}.subset.json")) as f:
            doc = json.load(f)
        for p in wanted:
            paths[p] = {m: op for m, op in doc["paths"][p].items() if m in ("get", "post", "patch", "delete")}
    out = os.path.join(ROOT, "tests", "fixtures", "openapi", "budgets.operations.json")
    with open(out, "w") as f:
        json.dump({"paths": paths}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
