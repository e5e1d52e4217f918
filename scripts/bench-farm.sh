#!/usr/bin/env bash
# `mxscan scan` through a real, cold resolver farm with the faults every real farm has.
#
# The farm (scripts/farm.sh): NSD serving a synthetic world's zone files on 127.0.0.1:5395, two
# Unbound resolvers (127.0.0.2 and 127.0.0.3, port 5353) stub-zoned to it, started fresh and
# cold for every run. The world has broken authorities, as the internet has
# (`mxscan sim --broken-authorities`): about 1 % of the domains are delegated to 127.0.0.251,
# where nothing listens, 1 % to a lame server (a second NSD on 127.0.0.250 that answers REFUSED:
# Unbound says SERVFAIL) and 0.1 % to 127.0.0.252, a socket that reads nothing. The zone files
# hold every record the scan's questions reach: a first scan against `mxscan sim` logs its
# questions (`--questions-log`) and `mxscan sim --write-zones` exports the world's answers.
#
# Variants, each with `--checks mx` and with the default checks:
#   clean   the farm as it is;
#   lossy   each Unbound behind its own dnsdist (Debian's package; 127.0.0.4 and 127.0.0.5),
#           which drops 5 % of the queries and delays 10 % of the answers by 50 ms;
#   killed  127.0.0.3's Unbound killed KILL_AT seconds into the scan (default 5).
# Per run: wall time, lookups, attempts per lookup, the tail (seconds from 99 % of the domains
# done to the end, from summary.json's timeline), the resolvers' final windows and bench
# counts, and every domain's route and findings against the same scan through the sim (the
# world's own answers; a broken authority may say TIMEOUT or SERVFAIL). Then the farm's own
# limit: dnsperf replaying the clean `--checks mx` scan's distinct questions once, half to each
# Unbound (one dnsperf each, together, REPLAY_Q outstanding each, default 5000), on the farm
# started cold again; (a)/(b) is the scan's wall time over dnsperf's.
#
#   scripts/bench-farm.sh [N] [RUNS] [VARIANTS]   (default 100000 domains, 1 run, "clean lossy killed")
#
# CHECKS="mx" runs only the `--checks mx` scans (default "mx default").
# BIN=path scans the farm with another mxscan binary (an older build, say); the world, the
# zone files and the reference scans come from this build. KEEP=DIR keeps each run's output.
# Nothing leaves loopback: every zone, the root included, is stubbed to NSD, and dnsdist's
# security poll is off.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-100000}
runs=${2:-1}
variants=${3:-clean lossy killed}
for tool in dnsperf dnsdist nsd unbound; do
  command -v "$tool" >/dev/null || { echo "bench-farm: install $tool (apt-get install nsd unbound dnsperf dnsdist)" >&2; exit 1; }
