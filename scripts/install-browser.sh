#!/usr/bin/env bash
# install-browser.sh prepares what the browser tests need, once per machine:
# Debian's chromium (for `make test-wasm` and `make test-browser`) and, with --npm,
# the e2e/ npm packages (playwright-core). It is idempotent and quiet when everything
# is already there, so the Makefile calls it before every browser run.
set -euo pipefail
cd "$(dirname "$0")/.."

want_npm=0
for arg in "$@"; do
	case "$arg" in
	--npm) want_npm=1 ;;
	*) echo "install-browser.sh: unknown argument $arg (only --npm)" >&2; exit 2 ;;
	esac
done

fail() { echo "install-browser.sh: $*" >&2; exit 1; }

# Debian's chromium, a text font and an emoji font (pages use emoji; without the font the
# screenshots show boxes). dpkg-query answers from the local database: no network when
# everything is there.
packages="chromium fonts-dejavu-core fonts-noto-color-emoji"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ ! -x /usr/lib/chromium/chromium ] && [ -z "$missing" ]; then
	missing=" chromium" # installed once, its binary gone since: reinstall
fi
if [ -n "$missing" ]; then
	command -v apt-get >/dev/null || fail "missing:$missing, and apt-get is not available: install Chromium (at /usr/lib/chromium/chromium) by hand"
	[ "$(id -u)" = 0 ] || fail "missing:$missing: run 'sudo apt-get install$missing' (or this script as root)"
	echo "install-browser.sh: apt-get install$missing (one time, about 15 s)…" >&2
	log=$(mktemp)
	# The lock timeout waits out another apt run (e.g. a machine's first-boot updates).
	if ! { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
			--no-install-recommends --reinstall $missing; } >"$log" 2>&1; then
		tail -20 "$log" >&2
		rm -f "$log"
		fail "apt-get could not install$missing (see the lines above)"
	fi
	rm -f "$log"
	[ -x /usr/lib/chromium/chromium ] || fail "chromium was installed but /usr/lib/chromium/chromium is missing"
fi

if [ "$want_npm" = 1 ] && [ ! -d e2e/node_modules/playwright-core ]; then
	command -v npm >/dev/null || fail "npm is missing: install Node.js 20 or later (Debian: apt-get install nodejs npm)"
	echo "install-browser.sh: npm ci in e2e/ (one time)…" >&2
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci in e2e/ failed"
fi
