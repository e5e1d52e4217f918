#!/usr/bin/env bash
# Regenerates docs/report-sample.png, the README's picture of the sample world's report: runs
# the demo (the sample world against the built-in simulated farm) and photographs the top of
# its report.html in headless Chromium (scripts/chromium.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
"$here/target/release/mxscan" demo -o "$work/demo" >/dev/null 2>&1
bash "$here/scripts/chromium.sh" screenshot "$work/demo/report.html" "$here/docs/report-sample.png" 1300,1700
echo "wrote docs/report-sample.png"
