#!/bin/bash
# ev.sh MODEL OUT THREADS: direct on p3_tiles/p3_near/p3_far, reasoning on p3_tiles (test + held-out floor)
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; m=$1; o=$2; t=$3; D=/work/runs/data
mkdir -p $o
for d in p3_tiles p3_near p3_far; do
  .venv/bin/actial eval --model-path $m --data $D/$d --out $o --stage $d --batch-size 64 --threads $t --blind-data $D/p3_horizon
done
.venv/bin/actial eval --model-path $m --data $D/p3_tiles --out $o --stage p3_tiles_reasoning --prompt-style reasoning \
  --split test --split test_backgrounds --batch-size 64 --threads $t --blind-data $D/p3_horizon
