#!/usr/bin/env bash
# What the resume journal costs: `mxscan scan` of a synthetic world against `mxscan sim` on
# loopback, alternately with the journal (the default: a journal line per batch of 256
# domains, tables and journal fsynced every --sync-interval) and with the hidden
# `--no-journal` (no journal, no fsync), R times each. Reports every run's wall time, the
# ratio of the medians, and the median of the ratios of each back-to-back pair (the machine's
# drift between runs is larger than the journal's cost, and a pair shares the drift).
#
#   scripts/bench-journal.sh [N] [R]      (default: 1000000 domains, 3 runs each)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-1000000}
runs=${2:-3}
port=5394
. scripts/bench-lib.sh
"$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
start_sim "$n"

scan() { # scan LABEL [FLAGS...]
  local label=$1; shift
  rm -rf "$work/out"
  /usr/bin/time -f "%e" -o "$work/time" \
    "$bin" scan -r 127.0.0.1:$port -o "$work/out" --no-report --allow-special-use \
      --public-range 198.18.0.0/15 --public-range 2001:db8::/32 "$@" "$work/domains.txt" 2> "$work/scan.log"
  local journal_bytes=0
  [ -f "$work/out/journal" ] && journal_bytes=$(stat -c %s "$work/out/journal")
  echo "$label $(cat "$work/time") $journal_bytes" | tee -a "$work/results"
}

for r in $(seq 1 "$runs"); do
  scan journal
  scan none --no-journal
done
python3 - "$work/results" "$n" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
with_j = [float(r[1]) for r in rows if r[0] == "journal"]
without = [float(r[1]) for r in rows if r[0] == "none"]
jb = max(int(r[2]) for r in rows if r[0] == "journal")
mj, mn = statistics.median(with_j), statistics.median(without)
paired = statistics.median(a / b for a, b in zip(with_j, without))
print(f"| domains | runs | with journal, wall s | without, wall s | ratio of medians | median of paired ratios | journal size |")
print(f"| ---: | ---: | --- | --- | ---: | ---: | ---: |")
print(f"| {n} | {len(with_j)} + {len(without)} | {' '.join(f'{x:.2f}' for x in with_j)} "
      f"| {' '.join(f'{x:.2f}' for x in without)} | {mj / mn:.3f} ({100 * (mj / mn - 1):+.1f} %) "
      f"| {paired:.3f} ({100 * (paired - 1):+.1f} %) | {jb / 2**20:.1f} MiB ({jb / n:.1f} B/domain) |")
PY
