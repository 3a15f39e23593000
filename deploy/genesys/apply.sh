#!/usr/bin/env bash
# Applies deploy/genesys/ to a Genesys Cloud org with its Platform API (docs/genesys-setup.md):
# the Basic Auth credential (caller `genesys` and its token), the Web Services Data Actions
# integration using it, the data action, the workflow (published with Archy) and the trigger;
# with PARTICIPANT_ATTRIBUTES, also the Genesys Cloud Data Actions integration and the action that
# reads those attributes of the customer participant, passed on as the webhook's participantData.
#
#   GENESYS_API=https://api.mypurecloud.de GENESYS_TOKEN=… CCBRIDGE_URL=https://ccbridge.bank.example \
#   WEBHOOK_TOKEN=… [PARTICIPANT_ATTRIBUTES=bankCustomerId,bankProduct \
#   DATA_ACTIONS_CLIENT_ID=… DATA_ACTIONS_CLIENT_SECRET=…] deploy/genesys/apply.sh
#
# GENESYS_TOKEN: an admin's OAuth access token (integrations, actions, flows, triggers: see the
# doc). PARTICIPANT_ATTRIBUTES: the names result-ingest reads (ingest.participant_data's
# customer_id_attributes and domain_attributes), comma-separated; empty or unset: none is read
# or sent. DATA_ACTIONS_CLIENT_*: the OAuth client the Genesys Cloud Data Actions integration
# reads conversations with. Needs curl, jq, awk, and archy (Genesys' Architect YAML tool) on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${GENESYS_API:?e.g. https://api.mypurecloud.de}" "${GENESYS_TOKEN:?}" "${CCBRIDGE_URL:?}" "${WEBHOOK_TOKEN:?}"
for tool in curl jq awk archy; do command -v "$tool" >/dev/null || { echo "apply.sh: $tool not found" >&2; exit 1; }; done

# The attribute names, as a JSON array. Each must be a Velocity identifier (it names the data
# actions' inputs and outputs): a letter, then letters, digits or underscores.
names=$(jq -cn --arg list "${PARTICIPANT_ATTRIBUTES:-}" \
  '$list | split(",") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != ""))')
# The same rule as result-ingest's settings and genesys-gateway (contracts::gateway::AttributeName),
# and no more names than the gateway answers in one request.
jq -e 'all(test("^[A-Za-z][A-Za-z0-9_]{0,99}$"))' <<<"$names" >/dev/null \
  || { echo "apply.sh: PARTICIPANT_ATTRIBUTES: each name a letter, then letters, digits or _" >&2; exit 1; }
jq -e 'length <= 20' <<<"$names" >/dev/null \
  || { echo "apply.sh: PARTICIPANT_ATTRIBUTES: at most 20 names" >&2; exit 1; }
reads=$(jq 'length > 0' <<<"$names")
if [ "$reads" = true ]; then
  : "${DATA_ACTIONS_CLIENT_ID:?needed with PARTICIPANT_ATTRIBUTES}" "${DATA_ACTIONS_CLIENT_SECRET:?needed with PARTICIPANT_ATTRIBUTES}"
fi

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

