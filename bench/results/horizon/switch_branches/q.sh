#!/bin/bash
# q.sh RUN...: each branch from ck510 (phase 3's first step) until its check at step 750, one after another
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
for r in "$@"; do
  d=/work/runs/s17/br/$r; rm -rf $d; mkdir -p $d/trainer; cp -r /work/runs/s17/ck510 $d/trainer/checkpoint-510
  .venv/bin/actial train sft --config /work/runs/s17/br/b_$r.yaml --model /work/main/.gpu/ck510 --dataset /work/runs/rdata/p3_horizon --out $d > $d.log 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    if tr '\r' '\n' < $d.log | grep -q "step 750: held-out"; then kill $pid; fi; sleep 3
  done
  rm -rf $d/trainer
  echo "== $r"; tr '\r' '\n' < $d.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*"
done
