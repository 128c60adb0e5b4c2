#!/bin/bash
# r3l, r5l: the r3 and r5 branches with phase 5 twice as long (300 steps: steps 610-910)
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; W=/tmp/actial-bench-train-7fo9bkcb; B=/work/runs/s24/br
while pgrep -f "br/go.sh" >/dev/null; do sleep 5; done
for r in r3l r5l; do
  rm -rf $B/$r; mkdir -p $B/$r/trainer; cp -r $W/sft/trainer/checkpoint-600 $B/$r/trainer/
  .venv/bin/actial train sft --config $B/$r.yaml --out $B/$r > $B/$r.log 2>&1
  echo "== $r"; tr '\r' '\n' < $B/$r.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|warning: .*"
done
# then the full evaluation of r5l, as go.sh evaluates its branches
for st in p3_tiles_reasoning p3_tiles; do
  .venv/bin/actial eval --model-path $B/r5l --data /work/runs/data/p3_tiles --out $B/ev_r5l --stage $st \
    $([ $st = p3_tiles_reasoning ] && echo --prompt-style reasoning) --split test --split test_backgrounds \
    --batch-size 64 --threads 2 --blind-data /work/runs/data/p3_horizon
done
