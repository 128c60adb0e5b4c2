#!/bin/bash
# objects.sh WORK: session 29's benchmark models (WORK: its `work` folder, bench/train.py's JSON names it; kept at
# /work/runs/s30/bench0) asked to reason on every one of p3_objects' 2,000 held-out-object questions (69 scenes):
# the SFT model, the three GRPO runs and their average, each paired against SFT. Reports: objects_*.md here.
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; W=${1:-/work/runs/s30/bench0}; H=bench/results/horizon/scenes
D=/work/runs/data/p3_objects; O=/work/runs/s30/evals_objects; mkdir -p $O
ev() { .venv/bin/actial eval --data $D --model-path $1 --out $O --stage $2 --prompt-style reasoning --threads 1 \
         --batch-size 16 ${3:+--against $O/eval_$3.json} > $O/$2.log 2>&1; }
ev $W/sft sft
for m in run0 run1 run2 average; do ev $W/grpo/$m $m sft; done
for m in sft run0 run1 run2 average; do cp $O/eval_$m.md $H/objects_$m.md; done
for m in run0 run1 run2 average; do cp $O/eval_${m}_paired.md $H/objects_${m}_paired.md; done
