#!/bin/bash
# go.sh train SEED | branch SEED | eval SEED: the cold-start branch of session 24 (../cold_start_branches: phase 5
# for 300 steps with half its rows reasoning, "r5l") measured from scratch at other seeds, each paired with the
# shipped phase 5 ("ship": 150 steps, 10%) branched from the same run where its phase 5 starts.
#   train:  sft_tiny_horizon.yaml as ../cold_start_branches/branch_ship.yaml has it (datasets at /work/runs/data,
#           session 24's benchmark tiny model), phase 5 as r5l, at SEED, one thread, a Trainer checkpoint every 50
#           steps (gates are checked every 50, so one lies at or just before phase 5's first step) -> $B/sSEED
#   branch: the last checkpoint at or before phase 5's first step (the run's curriculum clock), then the shipped
#           phase 5 from it -> $B/sSEED_ship
#   eval:   both on every p3_tiles question of the test and held-out-floor splits, direct and reasoning prompts
# Session 25 ran seeds 1 and 2. Seed 1 resumed session 24's killed run at its step 1,200 (its first 1,200 steps ran at
# two threads); a resumed Trainer keeps the checkpoint's save_steps (200), so its ship branch starts at checkpoint
# 1,200 and replays phase 4's steps 1,200-1,360 first (the held-out checks at 1,250-1,350 equal the run's).
# table.py SEED... prints the paired table.
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; B=/work/runs/s25; H=bench/results/horizon
what=$1; s=$2; mkdir -p $B
config() {  # config NAME STEPS RATIO
  .venv/bin/python - $H/cold_start_branches/branch_ship.yaml $B/$1 $s $2 $3 <<'PY'
import sys, yaml
ship, out, seed, steps, ratio = sys.argv[1:]
cfg = yaml.safe_load(open(ship))
cfg["curriculum"][4].update(steps=int(steps), reasoning_ratio=float(ratio))
cfg.update(output_dir=out, seed=int(seed), threads=1, save_steps=50, save_total_limit=100)
yaml.safe_dump(cfg, open(out + ".yaml", "w"), sort_keys=False)
PY
}
case $what in
train)
  config s$s 300 0.5
  .venv/bin/actial train sft --config $B/s$s.yaml --out $B/s$s > $B/s$s.log 2>&1 ;;
branch)
  config s${s}_ship 150 0.1
  ck=$(.venv/bin/python - $B/s$s/trainer <<'PY'
import json, sys
from pathlib import Path
cks = sorted(Path(sys.argv[1]).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
start = json.load(open(cks[-1] / "curriculum_clock.json"))["bounds"][4][0]
print(max((c for c in cks if int(c.name.split("-")[1]) <= start), key=lambda p: int(p.name.split("-")[1])))
PY
)
  echo "branching at $ck"
  rm -rf $B/s${s}_ship; mkdir -p $B/s${s}_ship/trainer; cp -r $ck $B/s${s}_ship/trainer/
  .venv/bin/actial train sft --config $B/s${s}_ship.yaml --out $B/s${s}_ship > $B/s${s}_ship.log 2>&1 ;;
eval)
  for r in s$s s${s}_ship; do for st in p3_tiles_reasoning p3_tiles; do
    .venv/bin/actial eval --model-path $B/$r --data /work/runs/data/p3_tiles --out $B/ev_$r --stage $st \
      $([ $st = p3_tiles_reasoning ] && echo --prompt-style reasoning) --split test --split test_backgrounds \
      --batch-size 64 --threads 1 --blind-data /work/runs/data/p3_horizon > $B/ev_${r}_$st.log 2>&1
  done; done ;;
esac
