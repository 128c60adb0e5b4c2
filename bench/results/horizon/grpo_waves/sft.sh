#!/bin/bash
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s19
.venv/bin/actial model build-tiny --data $D/p3_horizon --out $S/tiny
.venv/bin/actial train sft --config $S/sft.yaml --model $S/tiny --dataset $D/p3_horizon --out $S/sft0
