#!/bin/bash
# hard.sh MODEL NAME: hard.py, then the SFT control config (D_B.yaml) at seeds 0 and 1 on the kept questions, each evaluated
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
m=$1; n=$2; S=/work/runs/s18
rm -rf $S/hard_$n $S/hard_${n}_rates
.venv/bin/python $S/hard.py $m $S/hard_$n > $S/hard_$n.log 2>&1
r=$(.venv/bin/python -c "
import pyarrow.parquet as pq, glob
s=[x for f in glob.glob('$S/hard_$n/shard-*.parquet') for x in pq.read_table(f, columns=['prompt_style']).column('prompt_style').to_pylist()]
print(round(s.count('reasoning') / len(s) - 0.005, 3))")
for seed in 0 1; do
  sed "s/^reasoning_ratio: .*/reasoning_ratio: $r/" $S/D_B.yaml > $S/H_${n}_$seed.yaml; echo "seed: $seed" >> $S/H_${n}_$seed.yaml
  .venv/bin/actial train sft --config $S/H_${n}_$seed.yaml --model $m --dataset $S/hard_$n --out $S/H_${n}_$seed > $S/H_${n}_$seed.log 2>&1
  bash /work/runs/s16/ev16.sh $S/H_${n}_$seed $S/ev_H_${n}_$seed 1 > $S/ev_H_${n}_$seed.txt 2>&1 &
done
wait
