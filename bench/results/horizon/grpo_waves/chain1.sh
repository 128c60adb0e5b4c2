#!/bin/bash
# after sft0: [GRPO W (+p3_waves) seed 0 -> eval] || [eval sft0 + p3_waves test -> GRPO G seed 0 -> eval]
S=/work/runs/s19; cd /work/main; export OMP_WAIT_POLICY=PASSIVE
while [ ! -f $S/sft0/actial_checkpoint.json ]; do sleep 20; done
bash $S/grpo.sh W0 G $S/sft0 p3_waves &
( bash $S/ev.sh $S/sft0 $S/ev_sft0 1 > $S/ev_sft0.txt 2>&1
  .venv/bin/actial eval --model-path $S/sft0 --data /work/runs/data/p3_waves --out $S/ev_sft0 --stage p3_waves --batch-size 64 --threads 1 >> $S/ev_sft0.txt 2>&1
  bash $S/grpo.sh G0 G $S/sft0 ) &
wait
echo chain1 done
