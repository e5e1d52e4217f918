# Sourced by the scripts/bench-*.sh that run against `mxscan sim` on loopback: a work
# directory removed on exit (with the sim stopped, and `bench_cleanup` run when the script
# defines one), the release binary in $bin, and serve/start_sim/stop_sim. Set $port before
# sourcing.

work=$(mktemp -d)
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null
  if declare -F bench_cleanup >/dev/null; then bench_cleanup; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
bin=target/release/mxscan

# serve ARGS...: `mxscan sim ARGS` on 127.0.0.1:$port; returns once it answers.
serve() {
  "$bin" sim "$@" --listen 127.0.0.1:$port 2> "$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 1 50); do dig +time=1 +tries=1 @127.0.0.1 -p $port syn1.test MX >/dev/null 2>&1 && break; sleep 0.1; done
}
# start_sim N [SECS]: the synthetic world of N domains, stopping by itself after SECS (default
# 3600).
start_sim() { serve --synthetic "$1" --duration "${2:-3600}"; }
stop_sim() { kill -INT "$sim_pid"; wait "$sim_pid" || true; sim_pid=; }
