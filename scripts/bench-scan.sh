#!/usr/bin/env bash
# `mxscan scan` of synthetic worlds (default 1M and 10M domains) against `mxscan sim` on
# loopback, beside dnsperf asking the same sim the first 1M domains' MX in the same run.
# The scan runs with the test-world flags (the synthetic world lives under .test in reserved
# address space), so its findings are the ground truth's. Reports domains/s, lookups
# (questions sent after sharing) per domain and over the floor of distinct questions
# (summary.json's estimate), retries, peak RSS and the scan's lookups/s as a ratio to
# dnsperf's queries/s. Each size is scanned twice against the same sim: `--checks mx`
# and the default checks (mx,spf,dmarc), which also reports the share of mail-authentication
# questions served without a query (cache, a lookup in flight, or the domain's own answers).
#
#   scripts/bench-scan.sh [N ...]      (default: 1000000 10000000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
command -v dnsperf >/dev/null || { echo "bench-scan: install dnsperf (apt-get install dnsperf)" >&2; exit 1; }
port=5393
. scripts/bench-lib.sh

echo "| domains | checks | wall s | CPU s | peak RSS | domains/s | lookups/domain | lookups ÷ distinct questions | lookups/s | retries | lookups/s ÷ dnsperf q/s | mail-auth questions served without a query |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${sizes[@]}"; do
  "$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
  start_sim "$n"
  # Reference: dnsperf on the same sim, the first 1M domains' MX, the scan's default window.
  head -n 1000000 "$work/domains.txt" | sed 's/$/ MX/' > "$work/dnsperf.txt"
  dnsperf -s 127.0.0.1 -p $port -d "$work/dnsperf.txt" -n 1 -c 8 -q 10000 -T 1 > "$work/dnsperf.out" 2>&1
  dnsperf_qps=$(awk '/Queries per second/ {print $4}' "$work/dnsperf.out")
  for checks in mx mx,spf,dmarc; do
  rm -rf "$work/out"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin" scan -r 127.0.0.1:$port -o "$work/out" --no-report --allow-special-use --checks "$checks" \
      --public-range 198.18.0.0/15 --public-range 2001:db8::/32 "$work/domains.txt" 2> "$work/scan.log"
  read -r wall user sys rss < "$work/time"
  python3 - "$work/out/summary.json" "$wall" "$user" "$sys" "$rss" "$dnsperf_qps" "$checks" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, user, sys_, rss, dq = map(float, sys.argv[2:7])
q = s["queries"]; t = s["timing"]; a = q["shared_mail_auth"]
asked = a["hits"] + a["joined"] + a["sent"]
served = f"{100 * (a['hits'] + a['joined']) / asked:.1f} % of {asked}" if asked else "-"
print(f"| {s['domains_scanned']} | {sys.argv[7]} | {wall:.1f} | {user + sys_:.1f} | {rss / 1024:.0f} MiB "
      f"| {t['domains_per_s']:.0f} | {q['lookups_per_domain']:.2f} | {q['lookups_per_distinct_question']:.3f} "
      f"| {t['lookups_per_s']:.0f} "
      f"| {q['retries']} | {t['lookups_per_s'] / dq:.2f} (dnsperf {dq:.0f} q/s) | {served} |")
PY
  done
  stop_sim
  tail -1 "$work/scan.log" >&2
done
