#!/usr/bin/env bash
# Against a running devstack (`cargo run --release -p devstack` in another terminal): pairs the
# example interaction, sends the example Genesys webhook, prints the communication record the
# pipeline wrote and checks it against docs/examples/expected-record-voice-inbound.json; ends a
# conversation in genesys-sim whose webhook Genesys drops, and shows the sweep recover it; sends a
# call whose customer an IVR authenticated (participant data) and whose transcript Genesys makes
# a moment later, and shows the record with that customer and that transcript as its body; then
# asks gdpr-orchestrator what ccbridge holds about the customer (a count: nothing changes).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${DEVSTACK_DATA_DIR:-.devstack-data}
examples=docs/examples
tokens="$data_dir/dev-tokens.json"
[ -f "$tokens" ] || { echo "no $tokens: start devstack first (cargo run --release -p devstack)" >&2; exit 1; }
token() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$tokens" "$1"; }

echo "== pairing the interaction (interaction-pairing, as BOFE)"
curl -fsS -X POST http://127.0.0.1:8081/customers/supportInteraction \
  -H "Authorization: Bearer $(token bofe)" -H 'Content-Type: application/json' \
  -d @"$examples/support-interaction.json"
echo
echo "== the interaction ends: Genesys posts its result (result-ingest)"
curl -fsS -X POST http://127.0.0.1:8084/customers/supportResult \
  -H "Authorization: Bearer $(token genesys)" -H 'Content-Type: application/json' \
  -d @"$examples/support-result-voice-inbound.json"
