#!/usr/bin/env bash
# `mxscan scan` through the real, cold resolver farm of scripts/farm.sh: NSD serving a synthetic
# world's zone files on 127.0.0.1:5394 and two Unbound resolvers (127.0.0.2 and 127.0.0.3, port
# 5353) stub-zoned to it, the farm started fresh for every run so the caches are empty. The
# zone files hold every record the scan's questions reach: a first scan against `mxscan sim`
# logs its questions (`--questions-log`) and `mxscan sim --write-zones` exports the world's
# answers to them. Reports per run: lookups, attempts per lookup, retries, late answers (for a
# lookup already ended), stale answers (from an attempt already re-sent), INDETERMINATE domains
# and wall time. Then (b): the farm restarted cold and dnsperf replaying exactly the scan's
# distinct questions once (each at its first asking, in the scan's order), every other one to
# each resolver, both at once with REPLAY_Q queries outstanding each (default 5000, half the
# scan's window); the ratio of the scan's wall time to dnsperf's is (a)/(b). dnsperf does not
# retry: what it loses only waits out its 5 s timeout.
#
#   scripts/bench-farm.sh [N] [RUNS] [BIN ...]     (default 100000 domains, 1 run, this build)
#
# Each BIN is an mxscan binary to compare (for example an older build). Nothing leaves
# loopback: every zone, the root included, is stubbed to NSD.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-100000}
runs=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
command -v dnsperf >/dev/null || { echo "bench-farm: install dnsperf (apt-get install dnsperf)" >&2; exit 1; }
port=5394
. scripts/bench-lib.sh
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$bin")
export FARM_DIR=$work/farm FARM_ZONES=$work/zones FARM_PORT=5353 FARM_NSD=127.0.0.1@5395
start_farm() { scripts/farm.sh start 2 > "$work/farm.out"; }
stop_farm() { scripts/farm.sh stop > /dev/null 2>&1 || true; }
trap 'stop_farm; cleanup' EXIT
test_flags=(--allow-special-use --public-range 198.18.0.0/15 --public-range 2001:db8::/32)

"$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
# The zone files: the sim's answers to every question a scan of this world asks.
start_sim "$n"
"$bin" scan -r 127.0.0.1:$port -o "$work/pre" --no-report "${test_flags[@]}" \
  --questions-log "$work/pre-questions.txt" "$work/domains.txt" 2> "$work/pre.log"
stop_sim
"$bin" sim --synthetic "$n" --write-only --write-zones "$work/zones" \
  --zone-questions "$work/pre-questions.txt" 2>&1 | tail -1 >&2
echo "| binary | run | routes as through the sim | lookups | attempts/lookup | retries | late | stale | late+stale % of lookups | INDETERMINATE | (a) wall s | distinct questions | lookups ÷ distinct | (b) dnsperf wall s | dnsperf lost | (a)/(b) |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for r in $(seq 1 "$runs"); do
  for b in "${bins[@]}"; do
    start_farm
    rm -rf "$work/out"
    # An older build may not know every flag of this one: pass only what it knows.
    extra=()
    "$b" scan --help | grep -q -- --max-unanswered && extra+=(--max-unanswered 100)
    "$b" scan --help | grep -q -- --no-report && extra+=(--no-report)
    logged=0
    "$b" scan --help | grep -q -- --questions-log && { extra+=(--questions-log "$work/questions.txt"); logged=1; }
    /usr/bin/time -f "%e" -o "$work/time" "$b" scan -r 127.0.0.2:5353,127.0.0.3:5353 -o "$work/out" \
      "${test_flags[@]}" "${extra[@]}" "$work/domains.txt" 2> "$work/scan.log" || true
    stop_farm
    replay=""
    if [ $logged -eq 1 ]; then
      # (b): the same distinct questions, once, through the farm started cold again.
      awk '!seen[$0]++' "$work/questions.txt" > "$work/distinct.txt"
      total=$(wc -l < "$work/distinct.txt")
      split -n r/2 "$work/distinct.txt" "$work/half."
      start_farm
      start=$EPOCHREALTIME
      dnsperf -s 127.0.0.2 -p 5353 -d "$work/half.aa" -n 1 -c 1 -q "${REPLAY_Q:-5000}" -t 5 > "$work/dnsperf-a.out" 2>&1 &
      pa=$!
      dnsperf -s 127.0.0.3 -p 5353 -d "$work/half.ab" -n 1 -c 1 -q "${REPLAY_Q:-5000}" -t 5 > "$work/dnsperf-b.out" 2>&1
      wait $pa
      replay="$start $EPOCHREALTIME $total $(cat "$work"/dnsperf-?.out | awk '/Queries lost/ {s += $3} END {print s}')"
      stop_farm
    fi
    python3 - "$work/out/summary.json" "$(cat "$work/time")" "$b" "$r" "$replay" "$work/pre/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
# The farm serves the sim's answers: every domain should take the same route.
same = "yes" if s["routes"] == json.load(open(sys.argv[6]))["routes"] else f"no: {s['routes']}"
q = s["queries"]
stale = q.get("stale_answers")
late = q["late"] + q["duplicates"]
lk = q["lookups"]
shown = "n/a" if stale is None else stale
pct = 100.0 * (late + (stale or 0)) / lk
wall = float(sys.argv[2])
replay = sys.argv[5].split()
if replay:
    b_wall = float(replay[1]) - float(replay[0])
    distinct, lost = int(replay[2]), int(replay[3]) if len(replay) > 3 else 0
    b = f"{distinct} | {lk / distinct:.3f} | {b_wall:.1f} | {lost} | {wall / b_wall:.2f}"
else:
    b = "- | - | - | - | -"
print(f"| {sys.argv[3]} | {sys.argv[4]} | {same} | {lk} | {q['attempts'] / lk:.4f} | {q['retries']} | {late} "
      f"| {shown} | {pct:.2f} | {s['routes'].get('INDETERMINATE', 0)} | {wall:.1f} | {b} |")
PY
  done
done
