#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: initdb into a temporary directory, start
# it on a free loopback port, export TEST_DATABASE_URL, run the command, then stop the cluster and
# delete it, even when the command fails.
#
#   scripts/with-postgres.sh cargo test --workspace
#
# Installs Debian's postgresql package when no initdb is found. initdb refuses to run as root, so
# as root the cluster runs as the `postgres` user.
set -euo pipefail

find_pg_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  local candidate
  for candidate in /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/initdb" ]; then echo "$candidate"; return; fi
  done
}

pg_bin=$(find_pg_bin || true)
if [ -z "$pg_bin" ]; then
  echo "== initdb not found: installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(find_pg_bin)
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_cluster_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

data_dir=$(mktemp -d /tmp/ccbridge-pg.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$data_dir" --shell /bin/false postgres
  chown postgres "$data_dir"
fi
port=$(free_port)

stop_cluster() {
  as_cluster_owner "$pg_bin/pg_ctl" -D "$data_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap stop_cluster EXIT

as_cluster_owner "$pg_bin/initdb" -D "$data_dir/data" -A trust -U postgres --no-sync >/dev/null
# Tests do not need durability; benchmarks (CCBRIDGE_PG_DURABLE=1) measure it.
durability="-c fsync=off"
[ "${CCBRIDGE_PG_DURABLE:-0}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on"
# Extra server settings for profiling, e.g. CCBRIDGE_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements".
durability="$durability ${CCBRIDGE_PG_OPTIONS:-}"
# CCBRIDGE_PG_CPUS (a taskset CPU list, e.g. "0") confines the server, and every backend it forks,
# to those CPUs: the benchmark's production shape, where PostgreSQL has cores of its own.
pin=()
[ -n "${CCBRIDGE_PG_CPUS:-}" ] && pin=(taskset -c "$CCBRIDGE_PG_CPUS")
# (${pin[@]+…}: an empty array under `set -u` is an error in bash before 4.4, e.g. macOS's bash.)
as_cluster_owner ${pin[@]+"${pin[@]}"} "$pg_bin/pg_ctl" -D "$data_dir/data" -w -l "$data_dir/data/server.log" \
  -o "-p $port -k $data_dir/data -c listen_addresses=127.0.0.1 $durability -c max_connections=300 -c log_statement=ddl" start >/dev/null
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data in $data_dir)"

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
export PG_BIN="$pg_bin"
"$@"
# Evidence that the command really used this cluster: the server logged each test database.
created=$(grep -c 'CREATE DATABASE ccbridge_test_' "$data_dir/data/server.log" || true)
echo "== PostgreSQL pass: $created test databases were created on this cluster (and dropped)"
