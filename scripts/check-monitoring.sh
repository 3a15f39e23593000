#!/usr/bin/env bash
# The alerts and the dashboard, as CI checks them: promtool check rules and promtool test rules
# (Debian's prometheus package, installed when missing), each alert's runbook section present in
# docs/operations.md and each alert tested, and every metric the rules, their tests, the dashboard,
# docs/*.md and the code itself (the console reads the services' /metrics) name registered by the
# code (crates/*/src outside its test modules), every queue they name one of the code's
# (`const QUEUE`), and every queue given a dead-letter alert and an oldest-pending alert.
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
echo "== runbooks, metric names, queues"
python3 - "$rules" "$dashboard" deploy/helm/ccbridge/files/prometheus-rules.test.yaml docs <<'PY'
import json, pathlib, re, sys
import yaml

rules = yaml.safe_load(open(sys.argv[1]))
dashboard = json.load(open(sys.argv[2]))
tests = yaml.safe_load(open(sys.argv[3]))
docs = sorted(pathlib.Path(sys.argv[4]).glob("*.md"))
operations = pathlib.Path(sys.argv[4], "operations.md").read_text()
problems = []
# ccbridge_ names that are no metric: the console's session cookie (and database role), the test
# databases' prefix.
NOT_METRICS = {"ccbridge_console", "ccbridge_test_"}

# What the code registers: in crates/*/src, outside `#[cfg(test)] mod …` (cut from there to the
# end of the file), a "ccbridge_…" literal that is the first argument of a call in a file using
# the prometheus crate (IntGauge::new("…", Opts::new(\n"…", a local opts("…" helper), and the
# queues' names (`const QUEUE: &'static str = "…"`).
exported, queues, code = set(), set(), {}
for path in sorted(pathlib.Path("crates").glob("*/src/**/*.rs")):
    text = re.split(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", path.read_text(), maxsplit=1)[0]
    code[str(path)] = "\n".join(re.findall(r'"[^"\n]*"', text))
    queues |= set(re.findall(r"""const QUEUE: &'static str = "([a-z_]+)";""", text))
    if re.search(r"\bprometheus::|\buse prometheus\b", text):
        exported |= set(re.findall(r"""\(\s*"(ccbridge_[a-z0-9_]+)"\s*,""", text))
# actix-web-prom's, under the namespace service-kit's startup gives it.
startup = pathlib.Path("crates/service-kit/src/startup.rs").read_text()
for namespace in re.findall(r'PrometheusMetricsBuilder::new\("([a-z_]+)"\)', startup):
    exported |= {f"{namespace}_http_requests_total", f"{namespace}_http_requests_duration_seconds"}
if not {"ccbridge_queue_dead", "ccbridge_queue_oldest_pending_age_seconds"} <= exported or not queues:
    problems.append(f"the scan of crates/*/src found no queue metrics or no queues: fix this script ({sorted(exported)}, {sorted(queues)})")

def named(text):
    """The metrics a text names (`ccbridge_queue_*` in prose: a prefix) and the queues it names."""
    metrics = set(re.findall(r"ccbridge_[a-z0-9_]+\*?", text)) - NOT_METRICS
    named_queues = set(re.findall(r"""queue\s*=~?\s*\\?"([a-z_|]+)\\?\"""", text))
    return metrics, {q for alternatives in named_queues for q in alternatives.split("|")}

def check(where, text):
    metrics, named_queues = named(text)
    for metric in sorted(metrics):
        if metric.endswith("*"):
            if not any(e.startswith(metric[:-1]) for e in exported):
                problems.append(f"{where}: {metric} matches no metric the code registers")
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        if metric not in exported and base not in exported:
            problems.append(f"{where}: {metric} is not registered by any service")
    for queue in sorted(named_queues - queues):
        problems.append(f"{where}: queue \"{queue}\" is no queue of the code's (const QUEUE: {sorted(queues)})")

headings = {line[4:].strip() for line in operations.splitlines() if line.startswith("### ")}
alerts = {}
for group in rules["groups"]:
    for rule in group["rules"]:
        name = rule["alert"]
        alerts[name] = rule["expr"]
        check(f"alert {name}", rule["expr"])
        if rule.get("annotations", {}).get("runbook") != f"docs/operations.md#{name.lower()}":
            problems.append(f"{name}: its runbook annotation is not docs/operations.md#{name.lower()}")
        if name not in headings:
            problems.append(f"{name}: docs/operations.md has no section '### {name}'")
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        check(f"dashboard panel '{panel['title']}'", target["expr"])
for path in docs:
    check(str(path), path.read_text())
for path, literals in code.items():
    check(path, literals)
fired = set()
for test in tests["tests"]:
    for series in test.get("input_series", []):
        check("prometheus-rules.test.yaml input", series["series"])
    fired |= {t["alertname"] for t in test.get("alert_rule_test", []) if t.get("exp_alerts")}
for name in sorted(set(alerts) - fired):
    problems.append(f"{name}: no case in prometheus-rules.test.yaml where it fires")
# Every queue: an alert on its dead letters and one on its oldest pending entry.
for queue in sorted(queues):
    for metric in ("ccbridge_queue_dead", "ccbridge_queue_oldest_pending_age_seconds"):
        if not any(re.search(metric + r'\{[^}]*queue="' + queue + '"', e) for e in alerts.values()):
            problems.append(f"queue {queue}: no alert on {metric}{{queue=\"{queue}\"}}")
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
panels = len(dashboard["panels"])
print(f"   {len(alerts)} alerts, each with its runbook and a test where it fires; {panels} dashboard panels;")
print(f"   every metric named is registered ({len(exported)} in the code); queues {', '.join(sorted(queues))}: each alerted on")
PY
