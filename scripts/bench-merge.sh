#!/usr/bin/env bash
# `mxscan merge` of four shards of a synthetic world (default 1M domains, default checks)
# scanned one after another against `mxscan sim` on loopback: the merge's wall time and peak
# RSS by /usr/bin/time (target: under a minute and at most 200 MB for 1M domains), the tables'
# size, and whether the merged tables hold the same rows as the shards together. Fails when the
# peak RSS passes 200 MB.
#
#   scripts/bench-merge.sh [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
n=${1:-1000000}
port=5396
. scripts/bench-lib.sh

"$bin" sim --synthetic "$n" --write-only --write-domains "$work/domains.txt"
start_sim "$n"
flags=(--no-report --allow-special-use --public-range 198.18.0.0/15 --public-range 2001:db8::/32)
for i in 1 2 3 4; do
  "$bin" scan -r 127.0.0.1:$port -o "$work/s$i" "${flags[@]}" --shard "$i/4" "$work/domains.txt" \
    2>&1 | grep '^mxscan scan' >&2
done
stop_sim
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" merge -o "$work/merged" "$work"/s1 "$work"/s2 "$work"/s3 "$work"/s4 \
  > /dev/null 2> "$work/merge.log"
read -r wall rss < "$work/time"
mib=$(du -sm --apparent-size "$work"/merged/*.csv | awk '{s += $1} END {print s}')
rows=$(cat "$work"/merged/*.csv | wc -l)
shard_rows=$(cat "$work"/s[1-4]/*.csv | wc -l)
same=yes
# Five headers per shard, five in the merge.
[ $((shard_rows - 15)) -eq "$rows" ] || same=no
echo "| domains | shards | tables | merge wall s | merge peak RSS | rows = shards' rows |"
echo "| ---: | ---: | ---: | ---: | ---: | --- |"
echo "| $n | 4 | $mib MiB | $wall | $((rss / 1024)) MiB | $same |"
[ "$same" = yes ] || { echo "bench-merge: the merged tables lost or gained rows" >&2; exit 1; }
[ "$rss" -le 204800 ] || { echo "bench-merge: peak RSS $((rss / 1024)) MiB > 200 MB" >&2; exit 1; }
