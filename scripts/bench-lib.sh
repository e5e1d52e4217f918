# Sourced by the scripts/bench-*.sh that run against a synthetic `mxscan sim` on loopback:
# a work directory removed on exit (with the sim stopped), the release binary in $bin, and
# start_sim/stop_sim. Set $port before sourcing.

work=$(mktemp -d)
cleanup() { [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release --quiet
bin=target/release/mxscan

# start_sim N [SECS]: the synthetic world of N domains on 127.0.0.1:$port, stopping by itself
# after SECS (default 3600); returns once it answers.
start_sim() {
  "$bin" sim --synthetic "$1" --listen 127.0.0.1:$port --duration "${2:-3600}" 2> "$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 1 50); do dig +time=1 +tries=1 @127.0.0.1 -p $port syn1.test MX >/dev/null 2>&1 && break; sleep 0.1; done
}
stop_sim() { kill -INT "$sim_pid"; wait "$sim_pid" || true; sim_pid=; }
