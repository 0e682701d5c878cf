#!/bin/bash
# GOMAXPROCS 1 (server pinned to core 0, loadgen to core 1) against 2 (nothing pinned):
# switchboard-epoll, 2,000 conns, rooms of 1,000, SLO search + cost at 200k/s, interleaved.
# Writes $OUT/gmp-p1-N.json and gmp-p2-N.json (OUT defaults to /tmp), one loadgen result each.
cd "$(dirname "$0")/.." || exit 1 # bench/, with bin/ built by make bench-quick or make bench
for rep in 1 2 3; do
 for mode in p1 p2; do
  port=$((19000+rep*10+${mode#p}))
  args="--addr 127.0.0.1:$port --transport epoll --max-conns 100000 --max-per-user 100000 --rate 1000000 --burst 1000000"
  if [ $mode = p1 ]; then GOMAXPROCS=1 taskset -c 0 ./bin/switchboard $args >/dev/null 2>&1 & else GOMAXPROCS=2 ./bin/switchboard $args >/dev/null 2>&1 & fi
  SPID=$!; sleep 1
  LG="./bin/loadgen --url ws://127.0.0.1:$port/ws --conns 2000 --room-size 1000 --pid $SPID --quiet --system $mode --duration 1s --warmup 300ms --start-rate 200000 --step-factor 1.6 --resolution 1.15 --max-steps 8 --cost-rate 200000"
  if [ $mode = p1 ]; then taskset -c 1 $LG > ${OUT:-/tmp}/gmp-$mode-$rep.json 2>/dev/null; else $LG --max-other-cpu 1 > ${OUT:-/tmp}/gmp-$mode-$rep.json 2>/dev/null; fi
  kill $SPID; wait $SPID 2>/dev/null; sleep 1
 done
done
