#!/usr/bin/env bash
# Prints the directory cargo builds into, as `cargo metadata` reports it: ./target unless
# CARGO_TARGET_DIR (or a cargo config's build.target-dir) names another. Scripts take the
# binaries from "$(scripts/target-dir.sh)/debug" or "/release", never from ./target.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
