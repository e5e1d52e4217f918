#!/usr/bin/env bash
# The Slurm path for real, on this machine alone: Debian's munge, slurmctld and slurmd,
# configured on 127.0.0.1 in a temporary directory (their own ports, no system service), run
# deploy/slurm/submit.sh over the sample world with 3 shards and the dependent merge job
# against `mxscan sim`, and compare the merged tables with a plain scan of the same world.
# Every daemon is started here and stopped by its pid. Needs root (munged and slurmd run as
# root) and, the first time, apt (packages are installed with services forbidden to start).
#
#   scripts/slurm-run.sh            (prints the run; docs/cluster.md records one)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ "$(id -u)" -eq 0 ] || { echo "slurm-run: run as root (munged and slurmd need it)" >&2; exit 1; }

scripts/apt-install.sh munge slurmctld slurmd slurm-client

cargo build --release -q
bin=$here/target/release/mxscan
work=$(mktemp -d /tmp/mxscan-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# munge: a fresh key and its own socket.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/key" bs=1024 count=1 status=none
chmod 700 "$work/munge"
chmod 400 "$work/munge/key"
munged --foreground --force --key-file="$work/munge/key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed" \
  > "$work/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/socket" ] && break; sleep 0.1; done

node=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<EOF
ClusterName=mxscan
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4096 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" > "$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)' && break
  sleep 0.2
done
echo "== Slurm $(sinfo -V | awk '{print $2}'), node $node:"
sinfo

# The sample world, served by two sim resolvers on loopback.
"$bin" sim --zones data/zones --listen 127.0.0.1:15391,127.0.0.1:15392 > "$work/sim.log" 2>&1 &
pids+=($!)
sleep 1
flags="--allow-special-use --public-range 198.18.0.0/15 --public-range 2001:db8::/32 --checks all"
flags="$flags --senders $here/data/senders.csv"
export MXSCAN=$bin INPUT=$here/data/domains.txt RESULTS=$work/results
export RESOLVERS=127.0.0.1:15391,127.0.0.1:15392 MXSCAN_FLAGS="$flags --no-report" SHARDS=3
echo "== deploy/slurm/submit.sh (SHARDS=3)"
read -r _ array _ _ _ merge < <(deploy/slurm/submit.sh)
echo "array job $array, merge job $merge"
deadline=$((SECONDS + 600))
state=""
while [ $SECONDS -lt $deadline ]; do
  state=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
  sleep 1
done
echo "== jobs"
scontrol show job "$array" | grep -E 'JobId=|JobState=|RunTime=' | sed 's/^ */  /' || true
scontrol show job "$merge" | grep -E 'JobId=|JobState=|RunTime=' | sed 's/^ */  /'
echo "== merge log"
cat "$RESULTS"/mxscan-merge-*.log
[ "$state" = COMPLETED ] || { echo "slurm-run: the merge job ended $state" >&2; exit 1; }

echo "== a plain scan of the same world, and the merged tables beside it"
# shellcheck disable=SC2086
"$bin" scan -r "$RESOLVERS" -o "$work/plain" $flags --no-report "$INPUT" 2>&1 | grep '^mxscan scan'
status=0
for t in domains records findings senders rejects; do
  a=$(tail -n +2 "$RESULTS/merged/$t.csv" | sort | sha256sum | cut -c1-16)
  b=$(tail -n +2 "$work/plain/$t.csv" | sort | sha256sum | cut -c1-16)
  rows=$(($(wc -l < "$RESULTS/merged/$t.csv") - 1))
  if [ "$a" = "$b" ]; then same=same; else same=DIFFERENT; status=1; fi
  printf '  %-9s %6d rows  merged %s  plain %s  %s\n' "$t" "$rows" "$a" "$b" "$same"
done
python3 - "$RESULTS"/shard-*/summary.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    s = json.load(open(path))
    shard = s["shard"]
    print(f"  shard {shard['index']}/{shard['count']}: {s['domains_scanned']} domains, "
          f"{s['input']['rejected']} rejected, {s['timing']['scan_s']:.1f} s")
PY
exit $status