# The send action passes each attribute read as participantData.<name> (pd_<name> inputs), every
# value through $esc.jsonString; none when no attribute is read.
action=$(sed "s|__CCBRIDGE_URL__|${CCBRIDGE_URL%/}|" "$here/data-action.json" \
  | jq --arg i "$integration_id" --argjson names "$names" '
      del(.integrationType, .actionType) + {integrationId: $i, category: "ccbridge"}
      | .contract.input.inputSchema.properties |= (del(.pd_bankCustomerId) + ($names | map({
          key: ("pd_" + .), value: {type: "string", description: ("The customer participant'"'"'s attribute " + . + ", empty when not set")}
        }) | from_entries))
      | .config.request.requestTemplate |= (split(", \"participantData\": ")[0] + (if ($names | length) == 0 then "}" else
          ", \"participantData\": {" + ($names | map("\"" + . + "\": \"$esc.jsonString(${input.pd_" + . + "})\"") | join(", ")) + "}}" end))')
api POST /api/v2/integrations/actions "$action" >/dev/null

if [ "$reads" = true ]; then
  # Genesys Cloud Data Actions: an integration reading Genesys' own API with an OAuth client.
  reader_credential=$(jq -n --arg id "$DATA_ACTIONS_CLIENT_ID" --arg secret "$DATA_ACTIONS_CLIENT_SECRET" \
    '{name: "ccbridge participant data reader", type: {name: "pureCloudOAuthClient"}, credentialFields: {clientId: $id, clientSecret: $secret}}')
  reader_credential_id=$(api POST /api/v2/integrations/credentials "$reader_credential" | jq -r .id)
  reader_id=$(api POST /api/v2/integrations '{"body": {"name": "ccbridge participant data", "integrationType": {"id": "purecloud-data-actions"}}}' | jq -r .id)
  version=$(api GET "/api/v2/integrations/$reader_id/config/current" | jq -r .version)
  api PUT "/api/v2/integrations/$reader_id/config/current" "$(jq -n --argjson v "$version" --arg c "$reader_credential_id" \
    '{name: "ccbridge participant data", version: $v, properties: {}, advanced: {}, notes: "", credentials: {pureCloudOAuthClient: {id: $c, type: "pureCloudOAuthClient"}}}')" >/dev/null
  api PATCH "/api/v2/integrations/$reader_id" '{"intendedState": "ENABLED"}' >/dev/null
  # One translation, default and output a name: the customer participant's value, or empty.
  reader=$(jq --arg i "$reader_id" --argjson names "$names" '
      del(.integrationType, .actionType) + {integrationId: $i, category: "ccbridge participant data"}
      | .config.response.translationMap = ($names | map({key: ., value: ("$.participants[?(@.purpose == '"'"'customer'"'"')].attributes['"'"'" + . + "'"'"']")}) | from_entries)
      | .config.response.translationMapDefaults = ($names | map({key: ., value: "[]"}) | from_entries)
      | .config.response.successTemplate = ("{" + ($names | map("\"" + . + "\": $successTemplateUtils.firstFromArray(\"${" + . + "}\", \"$esc.jsonString('"'"''"'"')\")") | join(", ")) + "}")
      | .contract.output.successSchema.properties = ($names | map({key: ., value: {type: "string", description: ("The customer participant'"'"'s attribute " + .)}}) | from_entries)
    ' "$here/participant-data-action.json")
  api POST /api/v2/integrations/actions "$reader" >/dev/null
fi

# The workflow: each "per attribute" block once a name (bankCustomerId, the example, replaced);
# without names, no "participant data" block and no "per attribute" one, and it starts at Send.
workflow=$(mktemp --suffix=.yaml)
trap 'rm -f "$workflow"' EXIT
awk -v names="$(jq -r 'join(",")' <<<"$names")" '
  BEGIN { n = split(names, name, ",") }
  /# begin participant data/ { skip = (n == 0); next }
  /# end participant data/ { skip = 0; next }
  /# begin per attribute/ { block = ""; collecting = 1; next }
  /# end per attribute/ {
    collecting = 0
    if (!skip) for (i = 1; i <= n; i++) { text = block; gsub(/bankCustomerId/, name[i], text); printf "%s", text }
    next
  }
  collecting { block = block $0 "\n"; next }
  !skip { print }
' "$here/workflow.yaml" > "$workflow"
if [ "$reads" != true ]; then
  sed -i 's|startUpRef: "/workflow/states/state\[Read_5\]"|startUpRef: "/workflow/states/state[Send_10]"|' "$workflow"
fi
archy publish --file "$workflow" --forceUnlock
workflow_id=$(api GET "/api/v2/flows?type=workflow&name=ccbridge%20support%20result" | jq -r '.entities[0].id')
trigger=$(sed "s|__WORKFLOW_ID__|$workflow_id|" "$here/trigger.json")
api POST /api/v2/processautomation/triggers "$trigger" | jq '{id, name, enabled}'
echo "applied: integration $integration_id, workflow $workflow_id"
