#!/bin/bash
# runs.sh: session 23's runs. Under /work/runs: s19/sft0 is the SFT model every run here starts from; s22 holds
# session 22's five draws (a-e) of the same two averages, from seeds 10-24 (../grpo_tail/runs.sh).
set -e; cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s23; H=bench/results/horizon
A=".venv/bin/actial model average"
# five more draws (f-j) of three 100-step runs averaged: GRPO at temperature 1.5 (Q*) and its SFT control (P*);
# draw f averages seeds 25-27, g 28-30, h 31-33, i 34-36, j 37-39. The two loops ran side by side, one core each
# (draw j after the rest: runs are reproducible per seed, so the order does not matter).
for k in Q P; do
  if [ $k = Q ]; then kind=grpo; cfg=GRPO_100.yaml; else kind=sft; cfg=SFT_100.yaml; fi
  i=0; for draw in f g h i j; do
    for s in $((25 + 3 * i)) $((26 + 3 * i)) $((27 + 3 * i)); do
      .venv/bin/actial train $kind --config $H/grpo_tail/$cfg --seed $s --model /work/runs/s19/sft0 \
        --dataset $D/p3_horizon --extra-dataset $D/p3_spots --out $S/$k$s > $S/$k$s.log 2>&1
    done
    $A $S/$k$((25 + 3 * i)) $S/$k$((26 + 3 * i)) $S/$k$((27 + 3 * i)) --out $S/soup$k$draw
    bash $H/grpo_waves/ev.sh $S/soup$k$draw $S/ev_soup$k$draw 1 > $S/ev_soup$k$draw.txt 2>&1
    i=$((i + 1))
  done
done
# the recipe from scratch with a new SFT seed, its GRPO stage the shipped config (temperature 1.0) as three
# 100-step runs (seeds 2, 3, 4) averaged
.venv/bin/python bench/train.py --data-root $D --seed 2 --grpo-runs 3 --grpo-steps 100 \
  --out $S/bench_seed2_avg3.json --tables $S/bench_seed2_avg3
# the GRPO half again from that SFT model, GRPO at temperature 1.5 (T15.yaml), three 100-step runs averaged
W=$(.venv/bin/python -c "import json; print(json.load(open('$S/bench_seed2_avg3.json'))['work'])")
.venv/bin/python bench/train.py --data-root $D --sft $W/sft --seed 2 --grpo-runs 3 --grpo-steps 100 --grpo-config $H/grpo_three_runs/T15.yaml \
  --out $S/bench_seed2_T15avg3.json --tables $S/bench_seed2_T15avg3
# the shipped stage through the benchmark, from sft0, quiet machine (defaults: --grpo-runs 3, grpo_tiny_horizon.yaml)
.venv/bin/python bench/train.py --data-root $D --sft /work/runs/s19/sft0 \
  --out $H/grpo_three_runs/sft0/train_shipped.json --tables $S/bench_sft0_shipped
