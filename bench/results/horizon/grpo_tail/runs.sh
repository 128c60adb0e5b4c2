#!/bin/bash
# runs.sh: session 22's runs, each then ../grpo_waves/ev.sh (1,000 questions per split). Under /work/runs:
# s19/sft0 is the SFT model every run starts from; s20/T15* and s20-s21/C* are session 20-21's runs of the
# same configs without the tail average (same seeds: the same trajectories, bit for bit; checked below).
set -e; cd /work/main; export OMP_WAIT_POLICY=PASSIVE; D=/work/runs/data; S=/work/runs/s22; H=bench/results/horizon
train() {  # train KIND NAME CONFIG SEED
  .venv/bin/actial train $1 --config $H/grpo_tail/$3 --seed $4 --model /work/runs/s19/sft0 \
    --dataset $D/p3_horizon --extra-dataset $D/p3_spots --out $S/$2 > $S/$2.log 2>&1
}
run() { train "$@"; bash $H/grpo_waves/ev.sh $S/$2 $S/ev_$2 1 > $S/ev_$2.txt 2>&1; }  # run KIND NAME CONFIG SEED
for s in 0 1 2 3 4 5 6; do run grpo A$s GRPO_tail.yaml $s; done   # GRPO, temperature 1.5, tail average from step 100
for s in 0 1 2 3 4; do run sft K$s SFT_tail.yaml $s; done          # the SFT control, the same tail average
# the last step's weights (each run's trainer/checkpoint-300) equal session 20-21's runs' bit for bit:
.venv/bin/python - <<'PY'
import torch
from safetensors.torch import load_file
pairs = [("A0", "s20/T15"), ("K0", "s20/C0"), ("K1", "s20/C1")]
for run, old in pairs:
    a = load_file(f"/work/runs/s22/{run}/trainer/checkpoint-300/model.safetensors")
    b = load_file(f"/work/runs/{old}/model.safetensors")
    print(run, old, all(torch.equal(a[k], b[k]) for k in a))
PY
A=".venv/bin/actial model average"
$A $S/A0 $S/A1 $S/A2 $S/A3 $S/A4 --out $S/soupA5   # five tail-averaged GRPO runs averaged
$A $S/K0 $S/K1 $S/K2 $S/K3 $S/K4 --out $S/soupK5   # five tail-averaged SFT runs averaged
# the same compute as one 300-step run: three 100-step runs averaged, five draws, GRPO's (GRPO_100.yaml, Q*)
# and their SFT control's (SFT_100.yaml, P*); draw i averages seeds 10+3i to 12+3i
for s in $(seq 10 24); do train grpo Q$s GRPO_100.yaml $s; train sft P$s SFT_100.yaml $s; done
i=0; for draw in a b c d e; do
  for k in Q P; do $A $S/$k$((10 + 3 * i)) $S/$k$((11 + 3 * i)) $S/$k$((12 + 3 * i)) --out $S/soup$k$draw; done
  i=$((i + 1))
done
for m in soupA5 soupK5 soupQa soupQb soupQc soupQd soupQe Q10 soupPa soupPb soupPc soupPd soupPe; do bash $H/grpo_waves/ev.sh $S/$m $S/ev_$m 1 > $S/ev_$m.txt 2>&1; done
