#!/bin/bash
# job.sh KIND NAME: KIND grpo|sft, config $S/NAME.yaml, from sft0, on p3_horizon + p3_spots; then ev.sh
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s22
.venv/bin/actial train $1 --config $S/$2.yaml --model /work/runs/s19/sft0 --dataset $D/p3_horizon --extra-dataset $D/p3_spots --out $S/$2 > $S/$2.log 2>&1
bash /work/runs/s19/ev.sh $S/$2 $S/ev_$2 1 > $S/ev_$2.txt 2>&1
