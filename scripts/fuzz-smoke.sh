#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets for a few seconds each (coverage-guided, libFuzzer
# through cargo-fuzz): a smoke run for CI, not a campaign. A crash fails the script and leaves
# its input in fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz-smoke.sh [SECONDS per target, default 10]
#
# The machine's one toolchain is stable: the targets are built without a sanitizer (`-s none`,
# the only mode that needs no nightly flag) and in the dev profile, which builds in about a
# third of the release profile's time; libFuzzer's coverage guidance is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked --quiet
fi

echo "== building the fuzz targets"
cargo fuzz build --dev -s none
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list); do
  echo "== fuzzing $target for ${seconds} s"
  if ! cargo fuzz run --dev -s none "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed: its input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^Done' "$log"
done
