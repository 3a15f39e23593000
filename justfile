# ccbridge recipes. `just` lists them.

default:
    @just --list

# Every service in one process on SQLite (prints URLs and development tokens).
run:
    cargo run --release -p devstack

# The test suite on SQLite.
test:
    cargo test --workspace

# The test suite on a throwaway PostgreSQL cluster (installed if missing, removed afterwards).
test-pg:
    CCBRIDGE_EXPECT_BACKEND=postgres scripts/with-postgres.sh cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Apply a service's migrations to the database its settings name, e.g. `just migrate interaction-pairing`.
migrate service:
    cargo run --release -p {{service}} -- migrate

# The Helm chart's checks (lint, template with default and production-like values, Kubernetes schemas).
chart:
    scripts/check-chart.sh

# The production image: the five services, the console and the gdpr command, nothing else.
image:
    docker build -t ccbridge:dev .

# The production image built offline (mmdebstrap base, host-built binaries), each service run in it.
check-image:
    scripts/check-image.sh

# The development image: the production one plus genesys-sim and devstack.
image-dev:
    docker build --target dev -t ccbridge-dev:dev .

# Hostile input: schemathesis against every service's OpenAPI on a fresh devstack.
schemathesis:
    scripts/schemathesis.sh

# Rewrite docs/openapi from the code.
openapi:
    UPDATE_OPENAPI=1 cargo test -p devstack --test openapi

# cargo-fuzz: the webhook parser and the phone/e-mail normalisers, each for `seconds`.
fuzz seconds="60":
    FUZZ_SECONDS={{seconds}} scripts/fuzz.sh

# Everything CI runs.
ci:
    bash .ci/run

# genesys-gateway: cached lookups per second and upstream calls per 1,000 lookups (BENCH_LOOKUPS, BENCH_CONCURRENCY, BENCH_USERS).
bench-gateway:
    cargo bench -p genesys-gateway --bench lookups

# genesys-sim on its own (port 8090), for trying the gateway by hand.
sim:
    cargo run --release -p genesys-sim

# Against a running devstack: pair the example interaction, send the example webhook, print the record.
demo:
    scripts/demo.sh

# result-ingest under load on a throwaway durable PostgreSQL, against pgbench's ceiling (BENCH_EVENTS,
# BENCH_CONCURRENCY, BENCH_WORKERS, BENCH_ACCEPT_ONLY, BENCH_PGBENCH_SECONDS, BENCH_INGEST_SETTINGS: docs/performance.md).
bench-ingest:
    CCBRIDGE_PG_DURABLE=1 scripts/with-postgres.sh cargo bench -p result-ingest --bench ingest

# The same in the production shape: PostgreSQL on half the CPUs, everything else on the other half.
bench-ingest-split:
    scripts/bench-ingest-split.sh

# The sweep: 10,000 ended conversations, half their webhooks dropped, recovered while fresh ones
# arrive (BENCH_CONVERSATIONS, BENCH_SWEEP_RPM, BENCH_LIVE_PER_SECOND: docs/performance.md).
bench-sweep:
    CCBRIDGE_PG_DURABLE=1 scripts/with-postgres.sh cargo bench -p result-ingest --bench sweep

# The history at scale: 1,000,000 records on a throwaway durable PostgreSQL, the unassigned
# listing, a customer's page and a GDPR subject's count/export/forget (BENCH_RECORDS; on SQLite:
# cargo bench -p comm-history-writer --bench history, 200,000 records).
bench-history:
    CCBRIDGE_PG_DURABLE=1 scripts/with-postgres.sh cargo bench -p comm-history-writer --bench history

# One GDPR request through gdpr-orchestrator and every participant, among 1,000,000 records on a
# throwaway durable PostgreSQL (BENCH_RECORDS): count, export, forget to in_grace; a forget under
# a legal hold to in_grace and through its purge.
bench-gdpr:
    CCBRIDGE_PG_DURABLE=1 scripts/with-postgres.sh cargo bench -p gdpr-orchestrator --bench gdpr

# A day's expiry (issue #30) among 10,000,000 records on a throwaway durable PostgreSQL, the
# whole stack running, webhooks paced meanwhile: seconds, and the webhook's p99 accept latency
# without and with it (BENCH_RECORDS, BENCH_WEBHOOK_RATE, BENCH_SECONDS, BENCH_RUNS:
# docs/performance.md; on SQLite: cargo bench -p devstack --bench expiry, 100,000 records).
bench-expiry:
    CCBRIDGE_PG_DURABLE=1 scripts/with-postgres.sh cargo bench -p devstack --bench expiry

# The alerts and the dashboard: promtool check and unit tests, runbooks, metric names.
check-monitoring:
    scripts/check-monitoring.sh

# No sibling's answer read as serde_json::Value: every untyped JSON use allow-listed with its reason
# (scripts/typed-answers-allowlist.txt); the check tests itself after.
check-typed-answers:
    scripts/check-typed-answers.sh

# Three replicas of every service on a throwaway PostgreSQL, a random one SIGKILLed every few
# seconds while webhooks, pairings, deliveries and GDPR requests flow: nothing lost, nothing
# written or delivered twice, every GDPR step once (CHAOS_* settings: docs/operations.md).
chaos-replicas:
    scripts/chaos-replicas.sh
