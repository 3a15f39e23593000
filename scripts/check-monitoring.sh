#!/usr/bin/env bash
# The alerts and the dashboard, as CI checks them: promtool check rules and promtool test rules
# (Debian's prometheus package, installed when missing), each alert's runbook section present in
# docs/operations.md, and every metric the rules and the dashboard query exported by a service.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-commands.sh promtool:prometheus python3:python3
[ "${1:-}" = "--tools-only" ] && exit 0
rules=deploy/helm/ccbridge/files/prometheus-rules.yaml
dashboard=deploy/helm/ccbridge/files/grafana-dashboard.json
echo "== promtool check rules"
promtool check rules "$rules"
echo "== promtool test rules"
promtool test rules deploy/helm/ccbridge/files/prometheus-rules.test.yaml
echo "== runbooks and metric names"
python3 - "$rules" "$dashboard" <<'PY'
import json, pathlib, re, subprocess, sys
import yaml

rules = yaml.safe_load(open(sys.argv[1]))
dashboard = json.load(open(sys.argv[2]))
operations = pathlib.Path("docs/operations.md").read_text()
headings = {line[4:].strip() for line in operations.splitlines() if line.startswith("### ")}
problems = []
queries = []
for group in rules["groups"]:
    for rule in group["rules"]:
        name = rule["alert"]
        queries.append(rule["expr"])
        if rule.get("annotations", {}).get("runbook") != f"docs/operations.md#{name.lower()}":
            problems.append(f"{name}: its runbook annotation is not docs/operations.md#{name.lower()}")
        if name not in headings:
            problems.append(f"{name}: docs/operations.md has no section '### {name}'")
queries += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
source = subprocess.run(["grep", "-rhoE", '"ccbridge_[a-z_]+"', "crates"], capture_output=True, text=True).stdout
exported = {m.strip('"') for m in source.split()}
# actix-web-prom's, under the "ccbridge" namespace (service-kit's startup).
exported |= {"ccbridge_http_requests_total", "ccbridge_http_requests_duration_seconds"}
for query in queries:
    for metric in set(re.findall(r"ccbridge_[a-z_]+", query)):
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        if metric not in exported and base not in exported:
            problems.append(f"{metric}: queried, but no service exports it")
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
alerts = sum(len(g["rules"]) for g in rules["groups"])
print(f"   {alerts} alerts with their runbooks; {len(dashboard['panels'])} dashboard panels; every metric exported")
PY
