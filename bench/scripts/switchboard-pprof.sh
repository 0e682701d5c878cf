#!/bin/sh
# Builds bench/bin/switchboard-pprof: Switchboard with net/http/pprof served on $SB_PPROF
# (e.g. 127.0.0.1:6061) when that variable is set. The server's own code is untouched:
# `go build -overlay` adds one file to cmd/switchboard for this build only. Used to force
# a GC before idle memory readings (loadgen --gc-url) and to take CPU and heap profiles.
set -e
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
cp bench/scripts/pprof_overlay.go.txt "$tmp/zz_pprof.go"
printf '{"Replace":{"%s/cmd/switchboard/zz_pprof.go":"%s/zz_pprof.go"}}' "$PWD" "$tmp" > "$tmp/overlay.json"
go build -overlay "$tmp/overlay.json" -o bench/bin/switchboard-pprof ./cmd/switchboard
rm -rf "$tmp"
echo bench/bin/switchboard-pprof
