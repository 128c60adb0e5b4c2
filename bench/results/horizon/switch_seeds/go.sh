#!/bin/bash
# go.sh NAME SEED [key=value ...]: sft_tiny_horizon.yaml from scratch as bench/train.py runs it (its tiny model,
# the recipe's datasets at /work/runs/data), at SEED, one thread, with curriculum keys overridden:
# `p2.until_accuracy=0.95` sets phase 2's key. Writes $B/NAME (the run), $B/NAME.log, and the held-out checks and
# gates to checks_NAME.txt beside this script. Session 25's seeds 1 and 2 passed phase 2's gate at 0.904 and
# 0.915 (seed 0: 0.968) and then struggled at phase 3's switch to three families (1,660 and 1,860 steps
# against seed 0's 910); does a firmer phase 2 carry them across?
# The config as session 27 ran it: without phase 2's told-motion rung of session 29 (`notold=1`). The run itself:
# ../told_rung/go.sh.
cd /work/main
B=/work/runs/s27 H=bench/results/horizon/switch_seeds exec bench/results/horizon/told_rung/go.sh "$1" "$2" - notold=1 \
  "${@:3}"
