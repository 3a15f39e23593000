#!/usr/bin/env bash
# What the console's browser tests need, installed when missing: Chromium and chromedriver, node
# and npm (Debian's packages), and panva's oidc-provider (npm, into the tools cache). Prints the
# path of oidc-provider's module; everything else goes to standard error.
set -euo pipefail
cd "$(dirname "$0")/.."
version=9.13.3
tools="${CCBRIDGE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ccbridge-tools}"
scripts/ensure-commands.sh chromium:chromium chromedriver:chromium-driver node:nodejs npm:npm >&2
prefix="$tools/oidc-provider-$version"
module="$prefix/node_modules/oidc-provider/lib/index.js"
if [ ! -f "$module" ]; then
  echo "== installing oidc-provider $version (npm)" >&2
  npm install --silent --no-audit --no-fund --prefix "$prefix" "oidc-provider@$version" >&2
fi
echo "$module"
