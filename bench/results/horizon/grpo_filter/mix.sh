#!/bin/bash
# mix.sh NAME MODEL: hard_NAME's questions + as many recipe rows (mix.py), the control config at seeds 0 and 1, evaluated
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
n=$1; m=$2; S=/work/runs/s18
rm -rf $S/mix_$n; .venv/bin/python $S/mix.py $S/hard_$n $S/mix_$n > $S/mix_$n.log 2>&1
r=$(.venv/bin/python -c "
import pyarrow.parquet as pq, glob
s=[x for f in glob.glob('$S/mix_$n/shard-*.parquet') for x in pq.read_table(f, columns=['prompt_style']).column('prompt_style').to_pylist()]
print(round(s.count('reasoning') / len(s) - 0.005, 3))")
for seed in 0 1; do
  sed "s/^reasoning_ratio: .*/reasoning_ratio: $r/" $S/D_B.yaml > $S/M_${n}_$seed.yaml; echo "seed: $seed" >> $S/M_${n}_$seed.yaml
  .venv/bin/actial train sft --config $S/M_${n}_$seed.yaml --model $m --dataset $S/mix_$n --out $S/M_${n}_$seed > $S/M_${n}_$seed.log 2>&1
  bash /work/runs/s16/ev16.sh $S/M_${n}_$seed $S/ev_M_${n}_$seed 1 > $S/ev_M_${n}_$seed.txt 2>&1 &
done
wait
