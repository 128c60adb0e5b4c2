#!/bin/bash
# branches of the benchmark's SFT run at its Trainer checkpoint 600 (phase 4's gate passed; phase 5 starts at 610)
# ship.yaml = branch_ship.yaml here: sft_tiny_horizon.yaml with the datasets at /work/runs/data and the benchmark run's tiny model
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; W=/tmp/actial-bench-train-7fo9bkcb; B=/work/runs/s24/br
for r in ship r3 r5; do  # r3, r5: branch_ship.yaml with phase 5 reasoning_ratio 0.3, 0.5
  rm -rf $B/$r; mkdir -p $B/$r/trainer; cp -r $W/sft/trainer/checkpoint-600 $B/$r/trainer/
  .venv/bin/actial train sft --config $B/$r.yaml --out $B/$r > $B/$r.log 2>&1
  echo "== $r"; tr '\r' '\n' < $B/$r.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|warning: .*"
done
for r in ship r3 r5; do  # r3, r5: branch_ship.yaml with phase 5 reasoning_ratio 0.3, 0.5
  .venv/bin/actial eval --model-path $B/$r --data /work/runs/data/p3_tiles --out $B/ev_$r --stage p3_tiles_reasoning --prompt-style reasoning \
    --split test --split test_backgrounds --batch-size 64 --threads 2 --blind-data /work/runs/data/p3_horizon > $B/ev_$r.log 2>&1
  .venv/bin/actial eval --model-path $B/$r --data /work/runs/data/p3_tiles --out $B/ev_$r --stage p3_tiles \
    --split test --split test_backgrounds --batch-size 64 --threads 2 --blind-data /work/runs/data/p3_horizon >> $B/ev_$r.log 2>&1
done
