#!/bin/bash
# Submits a sharded scan to Slurm: an array of SHARDS scan tasks and the merge that runs when
# all of them ended well. Prints the two job ids.
#
#   INPUT=domains.txt RESULTS=/shared/scan-2026-12 RESOLVERS=10.0.0.2,10.0.0.3 SHARDS=8 \
#     deploy/slurm/submit.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shards=${SHARDS:-4}
: "${INPUT:?set INPUT to the domain list}"
: "${RESULTS:?set RESULTS to a directory on shared storage}"
: "${RESOLVERS:?set RESOLVERS to the resolvers (-r)}"
mkdir -p "$RESULTS"
export INPUT RESULTS RESOLVERS MXSCAN MXSCAN_FLAGS
array=$(sbatch --parsable --chdir="$RESULTS" --array="1-$shards" "$here/scan-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --chdir="$RESULTS" --dependency="afterok:$array" "$here/merge.sbatch")
echo "array $array ($shards shards), merge $merge"
