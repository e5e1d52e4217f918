#!/usr/bin/env bash
# `mxscan resolve` of N MX names against `mxscan sim` on loopback, beside dnsperf's QPS against
# the same sim in the same run. Reports names/s, CPU seconds, peak RSS, answered share, and the
# ratio to dnsperf. A second, smaller run shows peak memory does not grow with the input.
#
#   scripts/bench-resolve.sh [N]      (default 1000000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-1000000}
small=$(( n / 5 ))
command -v dnsperf >/dev/null || { echo "bench-resolve: install dnsperf (apt-get install dnsperf)" >&2; exit 1; }
port=5394
. scripts/bench-lib.sh
"$bin" sim --synthetic "$n" --write-only --write-domains "$work/names.txt"
head -n "$small" "$work/names.txt" > "$work/small.txt"
sed 's/$/ MX/' "$work/names.txt" > "$work/dnsperf.txt"

# One sim thread on one core; the client under test gets the other. Bounded by --duration.
start_sim "$n" 600

# Reference: dnsperf, one pass over the same names, same in-flight window as mxscan's default.
dnsperf -s 127.0.0.1 -p $port -d "$work/dnsperf.txt" -n 1 -c 8 -q 10000 -T 1 > "$work/dnsperf.out" 2>&1
dnsperf_qps=$(awk '/Queries per second/ {print $4}' "$work/dnsperf.out")
dnsperf_lost=$(awk '/Queries lost/ {print $3}' "$work/dnsperf.out")

run() { # run INPUT LABEL
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" resolve -r 127.0.0.1:$port -t MX "$1" -o "$work/out.csv" 2> "$work/resolve.log"
  read -r wall user sys rss < "$work/time"
  local rows timeouts
  rows=$(( $(wc -l < "$work/out.csv") - 1 ))
  timeouts=$(grep -c ',TIMEOUT,' "$work/out.csv" || true)
  local rate
  rate=$(python3 -c "print(round($rows / $wall))")
  echo "$2 $rows $wall $user $sys $rss $timeouts $rate"
}
read -r _ rows wall user sys rss timeouts rate < <(run "$work/names.txt" big)
read -r _ srows swall _ _ srss stimeouts srate < <(run "$work/small.txt" small)
stop_sim

ratio=$(python3 -c "print(f'{$rate / $dnsperf_qps:.2f}')")
cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
cat <<MD
| run | names | answered | wall s | CPU s | peak RSS | names/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| dnsperf -n 1 -c 8 -q 10000 -T 1 | $n | $(( n - dnsperf_lost )) | | | | $(printf %.0f "$dnsperf_qps") |
| mxscan resolve -t MX | $rows | $(( rows - timeouts )) | $wall | $cpu | $(( rss / 1024 )) MiB | $rate |
| mxscan resolve -t MX (first $small) | $srows | $(( srows - stimeouts )) | $swall | | $(( srss / 1024 )) MiB | $srate |

mxscan / dnsperf: ${ratio}×
$(tail -1 "$work/resolve.log")
MD
