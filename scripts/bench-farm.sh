#!/usr/bin/env bash
# `mxscan scan` through a real, cold recursive farm: two Unbound resolvers (127.0.0.2 and
# 127.0.0.3, port 5353, started fresh for every run, so their caches are empty) stub-zoned to
# `mxscan sim` serving a synthetic world as its authority on 127.0.0.1 (the sim answers
# non-recursive queries with AA). Reports per run: lookups, attempts per lookup, retries, late
# answers (for a lookup already ended), stale answers (from an attempt already re-sent; counted
# since the health rules of issue #11), INDETERMINATE domains and wall time. Then (b): the
# farm restarted cold and dnsperf replaying exactly the scan's distinct questions once
# (`--questions-log`, each at its first asking, in the scan's order), every other one to each
# resolver, both at once with REPLAY_Q queries outstanding each (default 5000, half the scan's
# window); the ratio of the scan's wall time to dnsperf's is (a)/(b). dnsperf does not retry:
# what it loses only waits out its 5 s timeout.
#
#   scripts/bench-farm.sh [N] [RUNS] [BIN ...]     (default 100000 domains, 1 run, this build)
#
# Each BIN is an mxscan binary to compare (for example an older build); the sim is always this
# build's. Nothing leaves loopback: every zone of the world is stubbed to the sim.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-100000}
runs=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
command -v unbound >/dev/null || { echo "bench-farm: install unbound (scripts/farm.sh installs it)" >&2; exit 1; }
port=5394
. scripts/bench-lib.sh
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$bin")
zones="test 18.198.in-addr.arpa 19.198.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa 10.in-addr.arpa
       127.in-addr.arpa 2.0.192.in-addr.arpa invalid localhost"

unbound_conf() { # unbound_conf IP
  echo "server:"
  echo "  interface: $1"
  echo "  port: 5353"
  echo "  do-daemonize: no"
  echo "  username: \"\""
  echo "  chroot: \"\""
  echo "  directory: \"$work\""
  echo "  pidfile: \"$work/unbound-$1.pid\""
  echo "  use-syslog: no"
  echo "  logfile: \"$work/unbound-$1.log\""
  echo "  num-threads: 1"
  echo "  do-ip6: no"
  echo "  access-control: 127.0.0.0/8 allow"
  echo "  do-not-query-localhost: no"
  echo "  unblock-lan-zones: yes"
  echo "  insecure-lan-zones: yes"
  echo "  module-config: \"iterator\""
  echo "  qname-minimisation: no"
  echo "  minimal-responses: yes"
  echo "  edns-buffer-size: 1232"
  echo "  outgoing-interface: $1"
  for z in $zones; do echo "  local-zone: \"$z.\" nodefault"; done
  echo "remote-control:"
  echo "  control-enable: no"
  for z in $zones; do
    echo "stub-zone:"
    echo "  name: \"$z.\""
    echo "  stub-addr: 127.0.0.1@$port"
  done
}

unbound_pids=()
start_farm() {
  unbound_pids=()
  for ip in 127.0.0.2 127.0.0.3; do
    unbound_conf $ip > "$work/unbound-$ip.conf"
    unbound -d -c "$work/unbound-$ip.conf" > "$work/unbound-$ip.out" 2>&1 &
    unbound_pids+=($!)
  done
  for ip in 127.0.0.2 127.0.0.3; do
    for _ in $(seq 1 50); do dig +time=1 +tries=1 @$ip -p 5353 test. SOA >/dev/null 2>&1 && break; sleep 0.1; done
  done
}
stop_farm() { kill "${unbound_pids[@]}" 2>/dev/null || true; wait "${unbound_pids[@]}" 2>/dev/null || true; }
trap 'stop_farm; cleanup' EXIT

"$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
start_sim "$n"
echo "| binary | run | lookups | attempts/lookup | retries | late | stale | late+stale % of lookups | INDETERMINATE | (a) wall s | distinct questions | lookups ÷ distinct | (b) dnsperf wall s | dnsperf lost | (a)/(b) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
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
      --allow-special-use --public-range 198.18.0.0/15 --public-range 2001:db8::/32 \
      "${extra[@]}" "$work/domains.txt" 2> "$work/scan.log" || true
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
    python3 - "$work/out/summary.json" "$(cat "$work/time")" "$b" "$r" "$replay" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
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
print(f"| {sys.argv[3]} | {sys.argv[4]} | {lk} | {q['attempts'] / lk:.4f} | {q['retries']} | {late} "
      f"| {shown} | {pct:.2f} | {s['routes'].get('INDETERMINATE', 0)} | {wall:.1f} | {b} |")
PY
  done
done
