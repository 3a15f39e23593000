#!/usr/bin/env bash
# Three replicas of every service on one throwaway PostgreSQL, a random one SIGKILLed and started
# again every few seconds while webhooks, pairings, deliveries and GDPR requests flow; then
# checks that nothing was lost, nothing written or delivered twice, and every GDPR step done once
# (scripts/chaos-replicas.py says how; docs/operations.md, "Replicas under SIGKILL", the figures).
#
#   scripts/chaos-replicas.sh          (CHAOS_* settings: see scripts/chaos-replicas.py --help)
#
# Uses the debug binaries of the test build, in the directory cargo builds into (CARGO_TARGET_DIR
# is honoured); CHAOS_RELEASE=1 builds and uses the release binaries, CHAOS_BIN_DIR=DIR binaries
# built before (nothing is built).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CHAOS_BIN_DIR:-}" ]; then
  target="$CHAOS_BIN_DIR"
elif [ "${CHAOS_RELEASE:-0}" = 1 ]; then
  echo "== the binaries (cargo build --release --bins)"
  cargo build --locked --release --bins
  target="$(scripts/target-dir.sh)/release"
else
  # The binaries as the test build makes them (nothing to do after .ci/run's one build): CI
  # compiles one feature set, not one per command.
  echo "== the binaries (the test build: cargo test --workspace --no-run)"
  cargo test --workspace --locked --no-run --quiet
  target="$(scripts/target-dir.sh)/debug"
fi
[ -n "${CHAOS_BIN_DIR:-}" ] || echo "== built from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates migrations Cargo.toml Cargo.lock || echo ' with uncommitted changes')"
work="$(mktemp -d /tmp/ccbridge-chaos.XXXXXX)"
status=1
finish() {
  # Should the driver have died, the processes it started (by their ids, each checked to be one
  # of the copied binaries) are stopped here.
  if [ -f "$work/pids" ]; then
    while read -r pid; do
      case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in "$work/bin/"*) kill -9 "$pid" 2>/dev/null || true ;; esac
    done <"$work/pids"
  fi
  rm -rf "$work/bin"
  if [ "$status" = 0 ]; then rm -rf "$work"; else echo "== the services' logs are kept in $work" >&2; fi
}
trap finish EXIT
# The binaries are copied: a build during the run must not change what a restarted replica runs.
mkdir "$work/bin"
for binary in interaction-pairing comm-history-writer genesys-gateway result-ingest gdpr-orchestrator genesys-sim; do
  cp "$target/$binary" "$work/bin/"
done
status=0
scripts/with-postgres.sh python3 scripts/chaos-replicas.py --bin-dir "$work/bin" --work-dir "$work" || status=$?
exit "$status"
