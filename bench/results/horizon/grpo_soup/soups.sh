#!/bin/bash
# soups.sh: every averaged model of session 21, then ../grpo_waves/ev.sh on each. Runs under /work/runs:
# s19/sft0 (the SFT model), s19/G0 and s20/* (session 19's and 20's runs), s21/* (this session's:
# T15s5, T15s6, T15s8 with ../grpo_temperature/grpo.sh, C2-C13 with ../grpo_temperature/ctl.sh, G1-G2 with grpo.sh,
# their S set to /work/runs/s21).
# (soup5, soupA, soupB and soupC were first made by a float32 mean before `actial model average` existed;
# the tool's weighted float32 sum differs from it by at most 2.4e-7 per weight, and soup5 made both ways gave the
# same completion to every one of its 9,774 evaluation prompts.)
set -e; cd /work/main; A=".venv/bin/actial model average"; R=/work/runs; T=$R/s20; S=$R/s21
$A $T/T15 $T/T15s1 $T/T15s2 $T/T15s3 $T/T15s4 --out $S/soup5   # GRPO, temperature 1.5, seeds 0-4
$A $T/T15 $T/T15s1 --out $S/soupA                              # seeds 0, 1
$A $T/T15s2 $T/T15s3 $T/T15s4 --out $S/soupB                   # seeds 2, 3, 4
$A $S/T15s5 $S/T15s6 $S/T15s8 --out $S/soupD                   # seeds 5, 6, 8 (new)
K=$S/T15s8/trainer  # T15s8.yaml saves every 50 steps: the average of one run's last five checkpoints
$A $S/T15s8 $K/checkpoint-100 $K/checkpoint-150 $K/checkpoint-200 $K/checkpoint-250 --out $S/tail8
$A $T/C0 $T/C1 $S/C2 $S/C3 $S/C4 --out $S/soupC                # SFT controls, seeds 0-4
$A $S/C5 $S/C6 $S/C7 --out $S/soupC2                           # SFT controls, seeds 5-7
$A $S/C8 $S/C9 $S/C10 --out $S/soupC3                          # seeds 8-10
$A $S/C11 $S/C12 $S/C13 --out $S/soupC4                        # seeds 11-13
$A $R/s19/G0 $S/G1 $S/G2 --out $S/soupG                        # the shipped GRPO config (temperature 1.0), seeds 0-2
for m in soup5 soupA soupB soupD tail8 soupC soupC2 soupC3 soupC4 soupG; do
  bash bench/results/horizon/grpo_waves/ev.sh $S/$m $S/ev_$m 1 > $S/ev_$m.txt 2>&1
done
