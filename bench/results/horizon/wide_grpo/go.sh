#!/bin/bash
# Session 28: GRPO on camera turns SFT never saw (docs/training-log.md: GRPO on the turns SFT never saw).
# From the repository root, with the recipe's data in $D (actial data horizon --out $D) and session 27's SFT
# model $M (switch_seeds/: g95_s1). Each run at one thread (this session ran two side by side).
set -e
D=${D:-/work/runs/data}; M=${M:-/work/runs/s27/g95_s1}; S=${S:-/work/runs/s28}; H=bench/results/horizon/wide_grpo
export OMP_WAIT_POLICY=PASSIVE
mkdir -p $S
.venv/bin/python $H/gen.py $D/p3_wide 5 150 47 6000     # every turn from 5 to 150 degrees
.venv/bin/python $H/gen.py $D/spots_near 5 20 53 3000   # p3_near's turns, on the second training floor
.venv/bin/python $H/gen.py $D/spots_far 100 150 59 3000 # p3_far's
# the shipped GRPO stage's config, one thread, lr 3e-5 (shipped) or 1e-4; with the pass-rate filter
sed 's/^threads: 2/threads: 1/' training/configs/grpo_tiny_horizon.yaml > $S/grpo_t1.yaml
sed 's/^learning_rate: 0.00003/learning_rate: 0.0001/' $S/grpo_t1.yaml > $S/grpo_t1_lr1e4.yaml
filt='pass_rate_filter:\n  samples: 8\n  temperature: 1.5\n  max_questions: 1000\n'
(cat $S/grpo_t1.yaml; printf "$filt") > $S/turns_lr3e5.yaml
(cat $S/grpo_t1_lr1e4.yaml; printf "$filt") > $S/turns_lr1e4.yaml
sed 's/^max_steps: 100/max_steps: 300/' $S/turns_lr1e4.yaml > $S/turns300_lr1e4.yaml
sed 's/^prompts_per_step: 4/prompts_per_step: 16/' $S/turns_lr1e4.yaml > $S/turns_b16_lr1e4.yaml  # 1,600 prompts
(cat $S/turns300_lr1e4.yaml; echo "motion_weight: 0.5") > $S/turns300_motion_lr1e4.yaml
(cat $S/turns_b16_lr1e4.yaml; echo "motion_weight: 0.5") > $S/turns_b16_motion_lr1e4.yaml
for t in 1.0 0.7; do  # GRPO's sampling temperature and the filter's
    sed "s/temperature: 1.5/temperature: $t/" $S/turns300_lr1e4.yaml > $S/turns300_t${t/./}_lr1e4.yaml
done
grpo() { .venv/bin/actial train grpo --model ${MODEL:-$M} --seed ${SEED:-1} --out $S/$1 --config $S/$2 "${@:3}"; }
grpo wide_s1_lr3e5 grpo_t1.yaml --dataset $D/p3_wide
grpo wide_s1_lr1e4 grpo_t1_lr1e4.yaml --dataset $D/p3_wide
grpo turns_s1_lr3e5 turns_lr3e5.yaml --dataset $D/spots_near --extra-dataset $D/spots_far
grpo turns_s1_lr1e4 turns_lr1e4.yaml --dataset $D/spots_near --extra-dataset $D/spots_far
for n in turns300 turns_b16 turns300_motion turns_b16_motion turns300_t10 turns300_t07; do
    grpo ${n}_s1_lr1e4 ${n}_lr1e4.yaml --dataset $D/spots_near --extra-dataset $D/spots_far
done
# the 300-step run again: GRPO seed 2, and from seed 2's SFT model
SEED=2 grpo turns300_seed2_lr1e4 turns300_lr1e4.yaml --dataset $D/spots_near --extra-dataset $D/spots_far
for g in 2 3 4; do  # GRPO seeds from seed 2's SFT model (the first: turns300_s2model_lr1e4)
    MODEL=${M/_s1/_s2} SEED=$g grpo turns300_s2model$([ $g = 2 ] || echo _seed$g)_lr1e4 turns300_lr1e4.yaml \
        --dataset $D/spots_near --extra-dataset $D/spots_far
done
# SFT controls on the same prompts: SFT's last phase's form (half reasoning, the motion chain), one epoch at
# its lr, and three at 5e-4
sft() { .venv/bin/actial train sft --model ${4:-$M} --seed ${3:-1} --out $S/$1 --config $H/$2 \
        --dataset $D/spots_near --extra-dataset $D/spots_far; }
sft sftctl_s1 sft_turns.yaml
sft sftlong_s1 sft_turns_long.yaml
sft sftlong_s2 sft_turns_long.yaml 2 ${M/_s1/_s2}   # seed 2's SFT model
pair() { .venv/bin/python $H/pair.py $D "$@"; echo; }
{ pair $M $S/wide_s1_lr3e5 $S/wide_s1_lr1e4 $S/turns_s1_lr3e5 $S/turns_s1_lr1e4
  pair $M $S/turns300_s1_lr1e4 $S/turns_b16_s1_lr1e4 $S/turns300_motion_s1_lr1e4 $S/turns_b16_motion_s1_lr1e4
  pair $M $S/sftctl_s1 $S/sftlong_s1
  pair $M $S/turns300_t10_s1_lr1e4 $S/turns300_t07_s1_lr1e4 $S/turns300_seed2_lr1e4
  pair ${M/_s1/_s2} $S/sftlong_s2 $S/turns300_s2model_lr1e4 $S/turns300_s2model_seed3_lr1e4 \
      $S/turns300_s2model_seed4_lr1e4; } > $H/table.md
.venv/bin/python $H/sampled.py $D $M $S/turns300_s1_lr1e4 $S/turns300_motion_s1_lr1e4 $S/sftlong_s1 \
    $S/turns300_t10_s1_lr1e4 $S/turns300_t07_s1_lr1e4 $S/turns300_seed2_lr1e4 > $H/sampled.md
.venv/bin/python $H/sampled.py $D ${M/_s1/_s2} $S/turns300_s2model_lr1e4 | tail -n +3 >> $H/sampled.md