done
port=5394
. scripts/bench-lib.sh
export FARM_DIR=$work/farm FARM_PORT=5353 FARM_NSD=127.0.0.1@5395 FARM_LAME=127.0.0.250
silent_pid=
start_farm() {
  scripts/farm.sh start 2 > "$work/farm.out"
  # The silent server: a socket on the port that never reads.
  python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.252", 53)); time.sleep(86400)' &
  silent_pid=$!
}
stop_farm() {
  scripts/farm.sh stop > /dev/null 2>&1 || true
  [ -n "$silent_pid" ] && kill "$silent_pid" 2>/dev/null || true
  silent_pid=
}
dnsdist_pids=()
# Each Unbound behind its own lossy dnsdist. Its health check asks what the farm answers (the
# default, a.root-servers.net, is SERVFAIL here: dnsdist would call Unbound down and drop
# everything), and a busy Unbound's slow answer to it must not take it out of service.
start_dnsdist() {
  local i
  for i in 0 1; do
    cat > "$work/dnsdist-$i.conf" <<EOF
setSecurityPollSuffix("")
setLocal("127.0.0.$((4 + i)):5353")
setACL({"127.0.0.0/8"})
newServer({address="127.0.0.$((2 + i)):5353", name="unbound", sockets=4, checkName="test.", checkType="SOA", maxCheckFailures=10})
math.randomseed($((7 + i)))
addAction(ProbaRule(0.05), DropAction())
addResponseAction(ProbaRule(0.10), DelayResponseAction(50))
EOF
    dnsdist --supervised --disable-syslog -C "$work/dnsdist-$i.conf" > "$work/dnsdist-$i.out" 2>&1 &
    dnsdist_pids+=($!)
  done
  for ip in 127.0.0.4 127.0.0.5; do
    for _ in $(seq 1 50); do dig +time=1 +tries=1 @$ip -p 5353 test. SOA >/dev/null 2>&1 && break; sleep 0.1; done
  done
}
stop_dnsdist() { for p in "${dnsdist_pids[@]}"; do kill "$p" 2>/dev/null || true; done; dnsdist_pids=(); }
trap 'stop_dnsdist; stop_farm; cleanup' EXIT
test_flags=(--allow-special-use --public-range 198.18.0.0/15 --public-range 2001:db8::/32)
world=(--synthetic "$n" --broken-authorities)

# WORLD=DIR keeps the world (domains, reference scans, zone files) in DIR and reuses it when
# DIR already holds one of the same N: exporting the zones of 100 000 domains takes minutes.
world_dir=${WORLD:-$work/world}
mkdir -p "$world_dir"
export FARM_ZONES=$world_dir/zones
if [ -f "$world_dir/done-$n" ]; then
  echo "bench-farm: reusing the world in $world_dir" >&2
