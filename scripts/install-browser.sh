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

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/lib/chromium/chromium ]; then
	command -v apt-get >/dev/null || fail "Chromium is missing and apt-get is not available: install Debian's chromium package (or a Chromium at /usr/lib/chromium/chromium) by hand"
	[ "$(id -u)" = 0 ] || fail "Chromium is missing: run 'sudo apt-get install chromium' (or this script as root)"
	echo "install-browser.sh: installing Debian's chromium (one time, about a minute)…" >&2
	log=$(mktemp)
	# The lock timeout waits out another apt run (e.g. a machine's first-boot updates).
	if ! { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
		tail -20 "$log" >&2
		rm -f "$log"
		fail "apt-get could not install chromium (see the lines above)"
	fi
	rm -f "$log"
	[ -x /usr/lib/chromium/chromium ] || fail "chromium was installed but /usr/lib/chromium/chromium is missing"
fi

if [ "$want_npm" = 1 ] && [ ! -d e2e/node_modules/playwright-core ]; then
	command -v npm >/dev/null || fail "npm is missing: install Node.js 20 or later (Debian: apt-get install nodejs npm)"
	echo "install-browser.sh: npm ci in e2e/ (one time)…" >&2
	(cd e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci in e2e/ failed"
fi
