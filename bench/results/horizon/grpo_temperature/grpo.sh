#!/bin/bash
# grpo.sh NAME CONFIG MODEL [EXTRA_DATASET...]: GRPO on p3_horizon + p3_spots (+ extras), then ev.sh
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s20
n=$1; c=$2; m=$3; shift 3
ex=""; for e in "$@"; do ex="$ex --extra-dataset $D/$e"; done
.venv/bin/actial train grpo --config $S/$c.yaml --model $m --dataset $D/p3_horizon --extra-dataset $D/p3_spots $ex --out $S/$n > $S/$n.log 2>&1
bash /work/runs/s19/ev.sh $S/$n $S/ev_$n 1 > $S/ev_$n.txt 2>&1
