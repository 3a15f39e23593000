#!/usr/bin/env bash
# Builds the production image offline and runs it: the five services, the console and the gdpr
# command built
# here (cargo build --release), on a base made from Debian packages with mmdebstrap (no registry
# needed), imported into Docker. Then each service runs in it as user 65532 with a read-only root
# file system (a tmpfs on /tmp for its SQLite file) and must answer /readyz; the image's size is
# printed. Installs mmdebstrap and Docker from Debian when missing, and starts dockerd when no
# engine answers.
#
# The services run with application.environment = "development" here: the check is that the
# image starts them, not their production configuration (scripts/check-chart.sh checks that).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-commands.sh mmdebstrap:mmdebstrap dockerd:docker.io curl:curl
if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd"
  (dockerd >/tmp/ccbridge-dockerd.log 2>&1 &)
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "no Docker engine answers (see /tmp/ccbridge-dockerd.log)" >&2; exit 1; }
fi

services=(interaction-pairing comm-history-writer genesys-gateway result-ingest gdpr-orchestrator console)
# Each binary's package.
declare -A package=([interaction-pairing]=interaction-pairing [comm-history-writer]=comm-history-writer
  [genesys-gateway]=genesys-gateway [result-ingest]=result-ingest [gdpr-orchestrator]=gdpr-orchestrator
  [console]=ccbridge-console)
# A caller each service accepts (a scope it knows; the console has none: people sign in), and the
# settings without a default.
declare -A scope=([interaction-pairing]=pairing:read [comm-history-writer]=records:read
  [genesys-gateway]=genesys:lookup [result-ingest]=ingest:operate [gdpr-orchestrator]=dpo)
token="image-check-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
settings=(-e APP__APPLICATION__ENVIRONMENT=development -e APP__APPLICATION__PORT=8080
  -e APP__DATABASE__URL=sqlite:///tmp/ccbridge.db
  -e "APP__PAIRING__INTERNAL_TOKEN=$token" -e "APP__INGEST__INTERNAL_TOKEN=$token"
  -e "APP__GDPR__INTERNAL_TOKEN=$token" -e APP__GENESYS__CLIENT_ID=image-check
  -e "APP__GENESYS__CLIENT_SECRET=$token")
image="${CCBRIDGE_IMAGE:-ccbridge:check}"
base="ccbridge-base:bookworm"
work="$(mktemp -d)"
containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== the binaries (cargo build --release)"
cargo build --release --locked $(for s in "${services[@]}"; do printf -- '-p %s ' "${package[$s]}"; done)
target="$(scripts/target-dir.sh)"
mkdir -p "$work/context/bin"
for binary in "${services[@]}" gdpr; do cp "$target/release/$binary" "$work/context/bin/"; done

echo "== the base: Debian bookworm's glibc, libgcc, OpenSSL, CA certificates and time zones (mmdebstrap)"
mmdebstrap --quiet --variant=extract --include=libc6,libgcc-s1,libssl3,ca-certificates,tzdata \
  bookworm "$work/base.tar"
docker import "$work/base.tar" "$base" >/dev/null
# The extract variant runs no maintainer scripts: the CA bundle is made here, as
# update-ca-certificates would.
mkdir -p "$work/certs"
tar -xf "$work/base.tar" -C "$work/certs" ./usr/share/ca-certificates
find "$work/certs/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat \
  > "$work/context/ca-certificates.crt"

echo "== the image"
docker build --quiet --build-arg "BASE=$base" -f deploy/image/Dockerfile -t "$image" "$work/context" >/dev/null
if docker run --rm --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
  echo "the image has a shell" >&2
  exit 1
fi
holder="$(docker create "$image")"
binaries="$(docker export "$holder" | tar -t | sed -n 's|^usr/local/bin/\(.\+\)$|\1|p' | sort | tr '\n' ' ')"
docker rm "$holder" >/dev/null
expected="$(printf '%s\n' "${services[@]}" gdpr | sort | tr '\n' ' ')"
if [ "$binaries" != "$expected" ]; then
  echo "the image holds [$binaries], not [$expected]" >&2
  exit 1
fi
echo "   /usr/local/bin: $binaries(no shell)"

echo "== each service in it: user 65532, read-only root file system, /readyz"
for service in "${services[@]}"; do
  name="ccbridge-check-$service"
  docker rm -f "$name" >/dev/null 2>&1 || true
  containers+=("$name")
  if [ "$service" = console ]; then
    own=(-e APP__CONSOLE__DEVELOPMENT_SIGN_IN=true)
  else
    own=(-e "APP__AUTH__CALLERS__CHECK__TOKEN=$token" -e "APP__AUTH__CALLERS__CHECK__SCOPES=${scope[$service]}")
  fi
  docker run -d --name "$name" --read-only --tmpfs /tmp --user 65532:65532 -p 127.0.0.1::8080 \
    "${settings[@]}" "${own[@]}" "$image" "$service" >/dev/null
  port="$(docker port "$name" 8080/tcp 2>/dev/null | head -n1 | sed 's/.*://')" || true
  if [ -z "$port" ]; then
    echo "$service stopped at once in the image:" >&2
    docker logs "$name" >&2 || true
    exit 1
  fi
  ready=""
  for _ in $(seq 1 100); do
    if answer="$(curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null)"; then ready="$answer"; break; fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "$service did not answer /readyz in the image:" >&2
    docker logs "$name" >&2 || true
    exit 1
  fi
  user="$(docker inspect --format '{{.Config.User}} read-only={{.HostConfig.ReadonlyRootfs}}' "$name")"
  echo "   $service: $ready ($user)"
done
docker run --rm "$image" gdpr --version

echo "== image size: $(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1000000}')"
