#!/bin/bash
# runs.sh: session 24's runs, on a new machine (session 19's sft0 is gone with the old one). The SFT model is
# bench/train.py's own from scratch at seed 0 (bench/results/train_horizon.json, its "work" folder); draws of
# GRPO's three 100-step runs averaged (Q*) and of their SFT control (P*) from it, as ../grpo_three_runs/runs.sh
# did from sft0. Draw a averages seeds 10-12, b 13-15, c 16-18, d 19-21, e 22-24 (session 22's seeds).
# Usage: runs.sh base | runs.sh Q DRAWS | runs.sh P DRAWS  (the two chains ran side by side, one core each)
set -e; cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s24; H=bench/results/horizon
W=$(.venv/bin/python -c "import json; print(json.load(open('bench/results/train_horizon.json'))['work'])")
M=$W/sft
if [ "$1" = base ]; then bash $H/grpo_waves/ev.sh $M $S/ev_sft 1 > $S/ev_sft.txt 2>&1; exit; fi
k=$1; if [ $k = Q ]; then kind=grpo; cfg=GRPO_100.yaml; else kind=sft; cfg=SFT_100.yaml; fi
for draw in $(echo $2 | fold -w1); do
  i=$(( $(printf %d "'$draw") - 97 )); first=$((10 + 3 * i))
  for s in $first $((first + 1)) $((first + 2)); do
    [ -f $S/$k$s/actial_checkpoint.json ] || .venv/bin/actial train $kind --config $H/grpo_tail/$cfg --seed $s --model $M \
      --dataset $D/p3_horizon --extra-dataset $D/p3_spots --out $S/$k$s > $S/$k$s.log 2>&1
  done
  .venv/bin/actial model average $S/$k$first $S/$k$((first + 1)) $S/$k$((first + 2)) --out $S/soup$k$draw
  bash $H/grpo_waves/ev.sh $S/soup$k$draw $S/ev_soup$k$draw 1 > $S/ev_soup$k$draw.txt 2>&1
done
