#!/bin/bash
# evalmot.sh DIR...: each model on p3_near and p3_far (1,000 a split), direct, 1 thread; reports in /work/runs/s31/motion/NAME
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
for M in "$@"; do n=$(basename $M); o=/work/runs/s31/motion/$n; mkdir -p $o
  for d in p3_near p3_far; do
    .venv/bin/actial eval --data /work/runs/data/$d --model-path $M --max-samples 1000 --stage $d \
      --prompt-style direct --threads 1 --batch-size 32 --out $o > $o/$d.log 2>&1
  done
done
