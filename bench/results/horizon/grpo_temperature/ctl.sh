#!/bin/bash
# ctl.sh NAME CONFIG MODEL: SFT on p3_horizon + p3_spots, then ev.sh
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s20
.venv/bin/actial train sft --config $S/$2.yaml --model $3 --dataset $D/p3_horizon --extra-dataset $D/p3_spots --out $S/$1 > $S/$1.log 2>&1
bash /work/runs/s19/ev.sh $S/$1 $S/ev_$1 1 > $S/ev_$1.txt 2>&1
