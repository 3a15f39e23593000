#!/usr/bin/env bash
# Hostile input, as CI runs it: schemathesis (PyPI) against every service's committed OpenAPI
# description on a running devstack, as each caller that may use the service. Fails on any 5xx
# and on any response that breaks its own schema or content type. Installs schemathesis on first
# use; builds and starts devstack on a throwaway data directory (ports 8081-8085 and 8090).
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
scripts/ensure-commands.sh curl:curl python3:python3 pip3:python3-pip
# pip puts console scripts here (a version manager's shims may not know a new one yet).
schemathesis="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/schemathesis"
if ! "$schemathesis" --version 2>/dev/null | grep -q "$version"; then
  echo "== installing schemathesis $version (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$version"
fi

[ "${1:-}" = "--tools-only" ] && exit 0

# The binaries as the test build makes them: CI compiles one feature set, not one per command.
cargo test --workspace --locked --no-run --quiet
target="$(scripts/target-dir.sh)"
data="$(mktemp -d)"
log="$data/devstack.log"
"$target/debug/devstack" --data-dir "$data" --log warn >"$log" 2>&1 &
devstack=$!
trap 'kill $devstack 2>/dev/null || true; wait $devstack 2>/dev/null || true; rm -rf "$data"' EXIT
for port in 8081 8082 8083 8084 8085; do
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$log"; echo "devstack did not start" >&2; exit 1; }
done
token() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$data/dev-tokens.json" "$1"; }

examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
failed=0
# service port callers…
while read -r service port callers; do
  for caller in $callers; do
    echo "== schemathesis: $service as $caller"
    if ! "$schemathesis" run "docs/openapi/$service.json" \
        --url "http://127.0.0.1:$port" \
        -H "Authorization: Bearer $(token "$caller")" \
        --checks not_a_server_error,response_schema_conformance,content_type_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" --seed 20261122 \
        --suppress-health-check too_slow,filter_too_much \
        --warnings off \
        --report junit --report-dir "$data/report-$service-$caller" >"$data/$service-$caller.txt" 2>&1; then
      cat "$data/$service-$caller.txt"
      failed=1
    else
      grep -E "test cases|passed" "$data/$service-$caller.txt" | tail -2
    fi
  done
done <<'SERVICES'
interaction-pairing 8081 bofe result_ingest gdpr_orchestrator
comm-history-writer 8082 bofe result_ingest interaction_pairing operator gdpr_orchestrator
genesys-gateway 8083 result_ingest gdpr_orchestrator
result-ingest 8084 genesys operator gdpr_orchestrator
gdpr-orchestrator 8085 dpo
SERVICES

if grep -q '"level":"ERROR"' "$log"; then
  echo "== devstack logged errors while under test:"
  grep '"level":"ERROR"' "$log" | head -20
fi
[ "$failed" = 0 ] || { echo "schemathesis found problems" >&2; exit 1; }
echo "== schemathesis: no 5xx, every response matches its schema"
