#!/usr/bin/env bash
# Installs the Debian packages named that are missing, without letting any of them start its
# packaged service (a policy-rc.d that exits 101 is in place while apt runs: unbound-anchor,
# say, would reach for the internet). As root, or through sudo.
#
#   scripts/apt-install.sh nsd unbound bind9-dnsutils
set -euo pipefail

missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "apt-install: missing ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
    exit 1
  }
  sudo=sudo
fi
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
restore() { [ $had_policy -eq 1 ] || $sudo rm -f /usr/sbin/policy-rc.d; }
trap restore EXIT
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
