#!/bin/bash
# after chain1: GRPO W with the pass-rate filter (seed 0, 2 threads) -> eval (2 threads)
S=/work/runs/s19; cd /work/main; export OMP_WAIT_POLICY=PASSIVE
while ! grep -q "chain1 done" $S/chain1.log; do sleep 15; done
D=/work/runs/data
.venv/bin/actial train grpo --config $S/Wf.yaml --model $S/sft0 --dataset $D/p3_horizon --extra-dataset $D/p3_spots --extra-dataset $D/p3_waves --out $S/Wf0 > $S/Wf0.log 2>&1
bash $S/ev.sh $S/Wf0 $S/ev_Wf0 2 > $S/ev_Wf0.txt 2>&1
echo chain3 done
