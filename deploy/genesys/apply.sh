#!/usr/bin/env bash
# Applies deploy/genesys/ to a Genesys Cloud org with its Platform API (docs/genesys-setup.md):
# the Basic Auth credential (caller `genesys` and its token), the Web Services Data Actions
# integration using it, the data action, the workflow (published with Archy) and the trigger.
#
#   GENESYS_API=https://api.mypurecloud.de GENESYS_TOKEN=… CCBRIDGE_URL=https://ccbridge.bank.example \
#   WEBHOOK_TOKEN=… deploy/genesys/apply.sh
#
# GENESYS_TOKEN: an admin's OAuth access token (integrations, actions, flows, triggers: see the
# doc). Needs curl, jq, and archy (Genesys' Architect YAML tool) on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${GENESYS_API:?e.g. https://api.mypurecloud.de}" "${GENESYS_TOKEN:?}" "${CCBRIDGE_URL:?}" "${WEBHOOK_TOKEN:?}"
for tool in curl jq archy; do command -v "$tool" >/dev/null || { echo "apply.sh: $tool not found" >&2; exit 1; }; done

api() { # method path [body]: prints the answer, fails on an HTTP error
  curl -sS --fail-with-body -X "$1" "$GENESYS_API$2" -H "Authorization: Bearer $GENESYS_TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data "$3"}
}

credential=$(jq --arg token "$WEBHOOK_TOKEN" '.credentialFields.password = $token' "$here/credential.json")
credential_id=$(api POST /api/v2/integrations/credentials "$credential" | jq -r .id)
integration_id=$(api POST /api/v2/integrations "$(cat "$here/integration.json")" | jq -r .id)
version=$(api GET "/api/v2/integrations/$integration_id/config/current" | jq -r .version)
api PUT "/api/v2/integrations/$integration_id/config/current" "$(jq -n --argjson v "$version" --arg c "$credential_id" \
  '{name: "ccbridge", version: $v, properties: {}, advanced: {}, notes: "", credentials: {basicAuth: {id: $c, type: "basicAuth"}}}')" >/dev/null
api PATCH "/api/v2/integrations/$integration_id" '{"intendedState": "ENABLED"}' >/dev/null

action=$(sed "s|__CCBRIDGE_URL__|${CCBRIDGE_URL%/}|" "$here/data-action.json" \
  | jq --arg i "$integration_id" 'del(.integrationType, .actionType) + {integrationId: $i, category: "ccbridge"}')
api POST /api/v2/integrations/actions "$action" >/dev/null

archy publish --file "$here/workflow.yaml" --forceUnlock
workflow_id=$(api GET "/api/v2/flows?type=workflow&name=ccbridge%20support%20result" | jq -r '.entities[0].id')
trigger=$(sed "s|__WORKFLOW_ID__|$workflow_id|" "$here/trigger.json")
api POST /api/v2/processautomation/triggers "$trigger" | jq '{id, name, enabled}'
echo "applied: integration $integration_id, workflow $workflow_id"
