#!/usr/bin/env python3
"""Checks that the rendered NetworkPolicies follow the callers map (docs/security.md).

Usage: check-network-policies.py RENDERED.yaml VALUES.yaml… (the chart's values, then the overrides)

The callers each service accepts are read from its rendered ConfigMap
(APP__AUTH__CALLERS__<NAME>__SCOPES), so the policies are checked against what the pods enforce:
- a ccbridge service reaches another (its egress, the other's ingress) exactly when it holds a
  caller there; an external client's namespace reaches a service exactly when its caller is there;
- monitoring reaches the metrics port and nothing else;
- egress goes to DNS, the service's database (every service but the gateway), the siblings it
  calls, Genesys Cloud (genesys-gateway alone), the bank's communication-history-manager
  (comm-history-writer alone, when configured), the identity provider (exactly the services with a
  delegating caller: they fetch its keys) and the OTLP collector, and nowhere else;
- the console, when enabled: reached by its users' ingress controller alone (its own port) and
  monitoring (metrics); it reaches every service's port (the API where it holds a caller, /readyz
  and /metrics everywhere), the identity provider, DNS and the OTLP collector, and every service
  lets it in on that port.
Prints one line per problem and exits 1 when there is any.
"""

import sys

import yaml

SERVICES = ["interaction-pairing", "comm-history-writer", "genesys-gateway", "result-ingest", "gdpr-orchestrator"]
# The clients outside the release, by caller name (or a caller's `from`): the networkPolicy value
# that selects them.
EXTERNAL = {"bofe": "bofe", "genesys": "ingressController", "operator": "operators", "dpo": "operators"}


def merged(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merged(base.get(k), v) for k, v in override.items()} | {k: v for k, v in base.items() if k not in override}
    return override


def main(rendered_path: str, values_paths: list) -> int:
    documents = [d for d in yaml.safe_load_all(open(rendered_path)) if d]
    values = {}
    for path in values_paths:
        values = merged(values, yaml.safe_load(open(path)) or {})
    net = values["networkPolicy"]
    release = "ccbridge"
    metrics_port = values["metricsPort"]
    problems = []

    def component(selector):
        labels = (selector or {}).get("matchLabels", {})
        return labels.get("app.kubernetes.io/component") if labels.get("app.kubernetes.io/instance") == release else None

    callers = {}
    ports = {}
    # Services with a delegating caller: they fetch the identity provider's keys.
    verifies_persons = set()
    console_on = any(
        d["kind"] == "Deployment" and d["metadata"]["name"] == f"{release}-console" for d in documents
    )
    for doc in documents:
        name = doc["metadata"]["name"].removeprefix(f"{release}-")
        if doc["kind"] == "Service" and name == "console":
            ports[name] = next(p["port"] for p in doc["spec"]["ports"] if p["name"] == "http")
        if doc["kind"] == "ConfigMap" and name in SERVICES:
            callers[name] = {
                key[len("APP__AUTH__CALLERS__") : -len("__SCOPES")]
                for key in doc["data"]
                if key.startswith("APP__AUTH__CALLERS__") and key.endswith("__SCOPES")
            }
            if any(k.endswith("__DELEGATES") and v == "true" for k, v in doc["data"].items()):
                verifies_persons.add(name)
        if doc["kind"] == "Service" and name in SERVICES:
            ports[name] = next(p["port"] for p in doc["spec"]["ports"] if p["name"] == "http")
    policies = {
        doc["metadata"]["name"].removeprefix(f"{release}-"): doc["spec"]
        for doc in documents
        if doc["kind"] == "NetworkPolicy"
    }

    def origin(service, caller):
        """Where `caller` of `service` calls from: a service's name, or a client's."""
        spec = (values["services"][service].get("callers") or {}).get(caller.lower()) or {}
        return spec.get("from") or caller.lower().replace("_", "-")

    def internal_callers(service):
        return {origin(service, c) for c in callers[service] if origin(service, c) not in EXTERNAL}
    monitoring = {k: net["monitoring"][k] for k in ("namespaceSelector", "podSelector")}

    def external_callers(service):
        return {origin(service, c) for c in callers[service] if origin(service, c) in EXTERNAL}

    for service in SERVICES:
        spec = policies.get(service)
        if spec is None:
            problems.append(f"{service}: no NetworkPolicy")
            continue
        if sorted(spec.get("policyTypes", [])) != ["Egress", "Ingress"]:
            problems.append(f"{service}: policyTypes must be Ingress and Egress")
        unknown = internal_callers(service) - set(SERVICES) - {"console"}
        if unknown:
            problems.append(f"{service}: callers {sorted(unknown)} are neither a service nor a known client")

        # Ingress: the service port from exactly its callers (and the console, reading /readyz);
        # the metrics port from monitoring alone.
        expected_peers = set(internal_callers(service)) | ({"console"} if console_on else set())
        if "console" in internal_callers(service) and not console_on:
            problems.append(f"{service}: holds a caller for the console, which is not enabled")
        expected_namespaces = {yaml.safe_dump(net[EXTERNAL[c]]) for c in external_callers(service)}
        seen_peers, seen_namespaces = set(), set()
        for rule in spec.get("ingress", []):
            rule_ports = {p["port"] for p in rule.get("ports", [])}
            for peer in rule.get("from", []):
                if rule_ports == {metrics_port}:
                    if peer != monitoring:
                        problems.append(f"{service}: the metrics port is open to {peer}, not monitoring alone")
                    continue
                if rule_ports != {ports[service]}:
                    problems.append(f"{service}: ingress on ports {sorted(rule_ports)}")
                if "namespaceSelector" in peer:
                    seen_namespaces.add(yaml.safe_dump({k: peer[k] for k in ("namespaceSelector", "podSelector")}))
                else:
                    seen_peers.add(component(peer.get("podSelector")))
        if seen_peers != expected_peers:
            problems.append(f"{service}: ingress from services {sorted(map(str, seen_peers))}, callers {sorted(expected_peers)}")
        if seen_namespaces != expected_namespaces:
            problems.append(f"{service}: ingress from outside the release does not match its external callers")

        # Egress: DNS, database, the siblings it holds a caller on, Genesys (gateway), OTLP.
        calls = {other for other in SERVICES if other != service and service in internal_callers(other)}
        seen_calls = set()
        for rule in spec.get("egress", []):
            rule_ports = {p["port"] for p in rule.get("ports", [])}
            targets = rule.get("to", [])
            if rule_ports == {53}:
                continue
            if targets == net["database"]["to"] and rule_ports == {net["database"]["port"]}:
                if service == "genesys-gateway":
                    problems.append(f"{service}: reaches a database it does not have")
                continue
            # (Checked before Genesys: by default both are "the internet on 443".)
            if targets == net["identityProvider"]["to"] and rule_ports == {net["identityProvider"]["port"]}:
                if service in verifies_persons:
                    continue
                if targets != net["genesys"]["to"] or service != "genesys-gateway":
                    problems.append(f"{service}: reaches the identity provider with no delegating caller")
                    continue
            if targets == net["genesys"]["to"] and rule_ports == {net["genesys"]["port"]}:
                if service != "genesys-gateway":
                    problems.append(f"{service}: reaches Genesys Cloud")
                continue
            if targets == net["otlpCollector"]["to"] and rule_ports == {net["otlpCollector"]["port"]}:
                continue
            manager = net.get("historyManager", {})
            if manager.get("to") and targets == manager["to"] and rule_ports == {manager["port"]}:
                if service != "comm-history-writer":
                    problems.append(f"{service}: reaches the communication-history-manager")
                continue
            for target in targets:
                other = component(target.get("podSelector"))
                if other not in SERVICES or rule_ports != {ports[other]} or set(target) != {"podSelector"}:
                    problems.append(f"{service}: egress to {target} on {sorted(rule_ports)} is not in the map")
                else:
                    seen_calls.add(other)
        if seen_calls != calls:
            problems.append(f"{service}: egress to services {sorted(seen_calls)}, calls {sorted(calls)}")
        if service == "genesys-gateway" and not any(r.get("to") == net["genesys"]["to"] for r in spec.get("egress", [])):
            problems.append("genesys-gateway: cannot reach Genesys Cloud")
        if service in verifies_persons and not any(
            r.get("to") == net["identityProvider"]["to"] for r in spec.get("egress", [])
        ):
            problems.append(f"{service}: has a delegating caller but cannot reach the identity provider's keys")

    if console_on:
        problems += check_console(policies.get("console"), net, ports, metrics_port, monitoring)

    for problem in problems:
        print(problem)
    if not problems:
        print(f"   {len(policies)} NetworkPolicies: ingress and egress as the callers map says")
    return 1 if problems else 0


