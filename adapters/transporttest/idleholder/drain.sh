#!/usr/bin/env bash
# drain.sh TRANSPORT [N]: a drain as clients behind a load balancer see it. Starts two
# switchboard servers A and B (TRANSPORT epoll|goroutine), holds N idle connections on
# A with idleholder (another process), sends A SIGTERM, and each connection A closes
# reconnects to B at once. Prints how long A took from the first close to the last, how
# many closes said 1001, how many reconnects failed, and A's exit code. BIN=path runs
# that binary as A (e.g. another checkout's, for a before/after).
set -euo pipefail
cd "$(dirname "$0")/../../.."
transport=${1:-epoll}
n=${2:-19900}
tmp=$(mktemp -d)
trap 'kill $holder $a $b 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/switchboard" ./cmd/switchboard
go build -o "$tmp/idleholder" ./adapters/transporttest/idleholder
binA=${BIN:-$tmp/switchboard}
flags=(--addr 127.0.0.1:0 --transport "$transport" --max-conns $((n + 100)) --max-per-user 1 --ping-interval 1h --idle-timeout 2h)
"$binA" "${flags[@]}" >"$tmp/a.log" 2>&1 &
a=$!
"$tmp/switchboard" "${flags[@]}" >"$tmp/b.log" 2>&1 &
b=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/a.log" && grep -q 'listening on' "$tmp/b.log" && break; sleep 0.1; done
addr() { sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$1" | head -1; }
"$tmp/idleholder" -addr "$(addr "$tmp/a.log")" -n "$n" -reconnect "$(addr "$tmp/b.log")" >"$tmp/holder.log" 2>&1 &
holder=$!
for _ in $(seq 600); do grep -q holding "$tmp/holder.log" && break; sleep 0.1; done
head -1 "$tmp/holder.log"
start=$(date +%s%N)
kill -TERM $a
code=0; wait $a || code=$?
end=$(date +%s%N)
wait $holder
tail -1 "$tmp/holder.log"
echo "transport=$transport: server A exited $code, $(( (end - start) / 1000000 )) ms after SIGTERM"
