#!/usr/bin/env bash
# cargo-fuzz on the webhook body parser and the phone/e-mail normalisers, each target for a bounded
# time (FUZZ_SECONDS, default 60). cargo-fuzz needs nightly compiler flags; the stable toolchain
# provides them with RUSTC_BOOTSTRAP=1. Installs cargo-fuzz on first use. A crash leaves its input
# under fuzz/artifacts/<target>/ and exits non-zero; `cargo fuzz run <target> <file> --fuzz-dir fuzz`
# replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for target in webhook_body handle_key gdpr_subject; do
  echo "== fuzzing $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" --fuzz-dir fuzz -- -max_total_time="$seconds"
done
echo "== fuzzing found nothing"
