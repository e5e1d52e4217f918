#!/usr/bin/env bash
# The real resolver farm of the tests: NSD serving the zone files of data/zones on
# 127.0.0.1:5300, and N Unbound recursive resolvers on 127.0.0.2 … 127.0.0.(N+1), stub-zoned to
# NSD. Nothing leaves loopback: every zone, the root included, is stubbed to NSD.
#
#   scripts/farm.sh start [N]   install the packages if missing, then start (default N=2)
#   scripts/farm.sh stop        stop what start started (by pid), nothing else
#   scripts/farm.sh status      show what runs and ask each resolver one question
#
# Environment: FARM_DIR (state, default .farm), FARM_ZONES (default data/zones),
# FARM_PORT (Unbound's port, default 53), FARM_NSD (NSD's address, default 127.0.0.1@5300),
# FARM_LAME (an address where a second NSD, authoritative for nothing, answers REFUSED on port
# 53: a zone delegated there is lame, and Unbound answers SERVFAIL for it),
# FARM_UNBOUND_OPTIONS (more Unbound settings, "key: value;key: value").
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
farm_dir=$(realpath -m "${FARM_DIR:-$here/.farm}")
zones_dir=$(realpath -m "${FARM_ZONES:-$here/data/zones}")
port=${FARM_PORT:-53}
nsd_addr=${FARM_NSD:-127.0.0.1@5300}
nsd_ip=${nsd_addr%@*}
nsd_port=${nsd_addr#*@}

die() { echo "farm.sh: $*" >&2; exit 1; }

install_packages() {
  "$(dirname "$0")/apt-install.sh" nsd unbound bind9-dnsutils
}

zone_names() {
  for f in "$zones_dir"/*.zone; do basename "$f" .zone; done
}
# The zone a file serves: <name>.zone serves "name.", root.zone the root.
fqdn() { [ "$1" = root ] && echo "." || echo "$1."; }

write_nsd_conf() {
  {
    echo "server:"
    echo "  ip-address: $nsd_ip@$nsd_port"
    echo "  port: $nsd_port"
    echo "  username: \"\""
    echo "  chroot: \"\""
    echo "  zonesdir: \"$zones_dir\""
    echo "  database: \"\""
    echo "  zonelistfile: \"$farm_dir/nsd-zone.list\""
    echo "  xfrdfile: \"$farm_dir/nsd-xfrd.state\""
    echo "  xfrdir: \"$farm_dir\""
    echo "  pidfile: \"$farm_dir/nsd.pid\""
    echo "  logfile: \"$farm_dir/nsd.log\""
    echo "  server-count: 1"
    echo "  verbosity: 1"
    echo "  do-ip6: no"
    echo "remote-control:"
    echo "  control-enable: no"
    for z in $(zone_names); do
      echo "zone:"
      echo "  name: \"$(fqdn "$z")\""
      echo "  zonefile: \"$z.zone\""
    done
  } > "$farm_dir/nsd.conf"
}

# The lame server: NSD with no zones, REFUSED to every question.
write_lame_conf() {
  {
    echo "server:"
    echo "  ip-address: $1@53"
    echo "  username: \"\""
    echo "  chroot: \"\""
    echo "  database: \"\""
    echo "  zonelistfile: \"$farm_dir/lame-zone.list\""
    echo "  xfrdfile: \"$farm_dir/lame-xfrd.state\""
    echo "  xfrdir: \"$farm_dir\""
    echo "  pidfile: \"$farm_dir/lame.pid\""
    echo "  logfile: \"$farm_dir/lame.log\""
    echo "  server-count: 1"
    echo "  do-ip6: no"
    echo "remote-control:"
    echo "  control-enable: no"
  } > "$farm_dir/lame.conf"
}

write_unbound_conf() {
  local ip=$1 conf=$farm_dir/unbound-$1.conf
  {
    echo "server:"
    echo "  interface: $ip"
    echo "  port: $port"
    echo "  do-daemonize: no"
    echo "  username: \"\""
    echo "  chroot: \"\""
    echo "  directory: \"$farm_dir\""
    echo "  pidfile: \"$farm_dir/unbound-$ip.pid\""
    echo "  use-syslog: no"
    echo "  logfile: \"$farm_dir/unbound-$ip.log\""
    echo "  verbosity: 1"
    echo "  num-threads: 1"
    echo "  do-ip6: no"
    echo "  access-control: 127.0.0.0/8 allow"
    # The test world lives on loopback and in special-use space: allow all of it.
    echo "  do-not-query-localhost: no"
    echo "  unblock-lan-zones: yes"
    echo "  insecure-lan-zones: yes"
    # No DNSSEC validation: the world is unsigned and no trust anchor may be fetched.
    echo "  module-config: \"iterator\""
    echo "  qname-minimisation: no"
    echo "  minimal-responses: yes"
    echo "  rrset-roundrobin: no"
    echo "  edns-buffer-size: 1232"
    echo "  max-udp-size: 1232"
    echo "  outgoing-interface: $ip"
    # Sized as a farm serving a scanner is: one thread holds thousands of questions (4 096
    # rather than 1 024, ports to match), its socket takes a burst (the default 208 KiB
    # overflowed 1 400 times in a 20 000-domain scan), and no per-client cap (Unbound >= 1.21
    # holds 1 000 waiting replies per client address; the farm's only client is the scanner).
    echo "  num-queries-per-thread: 4096"
    echo "  outgoing-range: 8192"
    echo "  so-rcvbuf: 4m"
    echo "  wait-limit: 0"
    if [ -n "${FARM_UNBOUND_OPTIONS:-}" ]; then echo "$FARM_UNBOUND_OPTIONS" | tr ';' '\n' | sed 's/^ */  /'; fi
    # Unbound's built-in answers for localhost, test., invalid. and the special-use reverse
    # zones give way to the zone files, so that it answers exactly what NSD serves.
    for z in $(zone_names); do [ "$z" = root ] || echo "  local-zone: \"$z.\" nodefault"; done
    [ -f "$zones_dir/resolver-policy.conf" ] && echo "  include: \"$zones_dir/resolver-policy.conf\""
    echo "remote-control:"
    echo "  control-enable: no"
    # The root too (a root.zone file or not): names outside every zone go to NSD, never out.
    for z in $(zone_names | grep -vx root) ""; do
      echo "stub-zone:"
      echo "  name: \"$z.\""
      echo "  stub-addr: $nsd_ip@$nsd_port"
    done
  } > "$conf"
  unbound-checkconf "$conf" >/dev/null || die "unbound-checkconf rejected $conf"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for IP PORT: until the server answers a query for test./SOA
  for _ in $(seq 1 100); do
    dig +time=1 +tries=1 @"$1" -p "$2" test. SOA >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

start() {
  local n=${1:-2}
  [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "N must be between 1 and 200"
  [ -d "$zones_dir" ] || die "no zone directory $zones_dir"
  install_packages
  mkdir -p "$farm_dir"
  alive "$farm_dir/nsd.pid" && die "a farm already runs from $farm_dir; run: scripts/farm.sh stop"
  write_nsd_conf
  nsd-checkconf "$farm_dir/nsd.conf" || die "nsd-checkconf rejected $farm_dir/nsd.conf"
  nsd -d -c "$farm_dir/nsd.conf" > "$farm_dir/nsd.out" 2>&1 &
  echo $! > "$farm_dir/nsd.pid"
  wait_for "$nsd_ip" "$nsd_port" || die "NSD did not answer on $nsd_addr; see $farm_dir/nsd.log"
  if [ -n "${FARM_LAME:-}" ]; then
    write_lame_conf "$FARM_LAME"
    nsd -d -c "$farm_dir/lame.conf" > "$farm_dir/lame.out" 2>&1 &
    echo $! > "$farm_dir/lame.pid.mine"
  fi
  : > "$farm_dir/resolvers"
  for i in $(seq 2 $((n + 1))); do
    local ip=127.0.0.$i
    write_unbound_conf "$ip"
    unbound -d -c "$farm_dir/unbound-$ip.conf" > "$farm_dir/unbound-$ip.out" 2>&1 &
    echo $! > "$farm_dir/unbound-$ip.pid.mine"
    echo "$ip:$port" >> "$farm_dir/resolvers"
  done
  while read -r r; do
    wait_for "${r%:*}" "$port" || die "Unbound on $r did not answer; see $farm_dir/unbound-${r%:*}.log"
  done < "$farm_dir/resolvers"
  echo "farm: NSD on $nsd_addr, Unbound on $(paste -sd, "$farm_dir/resolvers") (list in $farm_dir/resolvers)"
}

stop() {
  [ -d "$farm_dir" ] || { echo "farm: nothing to stop"; return 0; }
  local pids=()
  for f in "$farm_dir"/unbound-*.pid.mine "$farm_dir/nsd.pid" "$farm_dir/lame.pid.mine"; do
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null && kill "$pid" && pids+=("$pid")
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  done
  echo "farm: stopped ${#pids[@]} processes"
}

status() {
  alive "$farm_dir/nsd.pid" && echo "NSD pid $(cat "$farm_dir/nsd.pid") on $nsd_addr" || echo "NSD not running"
  for f in "$farm_dir"/unbound-*.pid.mine; do
    [ -f "$f" ] || continue
    local ip=${f#"$farm_dir"/unbound-}
    ip=${ip%.pid.mine}
    if alive "$f"; then
      echo "Unbound pid $(cat "$f") on $ip:$port: test. SOA -> $(dig +short +time=1 +tries=1 @"$ip" -p "$port" test. SOA | head -1)"
    else
      echo "Unbound on $ip:$port not running"
    fi
  done
}

case "${1:-}" in
  start) start "${2:-2}" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/farm.sh start [N] | stop | status" ;;
esac
