#!/bin/bash
# control.sh DATA MODEL PREFIX SEED...: the SFT control config (D_B.yaml: 300 steps of 4 rows, lr 1e-4 linearly to 0)
# on DATA from MODEL at each SEED (PREFIX_SEED.yaml, PREFIX_SEED), each evaluated with ev16 (ev_PREFIX_SEED)
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
data=$1; m=$2; p=$3; shift 3; S=/work/runs/s18
r=$(.venv/bin/python $S/reasoning_share.py $data)
for seed in "$@"; do
  sed "s/^reasoning_ratio: .*/reasoning_ratio: $r/" $S/D_B.yaml > $S/${p}_$seed.yaml; echo "seed: $seed" >> $S/${p}_$seed.yaml
  .venv/bin/actial train sft --config $S/${p}_$seed.yaml --model $m --dataset $data --out $S/${p}_$seed > $S/${p}_$seed.log 2>&1
  bash /work/runs/s16/ev16.sh $S/${p}_$seed $S/ev_${p}_$seed 1 > $S/ev_${p}_$seed.txt 2>&1 &
done
wait
