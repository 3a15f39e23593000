#!/usr/bin/env bash
# Installs, from Debian's packages, whichever of the given commands this machine lacks, so CI
# runs on a fresh machine. Arguments: command:package pairs, e.g. `unzip:unzip npm:npm`.
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
echo "== installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
