#!/bin/bash
# loadgen-cost.sh SYSTEM [loadgen flags…]: one fixed-rate fan-out step of bench/bin/loadgen
# (core 1) against one server (core 0, GOMAXPROCS=1), to measure what the load generator
# itself costs per delivery (client_us_per_delivery) against that server. SYSTEM is
# switchboard-epoll, switchboard-goroutine, raw-epoll or gorilla-chat; LOADGEN picks the
# loadgen binary (default bin/loadgen). Prints the fixed step's JSON.
# e.g. scripts/loadgen-cost.sh raw-epoll --conns 2000 --room-size 1000 --rate 300000 --duration 10s
set -e
SYS=$1; shift
cd "$(dirname "$0")/.."
LOADGEN=${LOADGEN:-bin/loadgen}
case $SYS in
switchboard-epoll) SRV=(bin/switchboard --transport epoll --max-conns 100000 --max-per-user 100000 --rate 1000000 --burst 1000000) ;;
switchboard-goroutine) SRV=(bin/switchboard --transport goroutine --max-conns 100000 --max-per-user 100000 --rate 1000000 --burst 1000000) ;;
raw-epoll) SRV=(bin/rawepoll) ;;
gorilla-chat) SRV=(bin/gorilla --write-pump chat) ;;
*) echo "unknown system $SYS" >&2; exit 2 ;;
esac
LOG=$(mktemp)
GOMAXPROCS=1 taskset -c 0 "${SRV[@]}" --addr 127.0.0.1:0 > "$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$LOG"' EXIT
for i in $(seq 100); do grep -q listening "$LOG" && break; sleep 0.1; done
ADDR=$(sed -n 's#.*listening on http://##p' "$LOG" | head -1)
taskset -c 1 "$LOADGEN" --system "$SYS" --url "ws://$ADDR/ws" --pid $PID --quiet --scenario fanout "$@" |
  python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["steps"][-1]
print(json.dumps({k: s.get(k) for k in ("label","offered_per_sec","delivered_per_sec","client_cpu_frac","client_us_per_delivery","deliveries_per_read","p50_ms","p99_ms","latency_samples","server_cpu_sec","core_sec_per_million","writes_per_delivery","bulk_max_queued_bytes","rcvbuf_bytes","valid","invalid_reason","slo_pass","slo_miss")} | {"lost": r["lost"], "reordered": r["reordered"], "system": r["system"]}))'