echo
echo "== the communication record (comm-history-writer)"
for _ in $(seq 1 50); do
  records=$(curl -fsS "http://127.0.0.1:8082/communicationRecords?interactionId=5773eca4-0874-4617-a6e8-85591aa94609" \
    -H "Authorization: Bearer $(token bofe)")
  if [ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' <<<"$records")" != 0 ]; then
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"][0], indent=2, ensure_ascii=False))' <<<"$records"
    break
  fi
  sleep 0.2
done
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' <<<"$records")" != 0 ] ||
  { echo "no record after 10 seconds: see GET /ingest/events?status=pending on result-ingest" >&2; exit 1; }
# Every field of the expected record, as written (the record adds its id and creation time).
RECORDS="$records" python3 - "$examples/expected-record-voice-inbound.json" <<'PY'
import json, os, sys
expected = json.load(open(sys.argv[1]))
record = json.loads(os.environ["RECORDS"])["items"][0]
wrong = {k: (record.get(k), v) for k, v in expected.items() if record.get(k) != v}
if wrong:
    sys.exit(f"the record differs from {sys.argv[1]} in {sorted(wrong)}")
print(f"== the record is the expected one ({sys.argv[1]})")
PY

echo "== a conversation ends and Genesys' webhook never arrives (genesys-sim drops it)"
sim=http://127.0.0.1:8090
curl -fsS -X PUT "$sim/admin/faults" -H 'Content-Type: application/json' -d '{"webhookDropPercent":100}' >/dev/null
lost=$(python3 -c 'import uuid; print(uuid.uuid4())')
times=$(python3 -c 'import datetime as d; n=d.datetime.now(d.timezone.utc); print((n-d.timedelta(seconds=20)).isoformat(), (n-d.timedelta(seconds=10)).isoformat())')
read -r started ended <<<"$times"
curl -fsS -X POST "$sim/admin/conversations" -H 'Content-Type: application/json' \
  -d "{\"conversationId\":\"$lost\",\"start\":\"$started\",\"end\":\"$ended\",\"direction\":\"inbound\",\"mediaType\":\"voice\",\"ani\":\"tel:+420601123456\",\"agents\":[{\"userId\":\"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f\",\"wrapupCode\":\"1ccb1c09-9495-4034-b377-b809f58d17da\"}]}" |
  python3 -c 'import json,sys; print("   webhook:", json.load(sys.stdin)["webhookDeliveries"][0]["outcome"])'
curl -fsS -X PUT "$sim/admin/faults" -H 'Content-Type: application/json' -d '{}' >/dev/null
echo "== the sweep finds it in Genesys' analytics (devstack sweeps every 5 s what ended 5 s before)"
for _ in $(seq 1 150); do
  count=$(curl -fsS "http://127.0.0.1:8082/communicationRecords?interactionId=$lost" -H "Authorization: Bearer $(token bofe)" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  [ "$count" = 1 ] && break
  sleep 0.2
done
[ "$count" = 1 ] || { echo "not recovered after 30 seconds: see GET /ingest/sweeps on result-ingest" >&2; exit 1; }
curl -fsS "http://127.0.0.1:8084/ingest/sweeps?limit=20" -H "Authorization: Bearer $(token operator)" |
  python3 -c 'import json,sys; s=next(s for s in json.load(sys.stdin)["items"] if s["counts"]["recovered"]); print(json.dumps({k: s[k] for k in ("origin","from","to","status","counts")}, indent=2))'
echo "== recovered: one record for the conversation whose webhook was lost"

echo "== an IVR authenticated the caller: the result names the customer in participant data, and"
echo "   Speech and Text Analytics transcribes the call after it ended (genesys-sim)"
call=$(python3 -c 'import uuid; print(uuid.uuid4())')
ivr_customer=7c1d9e2a-4b3f-4a6e-8d5c-0e9f1a2b3c4d
times=$(python3 -c 'import datetime as d; n=d.datetime.now(d.timezone.utc); print((n-d.timedelta(seconds=90)).isoformat(), n.isoformat())')
read -r started ended <<<"$times"
# Recorded in genesys-sim without its trigger: this demo posts the result itself, with the
# participant data the data action sends (deploy/genesys).
curl -fsS -X PUT "$sim/admin/faults" -H 'Content-Type: application/json' -d '{"webhookDropPercent":100}' >/dev/null
curl -fsS -X POST "$sim/admin/conversations" -H 'Content-Type: application/json' \
  -d "{\"conversationId\":\"$call\",\"start\":\"$started\",\"end\":\"$ended\",\"direction\":\"inbound\",\"mediaType\":\"voice\",\"ani\":\"tel:+420601123456\",\"agents\":[{\"userId\":\"6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f\",\"wrapupCode\":\"1ccb1c09-9495-4034-b377-b809f58d17da\"}]}" >/dev/null
curl -fsS -X PUT "$sim/admin/faults" -H 'Content-Type: application/json' -d '{}' >/dev/null
python3 - "$examples/support-result-voice-inbound.json" "$call" "$ended" "$ivr_customer" >"$data_dir/demo-result.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
result.update(conversationId=sys.argv[2], eventTime=sys.argv[3], participantData={"bankCustomerId": sys.argv[4]})
print(json.dumps(result))
PY
curl -fsS -X POST http://127.0.0.1:8084/customers/supportResult \
  -H "Authorization: Bearer $(token genesys)" -H 'Content-Type: application/json' -d @"$data_dir/demo-result.json"
echo
curl -fsS -X POST "$sim/admin/conversations/$call/transcript" -H 'Content-Type: application/json' \
  -d '{"phrases":[{"speaker":"customer","text":"Hello, my card was stolen this morning."},{"speaker":"agent","text":"I am sorry. I have blocked it and a new one is on its way."}]}' >/dev/null
echo "== the record: its customer from participant data, written at once; its body once the transcript is there"
for _ in $(seq 1 150); do
  record=$(curl -fsS "http://127.0.0.1:8082/communicationRecords?interactionId=$call" -H "Authorization: Bearer $(token bofe)" |
    python3 -c 'import json,sys; items=json.load(sys.stdin)["items"]; print(json.dumps(items[0]) if items else "")')
  [ -n "$record" ] && [ "$(python3 -c 'import json,sys; print(bool(json.load(sys.stdin)["body"]))' <<<"$record")" = True ] && break
  sleep 0.2
done
RECORD="$record" python3 - "$ivr_customer" <<'PY'
import json, os, sys
record = json.loads(os.environ["RECORD"] or "null")
if not record:
    sys.exit("no record after 30 seconds: see GET /ingest/events?status=pending on result-ingest")
print(json.dumps({k: record[k] for k in ("interactionId", "customerId", "customerSource", "channel", "body")}, indent=2, ensure_ascii=False))
if record["customerId"] != sys.argv[1] or record["customerSource"] != "participant_data":
    sys.exit("the record's customer is not the one participant data named")
if "card was stolen" not in record["body"]:
    sys.exit("no transcript after 30 seconds: see GET /ingest/content-jobs?status=pending on result-ingest")
print("== the customer the IVR authenticated, and what was said")
PY

echo "== GDPR: what ccbridge holds about the customer (gdpr-orchestrator, as the DPO; a count changes nothing)"
# By customer id and number: by the number alone, what the bank attributed to the customer would
# be left out (a number can be shared) and counted under leftOut.
request=$(curl -fsS -X POST http://127.0.0.1:8085/gdpr/requests \
  -H "Authorization: Bearer $(token dpo)" -H 'Content-Type: application/json' \
  -d '{"type":"EXPORT","subject":{"customerIds":["2b0e4c55-7d1f-4a2e-9c61-3f8e2d9a1b07"],"phoneNumbers":["tel:+420601123456"]},"reference":"DEMO-1","countOnly":true}')
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$request")
for _ in $(seq 1 50); do
  request=$(curl -fsS "http://127.0.0.1:8085/gdpr/requests/$id" -H "Authorization: Bearer $(token dpo)")
  if [ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$request")" = completed ]; then
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"id": r["id"], "status": r["status"], "dueAt": r["dueAt"], "counts": r["counts"], "leftOut": r.get("leftOut", {})}, indent=2))' <<<"$request"
    exit 0
  fi
  sleep 0.2
done
echo "the GDPR count did not finish in 10 seconds: GET /gdpr/requests/$id shows why" >&2
exit 1
