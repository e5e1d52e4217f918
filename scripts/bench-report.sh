#!/usr/bin/env bash
# `mxscan report` of synthetic scans (default 1M domains): the scan runs first against `mxscan
# sim` on loopback (default checks, --no-report), then the report is timed alone from its
# files. Prints the tables' size, the report's wall time and peak RSS, and fails when the peak
# RSS is over the bound the report promises (200 MiB, whatever the scan's size).
#
#   scripts/bench-report.sh [N ...]      (default: 1000000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
bound_kib=$((200 * 1024))
port=5394
. scripts/bench-lib.sh

echo "| domains | format | tables | report wall s | CPU s | peak RSS | report size |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
over=0
for n in "${sizes[@]}"; do
  "$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
  for format in csv jsonl; do
    start_sim "$n"
    rm -rf "$work/out"
    "$bin" scan -r 127.0.0.1:$port -o "$work/out" --no-report --format "$format" --allow-special-use \
      --public-range 198.18.0.0/15 --public-range 2001:db8::/32 "$work/domains.txt" 2> "$work/scan.log"
    stop_sim
    tables=$(du -cb "$work"/out/*."$format" | tail -1 | cut -f1)
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" report "$work/out" > /dev/null
    read -r wall user sys rss < "$work/time"
    page=$(stat -c %s "$work/out/report.html")
    python3 - "$n" "$format" "$tables" "$wall" "$user" "$sys" "$rss" "$page" <<'PY'
import sys
n, fmt, tables, wall, user, sys_, rss, page = sys.argv[1:]
print(f"| {n} | {fmt} | {int(tables) / 2**20:.0f} MiB | {float(wall):.1f} | {float(user) + float(sys_):.1f} "
      f"| {int(rss) / 1024:.0f} MiB | {int(page) / 1024:.0f} KiB |")
PY
    [ "$rss" -le "$bound_kib" ] || { echo "bench-report: peak RSS ${rss} KiB is over ${bound_kib} KiB" >&2; over=1; }
  done
done
exit $over