else
  rm -rf "${world_dir:?}"/*
  "$bin" sim "${world[@]}" --write-only --write-domains "$world_dir/domains.txt"
  # The sim's own answers, for both check sets: the reference every farm scan is compared
  # with, and the questions whose records the zone files hold.
  port_sim=$port
  "$bin" sim "${world[@]}" --listen 127.0.0.1:$port_sim --duration 3600 2> "$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 1 50); do dig +time=1 +tries=1 @127.0.0.1 -p $port_sim syn1.test MX >/dev/null 2>&1 && break; sleep 0.1; done
  for checks in mx default; do
    extra=()
    [ "$checks" = mx ] && extra=(--checks mx)
    "$bin" scan -r 127.0.0.1:$port_sim -o "$world_dir/ref-$checks" --no-report "${test_flags[@]}" "${extra[@]}" \
      --questions-log "$world_dir/ref-$checks-questions.txt" "$world_dir/domains.txt" 2> "$work/ref-$checks.log" || true
  done
  stop_sim
  cat "$world_dir"/ref-*-questions.txt > "$work/all-questions.txt"
  "$bin" sim "${world[@]}" --write-only --write-zones "$world_dir/zones" \
    --zone-questions "$work/all-questions.txt" 2>&1 | tail -1 >&2
  touch "$world_dir/done-$n"
fi

echo "| variant | checks | run | wall s | lookups | attempts/lookup | retries | tail s (after 99 %) | windows at end | benched | INDETERMINATE | domains as through the sim |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |"
clean_mx_questions=
for r in $(seq 1 "$runs"); do
  for variant in $variants; do
    for checks in ${CHECKS:-mx default}; do
      extra=()
      [ "$checks" = mx ] && extra=(--checks mx)
      start_farm
      resolvers=127.0.0.2:5353,127.0.0.3:5353
      if [ "$variant" = lossy ]; then
        start_dnsdist
        resolvers=127.0.0.4:5353,127.0.0.5:5353
      fi
      rm -rf "$work/out"
      killer=
      if [ "$variant" = killed ]; then
        (sleep "${KILL_AT:-5}"; kill -9 "$(cat "$FARM_DIR/unbound-127.0.0.3.pid.mine")") &
        killer=$!
      fi
      /usr/bin/time -f "%e" -o "$work/time" "${BIN:-$bin}" scan -r "$resolvers" -o "$work/out" --no-report \
        --max-unanswered 100 "${test_flags[@]}" "${extra[@]}" --questions-log "$work/questions.txt" \
        "$world_dir/domains.txt" 2> "$work/scan.log" || true
      [ -n "$killer" ] && wait "$killer"
      [ -n "${KEEP:-}" ] && cp -r "$work/out" "$KEEP/$variant-$checks-$r"
      stop_dnsdist
      stop_farm
      [ "$variant" = clean ] && [ "$checks" = mx ] && cp "$work/questions.txt" "$work/clean-mx-questions.txt" && clean_mx_questions=1
      python3 - "$work/out" "$world_dir/ref-$checks" "$(tail -1 "$work/time")" "$variant" "$checks" "$r" <<'PY'
import csv, json, sys
out, ref, wall, variant, checks, run = sys.argv[1:]
s = json.load(open(f"{out}/summary.json"))
q = s["queries"]
total = s["domains_scanned"]
samples = s["timeline"]["samples"]
t99 = next((x["t_s"] for x in samples if x["domains"] >= 0.99 * total), float(wall))
tail = max(0.0, float(wall) - t99)
windows = "/".join(str(x["window"]) for x in s["resolvers"])
benched = "/".join(str(x["benched"]) for x in s["resolvers"])

def rows(d):
    found = {}
    for rec in csv.DictReader(open(f"{d}/findings.csv")):
        code = rec["code"]
        # A broken authority may end in a timeout or, once the resolver gave up on the
        # server, its SERVFAIL.
        if code == "DNS_SERVFAIL":
            code = "DNS_TIMEOUT"
        found.setdefault(rec["domain"], set()).add(code)
    return {rec["domain"]: (rec["route"], frozenset(found.get(rec["domain"], ()))) for rec in csv.DictReader(open(f"{d}/domains.csv"))}

got, want = rows(out), rows(ref)
differ = [d for d in want if got.get(d) != want[d]]
same = "all" if not differ and len(got) == len(want) else f"{len(differ)} differ, e.g. {differ[:2]} {[got.get(d) for d in differ[:1]]} {[want[d] for d in differ[:1]]}"
print(f"| {variant} | {checks} | {run} | {float(wall):.1f} | {q['lookups']} | {q['attempts'] / q['lookups']:.4f} | {q['retries']} "
      f"| {tail:.0f} | {windows} | {benched} | {s['routes'].get('INDETERMINATE', 0)} | {same} |")
PY
    done
  done
done

if [ -n "$clean_mx_questions" ]; then
  # (b): the clean --checks mx scan's distinct questions, once, through the farm started cold.
  awk '!seen[$0]++' "$work/clean-mx-questions.txt" > "$work/distinct.txt"
  total=$(wc -l < "$work/distinct.txt")
  split -n r/2 "$work/distinct.txt" "$work/half."
  start_farm
  start=$EPOCHREALTIME
  dnsperf -s 127.0.0.2 -p 5353 -d "$work/half.aa" -n 1 -c 1 -q "${REPLAY_Q:-5000}" -t 5 > "$work/dnsperf-a.out" 2>&1 &
  pa=$!
  dnsperf -s 127.0.0.3 -p 5353 -d "$work/half.ab" -n 1 -c 1 -q "${REPLAY_Q:-5000}" -t 5 > "$work/dnsperf-b.out" 2>&1
  wait $pa
  end=$EPOCHREALTIME
  stop_farm
  lost=$(cat "$work"/dnsperf-?.out | awk '/Queries lost/ {s += $3} END {print s}')
  echo
  echo "dnsperf replay of the clean --checks mx scan's $total distinct questions: $(echo "$end - $start" | bc) s, $lost lost"
fi