def check_console(spec, net, ports, metrics_port, monitoring):
    """The console's own policy: its users and monitoring in; the services, its database, the provider out."""
    if spec is None:
        return ["console: no NetworkPolicy"]
    problems = []
    users = {k: net["consoleUsers"][k] for k in ("namespaceSelector", "podSelector")}
    for rule in spec.get("ingress", []):
        rule_ports = {p["port"] for p in rule.get("ports", [])}
        expected = monitoring if rule_ports == {metrics_port} else users
        if rule_ports not in ({metrics_port}, {ports["console"]}) or rule.get("from") != [expected]:
            problems.append(f"console: ingress on {sorted(rule_ports)} from {rule.get('from')}")
    reached, database = set(), False
    for rule in spec.get("egress", []):
        rule_ports = {p["port"] for p in rule.get("ports", [])}
        targets = rule.get("to", [])
        if rule_ports == {53}:
            continue
        if targets == net["identityProvider"]["to"] and rule_ports == {net["identityProvider"]["port"]}:
            continue
        if targets == net["database"]["to"] and rule_ports == {net["database"]["port"]}:
            database = True
            continue
        if targets == net["otlpCollector"]["to"] and rule_ports == {net["otlpCollector"]["port"]}:
            continue
        for target in targets:
            labels = (target.get("podSelector") or {}).get("matchLabels", {})
            other = labels.get("app.kubernetes.io/component")
            if other not in SERVICES or rule_ports != {ports[other]} or set(target) != {"podSelector"}:
                problems.append(f"console: egress to {target} on {sorted(rule_ports)} is not in the map")
            else:
                reached.add(other)
    if reached != set(SERVICES):
        problems.append(f"console: reaches {sorted(reached)}, not every service")
    if not any(r.get("to") == net["identityProvider"]["to"] for r in spec.get("egress", [])):
        problems.append("console: cannot reach the identity provider")
    if not database:
        problems.append("console: cannot reach its database (its sessions)")
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
