#!/bin/bash
# profile.sh TRANSPORT SCENARIO [loadgen flags…]: runs Switchboard (bench/bin/switchboard --debug-addr,
# pinned to core 0, GOMAXPROCS=1) under bench/bin/loadgen (core 1) and records, from second
# $DELAY (default 3) for $SECS (default 3) seconds, a perf profile (kernel + Go) and a Go
# CPU profile, then a heap profile (after a GC). Give loadgen --hold so that the
# connections are still open then. Output: bench/results/profiles/NAME.*
# e.g. scripts/profile.sh epoll fanout --conns 10000 --room-size 1000 --rate 500000 --duration 8s
set -e
T=$1; SC=$2; shift 2
cd "$(dirname "$0")/.."
NAME=${NAME:-$T-$SC}
OUT=results/profiles; mkdir -p $OUT
DELAY=${DELAY:-3}; SECS=${SECS:-3}
LOG=$(mktemp)
GOMAXPROCS=1 taskset -c 0 bin/switchboard --debug-addr 127.0.0.1:6061 --transport $T --max-conns 100000 \
  --max-per-user 100000 --rate 1000000 --burst 1000000 --addr 127.0.0.1:0 > $LOG 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f $LOG' EXIT
for i in $(seq 100); do grep -q listening $LOG && break; sleep 0.1; done
ADDR=$(sed -n 's#.*listening on http://##p' $LOG | head -1)
( sleep $DELAY
  curl -s "http://127.0.0.1:6061/debug/pprof/profile?seconds=$SECS" > $OUT/$NAME.cpu.pb.gz &
  perf record -F 999 -g -p $PID -o $OUT/$NAME.perf.data -- sleep $SECS > /dev/null 2>&1
  wait
  curl -s "http://127.0.0.1:6061/debug/pprof/heap?gc=1" > $OUT/$NAME.heap.pb.gz ) &
PROF=$!
taskset -c 1 bin/loadgen --url ws://$ADDR/ws --pid $PID --quiet --scenario $SC --gc-url "http://127.0.0.1:6061/debug/pprof/heap?gc=1" "$@" > $OUT/$NAME.loadgen.json
wait $PROF
perf report -i $OUT/$NAME.perf.data --no-children --stdio --sort dso,symbol -g none 2>/dev/null | grep '%' | head -40 > $OUT/$NAME.perf.txt
go tool pprof -top -nodecount=40 $OUT/$NAME.cpu.pb.gz > $OUT/$NAME.cpu.txt 2>/dev/null || true
go tool pprof -sample_index=inuse_space -top -nodecount=30 $OUT/$NAME.heap.pb.gz > $OUT/$NAME.heap.txt 2>/dev/null || true
rm -f $OUT/$NAME.perf.data
echo "$OUT/$NAME.{loadgen.json,perf.txt,cpu.txt,heap.txt,cpu.pb.gz,heap.pb.gz}"
