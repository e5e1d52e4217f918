#!/usr/bin/env bash
# Capacity of `mxscan sim` under dnsperf, beside Unbound (from scripts/farm.sh) measured by the
# same dnsperf in the same run as the reference. Everything stays on loopback and every load
# run is bounded by dnsperf's -l.
#
#   scripts/bench-sim.sh [SECONDS]     (default 10 s per run; results on stdout as Markdown)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-10}
command -v dnsperf >/dev/null || { echo "bench-sim: install dnsperf (apt-get install dnsperf)" >&2; exit 1; }

port=5390
bench_cleanup() { FARM_DIR=$work/farm scripts/farm.sh stop >/dev/null 2>&1 || true; }
. scripts/bench-lib.sh

# Query files: 200k MX questions of the synthetic world, and every MX/A question of the sample world.
python3 - "$work" <<'PY'
import random, sys
work = sys.argv[1]
rng = random.Random(7)
with open(f"{work}/synthetic.txt", "w") as f:
    for _ in range(200_000):
        f.write(f"syn{rng.randrange(1_000_000)}.test MX\n")
names = [l.strip() for l in open("data/domains.txt", encoding="utf-8")
         if l.strip() and not l.startswith("#") and l.isascii() and " " not in l.strip() and "/" not in l]
with open(f"{work}/sample.txt", "w") as f:
    for n in names:
        if n.startswith("timeout-dns"):
            continue  # a deny zone: no answer by design
        f.write(f"{n} MX\n{n} A\n")
PY

run_dnsperf() { # run_dnsperf LABEL ADDR PORT FILE
  local out
  out=$(dnsperf -s "$2" -p "$3" -d "$4" -l "$secs" -c 8 -q 500 -T 1 2>&1)
  local qps lost
  qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
  lost=$(echo "$out" | awk '/Queries lost/ {print $3}')
  printf '| %s | %.0f | %s |\n' "$1" "$qps" "$lost"
  echo "$qps" > "$work/$(echo "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9' _).qps"
}

sim_run() { # sim_run LABEL FILE ARGS...
  local label=$1 file=$2
  shift 2
  serve "$@"
  local t0
  t0=$(awk '{print $14+$15}' /proc/$sim_pid/stat)
  run_dnsperf "$label" 127.0.0.1 $port "$file"
  local t1 hz
  t1=$(awk '{print $14+$15}' /proc/$sim_pid/stat)
  hz=$(getconf CLK_TCK)
  stop_sim
  echo "|   (sim CPU: $(( (t1 - t0) * 100 / hz / secs )) % of one core) | | |"
}

echo "| server (dnsperf -c 8 -q 500 -T 1 -l $secs) | queries/s | lost |"
echo "| --- | ---: | ---: |"
FARM_DIR=$work/farm FARM_PORT=5391 FARM_NSD=127.0.0.1@5392 scripts/farm.sh start 1 >/dev/null
# Warm Unbound's cache first: the reference is a resolver answering from its cache.
dnsperf -s 127.0.0.2 -p 5391 -d "$work/sample.txt" -n 2 -c 8 -q 500 -T 1 >/dev/null 2>&1
run_dnsperf "Unbound 1 thread, sample world, warm cache" 127.0.0.2 5391 "$work/sample.txt"
FARM_DIR=$work/farm scripts/farm.sh stop >/dev/null
sim_run "mxscan sim --zones data/zones" "$work/sample.txt" --zones data/zones
sim_run "mxscan sim --synthetic 1000000" "$work/synthetic.txt" --synthetic 1000000
ref=$(cat "$work"/unbound_1_thread*.qps)
echo
for f in "$work"/mxscan_sim*.qps; do
  echo "- $(basename "$f" .qps | tr _ ' ' | sed 's/ *$//') / Unbound: $(python3 -c "print(f'{$(cat "$f")/$ref:.2f}')")×"
done
