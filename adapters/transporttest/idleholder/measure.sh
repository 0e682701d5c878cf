#!/usr/bin/env bash
# measure.sh TRANSPORT [N]: the server's RSS and goroutines per idle connection.
# Starts the switchboard binary with TRANSPORT (epoll|goroutine), reads its RSS
# (/proc/PID/status) and go_goroutines (/metrics) before and while idleholder (another
# process) holds N idle connections, and prints the difference per connection.
# ANNOUNCE=65000 SEND=100 holds them stalled instead, each in a text frame announcing
# ANNOUNCE bytes of which SEND came; BIN=path measures that switchboard binary instead
# of one built from this tree (e.g. another checkout's, for a before/after).
set -euo pipefail
cd "$(dirname "$0")/../../.."
transport=${1:-epoll}
n=${2:-10000}
tmp=$(mktemp -d)
trap 'kill $holder $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ -n "${BIN:-}" ]; then cp "$BIN" "$tmp/switchboard"; else go build -o "$tmp/switchboard" ./cmd/switchboard; fi
go build -o "$tmp/idleholder" ./adapters/transporttest/idleholder
SWITCHBOARD_MESSAGE_TIMEOUT=1h "$tmp/switchboard" --addr 127.0.0.1:0 --transport "$transport" --max-conns $((n + 100)) \
	--max-per-user 1 --ping-interval 1h --idle-timeout 2h >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/server.log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$tmp/server.log" | head -1)
rss() { awk '/VmRSS/ {print $2}' /proc/$server/status; }         # KiB
gor() { curl -s "http://$addr/metrics" | awk '/^go_goroutines / {print $2}'; }
heap() { curl -s "http://$addr/metrics" | awk '/^go_memstats_heap_inuse_bytes / {print $2}'; }
sleep 1
rss0=$(rss); gor0=$(gor); heap0=$(heap)
"$tmp/idleholder" -addr "$addr" -n "$n" -hold 1h -announce "${ANNOUNCE:-0}" -send "${SEND:-0}" >"$tmp/holder.log" 2>&1 &
holder=$!
for _ in $(seq 600); do grep -q holding "$tmp/holder.log" && break; sleep 0.1; done
cat "$tmp/holder.log"
sleep 3 # let the server settle (GC)
curl -s "http://$addr/api/stats"; echo
rss1=$(rss); gor1=$(gor); heap1=$(heap)
echo "transport=$transport conns=$n announce=${ANNOUNCE:-0} send=${SEND:-0}"
echo "RSS: $rss0 KiB -> $rss1 KiB: $(( (rss1 - rss0) * 1024 / n )) B per connection"
echo "heap in use: $heap0 -> $heap1 B: $(awk "BEGIN {printf \"%d\", ($heap1 - $heap0) / $n}") B per connection"
echo "goroutines: $gor0 -> $gor1"
