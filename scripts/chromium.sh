#!/usr/bin/env bash
# Headless Chromium for the report's tests and screenshots, kept off the network: every host
# name resolves to nothing and every request goes to a dead proxy on loopback, so a page that
# tried to fetch anything would show it broken rather than reach out.
#
#   scripts/chromium.sh dump-dom PAGE.html            the DOM after layout, on stdout
#   scripts/chromium.sh screenshot PAGE.html OUT.png [WIDTH,HEIGHT]
#
# Installs Debian's chromium when missing (as root, without starting any packaged service).
set -euo pipefail

die() { echo "chromium.sh: $*" >&2; exit 1; }

install_chromium() {
  command -v chromium >/dev/null || "$(dirname "$0")/apt-install.sh" chromium
}

[ $# -ge 2 ] || die "usage: chromium.sh dump-dom PAGE | screenshot PAGE OUT.png [W,H]"
install_chromium
page=$(realpath "$2")
[ -f "$page" ] || die "no such page: $2"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
offline=(
  --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --user-data-dir="$profile"
  --host-resolver-rules="MAP * ~NOTFOUND"
  --proxy-server=127.0.0.1:9
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --disable-domain-reliability
  --disable-breakpad --metrics-recording-only --no-default-browser-check
)
case "$1" in
  dump-dom)
    timeout 60 chromium "${offline[@]}" --dump-dom "file://$page" 2>/dev/null ;;
  screenshot)
    [ $# -ge 3 ] || die "screenshot needs an output file"
    out=$(realpath -m "$3")
    timeout 60 chromium "${offline[@]}" --window-size="${4:-1300,2000}" \
      --screenshot="$out" "file://$page" >/dev/null 2>&1
    [ -s "$out" ] || die "no screenshot was written" ;;
  *) die "unknown command $1" ;;
esac
