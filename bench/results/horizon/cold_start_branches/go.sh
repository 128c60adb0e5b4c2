#!/bin/bash
# go.sh train BRANCH... | go.sh eval BRANCH...: branches of the benchmark's SFT run at its Trainer checkpoint 600
# (phase 4's gate passed; phase 5 starts at 610). Each branch is branch_ship.yaml (sft_tiny_horizon.yaml with the
# datasets at /work/runs/data and the benchmark run's tiny model) with phase 5 changed: ship as shipped (150 steps,
# reasoning_ratio 0.1); r3, r5: reasoning_ratio 0.3, 0.5; r3l, r5l: the same for 300 steps (610-910).
# Session 24 ran: go.sh train ship r3 r5 r3l r5l; go.sh eval ship r3 r5 r5l; then table.py ship r3 r5 r5l.
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; W=/tmp/actial-bench-train-7fo9bkcb; B=/work/runs/s24/br
H=bench/results/horizon/cold_start_branches; what=$1; shift
for r in "$@"; do
  if [ $what = train ]; then
    .venv/bin/python - $r $H/branch_ship.yaml $B <<'PY'
import sys, yaml
r, ship, out = sys.argv[1:]
cfg = yaml.safe_load(open(ship))
phase5 = cfg["curriculum"][4]
phase5["reasoning_ratio"] = {"ship": 0.1, "r3": 0.3, "r5": 0.5}[r.rstrip("l")]
phase5["steps"] = 300 if r.endswith("l") else 150
cfg["output_dir"] = f"{out}/{r}"
yaml.safe_dump(cfg, open(f"{out}/{r}.yaml", "w"), sort_keys=False)
PY
    rm -rf $B/$r; mkdir -p $B/$r/trainer; cp -r $W/sft/trainer/checkpoint-600 $B/$r/trainer/
    .venv/bin/actial train sft --config $B/$r.yaml --out $B/$r > $B/$r.log 2>&1
    echo "== $r"; tr '\r' '\n' < $B/$r.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|warning: .*"
  else
    for st in p3_tiles_reasoning p3_tiles; do
      .venv/bin/actial eval --model-path $B/$r --data /work/runs/data/p3_tiles --out $B/ev_$r --stage $st \
        $([ $st = p3_tiles_reasoning ] && echo --prompt-style reasoning) --split test --split test_backgrounds \
        --batch-size 64 --threads 2 --blind-data /work/runs/data/p3_horizon > $B/ev_${r}_$st.log 2>&1
    done
  fi
done
