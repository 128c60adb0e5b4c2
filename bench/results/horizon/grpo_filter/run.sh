#!/bin/bash
# run.sh NAME MODEL [EXTRA_DATASET...]: GRPO with NAME.yaml from MODEL on p3_horizon + p3_spots (+ extras), then ev16
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
n=$1; m=$2; shift 2
ex=""; for e in "$@"; do ex="$ex --extra-dataset /work/runs/rdata/$e"; done
.venv/bin/actial train grpo --config /work/runs/s18/$n.yaml --model $m --dataset /work/runs/rdata/p3_horizon --extra-dataset /work/runs/rdata/p3_spots $ex --out /work/runs/s18/$n > /work/runs/s18/$n.log 2>&1
bash /work/runs/s16/ev16.sh /work/runs/s18/$n /work/runs/s18/ev_$n 1 > /work/runs/s18/ev_$n.txt 2>&1
