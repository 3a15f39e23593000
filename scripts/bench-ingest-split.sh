#!/usr/bin/env bash
# `just bench-ingest` in the production shape: PostgreSQL on CPUs of its own, as on its own
# machine; the services, their workers, the load generator and pgbench's client on the others.
# The pgbench ceiling is measured in the same shape, so the ratios compare like with like.
#
#   scripts/bench-ingest-split.sh            (BENCH_* settings as for just bench-ingest)
set -euo pipefail
cd "$(dirname "$0")/.."
# CPUs are numbered 0 to nproc-1 here (a container confined to other CPU numbers would need its own lists).
cpus=$(nproc)
if [ "$cpus" -lt 2 ]; then
  echo "bench-ingest-split needs at least 2 CPUs; this machine has $cpus" >&2
  exit 2
fi
cpu_range() { if [ "$1" = "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }
half=$((cpus / 2))
database_cpus=$(cpu_range 0 $((half - 1)))
client_cpus=$(cpu_range "$half" $((cpus - 1)))
echo "== PostgreSQL on CPUs $database_cpus; services, load generator and pgbench's client on $client_cpus"
# Built first, unpinned: compiling on half the CPUs would only be slower.
cargo bench -p result-ingest --bench ingest --no-run
CCBRIDGE_PG_DURABLE=1 CCBRIDGE_PG_CPUS="$database_cpus" \
  scripts/with-postgres.sh taskset -c "$client_cpus" cargo bench -p result-ingest --bench ingest
